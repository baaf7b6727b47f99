"""Lattice ECP5: EHXPLLL, 18 x 18 MULT18X18D multipliers, 18 kbit DP16KD
block RAM and LUT RAM (TRELLIS_DPR16X4), flip-flop primitives for registers
that must stay apart, and a second synthesis when Yosys' ABC9 aborts."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal, Signal, Value

from kanhw.errors import ConfigError

from .base import Family, PLLSetting


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


#: Flip-flop primitives: no reset, synchronous clear, synchronous preset.
#: Yosys maps them to the ECP5's flip-flops after its merging passes, which
#: leave primitives alone.
FF_PLAIN, FF_CLEAR, FF_PRESET = "FD1S3AX", ("FD1S3IX", "CD"), ("FD1S3JX", "PD")

#: synth_ecp5 option for a second attempt when ABC9 (its only LUT mapper)
#: aborts without a message, as it does on some netlists
#: (YosysHQ/yosys#4237): with -dff it maps flip-flops with the logic, a
#: different problem that has gone through so far.
ABC9_RETRY = "-dff"


@dataclass(frozen=True)
class ECP5Family(Family):
    def pll(self, m: Module, clk_in, f_in: float, f_out: float, clk_out, locked) -> float:
        s = ecp5_pll(f_in, f_out)
        m.submodules.pll = Instance(
            "EHXPLLL", p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED",
            p_STDBY_ENABLE="DISABLED", p_DPHASE_SOURCE="DISABLED",
            p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
            p_CLKOP_DIV=s.params["CLKOP_DIV"], p_CLKOP_CPHASE=s.params["CLKOP_CPHASE"],
            p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=s.params["CLKFB_DIV"],
            p_CLKI_DIV=s.params["CLKI_DIV"],
            a_FREQUENCY_PIN_CLKI=f"{f_in / 1e6:.6f}", a_FREQUENCY_PIN_CLKOP=f"{s.f_out / 1e6:.6f}",
            i_CLKI=clk_in, i_CLKFB=clk_out, o_CLKOP=clk_out,
            o_LOCK=locked, i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0,
            i_PHASEDIR=0, i_PHASESTEP=0, i_PHASELOADREG=0, i_PLLWAKESYNC=0, i_ENCLKOP=0)
        return s.f_out

    def get_edge_register(self, q, d, domain: str) -> Module:
        """One flip-flop primitive per bit: a reset-less register gets the
        plain one, a reset one the clear or preset kind its initial bit asks
        for, on the domain's reset."""
        m = Module()
        q, d = Value.cast(q), Value.cast(d)
        sig = q if isinstance(q, Signal) else None
        reset_less = sig is None or sig.reset_less
        init = sig.init if sig is not None else 0
        for i in range(len(q)):
            ports = {"i_CK": ClockSignal(domain), "i_D": d[i], "o_Q": q[i]}
            if reset_less:
                kind = FF_PLAIN
            else:
                kind, pin = FF_PRESET if (init >> i) & 1 else FF_CLEAR
                ports[f"i_{pin}"] = ResetSignal(domain)
            m.submodules[f"b{i}"] = Instance(kind, **ports)
        return m


ECP5 = ECP5Family(
    name="ecp5",
    # nextpnr's TRELLIS_COMB count: a CCU2C is two; a TRELLIS_DPR16X4 is
    # six (its four RAM LUTs and the two of the slice its write port takes,
    # ecp5/pack.cc pack_dram). The factor covers the packer's own LUTs
    # (constants, feed-throughs): 1.014-1.048 on the det4 85F and 45F, tetra
    # 85F and LUT-RAM block builds (docs/boards.md, "Resource model").
    yosys_cells={"lut": ((("LUT4", 1), ("CCU2C", 2), ("TRELLIS_DPR16X4", 6)), 1.035),
                 "ff": ((("TRELLIS_FF", 1),), 1.0),
                 "dsp": ((("MULT18X18D", 1),), 1.0),
                 "bram": ((("DP16KD", 1),), 1.0)},
    nextpnr_cells={"lut": "TRELLIS_COMB", "ff": "TRELLIS_FF", "dsp": "MULT18X18D",
                   "bram": "DP16KD"},
    # a ULX3S-25F design at 79 % routed, while ULX3S-85F designs at 83 % and
    # 88 % did not route in 40-70 minutes of nextpnr (router2 stalled at
    # about 7,000 overused wires); the det4 core on the 85F at 64 %, 81
    # DSPs, routes after nextpnr's static placer, not after its heap placer
    fill_limit={"lut": 0.80, "ff": 0.92, "dsp": 1.0, "bram": 1.0},
    retry_opts=ABC9_RETRY,
    retry_reason=f"Yosys' ABC9 stopped without a message (YosysHQ/yosys#4237); "
                 f"synthesised again with synth_ecp5 {ABC9_RETRY}",
)
