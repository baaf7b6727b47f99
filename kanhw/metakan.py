"""MetaKAN for piecewise-linear KANs: a small meta-learner generates the node
tables, so far fewer parameters are trained (seed 000, brought to the
piecewise-linear KAN).

Every function ``(o, i)`` of layer ``l`` owns a learnable embedding of
``embed`` numbers; one meta-learner per layer (a small MLP
``embed -> hidden -> SiLU -> P``) maps an embedding to that function's ``P``
node values. Only embeddings and meta-learners are trained, end to end by
backpropagation through the KAN. :meth:`MetaKAN.expand` (through
:func:`kanhw.backprop.expand`) turns it into an ordinary KAN: node tables,
save/load, NK fine-tuning and loading into the generated hardware then work
as for any other model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .backprop import Scheme, pl_net_class, require_torch
from .datasets import Dataset
from .errors import ConfigError
from .model import KAN
from .train import predict


def metakan(sizes: Sequence[int], points: Sequence[int], X: np.ndarray, embed: int = 1,
            hidden: int = 32, shared: bool = False, seed: int = 0):
    """A MetaKAN with grids calibrated on ``X``.

    ``shared=True`` uses one meta-learner for every layer (layers must then
    have the same number of points); the default is one per layer.
    """
    torch = require_torch()
    nn = torch.nn
    if embed < 1 or hidden < 1:
        raise ConfigError("MetaKAN embedding and meta-learner widths must be at least 1")
    if shared and len(set(points)) != 1:
        raise ConfigError("a shared meta-learner needs the same points in every layer")
    torch.manual_seed(seed)
    base = pl_net_class()

    class MetaKAN(base):
        def __init__(self) -> None:
            super().__init__(sizes, points)
            self.embeddings = nn.ParameterList(
                nn.Parameter(torch.randn(sizes[l + 1] * sizes[l], embed))
                for l in range(len(points)))
            n_meta = 1 if shared else len(points)
            self.meta = nn.ModuleList(
                nn.Sequential(nn.Linear(embed, hidden), nn.SiLU(),
                              nn.Linear(hidden, points[0 if shared else l]))
                for l in range(n_meta))
            # A layer's output sums n_in generated functions: scale the last
            # meta layer so that sum starts near unit variance.
            with torch.no_grad():
                for l, m in enumerate(self.meta):
                    m[2].weight.mul_(1.0 / np.sqrt(sizes[l]))
                    m[2].bias.zero_()

        def tables(self) -> list:
            out = []
            last = len(self.embeddings) - 1
            for l, e in enumerate(self.embeddings):
                v = self.meta[0 if shared else l](e)
                if l < last:
                    # Centre each hidden-layer function on its nodes. A shift of
                    # the meta-learner's output moves every function at once,
                    # so a hidden unit (a sum of n_in of them) would move
                    # n_in times as far, off the next layer's fixed grid, where
                    # clamping stops every gradient. The offsets removed are
                    # only a constant per hidden unit.
                    v = v - v.mean(dim=1, keepdim=True)
                out.append(v.reshape(self.sizes[l + 1], self.sizes[l], self.points[l]))
            return out

    net = MetaKAN()
    net.calibrate(X)
    return net


def plain_parameters(sizes: Sequence[int], points: Sequence[int]) -> int:
    """Node values of the plain KAN with these sizes and points."""
    return int(sum(sizes[l] * sizes[l + 1] * points[l] for l in range(len(points))))


@dataclass
class Comparison:
    """MetaKAN against the plain backprop KAN of the same sizes and grids."""

    dataset: str
    sizes: list[int]
    points: list[int]
    embed: int
    meta_hidden: int
    epochs: int
    scheme: str
    plain_parameters: int
    meta_parameters: int
    parameter_ratio: float
    plain_best: float
    meta_best: float
    difference: float
    plain_peak_bytes: int
    meta_peak_bytes: int
    plain_seconds: float
    meta_seconds: float
    expanded_score: float

    def to_dict(self) -> dict:
        return asdict(self)


def compare(data: Dataset, hidden: Sequence[int], points: Sequence[int], embed: int = 1,
            meta_hidden: int = 16, epochs: int = 20, scheme: Scheme | None = None,
            batch: int = 64, seed: int = 0) -> tuple[Comparison, KAN]:
    """Train a plain backprop KAN and a MetaKAN of the same sizes and grids on
    ``data``; return the figures and the MetaKAN expanded to an ordinary KAN
    (its best epoch is not kept: the last one is expanded)."""
    from . import backprop as bp

    torch = require_torch()
    scheme = scheme or Scheme("kaiming_normal", "adam", 0.005)
    sizes = [data.X.shape[1], *hidden, data.y.shape[1]]
    if len(points) != len(sizes) - 1:
        raise ConfigError(f"{len(sizes) - 1} layers need {len(sizes) - 1} point counts")
    plain = bp.pl_kan(sizes, points, data.X, scheme, seed)
    meta = metakan(sizes, points, data.X, embed, meta_hidden, seed=seed)
    peaks = [bp.peak_training_bytes(m, data.X, data.y, scheme, batch, data.classes)
             for m in (plain, meta)]
    runs = [bp.train(m, data.X, data.y, data.X_val, data.y_val, scheme, epochs, batch,
                     data.classes, seed) for m in (plain, meta)]
    best = [float(np.nanmax(r.test)) if r.test else float("nan") for r in runs]
    meta.eval()
    kan = bp.expand(meta, runs[1].scaler, info={"dataset": data.name, "source": "metakan",
                                                 "embed": embed, "meta_hidden": meta_hidden})
    with torch.no_grad():
        pred = predict(kan, data.X_val)
    expanded = bp.score(pred, data.y_val, data.classes)
    ratio = runs[0].parameters / runs[1].parameters
    return Comparison(data.name, sizes, list(points), embed, meta_hidden, epochs, scheme.label,
                      runs[0].parameters, runs[1].parameters, round(ratio, 2), best[0],
                      best[1], best[1] - best[0], peaks[0], peaks[1],
                      round(runs[0].seconds[-1], 2) if runs[0].seconds else 0.0,
                      round(runs[1].seconds[-1], 2) if runs[1].seconds else 0.0,
                      expanded), kan
