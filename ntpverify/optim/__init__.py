"""Optimization: GD's compiled kernels and the optimizer family with one interface
(``from ntpverify.optim import NGD, optimize`` as the issue and users write it). ``gd`` here is the
module; the GD shorthand is ``ntpverify.gd``."""

from ntpverify.optim.gd import Checkpoint, Trajectory
from ntpverify.optim.optimizers import GD, NGD, SGD, Adam, HeavyBall, Optimizer, SignGD, linf_margin, optimize

__all__ = ["GD", "NGD", "SGD", "Adam", "Checkpoint", "HeavyBall", "Optimizer", "SignGD", "Trajectory",
           "linf_margin", "optimize"]
