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
from .job import ctrl_capacity, outcomes, segments
from .vectors import Vectors


def run_amaranth(vecs: Vectors | list[Vectors], geo: Geometry, job: dict,
                 reset_after: int | None = None, reset: str = "domain"
                 ) -> Outcome | list[Outcome]:
    """Run the job's segments: load the tables (where a segment needs them),
    set the mode and clear the counters, stream the records, read back. With
    ``reset_after`` (one segment), the records job is first started and a
    reset pulsed that many cycles in (in the middle of the first record's
    forward pass): the clock domain's (``reset="domain"``, the board's
    power-on reset) or one inserted around the core (``"core"``, the link's
    reset command); the tables are then loaded again and the job runs again
    from the first record. One :class:`Outcome` per segment (one, for a
    single :class:`Vectors`)."""
    single = isinstance(vecs, Vectors)
    vecs = [vecs] if single else list(vecs)
    if reset not in ("domain", "core"):
        raise ValueError(f"reset must be 'domain' or 'core', got {reset!r}")
    aw, vb = geo.addr_width, vecs[0].design.contract.value_bits
    n_out = int(job["n_out"])
    parts = list(segments(job))
    dut = SimHarness(geo, int(job["seg_records"].max()), ctrl_capacity(geo),
                     core_reset=reset_after is not None and reset == "core")
    got: dict = {"pred": [], "resid": [], "read": []}

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

    async def ctrl(ctx, words):
        if words:
            await write(ctx, JOB_CTRL, words)
            await run(ctx, JOB_CTRL, len(words))

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
        for rs, ls, setup, qs in parts:
            load = pack_ctrl(aw, job["load_addr"][ls], np.ones(ls.stop - ls.start),
                             job["load_data"][ls])
            setup_words = pack_ctrl(aw, job["setup_addr"], np.ones(len(setup)), setup)
            records = pack_records(job["U"][rs], job["Y"][rs], geo.coord_width, vb)
            reads = pack_ctrl(aw, job["read_addr"][qs], np.zeros(qs.stop - qs.start),
                              np.zeros(qs.stop - qs.start))
            ctx.set(dut.avail, len(records))    # the whole segment sits in the ring
            await ctrl(ctx, load)
            await ctrl(ctx, setup_words)
            await write(ctx, JOB_RECORDS, records)
            if reset_after is not None:
                await start(ctx, JOB_RECORDS, len(records))
                await ctx.tick().repeat(reset_after)
                pulse = sync.rst if reset == "domain" else dut.core_reset
                ctx.set(pulse, 1)
                await ctx.tick()
                ctx.set(pulse, 0)
                # a reset clears the domains kept in registers: load again,
                # as the host does after one
                await ctrl(ctx, load)
                await ctrl(ctx, setup_words)
            await run(ctx, JOB_RECORDS, len(records))
            pred, resid = unpack_results(await read(ctx, JOB_RECORDS, len(records)), vb, n_out)
            got["pred"].append(pred)
            got["resid"].append(resid)
            await ctrl(ctx, reads)
            got["read"].append(await read(ctx, JOB_CTRL, len(reads)))

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    # a bound, so that a core that never finishes fails instead of hanging;
    # run_until runs to its deadline, so advance in slices of 1,000 cycles
    per = _per_record_bound(geo)
    budget = 8 * (len(job["load_addr"]) + len(job["read_addr"]) + 8 * len(parts)) \
        + len(job["U"]) * 4 * (per + 100)
    t = 0
    while len(got["read"]) < len(parts) and t < budget + 10_000:
        t += 1000
        sim.run_until(t * 1e-8)
    if len(got["read"]) < len(parts):
        raise KanhwError(f"the simulated core did not finish in {budget + 10_000:,d} cycles")
    out = outcomes(vecs, geo, job, np.concatenate(got["pred"]), np.concatenate(got["resid"]),
                   np.concatenate(got["read"]), [0.0] * len(parts))
    return out[0] if single else out


def _per_record_bound(geo) -> int:
    """Cycles a record takes at most without stretches (the run's budget)."""
    if geo.design.layered:
        from kanhw.interface.layered_cycles import LayeredCycleModel
        return LayeredCycleModel(geo).per_record
    return CycleModel(geo).per_record
