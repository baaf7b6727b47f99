"""Clock generation for the boards: PLL parameter search (iCE40 SB_PLL40,
ECP5 EHXPLLL) and a ``sync`` domain held in reset until the PLL locks and a
power-on delay has passed (iCE40 block RAMs read as zero for a few µs after
configuration)."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import ClockDomain, ClockSignal, Instance, Module, ResetSignal, Signal

from kanhw.errors import ConfigError


@dataclass(frozen=True)
class PLLSetting:
    params: dict
    f_out: float


def ice40_pll(f_in: float, f_out: float) -> PLLSetting:
    """The SB_PLL40 setting closest to ``f_out`` (the icepll search)."""
    best = None
    for divr in range(16):
        pfd = f_in / (divr + 1)
        if not 10e6 <= pfd <= 133e6:
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not 533e6 <= vco <= 1066e6:
                continue
            for divq in range(1, 7):
                f = vco / (1 << divq)
                if best is None or abs(f - f_out) < abs(best[0] - f_out):
                    best = (f, divr, divf, divq, pfd)
    if best is None:
        raise ConfigError(f"no iCE40 PLL setting from {f_in / 1e6} MHz")
    f, divr, divf, divq, pfd = best
    filt = next(i for i, lim in enumerate((17e6, 26e6, 44e6, 66e6, 101e6, 1e12), 1)
                if pfd < lim)
    return PLLSetting({"DIVR": divr, "DIVF": divf, "DIVQ": divq, "FILTER_RANGE": filt}, f)


def ecp5_pll(f_in: float, f_out: float) -> PLLSetting:
    """The EHXPLLL setting closest to ``f_out`` (the ecppll search)."""
    best = None
    for clki in range(1, 129):
        pfd = f_in / clki
        if not 3.125e6 <= pfd <= 400e6:
            continue
        for clkfb in range(1, 81):
            f = pfd * clkfb
            for clkop in range(1, 129):
                vco = f * clkop
                if 400e6 <= vco <= 800e6:
                    if best is None or abs(f - f_out) < abs(best[0] - f_out):
                        best = (f, clki, clkfb, clkop)
                    break
    if best is None:
        raise ConfigError(f"no ECP5 PLL setting from {f_in / 1e6} MHz")
    f, clki, clkfb, clkop = best
    return PLLSetting({"CLKI_DIV": clki, "CLKFB_DIV": clkfb, "CLKOP_DIV": clkop,
                       "CLKOP_CPHASE": clkop - 1}, f)


def sync_domain(m: Module, family: str, clk_in, f_in: float, f_out: float,
                reset_in=None) -> tuple[float, ClockDomain]:
    """Create the ``sync`` domain at (about) ``f_out`` from ``clk_in``;
    returns the frequency the PLL makes (``f_in`` if none is needed) and the
    domain."""
    m.domains.sync = sync = ClockDomain("sync")
    locked = Signal()
    if abs(f_out - f_in) < 1e3:
        m.d.comb += [ClockSignal("sync").eq(clk_in), locked.eq(1)]
        f = f_in
    elif family == "ice40":
        s = ice40_pll(f_in, f_out)
        # the iCE40 PLL is fed straight from its shared pad (``clk_in`` is
        # then the unbuffered port)
        m.submodules.pll = Instance(
            "SB_PLL40_PAD", ("i", "PACKAGEPIN", clk_in), p_FEEDBACK_PATH="SIMPLE",
            p_DIVR=s.params["DIVR"], p_DIVF=s.params["DIVF"], p_DIVQ=s.params["DIVQ"],
            p_FILTER_RANGE=s.params["FILTER_RANGE"], i_RESETB=1, i_BYPASS=0,
            o_PLLOUTGLOBAL=ClockSignal("sync"), o_LOCK=locked)
        f = s.f_out
    elif family == "ecp5":
        s = ecp5_pll(f_in, f_out)
        m.submodules.pll = Instance(
            "EHXPLLL", p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED",
            p_STDBY_ENABLE="DISABLED", p_DPHASE_SOURCE="DISABLED",
            p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
            p_CLKOP_DIV=s.params["CLKOP_DIV"], p_CLKOP_CPHASE=s.params["CLKOP_CPHASE"],
            p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=s.params["CLKFB_DIV"],
            p_CLKI_DIV=s.params["CLKI_DIV"],
            a_FREQUENCY_PIN_CLKI=f"{f_in / 1e6:.6f}", a_FREQUENCY_PIN_CLKOP=f"{s.f_out / 1e6:.6f}",
            i_CLKI=clk_in, i_CLKFB=ClockSignal("sync"), o_CLKOP=ClockSignal("sync"),
            o_LOCK=locked, i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0,
            i_PHASEDIR=0, i_PHASESTEP=0, i_PHASELOADREG=0, i_PLLWAKESYNC=0, i_ENCLKOP=0)
        f = s.f_out
    else:
        raise ConfigError(f"unknown FPGA family {family!r}")
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
