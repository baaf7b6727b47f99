"""The manifest of a generated core: every parameter, the port map, the
control memory map, cycles per record, and the multipliers and memories it
instantiates (exact counts; device resources come from the resource model,
``kanhw build --fit``)."""

from __future__ import annotations

from kanhw.design import Design
from kanhw.interface.cycles import CycleModel
from kanhw.interface.geometry import GLOBAL_REGS, Geometry, LaneShape, bank_depths, ceil_log2
from kanhw.interface.layered import LAYERED_REGS, LayeredGeometry

from .core import ctrl_layout, record_layout, result_layout


def _fields(layout) -> list[dict]:
    out = []
    for name, field in layout:
        out.append({"name": name, "offset": field.offset, "width": field.width})
    return out


def lane_resources(shape: LaneShape) -> tuple[list[dict], list[tuple]]:
    """A block's first-layer lanes (:class:`kanhw.rtl_gen.block.lanes.LanePipeline`,
    in either core): their multipliers, and their memories as ``(kind,
    depth, width, read port)``."""
    c = shape.design.contract
    V, F, MB, EB = c.value_bits, c.frac_bits, c.mul_bits, c.step_bits
    L = shape.lanes
    if shape.overlapped:
        mults = [
            {"what": "lane forward: offset x node difference", "count": L, "widths": [F, MB]},
            {"what": "lane update: offset x e_k", "count": L, "widths": [F, EB]},
        ]
    else:
        mults = [{"what": "lane: offset x node difference, then offset x e_k", "count": L,
                  "widths": [F, max(MB, EB)]}]
    slots = 1 << shape.slot_bits
    ne0, no0 = bank_depths(shape.p_inner)
    sb0 = shape.slot_bits
    each = []
    for _ in range(L):
        each += [("inner nodes (even bank)", ne0 << sb0, V, "synchronous"),
                 ("inner nodes (odd bank)", no0 << sb0, V, "synchronous")]
        if shape.overlapped:
            each.append(("lane cache: coordinate and pair, forward -> update", max(2, slots),
                         shape.coord_width + 2 * V, "synchronous"))
    return mults, each


def resource_counts(geo: Geometry) -> dict:
    """What the generator instantiates, counted exactly: multipliers (with
    their operand widths) and memories (depth, width, read port), per block
    and in all. Tests hold these equal to the ``$mul`` and ``$mem_v2`` cells
    Yosys reads from the emitted Verilog. How they map to a device's DSPs,
    block RAMs, LUTs and flip-flops is the resource model's answer
    (``kanhw build --fit``), from Yosys' synthesis for the board's family."""
    c = geo.design.contract
    V, F, MB, EB, RB = c.value_bits, c.frac_bits, c.mul_bits, c.step_bits, c.rcp_bits
    B, M = geo.blocks, geo.addends_per_block
    lane_mults, each = lane_resources(geo.lane_shape)
    mults = [
        *lane_mults,
        {"what": "outer engine: map (a - lo) x rcp, value offset x difference, "
                 "slope difference x rcp, in turn", "count": 1,
         "widths": [MB, max(RB + 1, F + 1)]},
        {"what": "update: e x slope, then e x outer offset", "count": 1,
         "widths": [EB, max(c.slope_bits, F + 1)]},
    ]
    ne1, no1 = bank_depths(geo.p_outer)
    sb1 = geo.addend_bits
    # every memory of a block: (kind, depth, width, read port)
    each += [("outer nodes (even bank)", ne1 << sb1, V, "synchronous"),
             ("outer nodes (odd bank)", no1 << sb1, V, "synchronous")]
    if M > 1:
        for name, w in (("lo", V), ("hi", V), ("rcp", RB), ("tj", max(1, ceil_log2(geo.p_outer))),
                        ("tf", F), ("slope", c.slope_bits), ("ov0", V), ("ov1", V),
                        ("held", V)):
            each.append((f"per-addend {name}", M, w, "asynchronous"))
    # a memory of one word is a register: synthesis builds it as one
    mems: dict[tuple, int] = {}
    for kind, depth, width, read in each:
        if depth > 1:
            mems[kind, depth, width, read] = mems.get((kind, depth, width, read), 0) + 1
    detail = [{"what": kind, "count": n, "depth": depth, "width": width, "read": read}
              for (kind, depth, width, read), n in mems.items()]
    per_mult = sum(m["count"] for m in mults)
    per_mem = sum(mems.values())
    bits = sum(n * depth * width for (_, depth, width, _), n in mems.items())
    return {
        "multipliers": {"per_block": per_mult, "total": B * per_mult, "detail": mults},
        "memories": {"per_block": per_mem, "total": B * per_mem, "detail": detail,
                     "total_bits": B * bits,
                     "inner_ram_style": geo.design.table_ram},
        "note": "exact counts of what the generator builds; DSPs, block RAMs, LUTs and "
                "flip-flops on a device: kanhw build --board B --config C --fit",
    }


def manifest(design: Design, top: str) -> dict:
    geo = Geometry(design)
    cyc = CycleModel(geo)
    c = design.contract
    blk = {
        "region_bits": 2, "offset_bits": geo.offset_bits, "block_bits": geo.block_bits,
        "inner": "offset = lane << (slot_bits + node_bits) | slot << node_bits | node; "
                 "slot = j << step_bits | step for the block's addend j; "
                 "input i = step * lanes + lane",
        "outer": "offset = j << outer_node_bits | node",
        "domain": "offset = j << 2 | word",
        "addends_per_block": geo.addends_per_block, "blocks": geo.blocks,
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
            "cycles_per_record": cyc.per_record,
            "cycles_per_record_frozen": cyc.per_record_frozen,
            "stretch_stall_cycles": {"per_record": cyc.STRETCH_BASE,
                                     "per_stretch": cyc.stretch_service},
            "lane_tree_stages": geo.lane_tree_stages,
            "barrier_tree_stages": geo.barrier_tree_stages,
        },
        "resources": resource_counts(geo),
    }



def layered_resource_counts(geo: LayeredGeometry) -> dict:
    """What the layered generator instantiates, exactly: per stage, each
    block's multipliers (a lane multiplier per lane in stage 1, the
    engine's three, two in a block of one slot) and memories (lanes'
    even/odd banks, the engine's outgoing banks and its per-slot and
    per-unit stores of two words or more; a one-word store is a register)."""
    c = geo.design.contract
    V, F, MB, EB, RB = c.value_bits, c.frac_bits, c.mul_bits, c.step_bits, c.rcp_bits
    stages, mults_total, mems_total, bits_total = [], 0, 0, 0
    for st in geo.stages:
        # a block of one slot maps through the slope's multiplier
        mults = [*([] if st.one_slot else [{"what": "engine: map (a - lo) x rcp", "count": 1,
                                            "widths": [MB, RB]}]),
                 {"what": "engine: value difference x f, backward e x f", "count": 1,
                  "widths": [max(MB, EB), F]},
                 {"what": "engine: slope difference x rcp, backward e x slope"
                          + (", map (a - lo) x rcp" if st.one_slot else ""), "count": 1,
                  "widths": [max(MB, EB), max(RB + 1, c.slope_bits)]}]
        each = []
        if st.index == 1:
            lane_mults, lane_mems = lane_resources(geo.lane_shape)
            mults[:0] = lane_mults
            each += [(kind, depth, width) for kind, depth, width, _ in lane_mems]
        ne1, no1 = bank_depths(st.points)
        n_slots = 1 << st.slot_bits
        each += [("outgoing nodes (even bank)", ne1 << st.slot_bits, V),
                 ("outgoing nodes (odd bank)", no1 << st.slot_bits, V)]
        for name, w, depth in (("lo", V, n_slots), ("hi", V, n_slots), ("rcp", RB, n_slots),
                               ("tj", max(1, ceil_log2(st.points)), n_slots), ("tf", F, n_slots),
                               ("slope", c.slope_bits, n_slots),
                               ("unit values", V, st.units_per_block),
                               ("sums", V + 2 + ceil_log2(st.units_per_block), st.outputs),
                               ("steps in", EB, st.outputs),
                               ("unit steps", EB, st.units_per_block)):
            each.append((name, depth, w))
        mems: dict[tuple, int] = {}
        for kind, depth, width in each:
            if depth > 1:
                mems[kind, depth, width] = mems.get((kind, depth, width), 0) + 1
        per_mult = sum(m["count"] for m in mults)
        per_mem = sum(mems.values())
        bits = sum(n * d * w for (_, d, w), n in mems.items())
        stages.append({"stage": st.index, "blocks": st.blocks,
                       "units_per_block": st.units_per_block,
                       "multipliers_per_block": per_mult, "multiplier_detail": mults,
                       "memories_per_block": per_mem,
                       "memory_detail": [{"what": k, "count": n, "depth": d, "width": w}
                                         for (k, d, w), n in mems.items()]})
        mults_total += st.blocks * per_mult
        mems_total += st.blocks * per_mem
        bits_total += st.blocks * bits
    return {"multipliers": {"total": mults_total}, "memories": {"total": mems_total,
                                                                "total_bits": bits_total},
            "stages": stages,
            "note": "exact counts of what the generator builds; DSPs, block RAMs, LUTs and "
                    "flip-flops on a device: kanhw build --board B --config C --fit"}


def layered_manifest(design: Design, top: str) -> dict:
    """The manifest of a layered core (see :func:`manifest`)."""
    from kanhw.interface.layered_cycles import LayeredCycleModel
    geo = LayeredGeometry(design)
    cyc = LayeredCycleModel(geo)
    return {
        "top": top,
        "design": design.to_dict(),
        "ports": {
            "clock": "clk", "reset": "rst (synchronous, active high)",
            "records": {"stream": "in", "payload": _fields(record_layout(geo)),
                        "payload_bits": record_layout(geo).size},
            "results": {"stream": "out", "payload": _fields(result_layout(geo)),
                        "payload_bits": result_layout(geo).size},
            "ctrl_req": {"stream": "in", "payload": _fields(ctrl_layout(geo)),
                         "payload_bits": ctrl_layout(geo).size},
            "ctrl_rsp": {"stream": "out", "payload_bits": 32},
            "busy": "out: a record is in flight",
        },
        "memory_map": {
            "address_bits": geo.addr_width,
            "layout": "[space:1][block:block_bits][region:2][offset:offset_bits]",
            "global_registers": LAYERED_REGS, "block_bits": geo.block_bits,
            "offset_bits": geo.offset_bits,
            "stages": [{"stage": st.index, "units": st.units, "blocks": st.blocks,
                        "first_block": st.first_block, "units_per_block": st.units_per_block,
                        "outputs": st.outputs, "points": st.points, "slot_bits": st.slot_bits,
                        "node_bits": st.node_bits} for st in geo.stages],
            "inner": "offset = lane << (slot_bits + node_bits) | slot << node_bits | node; "
                     "slot = j << step_bits | step; input i = step * lanes + lane",
            "outer": "offset = slot << node_bits | node; slot = j << out_bits | p",
            "domain": "offset = slot << 2 | word (lo 0, hi 1, rcp 2)",
        },
        "timing": {"cycles_per_record": cyc.per_record,
                   "cycles_per_record_frozen": cyc.per_record_frozen,
                   "stretch_service_cycles": cyc.stretch_service},
        "resources": layered_resource_counts(geo),
    }
