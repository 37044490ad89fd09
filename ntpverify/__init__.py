"""ntpverify: machine-checked evidence for the implicit bias of next-token prediction.

Public API (theory.md notation): instances (:class:`Instance`), the model (:func:`entropy`,
:func:`loss`, :func:`loss_gap`, :func:`gradient`, :func:`default_step`), gradient descent
(:func:`gd`), and the limit objects (:func:`solve`, :func:`F_basis`, :func:`project_F`,
:func:`compatibility`, :func:`w_star`, :func:`separability`, :func:`max_margin`, :func:`w_mm`).
"""

from ntpverify._version import __version__ as __version__
from ntpverify.core.compatibility import Compatibility, compatibility, w_star
from ntpverify.core.errors import InputError
from ntpverify.core.instance import Instance
from ntpverify.core.maxmargin import MaxMargin, max_margin, w_mm
from ntpverify.core.model import default_step, entropy, gradient, loss, loss_gap
from ntpverify.core.separability import Separability, separability
from ntpverify.core.solution import Solution, solve
from ntpverify.core.status import Inconclusive, Status
from ntpverify.core.subspace import F_basis, FBasis, project_F, project_F_perp
from ntpverify.optim.gd import Checkpoint, Trajectory, gd
from ntpverify.optim.optimizers import GD, NGD, SGD, Adam, HeavyBall, Optimizer, SignGD, linf_margin, optimize
from ntpverify.suite.enforcement import target
from ntpverify.tools.conjecture import conjecture

__all__ = [
    "Checkpoint", "Compatibility", "F_basis", "FBasis", "Inconclusive", "InputError", "Instance",
    "MaxMargin", "Separability", "Solution", "Status", "Trajectory", "compatibility", "conjecture",
    "default_step",
    "entropy", "gd", "gradient", "loss", "loss_gap", "max_margin", "project_F", "project_F_perp",
    "separability", "solve", "target", "w_mm", "w_star",
    "Adam", "GD", "HeavyBall", "NGD", "Optimizer", "SGD", "SignGD", "linf_margin", "optimize",
]
