"""The block modules a core instantiates (one per stage for a layered core,
one shared module for the two-layer core), elaborated as Verilog for a
board's or a family's platform. Both the build and the resource model
synthesise blocks separately from the core that wires them."""

from __future__ import annotations

from kanhw.rtl_gen.block import BLOCK_MODULE, ProcessingBlock
from kanhw.rtl_gen.layered.block import StageBlock, stage_module


def block_modules(geo, platform) -> dict[str, str]:
    """Module name -> Verilog text, elaborated for ``platform`` (a board's,
    or a family's for the resource model; ``None`` for generic cells)."""
    from amaranth.back import verilog
    if geo.design.layered:
        return {stage_module(st): verilog.convert(StageBlock(geo, st), name=stage_module(st),
                                                  platform=platform, emit_src=False)
                for st in geo.stages}
    return {BLOCK_MODULE: verilog.convert(ProcessingBlock(geo), name=BLOCK_MODULE,
                                          platform=platform, emit_src=False)}
