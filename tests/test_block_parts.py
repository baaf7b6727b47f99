"""The processing block's parts, each alone in Amaranth's simulator: every
part does its job and keeps the latency that :mod:`kanhw.interface.cycles`
states for it (the cycle model of a whole core is the sum of these)."""

import pytest
from amaranth.sim import Simulator

from kanhw.design import design_from_dict
from kanhw.interface.cycles import (
    BROADCAST_STAGES,
    CONTROL_READ_LATENCY,
    ENGINE_REMAP,
    ENGINE_STRETCH_REQUEST,
    ENGINE_TAKE_INTERVAL,
    ENGINE_VALUE_LATENCY,
    LANE_STAGES,
    SEQUENCER_START,
    UPDATE_LEAD,
    UPDATE_WRITE,
)
from kanhw.interface.geometry import (
    DOMAIN_HI,
    DOMAIN_LO,
    DOMAIN_RCP,
    REGION_DOMAIN,
    REGION_OUTER,
    Geometry,
)
from kanhw.rtl_gen.block import BlockEdge, ProcessingBlock
from kanhw.rtl_gen.block.engine import OuterEngine
from kanhw.rtl_gen.block.lanes import LanePipeline
from kanhw.rtl_gen.block.sequencer import Sequencer


def geometry(inputs=5, addends=2, lanes=2, share=2, stages=3, points=(4, 6)) -> Geometry:
    return Geometry(design_from_dict({
        "arch": {"inputs": inputs, "addends": addends, "points": list(points)},
        "hardware": {"lanes": lanes, "addends_per_block": share, "lane_stages": stages}}))


def run(dut, bench, deadline=2000):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run_until(deadline * 1e-8)


def test_edge_register_delays_the_broadcast_and_the_reset():
    from amaranth.hdl import DomainRenamer
    geo = geometry()
    edge = BlockEdge(geo)
    dut = DomainRenamer({"local": "sync"})(edge)
    seen = {}

    async def bench(ctx):
        assert ctx.get(edge.rst) == 1                # reset state
        await ctx.tick()
        assert ctx.get(edge.rst) == 0
        ctx.set(edge.d.e, -5)
        ctx.set(edge.d.ctl.wdata, 0x1234)
        ctx.set(edge.d.start, 1)
        for cycle in range(1, 4):
            await ctx.tick()
            ctx.set(edge.d.start, 0)
            if ctx.get(edge.q.start) and "start" not in seen:
                seen["start"] = cycle
        assert seen["start"] == BROADCAST_STAGES == BlockEdge.LATENCY
        assert ctx.get(edge.q.e) == -5 and ctx.get(edge.q.ctl.wdata) == 0x1234
        assert ctx.get(edge.q.train) == 1            # trains after a reset

    run(dut, bench)


@pytest.mark.parametrize("steps_inputs,share", [((5, 2), 2), ((4, 4), 1), ((6, 2), 3)])
def test_sequencer_issues_every_slot_and_the_forward_pass_trails_the_update(steps_inputs, share):
    inputs, lanes = steps_inputs
    geo = geometry(inputs=inputs, addends=share, lanes=lanes, share=share)
    S, M = geo.steps, geo.addends_per_block
    seq = Sequencer(geo.lane_shape)
    slots = [(a, s) for a in range(M) for s in range(S)]

    async def bench(ctx):
        ctx.set(seq.train, 1)
        await ctx.tick()
        # a forward pass: the first slot START_LATENCY cycles after start
        ctx.set(seq.start, 1)
        fwd, cycle = [], 0
        while len(fwd) < len(slots) and cycle < 100:
            await ctx.tick()
            cycle += 1
            ctx.set(seq.start, 0)
            if ctx.get(seq.fwd.valid):
                if not fwd:
                    assert cycle == SEQUENCER_START == Sequencer.START_LATENCY
                fwd.append((ctx.get(seq.fwd.addend), ctx.get(seq.fwd.step)))
        assert fwd == slots
        await ctx.tick()
        assert not ctx.get(seq.fwd.valid)
        assert not ctx.get(seq.idle)                 # until this record's update
        # a training update with the next record's start: the update issues
        # every slot from the next cycle, writes each UPDATE_WRITE cycles
        # later, and the forward pass trails it by UPDATE_LEAD cycles
        ctx.set(seq.update, 1)
        ctx.set(seq.start, 1)
        upd_at, write_at, fwd_at = [], [], []
        for cycle in range(1, 3 * len(slots) + 12):
            await ctx.tick()
            ctx.set(seq.update, 0)
            ctx.set(seq.start, 0)
            if ctx.get(seq.upd.valid):
                upd_at.append((cycle, ctx.get(seq.upd.addend), ctx.get(seq.upd.step)))
            if ctx.get(seq.u_write):
                write_at.append(cycle)
            if ctx.get(seq.fwd.valid):
                fwd_at.append(cycle)
        assert [(a, s) for _, a, s in upd_at] == slots
        assert upd_at[0][0] == 1
        assert write_at == [c + UPDATE_WRITE for c, _, _ in upd_at]
        assert fwd_at == [c + UPDATE_LEAD for c, _, _ in upd_at]
        assert ctx.get(seq.uidle)

    run(seq, bench)


def _inner_offset(geo, a, i, p):
    return geo.inner_addr(a, i, p) & ((1 << (geo.lane_bits + geo.slot_bits
                                             + geo.node_bits_inner)) - 1)


@pytest.mark.parametrize("stages", [3, 4, 5])
def test_lane_pipeline_sums_each_addend_after_its_stated_latency(stages):
    """Tables whose nodes are ``p << F`` (plus a constant per addend) give
    each function its own coordinate back: an addend's hidden sum is the sum
    of its coordinates, exactly, ``latency`` cycles after its last slot."""
    geo = geometry(inputs=5, addends=2, lanes=2, share=2, stages=stages)
    c = geo.design.contract
    F, S, M = c.frac_bits, geo.steps, geo.addends_per_block
    lanes = LanePipeline(geo.lane_shape)
    assert lanes.latency == LANE_STAGES + stages - 3 + geo.lane_tree_stages
    u = [(j << F) | (37 * j + 5) % (1 << F) for j in (0, 1, 2, 2, 1)]
    offsets = [11, -3]
    expected = [sum(u) + geo.n * offsets[a] for a in range(M)]

    async def bench(ctx):
        for a in range(M):
            for i in range(geo.n):
                for p in range(geo.p_inner):
                    ctx.set(lanes.ctl.sel, 1)
                    ctx.set(lanes.ctl.we, 1)
                    ctx.set(lanes.ctl.offset, _inner_offset(geo, a, i, p))
                    ctx.set(lanes.ctl.wdata, ((p << F) + offsets[a]) & 0xFFFFFFFF)
                    await ctx.tick()
        ctx.set(lanes.ctl.sel, 0)
        ctx.set(lanes.ctl.we, 0)
        # read one node back, a cycle after its select
        ctx.set(lanes.ctl.sel, 1)
        ctx.set(lanes.ctl.offset, _inner_offset(geo, 1, 4, 3))
        await ctx.tick()
        ctx.set(lanes.ctl.sel, 0)
        assert ctx.get(lanes.ctl.rdata) == (3 << F) + offsets[1]
        for i, v in enumerate(u):
            ctx.set(lanes.u[i], v)
        last_issue, sums = {}, []
        for cycle in range(M * S + lanes.latency + 4):
            if cycle < M * S:
                a, s = divmod(cycle, S)
                ctx.set(lanes.fwd.valid, 1)
                ctx.set(lanes.fwd.addend, a)
                ctx.set(lanes.fwd.step, s)
                if s == S - 1:
                    last_issue[a] = cycle
            else:
                ctx.set(lanes.fwd.valid, 0)
            if ctx.get(lanes.sum_valid):
                sums.append((cycle, ctx.get(lanes.sum)))
            await ctx.tick()
        assert sums == [(last_issue[a] + lanes.latency, expected[a]) for a in range(M)]
        assert not ctx.get(lanes.sat)

    run(lanes, bench)


def _rcp(geo, lo, hi):
    c = geo.design.contract
    return ((geo.p_outer - 1) << (c.frac_bits + c.rcp_shift + c.guard_bits)) // (hi - lo)


async def _load_and_begin(ctx, geo, engine, lo, hi, outer=None):
    """Write each addend's domain (and outer nodes, ``outer(addend)``)
    through the engine's control access, then begin a training pass."""
    def write(region, offset, value):
        ctx.set(engine.ctl.sel, 1)
        ctx.set(engine.ctl_region, region)
        ctx.set(engine.ctl.we, 1)
        ctx.set(engine.ctl.offset, offset)
        ctx.set(engine.ctl.wdata, value & 0xFFFFFFFF)

    for a in range(geo.addends_per_block):
        for which, v in ((DOMAIN_LO, lo), (DOMAIN_HI, hi), (DOMAIN_RCP, _rcp(geo, lo, hi))):
            write(REGION_DOMAIN, a << 2 | which, v)
            await ctx.tick()
        for p in range(geo.p_outer if outer else 0):
            write(REGION_OUTER, a << geo.node_bits_outer | p, outer(a))
            await ctx.tick()
    ctx.set(engine.ctl.sel, 0)
    ctx.set(engine.ctl.we, 0)
    ctx.set(engine.coord_top, ((geo.p_outer - 1) << geo.design.contract.frac_bits) - 1)
    ctx.set(engine.train, 1)
    ctx.set(engine.begin, 1)
    await ctx.tick()
    ctx.set(engine.begin, 0)


def test_outer_engine_takes_maps_and_answers_after_its_stated_latencies():
    """Three sums arriving together: the engine takes them
    ENGINE_TAKE_INTERVAL cycles apart, ``done`` shows ENGINE_VALUE_LATENCY
    cycles after the last take, and each value is the outer table's at the
    mapped coordinate (all nodes equal here: the value is that node)."""
    geo = geometry(inputs=6, addends=3, lanes=3, share=3)
    engine = OuterEngine(geo)
    one = 1 << geo.design.contract.value_frac
    node = 123

    async def bench(ctx):
        await _load_and_begin(ctx, geo, engine, -4 * one, 4 * one, lambda a: node * (a + 1))
        done_at = None
        for cycle in range(40):
            # three sums on consecutive cycles, inside the domain
            ctx.set(engine.sum_valid, int(cycle < 3))
            ctx.set(engine.sum, (cycle - 1) * one)
            if ctx.get(engine.done) and done_at is None:
                done_at = cycle
                val = ctx.get(engine.val)
            await ctx.tick()
        # takes at 0, then every ENGINE_TAKE_INTERVAL (never at free + 1)
        last_take = 2 * ENGINE_TAKE_INTERVAL
        assert done_at == last_take + ENGINE_VALUE_LATENCY
        assert val == node * (1 + 2 + 3)
        assert ctx.get(engine.stretch) == 0 and ctx.get(engine.clamp) == 0

    run(engine, bench)


def test_outer_engine_requests_a_stretch_and_resumes_after_the_grant():
    geo = geometry(inputs=4, addends=1, lanes=4, share=1)
    c = geo.design.contract
    engine = OuterEngine(geo)
    one = 1 << c.value_frac
    lo, hi = -one, one
    grant_delay = 5

    async def bench(ctx):
        await _load_and_begin(ctx, geo, engine, lo, hi)
        req_at = grant_at = done_at = None
        for cycle in range(40):
            ctx.set(engine.sum_valid, int(cycle == 0))
            ctx.set(engine.sum, 3 * one)             # above the domain
            if ctx.get(engine.st.req) and req_at is None:
                req_at = cycle
                grant_at = cycle + grant_delay
            if cycle == grant_at:
                # the stretch unit's answer: the new domain and the offset
                new_hi = 3 * one + one // 4
                ctx.set(engine.st.grant, 1)
                ctx.set(engine.st.lo, lo)
                ctx.set(engine.st.hi, new_hi)
                ctx.set(engine.st.rcp, _rcp(geo, lo, new_hi))
                ctx.set(engine.st.d, (3 * one - lo) >> c.guard_bits)
            else:
                ctx.set(engine.st.grant, 0)
            if ctx.get(engine.done) and done_at is None:
                done_at = cycle
            await ctx.tick()
        assert req_at == ENGINE_STRETCH_REQUEST
        # after the grant the engine re-maps: it is free ENGINE_REMAP cycles
        # later, and its value follows as after a take at that point
        assert done_at == grant_at + ENGINE_REMAP + ENGINE_VALUE_LATENCY - ENGINE_TAKE_INTERVAL
        assert ctx.get(engine.stretch) == 1

    run(engine, bench)


def test_a_block_reads_a_domain_word_control_read_latency_cycles_after_the_request():
    geo = geometry(inputs=4, addends=2, lanes=2, share=2)
    blk = ProcessingBlock(geo)
    region_off = geo.domain_addr(1, DOMAIN_HI) & ((1 << geo.offset_bits) - 1)

    async def bench(ctx):
        await ctx.tick()
        ctx.set(blk.ctl.sel, 1)
        ctx.set(blk.ctl.we, 1)
        ctx.set(blk.ctl.region, REGION_DOMAIN)
        ctx.set(blk.ctl.offset, region_off)
        ctx.set(blk.ctl.wdata, 4321)
        await ctx.tick()
        ctx.set(blk.ctl.we, 0)
        for _ in range(CONTROL_READ_LATENCY + 1):    # let the write land
            await ctx.tick()
        ctx.set(blk.ctl.sel, 1)
        await ctx.tick()
        ctx.set(blk.ctl.sel, 0)
        for _ in range(CONTROL_READ_LATENCY - 1):
            await ctx.tick()
        assert ctx.get(blk.ctl.rdata) == 4321

    run(blk, bench)

