"""The cocotb bench: runs a job file against the simulation harness
(:mod:`kanhw.sim.harness`) and writes what the hardware produced.

Environment: ``KANHW_JOB`` (input .npz written by :mod:`kanhw.sim.runner`) and
``KANHW_OUT`` (output .npz). Python touches each table word and each record
once; the harness plays them into the core at full speed. Records go through
the harness's ring: while the core plays one half, the bench reads the
results of the other and refills it, so a stream of any length is one
unbroken stream on one build, and the bench's work overlaps the core's.
"""

from __future__ import annotations

import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from kanhw.interface.packing import pack_ctrl, pack_records, unpack_results
from kanhw.sim.harness import JOB_CTRL, JOB_RECORDS
from kanhw.sim.job import segments

#: Clock period of the bench (ns).
PERIOD = 10

# Inputs change just after a falling edge and are taken at the next rising
# edge: no race with the design's own clocked updates, on any simulator.


async def _write(dut, sel: int, words: list[int], first: int = 0, mask: int = -1) -> None:
    """Write ``words`` to slots ``first``, ``first + 1``... (modulo the ring)."""
    await FallingEdge(dut.clk)
    dut.wr_sel.value = sel
    dut.wr_en.value = 1
    for i, w in enumerate(words, first):
        dut.wr_addr.value = i & mask
        dut.wr_data.value = w
        await FallingEdge(dut.clk)
    dut.wr_en.value = 0


async def _start(dut, job: int, count: int) -> None:
    await FallingEdge(dut.clk)
    dut.job.value = job
    dut.count.value = count
    dut.go.value = 1
    await FallingEdge(dut.clk)
    dut.go.value = 0


async def _finish(dut) -> None:
    while not int(dut.done.value):
        await RisingEdge(dut.done)


async def _read(dut, sel: int, first: int, stop: int, mask: int = -1) -> list[int]:
    dut.rd_sel.value = sel
    out = []
    for i in range(first, stop):
        dut.rd_addr.value = i & mask
        await Timer(1, "ns")
        out.append(int(dut.rd_data.value))
    return out


async def _ctrl(dut, words: list[int]) -> list[int]:
    if not words:
        return []
    await _write(dut, JOB_CTRL, words)
    await _start(dut, JOB_CTRL, len(words))
    await _finish(dut)
    return await _read(dut, JOB_CTRL, 0, len(words))


async def _stream(dut, pack, n: int, ring: int, cycles_per_record: int) -> list[int]:
    """Play ``n`` records (``pack(a, b)``: records ``a..b`` as harness words)
    through the ring; the result words in order."""
    mask, half = ring - 1, ring // 2
    written = min(n, ring)
    await _write(dut, JOB_RECORDS, pack(0, written), 0, mask)
    dut.avail.value = written
    await _start(dut, JOB_RECORDS, n)
    words: list[int] = []
    while len(words) < n:
        target = min(n, len(words) + half)
        # sleep for the model's time to reach the target (one wake-up per
        # half ring, not one per record), then as long again as is missing
        while (done := int(dut.n_out.value)) < target:
            await Timer((target - done) * cycles_per_record * PERIOD, "ns")
        words += await _read(dut, JOB_RECORDS, len(words), target, mask)
        # the slots of the results read are free: the next records go there
        upto = min(n, len(words) + ring)
        if upto > written:
            await _write(dut, JOB_RECORDS, pack(written, upto), written, mask)
            written = upto
            dut.avail.value = written
    await _finish(dut)
    return words


@cocotb.test()
async def run_job(dut):
    job = np.load(os.environ["KANHW_JOB"])
    cocotb.start_soon(Clock(dut.clk, PERIOD, unit="ns").start())
    dut.go.value = 0
    dut.wr_en.value = 0
    dut.avail.value = 0
    dut.rst.value = 1
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0

    aw, ring = int(job["addr_width"]), int(job["ring"])
    cw, vb, n_out = int(job["coord_width"]), int(job["value_bits"]), int(job["n_out"])
    U, Y = job["U"], job["Y"]
    results, reads, seconds = [], [], []
    for s, (rs, ls, setup, qs) in enumerate(segments(job)):
        # 1. load the tables (where the segment needs it), set the mode,
        #    clear the counters
        await _ctrl(dut, pack_ctrl(aw, job["load_addr"][ls], np.ones(ls.stop - ls.start),
                                   job["load_data"][ls]))
        await _ctrl(dut, pack_ctrl(aw, job["setup_addr"], np.ones(len(setup)), setup))
        # 2. the record stream
        Us, Ys = U[rs], Y[rs]

        def pack(a: int, b: int, Us=Us, Ys=Ys) -> list[int]:
            return pack_records(Us[a:b], Ys[a:b], cw, vb)

        t0 = time.perf_counter()
        results += await _stream(dut, pack, rs.stop - rs.start, ring, int(job["seg_cycles"][s]))
        seconds.append(time.perf_counter() - t0)
        # 3. read every table word and the counters back
        n_read = qs.stop - qs.start
        reads += await _ctrl(dut, pack_ctrl(aw, job["read_addr"][qs], np.zeros(n_read),
                                            np.zeros(n_read)))
    pred, resid = unpack_results(results, vb, n_out)
    np.savez(os.environ["KANHW_OUT"], pred=pred, resid=resid, read=np.array(reads, np.int64),
             stream_seconds=np.array(seconds))
