"""The fixed-point KAN: integer tables, the host-side mappings, conversion
from and to the float model, and the fixed-point training backend.

The host owns two mappings the device never sees as floats:

* inputs: feature ``x_i`` becomes the grid coordinate
  ``round((x_i - lo_i) * (P0 - 1) / (hi_i - lo_i) * 2^frac_bits)``, clamped to
  the first layer's grid (out-of-range inputs are counted as clamps);
* targets: output ``q`` is scaled to [-1, 1] by its centre and half-range,
  then to the value format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import nk_fixed as nkx
from .arch import Architecture, layout
from .contract import Contract, fit_rcp_shift
from .errors import ConfigError, DataError
from .model import KAN, writable

if TYPE_CHECKING:
    from .train import TrainConfig


@dataclass
class FixedKAN:
    """Integer node tables and domains, plus the host mappings."""

    arch: Architecture
    contract: Contract
    values: np.ndarray   # int64, flat node layout of kanhw.arch
    lo: np.ndarray       # int64 per function (layers >= 1; layer 0 unused)
    hi: np.ndarray
    rcp: np.ndarray
    in_lo: np.ndarray    # float per input: first-layer domain
    in_hi: np.ndarray
    t_centre: np.ndarray  # float per output
    t_half: np.ndarray
    counts: np.ndarray = field(default_factory=lambda: np.zeros(nkx.N_COUNTS, np.int64))
    history: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    # -- construction -----------------------------------------------------------
    @classmethod
    def initialise(cls, arch: Architecture, contract: Contract, x_min, x_max, t_min, t_max,
                   seed: int = 0) -> FixedKAN:
        """The float initialisation heuristic in scaled target units, quantised."""
        t_min = np.asarray(t_min, float).reshape(-1)
        t_max = np.asarray(t_max, float).reshape(-1)
        centre = (t_min + t_max) / 2
        half = np.where(t_max > t_min, (t_max - t_min) / 2, 1.0)
        scaled = KAN.initialise(arch, x_min, x_max, (t_min - centre) / half,
                                (t_max - centre) / half, seed=seed)
        return cls.from_float(scaled, contract, centre, half)

    @classmethod
    def from_model(cls, kan: KAN, contract: Contract, t_min, t_max) -> FixedKAN:
        """Quantise any float KAN in target units (trained by NK or backprop,
        or expanded from a MetaKAN) for the targets' range ``[t_min, t_max]``:
        the last layer is moved to scaled target units, each of its functions
        taking ``1/n_in`` of the centre. Each hidden layer's values (and the
        next layer's domains with them, so the function is unchanged) are
        rescaled so its outputs span what the NK initialisation gives them,
        ``2/K`` in scaled units: the range the contract's formats and
        reciprocals are sized for. A backprop model's hidden units span
        whatever the optimiser left them."""
        a = kan.arch
        t_min = np.asarray(t_min, float).reshape(-1)
        t_max = np.asarray(t_max, float).reshape(-1)
        if t_min.size != a.n_out:
            raise ConfigError(f"the model has {a.n_out} outputs, the targets {t_min.size}")
        centre = (t_min + t_max) / 2
        half = np.where(t_max > t_min, (t_max - t_min) / 2, 1.0)
        scaled = kan.copy()
        fb = a.func_base
        for l in range(a.n_layers - 1):
            width = float(np.median(scaled.hi[fb[l + 1]:fb[l + 2]] - scaled.lo[fb[l + 1]:fb[l + 2]]))
            c = (2.0 / a.addends) / width
            scaled.layer_values(l)[...] *= c
            scaled.lo[fb[l + 1]:fb[l + 2]] *= c
            scaled.hi[fb[l + 1]:fb[l + 2]] *= c
        last = a.n_layers - 1
        v = scaled.layer_values(last)  # a view into scaled.values
        v -= (centre / a.sizes[last])[:, None, None]
        v /= half[:, None, None]
        return cls.from_float(scaled, contract, centre, half)

    @classmethod
    def from_float(cls, kan: KAN, contract: Contract, t_centre, t_half) -> FixedKAN:
        """Quantise a float KAN whose hidden and output values are already in
        scaled target units (first-layer domains stay in input units)."""
        a = kan.arch
        if a.n_layers < 2:
            raise ConfigError("the fixed-point trainer needs at least two layers")
        lsb = 2.0 ** contract.value_frac
        fb = a.func_base
        in_lo, in_hi = kan.layer_domain(0)
        if not (np.all(in_lo == in_lo[0]) and np.all(in_hi == in_hi[0])):
            raise ConfigError("first-layer domains must be shared by all units "
                              "(the host maps each input once)")
        if contract.rcp_shift == 0:
            width = (kan.hi[fb[1]:] - kan.lo[fb[1]:]).min() * lsb
            contract = contract.replace(rcp_shift=fit_rcp_shift(contract, max(a.points[1:]),
                                                                width))
        counts = np.zeros(nkx.N_COUNTS, np.int64)
        values = _quantise(kan.values * lsb, contract, counts)
        lo = np.zeros(a.n_functions, np.int64)
        hi = np.zeros(a.n_functions, np.int64)
        lo[fb[1]:] = _quantise(kan.lo[fb[1]:] * lsb, contract, counts)
        hi[fb[1]:] = _quantise(kan.hi[fb[1]:] * lsb, contract, counts)
        rcp = np.zeros(a.n_functions, np.int64)
        c = contract.kernel_vector()
        for l in range(1, a.n_layers):
            for F in range(fb[l], fb[l + 1]):
                if hi[F] <= lo[F]:
                    raise ConfigError("a hidden domain is narrower than one value LSB; "
                                      "raise value_frac")
                rcp[F] = nkx.reciprocal(hi[F] - lo[F], a.points[l], c, counts)
        if counts[nkx.C_EVENTS]:
            raise ConfigError(f"{counts[nkx.C_EVENTS]} initial table entries do not fit the "
                              "contract; raise value_bits or lower value_frac")
        return cls(a, contract, values, lo, hi, rcp, in_lo[0].copy(), in_hi[0].copy(),
                   np.asarray(t_centre, float).reshape(-1), np.asarray(t_half, float).reshape(-1),
                   history=list(kan.history), info=dict(kan.info))

    def copy(self) -> FixedKAN:
        return FixedKAN(self.arch, self.contract, self.values.copy(), self.lo.copy(),
                        self.hi.copy(), self.rcp.copy(), self.in_lo.copy(), self.in_hi.copy(),
                        self.t_centre.copy(), self.t_half.copy(), self.counts.copy(),
                        [dict(h) for h in self.history], dict(self.info))

    def own_tables(self) -> None:
        """Replace read-only tables and counters by private copies
        (see :func:`kanhw.model.writable`)."""
        for name in ("values", "lo", "hi", "rcp", "counts"):
            setattr(self, name, writable(getattr(self, name)))

    def equals(self, other: FixedKAN) -> bool:
        return (self.arch == other.arch and self.contract == other.contract
                and all(np.array_equal(getattr(self, n), getattr(other, n))
                        for n in ("values", "lo", "hi", "rcp")))

    # -- host mappings --------------------------------------------------------
    def map_inputs(self, X: np.ndarray) -> tuple[np.ndarray, int]:
        """Grid coordinates of the first layer, and how many were clamped."""
        P = self.arch.points[0]
        F = self.contract.frac_bits
        scale = (P - 1) * 2.0 ** F / (self.in_hi - self.in_lo)
        u = np.floor((np.asarray(X, float) - self.in_lo) * scale + 0.5)
        top = ((P - 1) << F) - 1
        clamped = int(np.count_nonzero((u < 0) | (u > top)))
        return np.clip(u, 0, top).astype(np.int64), clamped

    def map_targets(self, Y: np.ndarray) -> np.ndarray:
        c = self.contract
        q = np.floor((np.asarray(Y, float) - self.t_centre) / self.t_half
                     * 2.0 ** c.value_frac + 0.5)
        if np.any(q > c.value_max) or np.any(q < c.value_min):
            raise DataError("targets exceed the value format; the fixed-point trainer "
                            "scales targets to [-1, 1] from the training set")
        return q.astype(np.int64)

    def unmap_values(self, Q: np.ndarray) -> np.ndarray:
        """Device values (predictions, residuals) back to target units."""
        return np.asarray(Q, float) * 2.0 ** -self.contract.value_frac * self.t_half

    def unmap_outputs(self, Q: np.ndarray) -> np.ndarray:
        return self.unmap_values(Q) + self.t_centre

    # -- float view ---------------------------------------------------------------
    def to_float(self) -> KAN:
        """An equivalent float KAN in raw units (for plotting and saving)."""
        a = self.arch
        s = 2.0 ** -self.contract.value_frac
        fb, nb = a.func_base, a.node_base
        values = self.values * s
        lo = self.lo * s
        hi = self.hi * s
        # every hidden quantity scales with the output scale; multi-output
        # networks share hidden units, so use one scale and fold the
        # per-output scale and centre into the last layer
        g = float(self.t_half.max())
        values[:nb[-2]] *= g
        lo[fb[1]:fb[-2]] *= g
        hi[fb[1]:fb[-2]] *= g
        lo[fb[-2]:] *= g
        hi[fb[-2]:] *= g
        last = values[nb[-2]:].reshape(a.sizes[-1], a.sizes[-2], a.points[-1])
        last *= self.t_half[:, None, None]
        last += (self.t_centre / a.sizes[-2])[:, None, None]
        # first-layer values are in hidden units too (scaled above); their
        # domains are the host's input domains
        lo[:fb[1]] = np.tile(self.in_lo, a.sizes[1])
        hi[:fb[1]] = np.tile(self.in_hi, a.sizes[1])
        return KAN(a, values, lo, hi, list(self.history), dict(self.info))


def _quantise(x: np.ndarray, contract: Contract, counts: np.ndarray) -> np.ndarray:
    q = np.floor(np.asarray(x, float) + 0.5)
    over = (q > contract.value_max) | (q < contract.value_min)
    counts[nkx.C_EVENTS] += int(np.count_nonzero(over))
    return np.clip(q, contract.value_min, contract.value_max).astype(np.int64)


class FixedBackend:
    """Integer NK (constant step) behind the epoch driver's backend protocol.

    The fixed model is updated in place; inputs and targets are mapped once
    per array (the host's job), cached by identity.
    """

    def __init__(self, model: FixedKAN, cfg: TrainConfig | None = None) -> None:
        if cfg is not None and cfg.step != "constant":
            raise ConfigError("the fixed-point trainer implements the constant step only")
        model.own_tables()
        self.model = model
        self.geometry = layout(model.arch)
        self.c = model.contract.kernel_vector()
        self._shift = model.contract.step_shift
        self._mapped: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.input_clamps = 0

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        key = id(X)
        if key not in self._mapped:
            U, clamped = self.model.map_inputs(X)
            self.input_clamps += clamped
            self._mapped[key] = (X, U)  # keep X alive so its id stays unique
        return self._mapped[key][1]

    #: Kernels :meth:`compile` goes through (for progress).
    KERNELS = 2

    def compile(self, step: Callable[[str], None] | None = None) -> None:
        step = step or (lambda name: None)
        m = self.model
        tiny = m.copy()
        U = np.zeros((1, m.arch.n_in), np.int64)
        Y = np.zeros((1, m.arch.n_out), np.int64)
        out = np.empty((1, m.arch.n_out), np.int64)
        nkx.train_records(U, Y, np.zeros(1, np.int64), *self.geometry, tiny.values, tiny.lo,
                          tiny.hi, tiny.rcp, self.c, tiny.counts, out, out.copy(),
                          np.zeros(1, np.int64), np.zeros(1, np.int64))
        step("train_records (fixed point)")
        nkx.predict_records(U, Y, *self.geometry, tiny.values, tiny.lo, tiny.hi, tiny.rcp,
                            self.c, tiny.counts, out, out.copy())
        step("predict_records (fixed point)")

    def train_mapped(self, U: np.ndarray, Yq: np.ndarray, order: np.ndarray,
                     slog: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Train on device-format records; returns predictions, residuals and
        the number of domains each record stretched. ``slog``: a stretch log
        (:func:`kanhw.nk_fixed.log_stretch`) that gets the function of every
        stretch."""
        m = self.model
        pred = np.empty((order.size, m.arch.n_out), np.int64)
        resid = np.empty_like(pred)
        stretched = np.zeros(order.size, np.int64)
        nkx.train_records(U, Yq, order, *self.geometry, m.values, m.lo, m.hi, m.rcp, self.c,
                          m.counts, pred, resid, stretched,
                          np.zeros(1, np.int64) if slog is None else slog)
        return pred, resid, stretched

    def train(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray, resid: np.ndarray) -> int:
        before = int(self.model.counts[nkx.C_STRETCH])
        key = id(Y)
        if key not in self._mapped:
            self._mapped[key] = (Y, self.model.map_targets(Y))
        _, r, _ = self.train_mapped(self._inputs(X), self._mapped[key][1], order)
        resid[:] = self.model.unmap_values(r)
        return int(self.model.counts[nkx.C_STRETCH]) - before

    def predict_mapped(self, U: np.ndarray, Yq: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Frozen mode on device-format records: (predictions, residuals); the
        residuals are formed (and their saturations counted) only with ``Yq``."""
        m = self.model
        out = np.empty((U.shape[0], m.arch.n_out), np.int64)
        resid = np.zeros_like(out)
        Y = np.empty((0, m.arch.n_out), np.int64) if Yq is None else Yq
        nkx.predict_records(U, Y, *self.geometry, m.values, m.lo, m.hi, m.rcp, self.c, m.counts,
                            out, resid)
        return out, resid

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.unmap_outputs(self.predict_mapped(self._inputs(X))[0])

    def frozen(self, snap: FixedKAN) -> Callable[[np.ndarray], np.ndarray]:
        return FixedBackend(snap).predict

    def halve_step(self, k: int) -> None:
        """Train with the step ``step_mult / 2^(step_shift + k)`` from now on:
        the same constant multiplier, ``k`` more bits of shift. Software only:
        the generated core's step is a constant of the design (no register
        the host could rewrite between epochs), so an annealed fixed-point
        run is what a core generated with each epoch's step would compute."""
        shift = self._shift + k
        if shift > 40:
            raise ConfigError(f"annealing {k} halvings takes the step shift to {shift}, "
                              "beyond the contract's 40")
        self.c[nkx.K_SHIFT] = shift
