"""Verilog emission: the top module and one shared block module in one file."""

from __future__ import annotations

from amaranth.back import verilog
from amaranth.lib import wiring

from kanhw.interface.geometry import Geometry

from .block import BLOCK_MODULE, ProcessingBlock
from .layered.block import StageBlock, stage_module


def to_verilog(top: wiring.Component, geo: Geometry, name: str) -> str:
    """Verilog of ``top`` (built with ``shared_blocks=True``) followed by the
    block module it instantiates K times (a layered core: one per stage)."""
    top_v = verilog.convert(top, name=name, emit_src=False)
    if geo.design.layered:
        return top_v + "".join("\n" + verilog.convert(StageBlock(geo, st), name=stage_module(st),
                                                      emit_src=False)
                               for st in geo.stages)
    block_v = verilog.convert(ProcessingBlock(geo), name=BLOCK_MODULE, emit_src=False)
    return top_v + "\n" + block_v
