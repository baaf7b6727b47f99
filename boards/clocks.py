"""Clock generation for the boards: a ``sync`` domain from the family's PLL
(:mod:`kanhw.boards.families`), held in reset until the PLL locks and a
power-on delay has passed (iCE40 block RAMs read as zero for a few µs after
configuration)."""

from __future__ import annotations

from amaranth.hdl import ClockDomain, ClockSignal, Module, ResetSignal, Signal

from .families import Family


def sync_domain(m: Module, family: Family, clk_in, f_in: float, f_out: float,
                reset_in=None) -> tuple[float, ClockDomain]:
    """Create the ``sync`` domain at (about) ``f_out`` from ``clk_in`` with
    the family's PLL; returns the frequency it makes (``f_in`` if none is
    needed) and the domain."""
    m.domains.sync = sync = ClockDomain("sync")
    locked = Signal()
    if abs(f_out - f_in) < 1e3:
        m.d.comb += [ClockSignal("sync").eq(clk_in), locked.eq(1)]
        f = f_in
    else:
        f = family.pll(m, clk_in, f_in, f_out, ClockSignal("sync"), locked)
    # hold reset ~20 µs after lock (power-on), counting in the new domain
    delay = max(16, int(20e-6 * f))
    por = Signal(range(delay + 1))
    m.domains.por = ClockDomain("por", reset_less=True)
    m.d.comb += ClockSignal("por").eq(ClockSignal("sync"))
    with m.If(~locked):
        m.d.por += por.eq(0)
    with m.Elif(por != delay):
        m.d.por += por.eq(por + 1)
    rst = (por != delay)
    if reset_in is not None:
        rst = rst | reset_in
    # registered: the reset leaves a flip-flop, not a LUT (the core fans it
    # out further, a register per block)
    rst_q = Signal(init=1)
    m.d.por += rst_q.eq(rst)
    m.d.comb += ResetSignal("sync").eq(rst_q)
    return f, sync
