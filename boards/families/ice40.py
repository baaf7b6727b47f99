"""Lattice iCE40 (iCE40UP5K): SB_PLL40 fed from its pad, 16 x 16 SB_MAC16
multipliers (Yosys maps them with ``-dsp``), 4 kbit block RAM with
synchronous reads only: no LUT RAM, so memories with asynchronous reads
are built from logic and LUT-RAM tables are refused."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Instance, Module

from kanhw.design import Design
from kanhw.errors import ConfigError

from .base import Family, PLLSetting


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


@dataclass(frozen=True)
class ICE40Family(Family):
    def check(self, design: Design) -> None:
        if design.table_ram == "lut":
            raise ConfigError('table_ram = "lut" needs LUT RAM, which iCE40 does not have; '
                              'use "block" or "auto"')

    def pll(self, m: Module, clk_in, f_in: float, f_out: float, clk_out, locked) -> float:
        s = ice40_pll(f_in, f_out)
        m.submodules.pll = Instance(
            "SB_PLL40_PAD", ("i", "PACKAGEPIN", clk_in), p_FEEDBACK_PATH="SIMPLE",
            p_DIVR=s.params["DIVR"], p_DIVF=s.params["DIVF"], p_DIVQ=s.params["DIVQ"],
            p_FILTER_RANGE=s.params["FILTER_RANGE"], i_RESETB=1, i_BYPASS=0,
            o_PLLOUTGLOBAL=clk_out, o_LOCK=locked)
        return s.f_out


ICE40 = ICE40Family(
    name="ice40",
    synth_opts="-dsp",               # map multipliers to SB_MAC16 (off by default)
    yosys_cells={"lut": ((("SB_LUT4", 1),), 1.20),
                 "dsp": ((("SB_MAC16", 1),), 1.0),
                 "bram": ((("SB_RAM40_4K", 1),), 1.0)},
    nextpnr_cells={"lut": "ICESTORM_LC", "dsp": "ICESTORM_DSP", "bram": "ICESTORM_RAM",
                   "spram": "ICESTORM_SPRAM"},
    # an iCEBreaker det4-sized block placed and routed at 94 % of its LCs
    fill_limit={"lut": 0.97, "dsp": 1.0, "bram": 1.0},
    has_lut_ram=False,
    pll_from_pad=True,
)
