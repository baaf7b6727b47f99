"""Arithmetic building blocks shared by the generated datapaths.

Each helper is the hardware twin of one operation of the fixed-point
reference (:mod:`kanhw.nk_fixed`): round-half-up shifts, saturation with an
event flag, and multiplication by a small constant as shift-adds.
"""

from __future__ import annotations

from amaranth.hdl import Const, Mux, Value, signed


def round_shift(x: Value, s: int) -> Value:
    """``floor((x + 2^(s-1)) / 2^s)`` for signed ``x``; identity for s == 0."""
    if s <= 0:
        return x
    return (x + Const(1 << (s - 1), signed(s + 1))) >> s


def rounded_base(v: Value, s: int, subtract: bool = False) -> Value:
    """A base ``b`` such that ``(b + x) >> s == v + round_shift(x, s)``, or
    with ``subtract``, ``(b - x) >> s == v - round_shift(x, s)``, for any
    signed ``x``: ``v * 2^s + 2^(s-1)`` (minus one to subtract, where the
    floor of a negated quotient becomes a ceiling).

    Formed a cycle before the product arrives, it turns the rounding adder
    and the addition into one carry chain."""
    if s <= 0:
        return v
    half = 1 << (s - 1)
    return (v.as_signed() << s) + Const(half - 1 if subtract else half, signed(s + 1))


def saturate(x: Value, bits: int) -> tuple[Value, Value]:
    """Clamp ``x`` to a signed ``bits``-bit range; returns (value, overflow flag).

    ``x`` fits when its bits from ``bits - 1`` up are all copies of its sign:
    a few LUTs on the top bits, where ``x > hi`` and ``x < lo`` would each
    cost a carry chain the width of ``x`` (several per lane)."""
    hi = (1 << (bits - 1)) - 1
    lo = -(1 << (bits - 1))
    shape = x.shape()
    if shape.width < bits or (shape.width == bits and shape.signed):
        return x, Const(0, 1)
    fits = x == x[:bits].as_signed()
    if shape.signed:
        neg = x[-1]
        over = ~neg & ~fits
        under = neg & ~fits
    else:
        over, under = ~fits, Const(0, 1)
    value = Mux(over, Const(hi, signed(bits)),
                Mux(under, Const(lo, signed(bits)), x[:bits].as_signed()))
    return value, over | under


def times_const(x: Value, k: int) -> Value:
    """``x * k`` for a small non-negative constant, as a sum of shifted copies
    (no multiplier block is spent on the step factor)."""
    if k < 0:
        raise ValueError("constant must be non-negative")
    terms = [x.as_signed() << b for b in range(k.bit_length()) if (k >> b) & 1]
    if not terms:
        return Const(0, signed(1))
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total
