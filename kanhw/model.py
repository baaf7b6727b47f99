"""The KAN container: node tables and domains in flat float64 arrays.

``values`` holds every node of every function, layer after layer, function
``(o, i)`` of layer ``l`` at ``node_base[l] + (o * sizes[l] + i) * points[l]``.
``lo`` and ``hi`` hold each function's domain. Per-layer views with shapes
``(n_out, n_in, points)`` and ``(n_out, n_in)`` are available for reading and
plotting; the trainers work on the flat arrays directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arch import Architecture
from .errors import DataError

#: Relative margin added on each side of a domain when it is set or stretched.
DOMAIN_MARGIN = 0.01
#: Two-sided 95 % quantile of the normal law, used by the initialisation.
Z95 = 1.96


def writable(a: np.ndarray) -> np.ndarray:
    """``a``, or a private copy of it when it is read-only (a read-only
    memmap, a model loaded with ``joblib.load(..., mmap_mode="r")``). The
    kernels are compiled for writable arrays: they update tables in place,
    and a read-only variant of every kernel would be a second compilation
    of several seconds."""
    return a if a.flags.writeable else a.copy()


@dataclass
class KAN:
    """A piecewise-linear KAN: architecture, node values and domains."""

    arch: Architecture
    values: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    history: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = np.ascontiguousarray(self.values, dtype=np.float64)
        self.lo = np.ascontiguousarray(self.lo, dtype=np.float64)
        self.hi = np.ascontiguousarray(self.hi, dtype=np.float64)
        if self.values.shape != (self.arch.n_parameters,):
            raise DataError(f"node table has {self.values.size} values, "
                            f"architecture needs {self.arch.n_parameters}")
        if self.lo.shape != (self.arch.n_functions,) or self.hi.shape != self.lo.shape:
            raise DataError(f"domain tables must hold {self.arch.n_functions} entries")

    def own_tables(self) -> None:
        """Replace read-only tables by private copies (see :func:`writable`)."""
        self.values, self.lo, self.hi = (writable(a) for a in (self.values, self.lo, self.hi))

    # -- per-layer views -------------------------------------------------
    def layer_values(self, layer: int) -> np.ndarray:
        a = self.arch
        nb = a.node_base
        return self.values[nb[layer]:nb[layer + 1]].reshape(
            a.sizes[layer + 1], a.sizes[layer], a.points[layer])

    def layer_domain(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        a = self.arch
        fb = a.func_base
        shape = (a.sizes[layer + 1], a.sizes[layer])
        return (self.lo[fb[layer]:fb[layer + 1]].reshape(shape),
                self.hi[fb[layer]:fb[layer + 1]].reshape(shape))

    def copy(self) -> KAN:
        return KAN(self.arch, self.values.copy(), self.lo.copy(), self.hi.copy(),
                   [dict(h) for h in self.history], dict(self.info))

    def equals(self, other: KAN) -> bool:
        """Exact (bit-for-bit) equality of architecture and tables."""
        return (self.arch == other.arch
                and np.array_equal(self.values, other.values)
                and np.array_equal(self.lo, other.lo)
                and np.array_equal(self.hi, other.hi))

    # -- initialisation --------------------------------------------------
    @classmethod
    def initialise(cls, arch: Architecture, x_min: np.ndarray, x_max: np.ndarray,
                   t_min: np.ndarray, t_max: np.ndarray, seed: int = 0) -> KAN:
        """Random tables following the heuristic of the published NK code.

        With ``K = sizes[-2]`` terms per output, every hidden unit is meant to
        carry a ``1/K`` share of the target range, ``H = [min t / K, max t / K]``:

        * last layer: domain ``H``, values uniform in output ``q``'s share
          ``[t_min[q] / K, t_max[q] / K]``;
        * other layers: domain = the input range (feature range for the first
          layer, ``H`` for hidden ones); values uniform in a band chosen so that
          the sum of the layer's ``n_in`` functions covers ``H`` with about 95 %
          confidence (each value treated as uniform: sd of the sum is
          ``width * sqrt(n_in / 12)``).

        Every domain is widened by 1 % on each side.
        """
        x_min = np.asarray(x_min, dtype=np.float64).reshape(-1)
        x_max = np.asarray(x_max, dtype=np.float64).reshape(-1)
        t_min = np.asarray(t_min, dtype=np.float64).reshape(-1)
        t_max = np.asarray(t_max, dtype=np.float64).reshape(-1)
        if x_min.size != arch.n_in or t_min.size != arch.n_out:
            raise DataError(f"data has {x_min.size} features and {t_min.size} targets, "
                            f"architecture {arch.describe()} needs {arch.n_in} and {arch.n_out}")
        t_min, t_max = _non_degenerate(t_min, t_max)
        x_min, x_max = _non_degenerate(x_min, x_max)
        rng = np.random.default_rng(seed)
        K = arch.addends
        h_lo, h_hi = float(t_min.min()) / K, float(t_max.max()) / K
        values = np.empty(arch.n_parameters)
        lo = np.empty(arch.n_functions)
        hi = np.empty(arch.n_functions)
        nb, fb = arch.node_base, arch.func_base
        for l in range(arch.n_layers):
            n_in, n_out, P = arch.sizes[l], arch.sizes[l + 1], arch.points[l]
            if l == 0:
                d_lo = np.broadcast_to(x_min, (n_out, n_in))
                d_hi = np.broadcast_to(x_max, (n_out, n_in))
            else:
                d_lo = np.full((n_out, n_in), h_lo)
                d_hi = np.full((n_out, n_in), h_hi)
            width = d_hi - d_lo
            lo[fb[l]:fb[l + 1]] = (d_lo - DOMAIN_MARGIN * width).reshape(-1)
            hi[fb[l]:fb[l + 1]] = (d_hi + DOMAIN_MARGIN * width).reshape(-1)
            if l == arch.n_layers - 1:
                v_lo = np.repeat((t_min / K)[:, None], n_in, axis=1)
                v_hi = np.repeat((t_max / K)[:, None], n_in, axis=1)
            else:
                lo_v, hi_v = share_band(h_lo, h_hi, n_in)
                v_lo = np.full((n_out, n_in), lo_v)
                v_hi = np.full((n_out, n_in), hi_v)
            u = rng.random((n_out, n_in, P))
            values[nb[l]:nb[l + 1]] = (v_lo[..., None] + u * (v_hi - v_lo)[..., None]).reshape(-1)
        return cls(arch, values, lo, hi)


def share_band(sum_lo: float, sum_hi: float, n: int) -> tuple[float, float]:
    """Band ``[a, b]`` such that the sum of ``n`` uniform draws from it covers
    ``[sum_lo, sum_hi]`` with about 95 % confidence."""
    width = (sum_hi - sum_lo) / 2.0 / (Z95 * np.sqrt(n / 12.0))
    centre = (sum_lo + sum_hi) / (2.0 * n)
    return centre - width / 2.0, centre + width / 2.0


def _non_degenerate(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give constant columns a unit-width range so grids have a positive step."""
    lo, hi = lo.copy(), hi.copy()
    flat = ~(hi > lo)
    lo[flat] -= 0.5
    hi[flat] += 0.5
    return lo, hi
