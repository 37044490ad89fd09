"""``solve``: every limit object of an instance, verified, in the ``ntpverify.solution/1`` shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ntpverify.core.compatibility import Compatibility, compatibility_of
from ntpverify.core.geometry import Geometry
from ntpverify.core.instance import Instance
from ntpverify.core.maxmargin import MaxMargin, decide
from ntpverify.core.model import entropy
from ntpverify.core.scaling import normalized
from ntpverify.core.separability import Separability
from ntpverify.core.status import Status
from ntpverify.core.structured import StructuredGeometry, compatibility_structured
from ntpverify.core.structured_svm import decide_structured

#: ``solve``'s methods: the dense ones of maxmargin.py, the structured route (structured.py,
#: structured_svm.py), and "auto", which picks by size.
METHODS = ("auto", "nnls", "clarabel", "structured")
#: "auto" uses the dense route (nnls) up to this many constraints ``m(V − 1)`` (one per context and
#: token other than its anchor) and the structured route beyond. Measured on 2 cores (seeded
#: sampling.random_instance draws): at 500 constraints dense 0.03–0.1 s, structured 0.05–0.07 s;
#: at 1000, dense 0.15–0.3 s, structured 0.1–0.5 s; at 2016 (benchmarks/scale.py)
#: dense 3–5 s, structured 0.03 s. The crossover lies near 1000, and below it the dense route
#: stays the default because its results are the suite's reference on small instances.
AUTO_DENSE_MAX_CONSTRAINTS = 1000


@dataclass(frozen=True)
class Solution:
    """The limit objects of one instance (fields mirror ``ntpverify.solution/1``).

    ``compatible``/``separable`` are ``None`` when inconclusive; ``W_star`` is set when compatible,
    ``W_mm``/``W_mm_norm`` when separable and some context has ``|S_j| < V``. ``status`` maps each
    object (``F``, ``compatibility``, ``separability``, ``W_mm``) to its :class:`Status`. The full
    results (certificates, KKT residuals) are in ``compat``, ``sep`` and ``mm``.

    ``structure`` is set when the structured route solved the instance: F, its dimension and
    projection then come from it, and ``geometry`` (dense, lazy) is only built if asked for.
    """

    instance: Instance
    geometry: Geometry
    entropy: float
    compat: Compatibility
    sep: Separability
    mm: MaxMargin
    structure: StructuredGeometry | None = None

    @property
    def F_dim(self) -> int | None:
        """``dim F`` (None only on the structured route, when it could not be decided)."""
        return self.geometry.F_dim if self.structure is None else self.structure.F_dim

    @property
    def compatible(self) -> bool | None:
        return self.compat.compatible

    @property
    def separable(self) -> bool | None:
        return self.sep.separable

    @property
    def W_star(self) -> np.ndarray | None:
        return self.compat.W_star

    @property
    def W_mm(self) -> np.ndarray | None:
        return self.mm.W_mm

    @property
    def W_mm_norm(self) -> float | None:
        return self.mm.norm

    @property
    def status(self) -> dict[str, Status]:
        if self.structure is not None:
            f_status = self.structure.F_status
        else:
            geo = self.geometry
            clear = geo.rank_F.clear and geo.rank_H.clear
            f_status = Status("ok") if clear else Status(
                "inconclusive", f"rank decision margin {min(geo.rank_F.margin, geo.rank_H.margin):.2f} decades")
        return {"F": f_status, "compatibility": self.compat.status,
                "separability": self.sep.status, "W_mm": self.mm.status}

    @property
    def conclusive(self) -> bool:
        """True when no object is inconclusive."""
        return all(s.state != "inconclusive" for s in self.status.values())

    def project_F(self, W: np.ndarray) -> np.ndarray:
        """``P_F(W)`` using this instance's F."""
        owner = self.geometry if self.structure is None else self.structure
        return owner.project_F(np.asarray(W, dtype=float))

    def _F_certificate(self) -> dict[str, Any]:
        sg = self.structure
        assert sg is not None  # only called on the structured route
        out: dict[str, Any] = {"status": self.status["F"].to_dict(), "method": "structured"}
        if sg.rank_F is not None:
            out.update(rank_margin_decades=sg.rank_F.margin_or_none, rank_cutoff=sg.rank_F.cutoff)
        return out

    def certificates(self) -> dict[str, Any]:
        if self.structure is not None:
            return {"F": self._F_certificate(), "compatibility": self.compat.to_dict(),
                    "separability": self.sep.to_dict(), "W_mm": self.mm.to_dict()}
        geo = self.geometry
        return {
            "F": {"status": self.status["F"].to_dict(), "rank_margin_decades": geo.rank_F.margin_or_none,
                  "rank_cutoff": geo.rank_F.cutoff, "rank_H": geo.rank_H.rank,
                  "rank_H_margin_decades": geo.rank_H.margin_or_none},
            "compatibility": self.compat.to_dict(),
            "separability": self.sep.to_dict(),
            "W_mm": self.mm.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``ntpverify.solution/1`` object (floats exact; see exactjson)."""
        def mat(A: np.ndarray | None) -> list | None:
            return None if A is None else A.tolist()
        return {
            "format": "ntpverify.solution/1",
            "name": self.instance.name,
            "entropy": self.entropy,
            "F_dim": self.F_dim,
            "compatible": self.compatible,
            "separable": self.separable,
            "W_star": mat(self.W_star),
            "W_mm": mat(self.W_mm),
            "W_mm_norm": self.W_mm_norm,
            "certificates": self.certificates(),
        }

    def summary(self) -> str:
        """A readable multi-line description."""
        inst = self.instance
        def yn(b: bool | None) -> str:
            return {True: "yes", False: "no", None: "inconclusive"}[b]
        rank_H = f" rank H={self.geometry.rank_H.rank}" if self.structure is None else ""
        lines = [f"instance {inst.name or '(unnamed)'}: V={inst.V} m={inst.m} d={inst.d}{rank_H}",
                 f"  entropy          {self.entropy:.12g}",
                 f"  dim F            {self.F_dim}",
                 f"  compatible       {yn(self.compatible)}  "
                 f"({self.compat.status.reason or f'residual {self.compat.residual:.2g}'})",
                 f"  separable        {yn(self.separable)}  ({self.sep.status.reason})"]
        if self.W_mm_norm is not None:
            worst = max(self.mm.kkt.values())
            lines.append(f"  ||W_mm||         {self.W_mm_norm:.12g}  (margin {1 / self.W_mm_norm:.6g}, "
                         f"worst KKT residual {worst:.1e})")
        else:
            lines.append(f"  W_mm             {self.mm.status.state}: {self.mm.status.reason}")
        if self.W_star is not None:
            lines.append(f"  ||W_star||       {np.linalg.norm(self.W_star):.12g}")
        return "\n".join(lines)


def solve(inst: Instance, method: str = "auto") -> Solution:
    """Entropy, F, compatibility with W⋆, separability, and W^mm, each verified and carrying a
    status. ``method="nnls"`` decides separability and W^mm with one LDP solve (fast on small
    instances); ``"clarabel"`` uses the HiGHS LP and cvxpy + Clarabel (independent; see
    maxmargin.py); ``"structured"`` never forms a dense constraint matrix (structured_svm.py);
    ``"auto"`` is "nnls" up to AUTO_DENSE_MAX_CONSTRAINTS constraints and "structured" beyond.
    Every route decides on the exact power-of-two normalization of H (scaling.py) and scales the
    objects back, so the verdicts are invariant under ``H → cH`` (claim D9)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if method == "auto":
        method = "nnls" if inst.m * (inst.V - 1) <= AUTO_DENSE_MAX_CONSTRAINTS else "structured"
    scaled, k = normalized(inst)
    # the geometry callers combine with the objects is the instance's own (F and its rank
    # decisions are the same at every scale; only its coordinates scale); it is lazy, and the
    # structured route never touches its dense attributes
    own = Geometry(inst)
    geo = own if k == 0 else Geometry(scaled)
    if method == "structured":
        sg = StructuredGeometry(scaled)  # F and P_F do not depend on the scale of H
        sep, mm = decide_structured(sg)
        return Solution(inst, own, entropy(inst), compatibility_structured(sg).rescaled(k), sep.rescaled(k),
                        mm.rescaled(k), sg)
    compat = compatibility_of(geo).rescaled(k)
    sep, mm = decide(geo, method)
    return Solution(inst, own, entropy(inst), compat, sep.rescaled(k), mm.rescaled(k))
