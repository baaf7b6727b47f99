"""Lattice iCE40 (iCE40UP5K): SB_PLL40 fed from its pad, 16 x 16 SB_MAC16
multipliers (Yosys maps them with ``-dsp``), 4 kbit block RAM with
synchronous reads only: no LUT RAM, so memories with asynchronous reads
are built from logic and LUT-RAM tables are refused."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amaranth.hdl import Instance, Module

from kanhw.design import Design
from kanhw.errors import ConfigError, KanhwError

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

    # An iCE40 logic cell holds a LUT4, a flip-flop and a carry, and nextpnr
    # packs a flip-flop with its LUT only when that LUT drives nothing else,
    # a carry only beside the LUT of the same operands: pipeline registers fed
    # by registers or block RAM, and comparisons' carry chains, take cells of
    # their own (about a third as many again as the LUT4s of a det4 core). No
    # factor on Yosys' LUT4s holds across designs, so the model packs for real.
    def packer_tool(self) -> str:
        from ..toolchain import tool
        return tool("NEXTPNR_ICE40")

    def packed_cells(self, netlist: Path) -> dict[str, int]:
        """nextpnr-ice40's ``--pack-only`` logic cells (``ICESTORM_LC``) of
        ``netlist``, on the UP5K (the one iCE40 with the SB_MAC16s that
        ``-dsp`` maps to)."""
        doc = json.loads(netlist.read_text())
        # the design's own black boxes (blocks the rest leaves out, as
        # Amaranth wrote them), not the cell library's
        boxes = {name for name, mod in doc["modules"].items()
                 if int(str(mod.get("attributes", {}).get("blackbox", "0")), 2)
                 and mod["attributes"].get("generator") == "Amaranth"}
        for name in boxes:
            del doc["modules"][name]
        for mod in doc["modules"].values():
            mod["cells"] = {k: c for k, c in mod.get("cells", {}).items()
                            if c["type"] not in boxes}
        with tempfile.TemporaryDirectory(prefix="kanhw-pack-") as tmp:
            Path(tmp, "netlist.json").write_text(json.dumps(doc))
            proc = subprocess.run([self.packer_tool(), "--up5k", "--package", "sg48",
                                   "--json", "netlist.json", "--pack-only"], cwd=tmp,
                                  capture_output=True, text=True, check=False)
        found = re.search(r"ICESTORM_LC:\s+(\d+)/", proc.stderr + proc.stdout)
        if proc.returncode != 0 or not found:
            err = [ln for ln in (proc.stderr + proc.stdout).splitlines() if "ERROR" in ln]
            raise KanhwError("nextpnr-ice40 could not pack the netlist: "
                             + (err[0].strip() if err else f"exit status {proc.returncode}"))
        return {"ICESTORM_LC": int(found.group(1))}

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
    # nextpnr's own logic cells (see ICE40Family.packed_cells)
    yosys_cells={"lut": ((("ICESTORM_LC", 1),), 1.0),
                 "dsp": ((("SB_MAC16", 1),), 1.0),
                 "bram": ((("SB_RAM40_4K", 1),), 1.0)},
    nextpnr_cells={"lut": "ICESTORM_LC", "dsp": "ICESTORM_DSP", "bram": "ICESTORM_RAM",
                   "spram": "ICESTORM_SPRAM"},
    # the count is nextpnr's own packing; the iCEBreaker's K = 1 det4 core
    # placed and routed at 5,279 of its 5,280 logic cells
    fill_limit={"lut": 1.0, "dsp": 1.0, "bram": 1.0},
    has_lut_ram=False,
    pll_from_pad=True,
)
