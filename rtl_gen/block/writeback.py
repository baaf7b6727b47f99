"""Small pieces the block's components share: the saturation-hit
registers behind the block's flags, the two-node write-back of an update,
and the inner tables' slot numbering."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal

from ..arith import rounded_base, saturate


class HitFlags:
    """Saturation tests, each through a register of its own before the
    block's flag (``sat`` for the forward pass, ``usat`` for the update
    pass). The tests sit at the ends of carry chains all over the block,
    and a test and the flag's OR in one cycle were in turn the 85F build's
    longest path (a lane's difference, 20.4 ns; the outer engine's,
    17.9 ns; an inner write-back's, 15.3 ns): a test lands in the flag
    :data:`~kanhw.interface.cycles.FLAG_DELAY` cycle(s) after it is made."""

    def __init__(self, m: Module, prefix: str) -> None:
        self.m, self.prefix, self.hits = m, prefix, []

    def flag(self, cond) -> None:
        """Call it outside any ``m.If``: the register follows ``cond``
        every cycle (under an ``m.If`` it would hold a hit and count later
        records)."""
        hit = Signal(name=f"{self.prefix}_hit{len(self.hits)}")
        self.m.d.sync += hit.eq(cond)
        self.hits.append(hit)

    @property
    def any(self):
        return Cat(*self.hits).any() if self.hits else Const(0, 1)


# An update writes a pair back as v0 + step - round(f step) and
# v1 + round(f step) (lanes: f e_k; the outer pair: t_f e). The step and the
# rounding are folded into bases formed the cycle before the product p, so
# the write is one carry chain per node (the rounding, the sum and the
# saturation into the block RAM's data were the longest path of the ECP5
# builds).
def pair_bases(v0, v1, step, frac_bits: int):
    """The write-back's bases of the pair ``(v0, v1)`` for ``step``."""
    return rounded_base(v0 + step, frac_bits, subtract=True), rounded_base(v1, frac_bits)


def pair_written(b0, b1, p, frac_bits: int, value_bits: int):
    """(new v0, new v1, saturated) from the bases and the product ``p``."""
    n0, o0 = saturate((b0 - p) >> frac_bits, value_bits)
    n1, o1 = saturate((b1 + p) >> frac_bits, value_bits)
    return n0, n1, o0 | o1


def slot_of(step, addend, step_bits: int, addend_bits: int):
    """Inner table slot: the addend within the block, then the lane step."""
    parts = ([step[:step_bits]] if step_bits else []) + ([addend[:addend_bits]] if addend_bits else [])
    return Cat(*parts) if parts else Const(0, 1)
