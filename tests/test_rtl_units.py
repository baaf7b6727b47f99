"""Amaranth-simulator unit tests of the generator's building blocks."""

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from kanhw import nk_fixed as nkx
from kanhw.contract import PRESETS
from kanhw.rtl_gen.arith import round_shift, rounded_base, saturate, times_const
from kanhw.rtl_gen.divider import Divider
from kanhw.rtl_gen.tree import AdderTree, tree_stages


def simulate(dut, bench, clocked=True):
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_arith_helpers_match_the_reference():
    m = Module()
    x = Signal(signed(24))
    rs = round_shift(x, 5)
    sv, so = saturate(x, 12)
    tc = times_const(x, 205)
    # v +- round_shift(x, 5) as one addition to a base formed from v alone
    w = Signal(signed(12))
    plus = (rounded_base(w, 5) + x) >> 5
    minus = (rounded_base(w, 5, subtract=True) - x) >> 5
    outs = [Signal(signed(40)) for _ in range(5)]
    flag = Signal()
    m.d.comb += [outs[0].eq(rs), outs[1].eq(sv), outs[2].eq(tc), flag.eq(so),
                 outs[3].eq(plus), outs[4].eq(minus)]
    rng = np.random.default_rng(0)
    values = list(rng.integers(-(1 << 23), 1 << 23, size=200)) + [-2048, 2047, -2049, 2048, -16,
                                                                   16, -17, 15, 0]
    counts = np.zeros(nkx.N_COUNTS, np.int64)

    async def bench(ctx):
        for v in values:
            v = int(v)
            ctx.set(x, v)
            assert ctx.get(outs[0]) == nkx.rshift_round(v, 5)
            before = counts[nkx.C_EVENTS]
            assert ctx.get(outs[1]) == nkx.sat(v, 12, counts)
            assert ctx.get(flag) == int(counts[nkx.C_EVENTS] != before)
            assert ctx.get(outs[2]) == v * 205
            for wv in (-2048, -37, -1, 0, 1, 16, 2047):
                ctx.set(w, wv)
                assert ctx.get(outs[3]) == wv + nkx.rshift_round(v, 5)
                assert ctx.get(outs[4]) == wv - nkx.rshift_round(v, 5)

    simulate(m, bench, clocked=False)


@pytest.mark.parametrize("count,levels", [(1, 3), (2, 1), (5, 2), (16, 3), (64, 3), (7, 1)])
def test_adder_tree_sum_and_latency(count, levels):
    dut = AdderTree(count, 10, levels)
    assert dut.stages == tree_stages(count, levels)
    rng = np.random.default_rng(count)
    vecs = rng.integers(-512, 512, size=(6, count))

    async def bench(ctx):
        for vec in vecs:
            for k, v in enumerate(vec):
                ctx.set(dut.inputs[k], int(v))
            ctx.set(dut.valid_in, 1)
            for _ in range(dut.stages):
                await ctx.tick()
                ctx.set(dut.valid_in, 0)
            assert ctx.get(dut.valid_out) == 1
            assert ctx.get(dut.output) == int(vec.sum())
            ctx.set(dut.valid_in, 0)
            if dut.stages:
                await ctx.tick()

    simulate(dut, bench, clocked=dut.stages > 0)


def test_divider_matches_reciprocal():
    c = PRESETS["hw"].replace(rcp_shift=12)
    dut = Divider(21, c.frac_bits + c.rcp_shift + c.guard_bits, width_bits=c.value_bits + 1,
                  quotient_bits=c.rcp_bits)
    cv = c.kernel_vector()
    widths = [1, 2, 3, 7, 100, 4095, 70000, (1 << c.value_bits) - 1, 0, -5] + \
        list(np.random.default_rng(2).integers(1, 1 << 20, size=20))
    # the design's grid (22 points) and the coarser ones a multilevel
    # schedule runs on the same core
    cases = [(w, P) for P in (22, 8, 4, 2) for w in widths]

    async def bench(ctx):
        for w, P in cases:
            w = int(w)
            ctx.set(dut.segments, P - 1)
            ctx.set(dut.width, w)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            cycles = 1
            while not ctx.get(dut.done):
                await ctx.tick()
                cycles += 1
            assert cycles == dut.latency
            counts = np.zeros(nkx.N_COUNTS, np.int64)
            assert ctx.get(dut.quotient) == nkx.reciprocal(w, P, cv, counts), (w, P)
            assert ctx.get(dut.saturated) == int(counts[nkx.C_EVENTS] > 0), (w, P)

    simulate(dut, bench)
