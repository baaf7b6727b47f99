"""Verilog emission: the top module and one shared block module in one file."""

from __future__ import annotations

import re

from amaranth.back import verilog
from amaranth.lib import wiring

from kanhw.interface.geometry import Geometry

from .block import BLOCK_MODULE, ProcessingBlock
from .layered.block import StageBlock, stage_module

#: An innermost concatenation as Yosys writes it: ``{ a, b, c }``.
_CONCAT = re.compile(r"\{ ([^{}]*) \}")


def _replicate_runs(match: re.Match) -> str:
    items = match.group(1).split(", ")
    out, i = [], 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1] == items[i]:
            j += 1
        out.append(items[i] if j == i else f"{{{j - i + 1}{{{items[i]}}}}}")
        i = j + 1
    return "{ " + ", ".join(out) + " }"


def compact(text: str) -> str:
    """``text`` with every run of one repeated item in a concatenation written
    as a replication: ``{ x[40], x[40], x[40:10] }`` becomes
    ``{ {2{x[40]}}, x[40:10] }``. Yosys spells out every sign extension bit
    by bit (some 900 in a 16-lane block), and Verilator builds each copy
    from shifts and ORs. The same bits, so the same netlist (the tests read
    both with Yosys); for the det4 example's block, Verilator's C++ is 28 %
    smaller and the block alone simulates 7-10 % faster (docs/hardware.md,
    "Simulation speed")."""
    return _CONCAT.sub(_replicate_runs, text)


def to_verilog(top: wiring.Component, geo: Geometry, name: str) -> str:
    """Verilog of ``top`` (built with ``shared_blocks=True``) followed by the
    block module it instantiates K times (a layered core: one per stage)."""
    top_v = verilog.convert(top, name=name, emit_src=False)
    if geo.design.layered:
        blocks_v = "".join("\n" + verilog.convert(StageBlock(geo, st), name=stage_module(st),
                                                  emit_src=False)
                           for st in geo.stages)
    else:
        blocks_v = "\n" + verilog.convert(ProcessingBlock(geo), name=BLOCK_MODULE,
                                          emit_src=False)
    return compact(top_v + blocks_v)
