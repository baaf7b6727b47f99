"""The manifest of a generated core (every parameter, the port map, the
control memory map, cycles per record) and its resource estimate.

The estimate counts what the generator instantiates (multipliers with their
operand widths, table memories, pipeline registers); LUT figures are a
first-order model, not a synthesis result (``kanhw build`` gives those).
"""

from __future__ import annotations

from kanhw.design import Design

from .core import ctrl_layout, record_layout, result_layout
from .memmap import GLOBAL_REGS, Geometry, ceil_log2


def _fields(layout) -> list[dict]:
    out = []
    for name, field in layout:
        out.append({"name": name, "offset": field.offset, "width": field.width})
    return out


def resource_estimate(geo: Geometry) -> dict:
    c = geo.design.contract
    V, F, MB, EB, RB = c.value_bits, c.frac_bits, c.mul_bits, c.step_bits, c.rcp_bits
    K, L, M = geo.blocks, geo.lanes, geo.share   # K: blocks, each serving M addends
    mults_per_block = [
        {"what": "lane: offset x node difference / x e_k", "count": L,
         "widths": [F, MB]},
        {"what": "outer map: (a - lo) x rcp", "count": 1, "widths": [MB, RB]},
        {"what": "outer value: offset x difference", "count": 1, "widths": [F, MB]},
        {"what": "outer slope: difference x rcp", "count": 1, "widths": [MB, RB]},
        {"what": "outer update: e x offset", "count": 1, "widths": [EB, F]},
        {"what": "inner step: e x slope", "count": 1, "widths": [EB, c.slope_bits]},
    ]
    per_block = sum(m["count"] for m in mults_per_block)
    ne0, no0 = geo.bank_depths(geo.p_inner)
    ne1, no1 = geo.bank_depths(geo.p_outer)
    inner_words = L * (1 << geo.slot_bits) * (ne0 + no0)
    outer_words = M * (ne1 + no1)
    mem_bits = K * (inner_words + outer_words) * V
    # pipeline and state registers per block, first order
    # (a fourth lane stage registers the pair, its difference and the offset;
    # a fifth the table data, coordinate and slot at the RAM's output)
    extra = geo.extra_lane_stages
    ff_block = (L * (3 * V + MB + F + 16 + V + 4 + ceil_log2(geo.steps + 1)
                     + min(extra, 1) * (2 * V + MB + F + 4)
                     + max(extra - 1, 0) * (2 * V + geo.coord_width + geo.slot_bits + 4))
                + 6 * V + 3 * (MB + RB) + 2 * MB + RB + c.slope_bits + 3 * V + 64)
    # per-addend state of a shared block: LUT RAM (domain, reciprocal,
    # coordinate, slope, held sum), M words
    per_addend_bits = 3 * V + RB + F + c.slope_bits + ceil_log2(geo.p_outer) if M > 1 else 0
    lut_mult = 0
    for m in mults_per_block:
        a, b = m["widths"]
        lut_mult += m["count"] * a * b  # if built from LUTs: about one LUT4 per bit product
    return {
        "multipliers": {"per_block": per_block, "total": K * per_block,
                        "per_block_detail": mults_per_block},
        "memories": {"per_block": 2 * L + 2, "total": K * (2 * L + 2),
                     "words_per_block": inner_words + outer_words, "word_bits": V,
                     "total_bits": mem_bits,
                     "per_addend_state_bits": K * M * per_addend_bits},
        "flip_flops_estimate": K * ff_block + 4 * 32 + K * (V + 2),
        "lut4_if_multipliers_in_logic": K * lut_mult,
        "note": "first-order counts of what the generator builds; synthesis "
                "(kanhw build) gives real figures",
    }


def manifest(design: Design, top: str) -> dict:
    geo = Geometry(design)
    c = design.contract
    blk = {
        "region_bits": 2, "offset_bits": geo.offset_bits, "block_bits": geo.block_bits,
        "inner": "offset = lane << (slot_bits + node_bits) | slot << node_bits | node; "
                 "slot = j << step_bits | step for the block's addend j; "
                 "input i = step * lanes + lane",
        "outer": "offset = j << outer_node_bits | node",
        "domain": "offset = j << 2 | word",
        "addends_per_block": geo.share, "blocks": geo.blocks,
        "slot_bits": geo.slot_bits, "step_bits": geo.step_bits, "lane_bits": geo.lane_bits,
        "node_bits": geo.node_bits_inner, "outer_node_bits": geo.node_bits_outer,
        "regions": {"inner": 0, "outer": 1, "domain": 2},
        "domain_words": {"lo": 0, "hi": 1, "rcp": 2},
    }
    return {
        "top": top,
        "design": design.to_dict(),
        "ports": {
            "clock": "clk", "reset": "rst (synchronous, active high)",
            "records": {"stream": "in", "signals": ["records__payload", "records__valid",
                                                    "records__ready"],
                        "payload": _fields(record_layout(geo)),
                        "payload_bits": record_layout(geo).size,
                        "u": f"{geo.n} grid coordinates of {geo.coord_width} bits "
                             f"(segment index above {c.frac_bits} offset bits), input 0 lowest"},
            "results": {"stream": "out", "signals": ["results__payload", "results__valid",
                                                     "results__ready"],
                        "payload": _fields(result_layout(geo)),
                        "payload_bits": result_layout(geo).size},
            "ctrl_req": {"stream": "in", "payload": _fields(ctrl_layout(geo)),
                         "payload_bits": ctrl_layout(geo).size},
            "ctrl_rsp": {"stream": "out", "payload_bits": 32},
            "busy": "out: a record is in flight",
        },
        "memory_map": {
            "address_bits": geo.addr_width,
            "layout": "[space:1][block:block_bits][region:2][offset:offset_bits]",
            "global_registers": GLOBAL_REGS,
            "blocks": blk,
        },
        "timing": {
            "cycles_per_record": geo.cycles_per_record,
            "cycles_per_record_frozen": geo.cycles_per_record_frozen,
            "stretch_stall_cycles": {"per_record": geo.STRETCH_BASE_CYCLES,
                                     "per_stretch": geo.stretch_service_cycles},
            "lane_tree_stages": geo.lane_tree_stages,
            "barrier_tree_stages": geo.barrier_tree_stages,
        },
        "resources": resource_estimate(geo),
    }
