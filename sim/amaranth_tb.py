"""The Amaranth-simulator back end: the same harness and job as the cocotb
bench, driven in-process (fast for small designs, no compiler needed)."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from kanhw.errors import KanhwError
from kanhw.interface.cycles import CycleModel
from kanhw.interface.geometry import Geometry
from kanhw.interface.packing import pack_ctrl, pack_records, unpack_results

from .compare import Outcome
from .harness import JOB_CTRL, JOB_RECORDS, SimHarness
from .job import outcome
from .vectors import Vectors


def run_amaranth(vec: Vectors, geo: Geometry, job: dict,
                 reset_after: int | None = None, reset: str = "domain") -> Outcome:
    """Load the tables, stream the records, read back. With ``reset_after``,
    the records job is first started and a reset pulsed that many cycles in
    (in the middle of the first record's forward pass): the clock domain's
    (``reset="domain"``, the board's power-on reset) or one inserted around
    the core (``"core"``, the link's reset command); the tables are then
    loaded again and the job runs again from the first record."""
    if reset not in ("domain", "core"):
        raise ValueError(f"reset must be 'domain' or 'core', got {reset!r}")
    load = pack_ctrl(geo.addr_width, job["load_addr"], np.ones(len(job["load_addr"])),
                     job["load_data"])
    reads = pack_ctrl(geo.addr_width, job["read_addr"], np.zeros(len(job["read_addr"])),
                      np.zeros(len(job["read_addr"])))
    records = pack_records(vec.U, vec.Yq, geo.coord_width, vec.design.contract.value_bits)
    dut = SimHarness(geo, len(records), max(len(load), len(reads)),
                     core_reset=reset_after is not None and reset == "core")
    got: dict = {}

    async def write(ctx, sel, words):
        ctx.set(dut.wr_sel, sel)
        ctx.set(dut.wr_en, 1)
        for i, w in enumerate(words):
            ctx.set(dut.wr_addr, i)
            ctx.set(dut.wr_data, w)
            await ctx.tick()
        ctx.set(dut.wr_en, 0)

    async def start(ctx, job_kind, count):
        ctx.set(dut.job, job_kind)
        ctx.set(dut.count, count)
        ctx.set(dut.go, 1)
        await ctx.tick()
        ctx.set(dut.go, 0)

    async def run(ctx, job_kind, count):
        await start(ctx, job_kind, count)
        await ctx.tick().until(dut.done)

    async def read(ctx, sel, count):
        ctx.set(dut.rd_sel, sel)
        out = []
        for i in range(count):
            ctx.set(dut.rd_addr, i)
            out.append(ctx.get(dut.rd_data))
        return out

    top = Module()
    top.domains.sync = sync = ClockDomain("sync")
    top.submodules.harness = dut

    async def bench(ctx):
        await write(ctx, JOB_CTRL, load)
        await run(ctx, JOB_CTRL, len(load))
        await write(ctx, JOB_RECORDS, records)
        if reset_after is not None:
            await start(ctx, JOB_RECORDS, len(records))
            await ctx.tick().repeat(reset_after)
            pulse = sync.rst if reset == "domain" else dut.core_reset
            ctx.set(pulse, 1)
            await ctx.tick()
            ctx.set(pulse, 0)
            # a reset clears the domains kept in registers: load again, as
            # the host does after one
            await write(ctx, JOB_CTRL, load)
            await run(ctx, JOB_CTRL, len(load))
        await run(ctx, JOB_RECORDS, len(records))
        got["pred"], got["resid"] = unpack_results(
            await read(ctx, JOB_RECORDS, len(records)), vec.design.contract.value_bits,
            geo.n_out if vec.design.layered else 1)
        await write(ctx, JOB_CTRL, reads)
        await run(ctx, JOB_CTRL, len(reads))
        got["read"] = await read(ctx, JOB_CTRL, len(reads))

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    # a bound, so that a core that never finishes fails instead of hanging;
    # run_until runs to its deadline, so advance in slices of 1,000 cycles
    per = _per_record_bound(geo)
    budget = 8 * (len(load) + len(reads)) + len(records) * 4 * (per + 100)
    t = 0
    while "read" not in got and t < budget + 10_000:
        t += 1000
        sim.run_until(t * 1e-8)
    if "read" not in got:
        raise KanhwError(f"the simulated core did not finish in {budget + 10_000:,d} cycles")
    return outcome(vec, geo, got["pred"], got["resid"], got["read"])


def _per_record_bound(geo) -> int:
    """Cycles a record takes at most without stretches (the run's budget)."""
    if geo.design.layered:
        from kanhw.interface.layered_cycles import LayeredCycleModel
        return LayeredCycleModel(geo).per_record
    return CycleModel(geo).per_record
