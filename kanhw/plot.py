"""PNG plots of a trained model: learned functions per layer, training curve."""

from __future__ import annotations

import math
import os

import numpy as np

from .errors import DataError
from .model import KAN

#: At most this many units (subplots) are drawn per layer figure.
MAX_UNITS = 64


def _figure_grid(n: int):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(8, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 1.8 * rows), squeeze=False)
    return plt, fig, axes


def plot_layer(model: KAN, layer: int, path: str) -> str:
    """The learned functions of ``layer``, each over its own domain.

    A layer with at most ``MAX_UNITS`` functions gets one subplot per function;
    a larger one gets one subplot per output unit holding that unit's
    functions (one curve per input), for at most ``MAX_UNITS`` units.
    """
    a = model.arch
    vals = model.layer_values(layer)
    lo, hi = model.layer_domain(layer)
    n_out, n_in, P = vals.shape
    per_function = n_out * n_in <= MAX_UNITS
    panels = [[(o, i)] for o in range(n_out) for i in range(n_in)] if per_function else \
        [[(o, i) for i in range(n_in)] for o in range(min(n_out, MAX_UNITS))]
    plt, fig, axes = _figure_grid(len(panels))
    for ax, panel in zip(axes.flat, panels):
        for o, i in panel:
            ax.plot(np.linspace(lo[o, i], hi[o, i], P), vals[o, i], lw=0.8)
        o, i = panel[0]
        ax.set_title(f"f[{o},{i}]" if per_function else f"unit {o}", fontsize=7)
        ax.tick_params(labelsize=5)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    kind = "inner" if layer < a.n_layers - 1 else "outer"
    note = "" if per_function or n_out <= MAX_UNITS else f" (first {MAX_UNITS} of {n_out} units)"
    fig.suptitle(f"layer {layer} ({kind}): {n_in} -> {n_out}, {P} points{note}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_history(model: KAN, path: str) -> str | None:
    """Validation Pearson and relative RMSE per epoch, one line per output."""
    h = [e for e in model.history if e.get("validation_pearson")]
    if not h:
        return None
    plt, fig, axes = _figure_grid(2)
    x = [e["records"] for e in h]
    ax1, ax2 = axes.flat[0], axes.flat[1]
    for q in range(len(h[0]["validation_pearson"])):
        ax1.plot(x, [e["validation_pearson"][q] for e in h], marker="o", ms=3, label=f"y{q}")
        ax2.semilogy(x, [e["validation_relative_rmse"][q] for e in h], marker="o", ms=3)
    ax1.set_xlabel("records")
    ax1.set_ylabel("validation Pearson")
    ax2.set_xlabel("records")
    ax2.set_ylabel("validation RMSE / range")
    if len(h[0]["validation_pearson"]) > 1:
        ax1.legend(fontsize=6)
    fig.set_size_inches(9, 3.4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_model(model: KAN, out_dir: str) -> list[str]:
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create {out_dir}: {exc.strerror}") from None
    written = [plot_layer(model, l, os.path.join(out_dir, f"layer{l}.png"))
               for l in range(model.arch.n_layers)]
    curve = plot_history(model, os.path.join(out_dir, "training.png"))
    if curve:
        written.append(curve)
    return written
