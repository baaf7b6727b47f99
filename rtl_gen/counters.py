"""The record counters both cores keep (records, records with a
saturation, clamped arguments, stretched domains; ``GLOBAL_REGS``) and how
a record is counted into them."""

from __future__ import annotations

from amaranth.hdl import Module, Signal


class RecordCounters:
    """Four 32-bit counters a host reads and clears through the global
    registers."""

    def __init__(self) -> None:
        self.records, self.saturations, self.clamps, self.stretches = (
            Signal(32, name=f"n_{n}") for n in ("records", "sat", "clamp", "stretch"))

    def count(self, m: Module, sat, clamps, stretches) -> None:
        """Count one record (under the caller's ``m.If``): ``sat`` whether
        any of its tests saturated, its clamps and stretches."""
        m.d.sync += [self.records.eq(self.records + 1), self.clamps.eq(self.clamps + clamps),
                     self.stretches.eq(self.stretches + stretches)]
        with m.If(sat):
            m.d.sync += self.saturations.eq(self.saturations + 1)
