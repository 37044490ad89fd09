"""Figures of the main job: GD on a few representative instances, and the rows of W^mm and W⋆.

The instances ship with the package (``ntpverify/data/``, copies of the shared example cases) so the
figures need nothing outside it. GD runs from ``W_0 = 0`` with the default step for
``DEFAULT_STEPS`` steps, checkpoints log-spaced. The plots (theory.md §6 rates, measured, not in
the paper, each drawn against a reference slope):

- ``loss_gap.png``: ``CE(W_k) − ℋ`` against k (log-log), guide ∝ 1/k;
- ``dist_F.png``: ``‖P_F(W_k) − W⋆‖`` against k (log-log), guide ∝ 1/k;
- ``direction.png``: ``1 − cos(W_k, W^mm)`` and the corrected ``1 − cos(W_k − W⋆, W^mm)`` against k
  (log-log), guide ∝ 1/log² k;
- ``norm_Fperp.png``: ``‖P_{F⊥}(W_k)‖`` against log k, each with its predicted slope ``‖W^mm‖``;
- ``rows_d2.png``: for the d = 2 instance of the paper's figure 1 setting, the rows of W^mm and W⋆
  as vectors in the plane, the context embeddings, and GD's rows at the last step.

The paper's experiments (tools/paper.py, ``ntpverify paper``) draw with :func:`plot_plane_rows`
(figures 1, 2) and :func:`plot_panels` (figures 4, 5).

Byte-stable: the Agg backend through ``Figure`` (no pyplot state), matplotlib's default style
whatever the user's matplotlibrc says, fixed size and dpi, and no ``Software`` stamp in the PNG.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib import style  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ntpverify import data  # noqa: E402
from ntpverify.core.solution import solve  # noqa: E402
from ntpverify.optim.gd import Trajectory, gd  # noqa: E402

RATE_INSTANCES = ("example-B", "example-C-two-dims-three-contexts", "example-D-full-support-context",
                  "example-H-orthonormal")
ROWS_INSTANCE = "example-C-two-dims-three-contexts"
DEFAULT_STEPS = 1_000_000
SIZE, DPI = (6.4, 4.4), 100
GUIDE: dict[str, Any] = {"color": "0.45", "linestyle": "--", "linewidth": 1.0}


def log_checkpoints(steps: int, per_decade: int = 10) -> list[int]:
    """``0``, ``steps`` and ``per_decade`` log-spaced integers per decade in between."""
    top = np.log10(steps) if steps > 0 else 0.0
    ks = {0, steps, *(int(round(10 ** (i / per_decade))) for i in range(int(top * per_decade) + 1))}
    return sorted(k for k in ks if k <= steps)


def runs(steps: int = DEFAULT_STEPS) -> list[Trajectory]:
    """GD on every instance of ``RATE_INSTANCES`` (default step, ``W_0 = 0``)."""
    return [gd(data.load(name), steps, checkpoints=log_checkpoints(steps)) for name in RATE_INSTANCES]


@contextmanager
def _figure(ncols: int = 1, size: tuple[float, float] = SIZE) -> Iterator[tuple[Figure, list[Axes]]]:
    """A figure with ``ncols`` axes under matplotlib's default style (not the user's rc)."""
    with style.context("default"):
        fig = Figure(figsize=size, dpi=DPI, layout="constrained")
        yield fig, list(np.atleast_1d(fig.subplots(1, ncols)))


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=DPI, metadata={"Software": None})


def _short(traj: Trajectory) -> str:
    """``example-C-two-dims...`` -> ``C`` (the captions name the instances in full)."""
    return (traj.instance.name or "").removeprefix("example-").split("-")[0]


def _positive(traj: Trajectory, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Checkpoints ``k ≥ 1`` where ``values`` is positive (what a log axis can show)."""
    ks = np.array([c.k for c in traj.checkpoints], dtype=float)
    keep = (ks >= 1) & np.isfinite(values) & (values > 0)
    return ks[keep], values[keep]


def _guide(ax: Axes, trajs: Sequence[Trajectory], shape: Callable[[np.ndarray], np.ndarray],
           column: Callable[[Trajectory], np.ndarray], label: str, k_min: float) -> None:
    """A reference curve ``A·shape(k)`` through the geometric mean of the curves' last values."""
    ends = [end for end in (column(t)[-1] for t in trajs) if np.isfinite(end) and end > 0]
    if not ends:
        return
    steps = trajs[0].steps
    ks = np.geomspace(k_min, steps, 50)
    ax.plot(ks, np.exp(np.mean(np.log(ends))) * shape(ks) / shape(np.array([steps]))[0], label=label, **GUIDE)


def _loglog(trajs: Sequence[Trajectory], path: Path, title: str,
            curves: Sequence[tuple[Callable[[Trajectory], np.ndarray], str, str]],
            guide: tuple[Callable[[np.ndarray], np.ndarray], str, float]) -> None:
    """Log-log plot of each ``(column, suffix, linestyle)`` of ``curves`` for every trajectory,
    with a guide ``(shape, label, k_min)`` anchored on the first curve."""
    with _figure() as (fig, (ax,)):
        for i, traj in enumerate(trajs):
            for column, suffix, linestyle in curves:
                ax.plot(*_positive(traj, column(traj)), color=f"C{i}", linestyle=linestyle,
                        label=f"{_short(traj)}{suffix}")
        _guide(ax, trajs, guide[0], curves[0][0], guide[1], guide[2])
        ax.set(xscale="log", yscale="log", xlabel="GD step k", title=title)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small", ncols=2)
        _save(fig, path)


def plot_norm_Fperp(trajs: Sequence[Trajectory], path: Path) -> None:
    """``‖P_{F⊥}(W_k)‖`` against log k, each with the predicted slope ``‖W^mm‖`` per unit of log k."""
    with _figure() as (fig, (ax,)):
        for i, traj in enumerate(trajs):
            ks, ys = _positive(traj, traj.column("norm_Fperp"))
            ax.plot(ks, ys, color=f"C{i}", label=_short(traj))
            slope = solve(traj.instance).W_mm_norm
            if slope is not None:  # over the last three decades, where the log k term dominates
                late = ks[ks >= ks[-1] / 1000]
                ax.plot(late, ys[-1] + slope * (np.log(late) - np.log(ks[-1])), color=f"C{i}", linestyle=":",
                        linewidth=1.0, label=f"slope ‖W^mm‖ = {slope:.3g}")
        ax.set(xscale="log", xlabel="GD step k (log scale)",
               title=r"$\|P_{F^\perp}(W_k)\|$ grows like $\|W^{mm}\|\,\log k$")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        _save(fig, path)


def _arrows(ax: Axes, M: np.ndarray, color: str) -> None:
    """The rows of ``M`` (V×2) as arrows from the origin, labelled by token; equal rows (tokens
    with one support pattern, theory.md §2) share one label."""
    labelled: list[tuple[np.ndarray, list[int]]] = []
    for z, row in enumerate(M):
        ax.annotate("", row, (0, 0), arrowprops={"arrowstyle": "->", "color": color, "lw": 1.5})
        same = next((tokens for r, tokens in labelled if np.allclose(r, row, rtol=1e-9, atol=1e-12)), None)
        if same is None:
            labelled.append((row, [z]))
        else:
            same.append(z)
    for row, tokens in labelled:
        ax.annotate("z=" + ",".join(map(str, tokens)), row,  # type: ignore[arg-type]  # stub: xy tuple; any pair works
                    textcoords="offset points", xytext=(4, 4), color=color, fontsize="small")


def plot_rows(path: Path, steps: int = DEFAULT_STEPS) -> None:
    """Rows of W^mm and W⋆ of the d = 2 instance (paper's figure 1 setting), with the embeddings
    and GD's last iterate: its direction rescaled to ‖W^mm‖, and its projection onto F."""
    inst = data.load(ROWS_INSTANCE)
    sol = solve(inst)
    # ROWS_INSTANCE is compatible and separable with a margin constraint: W⋆ and W^mm exist
    assert sol.W_mm is not None and sol.W_mm_norm is not None and sol.W_star is not None
    W = gd(inst, steps, checkpoints=[steps], solution=sol).W
    direction = W * (sol.W_mm_norm / np.linalg.norm(W))
    with _figure(2, (10.0, 4.8)) as (fig, axes):
        for ax, M, G, title in (
            (axes[0], sol.W_mm, direction, r"rows of $W^{mm}$ (arrows), of $W_k\,\|W^{mm}\|/\|W_k\|$ (o)"),
            (axes[1], sol.W_star, sol.project_F(W), r"rows of $W^\star$ (arrows), of $P_F(W_k)$ (o)"),
        ):
            _arrows(ax, M, "C0")
            ax.plot(G[:, 0], G[:, 1], "o", markerfacecolor="none", color="C3", label=f"GD, k = {steps:.0e}")
            for j, h in enumerate(inst.embeddings):
                ax.plot(*h, "s", color="k", markersize=4)
                ax.annotate(f"h{j}", h, textcoords="offset points", xytext=(4, -10), fontsize="small")
            lim = 1.15 * max(np.abs(M).max(), np.abs(inst.embeddings).max(), np.abs(G).max())
            ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=title)
            ax.axhline(0, color="0.8", linewidth=0.8)
            ax.axvline(0, color="0.8", linewidth=0.8)
            ax.legend(fontsize="small", loc="lower left")
        fig.suptitle(f"{inst.name}: V={inst.V}, m={inst.m}, d={inst.d} (h_j: black squares)")
        _save(fig, path)


def render_all(directory: Path, steps: int = DEFAULT_STEPS) -> list[dict[str, str]]:
    """Draw every figure into ``directory``; returns ``file``, ``title`` and ``caption`` of each."""
    trajs = runs(steps)
    one_over_k = (lambda k: 1.0 / k, "slope −1 (∝ 1/k)", 1.0)
    _loglog(trajs, directory / "loss_gap.png", r"$\mathrm{CE}(W_k) - \mathcal{H}$",
            [(lambda t: t.column("loss_gap"), "", "-")], one_over_k)
    _loglog(trajs, directory / "dist_F.png", r"$\|P_F(W_k) - W^\star\|$",
            [(lambda t: t.column("dist_F"), "", "-")], one_over_k)
    _loglog(trajs, directory / "direction.png",
            r"$1-\cos(W_k, W^{mm})$ (solid), corrected $1-\cos(W_k - W^\star, W^{mm})$ (dotted)",
            [(lambda t: 1.0 - t.column("cos_mm"), "", "-"),
             (lambda t: 1.0 - t.column("cos_mm_corrected"), " corrected", ":")],
            (lambda k: 1.0 / np.log(k) ** 2, "∝ 1/log² k", 10.0))
    plot_norm_Fperp(trajs, directory / "norm_Fperp.png")
    plot_rows(directory / "rows_d2.png", steps)
    names = ", ".join(RATE_INSTANCES)  # legends use the letters
    return [
        {"file": "loss_gap.png", "title": "CE − H",
         "caption": f"CE(W_k) − ℋ against k for {names} ({steps} GD steps, W_0 = 0, default step); "
                    "dashed: slope −1 (the measured 1/(ηk) rate, theory.md §6)."},
        {"file": "dist_F.png", "title": "distance to W*",
         "caption": "‖P_F(W_k) − W⋆‖ against k (P6b); dashed: slope −1."},
        {"file": "direction.png", "title": "direction",
         "caption": "1 − cos(W_k, W^mm) (solid) and the corrected 1 − cos(W_k − W⋆, W^mm) (dotted) against k "
                    "(P6a); dashed: ∝ 1/log² k, the measured rate of the raw cosine."},
        {"file": "norm_Fperp.png", "title": "growth in F-perp",
         "caption": "‖P_{F⊥}(W_k)‖ against log k; dotted: the predicted slope ‖W^mm‖ per unit of log k."},
        {"file": "rows_d2.png", "title": "rows of W^mm and W*",
         "caption": f"{ROWS_INSTANCE} (d = 2, the paper's figure 1 setting): rows of W^mm (left) and W⋆ "
                    "(right) as arrows, the embeddings h_j, and GD's rows at the last step (circles)."},
    ]


# --- the paper's experiments (``ntpverify paper``, tools/paper.py) --------------------------------


def plot_plane_rows(inst: Any, M: np.ndarray, path: Path, title: str) -> None:
    """The rows of ``M`` (V×2) as arrows (equal rows share one label) with the embeddings ``h_j``
    of the d = 2 instance ``inst`` (the paper's figures 1 and 2), drawn scaled by the power of
    ten that brings the largest to about the longest row (stated in the title)."""
    rows, hs = float(np.linalg.norm(M, axis=1).max()), float(np.linalg.norm(inst.embeddings, axis=1).max())
    scale = 10.0 ** round(math.log10(rows / hs)) if rows > 0 and hs > 0 else 1.0
    with _figure(1, (5.6, 5.4)) as (fig, (ax,)):
        _arrows(ax, M, "C0")
        for j, h in enumerate(inst.embeddings * scale):
            ax.plot(*h, "s", color="k", markersize=5)
            ax.annotate(f"h{j}, S={list(inst.supports[j])}", h, textcoords="offset points", xytext=(4, -11),
                        fontsize="small")
        lim = 1.2 * max(np.abs(M).max(), scale * np.abs(inst.embeddings).max())
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal",
               title=title + (f" (h_j ×{scale:g})" if scale != 1.0 else ""))
        ax.axhline(0, color="0.8", linewidth=0.8)
        ax.axvline(0, color="0.8", linewidth=0.8)
        _save(fig, path)


def plot_panels(trajs: Sequence[tuple[str, Trajectory]], path: Path, title: str, entropy: float,
                linf_reference: tuple[float, float] | None = None) -> None:
    """The paper's figure 4 panels for each ``(label, trajectory)``: CE(W_k) against ℋ, ``‖W_k‖``,
    ``1 − cos(W_k, W^mm)`` (solid) and the corrected ``1 − cos(W_k − W⋆, W^mm)`` (dotted), and
    ``‖P_F W_k − W⋆‖``, all against k (log axes). With ``linf_reference = (γ∞*, γ∞(W^mm))`` a fifth
    panel: the ℓ∞-normalized margin of W_k (optim.linf_margin) with both as reference lines."""
    ncols = 4 if linf_reference is None else 5
    with _figure(ncols, (4.0 * ncols, 4.0)) as (fig, axes):
        for i, (label, traj) in enumerate(trajs):
            style_: dict[str, Any] = {"color": f"C{i % 10}", "label": label}
            axes[0].plot(*_positive(traj, traj.column("loss_gap") + entropy), **style_)
            axes[1].plot(*_positive(traj, traj.column("norm")), **style_)
            axes[2].plot(*_positive(traj, 1.0 - traj.column("cos_mm")), **style_)
            axes[2].plot(*_positive(traj, 1.0 - traj.column("cos_mm_corrected")), color=f"C{i % 10}",
                         linestyle=":")
            axes[3].plot(*_positive(traj, traj.column("dist_F")), **style_)
            if linf_reference is not None:
                margins = getattr(traj, "linf_margins", {})
                ks = np.array([k for k in sorted(margins) if k >= 1 and margins[k] is not None], dtype=float)
                axes[4].plot(ks, [margins[int(k)] for k in ks], **style_)
        axes[0].axhline(entropy, **GUIDE, label="ℋ")
        axes[0].set(xscale="log", yscale="log", title=r"CE$(W_k)$ and $\mathcal{H}$ (dashed)")
        axes[1].set(xscale="log", yscale="log", title=r"$\|W_k\|$")
        axes[2].set(xscale="log", yscale="log",
                    title=r"$1-\cos(W_k, W^{mm})$, corrected (dotted)")
        axes[3].set(xscale="log", yscale="log", title=r"$\|P_F W_k - W^\star\|$")
        if linf_reference is not None:
            gamma, gamma_mm = linf_reference
            axes[4].axhline(gamma, **GUIDE, label=r"$\gamma_\infty^*$")
            axes[4].axhline(gamma_mm, color="0.45", linestyle="-.", linewidth=1.0, label=r"$\gamma_\infty(W^{mm})$")
            axes[4].set(xscale="log", ylim=(-gamma, 1.15 * gamma),
                        title=r"$\ell_\infty$-normalized margin")
        for ax in axes:
            ax.set_xlabel("step k")
            ax.grid(True, which="major", alpha=0.3)
        axes[-1].legend(fontsize="x-small", ncols=1, loc="lower right")
        fig.suptitle(title)
        _save(fig, path)
