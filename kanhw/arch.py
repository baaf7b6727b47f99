"""Architecture of a piecewise-linear KAN: layer widths and grid points.

A KAN is a chain of layers. Layer ``l`` maps ``sizes[l]`` inputs to
``sizes[l+1]`` outputs; output ``o`` is the sum over inputs ``i`` of a
univariate piecewise-linear function ``f_oi`` with ``points[l]`` nodes on a
uniform grid. The classical two-layer KAN ``n -> K -> m`` has inner functions
(layer 0) and outer functions (layer 1); ``K`` is the number of addends.

The flat-array layout defined here (function and node offsets per layer) is
shared by the float trainer, the fixed-point trainer and the hardware
generator, so that all of them agree on where every node lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError


@dataclass(frozen=True)
class Architecture:
    """Layer widths ``sizes = (n_in, h1, ..., n_out)`` and points per layer."""

    sizes: tuple[int, ...]
    points: tuple[int, ...]

    def __post_init__(self) -> None:
        sizes = tuple(int(s) for s in self.sizes)
        points = tuple(int(p) for p in self.points)
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "points", points)
        if len(sizes) < 2:
            raise ConfigError("a KAN needs at least an input and an output width")
        if any(s < 1 for s in sizes):
            raise ConfigError(f"every layer width must be at least 1 (got {list(sizes)}); "
                              "0 addends or 0 inputs is not a network")
        if len(points) != len(sizes) - 1:
            raise ConfigError(f"{len(sizes) - 1} layers need {len(sizes) - 1} point counts, "
                              f"got {len(points)}")
        if any(p < 2 for p in points):
            raise ConfigError(f"every function needs at least 2 grid points (got {list(points)})")

    @classmethod
    def classical(cls, n_in: int, addends: int, n_out: int = 1,
                  inner_points: int = 5, outer_points: int = 22) -> Architecture:
        """The two-layer inner/outer KAN with ``addends`` addends."""
        return cls((n_in, addends, n_out), (inner_points, outer_points))

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_in(self) -> int:
        return self.sizes[0]

    @property
    def n_out(self) -> int:
        return self.sizes[-1]

    @property
    def addends(self) -> int:
        """Width of the last hidden layer: the number of terms per output."""
        return self.sizes[-2]

    def functions_in_layer(self, layer: int) -> int:
        return self.sizes[layer] * self.sizes[layer + 1]

    @property
    def func_base(self) -> np.ndarray:
        """Index of the first function of each layer in the flat function arrays."""
        counts = [self.functions_in_layer(l) for l in range(self.n_layers)]
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @property
    def node_base(self) -> np.ndarray:
        """Index of the first node of each layer in the flat node array."""
        counts = [self.functions_in_layer(l) * self.points[l] for l in range(self.n_layers)]
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @property
    def act_base(self) -> np.ndarray:
        """Offset of each layer's activation vector in one flat activation buffer."""
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)

    @property
    def n_functions(self) -> int:
        return int(self.func_base[-1])

    @property
    def n_parameters(self) -> int:
        """Node values, the trainable parameters (domains excluded)."""
        return int(self.node_base[-1])

    def describe(self) -> str:
        widths = " -> ".join(str(s) for s in self.sizes)
        pts = "/".join(str(p) for p in self.points)
        return f"{widths} (points {pts}, {self.n_parameters} node values)"

    def to_dict(self) -> dict:
        return {"sizes": list(self.sizes), "points": list(self.points)}

    @classmethod
    def from_dict(cls, d: dict) -> Architecture:
        try:
            return cls(tuple(d["sizes"]), tuple(d["points"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"malformed architecture {d!r}: {exc}") from None


def parse_int_list(text: str, what: str) -> list[int]:
    """Parse ``"5,22"`` into ``[5, 22]`` with a one-line error on failure."""
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise ConfigError(f"{what} must be a comma-separated list of integers, got {text!r}") \
            from None
    if not values:
        raise ConfigError(f"{what} is empty")
    return values


def layout(a: Architecture) -> tuple[np.ndarray, ...]:
    """The flat-array geometry every kernel takes: sizes, points and bases."""
    return (np.asarray(a.sizes, np.int64), np.asarray(a.points, np.int64),
            a.func_base, a.node_base, a.act_base)


def build_architecture(n_in: int, n_out: int, addends: int | None = None,
                       hidden: Sequence[int] | None = None,
                       points: Sequence[int] | None = None) -> Architecture:
    """Architecture from CLI-style options.

    ``hidden`` lists the hidden widths (``--layers``); without it the network
    is the classical ``n_in -> addends -> n_out``. ``points`` is either one
    value per layer or two values (inner, outer): the first for every layer but
    the last, the second for the last.
    """
    if hidden is None:
        hidden = [64 if addends is None else addends]
    elif addends is not None and hidden[-1] != addends:
        raise ConfigError(f"--addends {addends} disagrees with the last hidden width {hidden[-1]}")
    sizes = (n_in, *hidden, n_out)
    n_layers = len(sizes) - 1
    if points is None:
        points = [5] * (n_layers - 1) + [22]
    elif len(points) == n_layers:
        pass
    elif len(points) == 2:
        points = [points[0]] * (n_layers - 1) + [points[1]]
    elif len(points) == 1:
        points = list(points) * n_layers
    else:
        raise ConfigError(f"--points needs 1, 2 or {n_layers} values for {n_layers} layers, "
                          f"got {len(points)}")
    return Architecture(sizes, tuple(points))
