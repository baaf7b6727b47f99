"""The fixed-point contract: every width, shift and rounding rule of the
fixed-point NK trainer and of the generated hardware.

A :class:`Contract` is the single source of truth. The fixed-point reference
(:mod:`kanhw.nk_fixed`) and the Amaranth generator (``kanhw.rtl_gen``) both
read their widths and shifts from it; nothing here is repeated elsewhere.

Number formats (all two's complement, rounding = round half up, i.e. add half
an LSB then shift right arithmetically; every overflow saturates and is
counted, never wraps):

* **grid coordinate** ``t``: unsigned, integer part = segment index ``j``,
  the low ``frac_bits`` bits = offset ``f`` (``f / 2^frac_bits`` in [0, 1)).
  First-layer arguments arrive as grid coordinates, mapped by the host.
* **value** (node values, hidden sums, predictions, targets, residuals,
  domain bounds): ``value_bits`` wide with ``value_frac`` fraction bits. The
  host scales each target to [-1, 1] (centre and half-range).
* **multiplier operands** are at most ``mul_bits`` wide (signed). A node
  difference ``v1 - v0`` and a domain offset ``a - lo`` drop ``guard_bits``
  low bits (rounded) and saturate to ``mul_bits`` before they are
  multiplied; the steps ``e`` (per output) and ``e_k`` (per addend) are kept
  in ``min(value_bits, mul_bits)`` bits at full value precision. So node
  values carry ``guard_bits`` more fraction bits than any product operand:
  small updates accumulate, while every product fits one 18x18 (ECP5) or
  16x16 (iCE40) multiplier. Interpolation:
  ``v0 + round(f * dv' / 2^(frac_bits - guard_bits))`` with
  ``dv' = sat(round(dv / 2^guard_bits))``.
* **reciprocal** ``rcp``: unsigned ``rcp_bits``; a hidden argument ``a`` maps
  to ``t = round(d' * rcp / 2^rcp_shift)`` with ``d' = a - lo`` reduced like
  ``dv'``. After a stretch
  ``rcp = floor((P - 1) * 2^(frac_bits + rcp_shift + guard_bits) / (hi - lo))``
  (a multi-cycle divider in hardware: stretches are rare).
* **slope**: ``slope_bits`` wide with ``slope_frac`` fraction bits, value per
  value: ``round(dv' * rcp / 2^(frac_bits + rcp_shift - slope_frac))``.
* **step**: ``e = round(r * step_mult / 2^step_shift)`` (a constant
  multiplier: shift-adds in hardware, no DSP).
* **stretch margin**: ``gap = round((hi - lo) * margin_mult / 2^margin_shift)``
  (about 1 % of the width) added on both sides.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from .errors import ConfigError

# Index of each field in the int64 vector handed to the compiled kernels.
_KERNEL_ORDER = ("frac_bits", "value_bits", "value_frac", "rcp_bits", "rcp_shift",
                 "slope_bits", "slope_frac", "step_mult", "step_shift", "margin_mult",
                 "margin_shift", "mul_bits", "guard_bits")


@dataclass(frozen=True)
class Contract:
    """Fixed-point formats shared by the reference and the hardware."""

    frac_bits: int = 10
    value_bits: int = 24
    value_frac: int = 20
    mul_bits: int = 18
    guard_bits: int = 4
    rcp_bits: int = 17
    rcp_shift: int = 0  # 0: chosen from the initial domains by :func:`fit_rcp_shift`
    slope_bits: int = 18
    slope_frac: int = 12
    step_mult: int = 51
    step_shift: int = 14
    margin_mult: int = 41
    margin_shift: int = 12

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise ConfigError(f"contract field {f.name} must be an integer, got {v!r}")
        checks = [
            (2 <= self.frac_bits <= 16, "frac_bits must lie in 2..16"),
            (8 <= self.value_bits <= 32, "value_bits must lie in 8..32"),
            (0 <= self.value_frac < self.value_bits - 1,
             "value_frac must be below value_bits - 1"),
            (4 <= self.rcp_bits <= 24, "rcp_bits must lie in 4..24"),
            (8 <= self.mul_bits <= 40, "mul_bits must lie in 8..40"),
            (0 <= self.guard_bits <= self.frac_bits, "guard_bits must lie in 0..frac_bits"),
            (0 <= self.rcp_shift <= 48, "rcp_shift must lie in 0..48"),
            (4 <= self.slope_bits <= 32, "slope_bits must lie in 4..32"),
            (0 <= self.slope_frac < self.slope_bits, "slope_frac must be below slope_bits"),
            (1 <= self.step_mult < 1 << 12, "step_mult must lie in 1..4095"),
            (0 <= self.step_shift <= 40, "step_shift must lie in 0..40"),
            (0 <= self.margin_mult < 1 << 12, "margin_mult must lie in 0..4095"),
            (0 <= self.margin_shift <= 24, "margin_shift must lie in 0..24"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"contract: {msg}")
        if self.rcp_shift and self.frac_bits + self.rcp_shift < self.slope_frac:
            raise ConfigError("contract: slope_frac exceeds frac_bits + rcp_shift")

    # -- derived quantities ---------------------------------------------------
    @property
    def mu(self) -> float:
        """The constant step ``step_mult / 2^step_shift`` as a real number."""
        return self.step_mult / 2.0 ** self.step_shift

    @property
    def step_bits(self) -> int:
        """Width of the steps ``e`` and ``e_k`` (multiplier operands)."""
        return min(self.value_bits, self.mul_bits)

    @property
    def value_max(self) -> int:
        return (1 << (self.value_bits - 1)) - 1

    @property
    def value_min(self) -> int:
        return -(1 << (self.value_bits - 1))

    @property
    def value_lsb(self) -> float:
        return 2.0 ** -self.value_frac

    def coord_bits(self, points: int) -> int:
        """Width of a grid coordinate for a function with ``points`` nodes."""
        return max(1, (points - 2).bit_length()) + self.frac_bits

    def with_step(self, alpha: float, addends: int, mult_bits: int = 8) -> Contract:
        """Contract whose step ``step_mult / 2^step_shift`` approximates
        ``alpha / addends`` with a ``mult_bits``-bit constant multiplier."""
        mu = alpha / addends
        if not (mu > 0 and math.isfinite(mu)):
            raise ConfigError(f"step alpha/K must be positive, got {mu}")
        shift = max(0, mult_bits - 1 - math.floor(math.log2(mu)))
        mult = max(1, round(mu * 2 ** shift))
        return self.replace(step_mult=mult, step_shift=shift)

    def replace(self, **changes) -> Contract:
        d = asdict(self)
        unknown = set(changes) - set(d)
        if unknown:
            raise ConfigError(f"unknown contract field(s): {', '.join(sorted(unknown))}")
        d.update(changes)
        return Contract(**d)

    def kernel_vector(self) -> np.ndarray:
        return np.array([getattr(self, n) for n in _KERNEL_ORDER], dtype=np.int64)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Contract:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown contract field(s): {', '.join(sorted(unknown))}")
        return cls(**d)


#: Named contracts. ``hw`` is what the generated hardware uses by default
#: (two-layer KANs; every multiplier operand fits an 18x18 DSP). ``deep`` is
#: for deeper networks in the fixed-point reference: hidden values grow well
#: beyond the target range and the steps pushed down through several layers
#: are tiny, so it needs more integer and more fraction bits.
PRESETS = {
    "hw": Contract(),
    "deep": Contract(value_bits=30, value_frac=20, mul_bits=32, guard_bits=0, rcp_bits=20,
                     slope_bits=24, slope_frac=16),
}


def fit_rcp_shift(contract: Contract, points: int, width: float) -> int:
    """The ``rcp_shift`` that puts the reciprocal of a domain ``width`` (in
    value LSBs) two bits below full scale, leaving room for the domain to grow
    16x before the reciprocal drops below ``rcp_bits - 6`` significant bits."""
    target = 2.0 ** (contract.rcp_bits - 2)
    # rcp = (P-1) * 2^(F + s + G) / width  ~=  target
    s = math.floor(math.log2(target * width / (points - 1))) - contract.frac_bits \
        - contract.guard_bits
    return int(min(48, max(0, s)))


#: Index constants for the compiled kernels (see ``Contract.kernel_vector``).
K_FRAC, K_VBITS, K_VFRAC, K_RBITS, K_RSHIFT, K_SBITS, K_SFRAC, K_MULT, K_SHIFT, K_GMULT, \
    K_GSHIFT, K_MBITS, K_GUARD = range(len(_KERNEL_ORDER))
