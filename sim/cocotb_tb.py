"""The cocotb bench: runs a job file against the simulation harness
(:mod:`kanhw.sim.harness`) and writes what the hardware produced.

Environment: ``KANHW_JOB`` (input .npz written by :mod:`kanhw.sim.runner`) and
``KANHW_OUT`` (output .npz). Python touches each table word and each record
once; the harness plays them into the core at full speed.
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

# Inputs change just after a falling edge and are taken at the next rising
# edge: no race with the design's own clocked updates, on any simulator.

async def _write(dut, sel: int, words: list[int]) -> None:
    await FallingEdge(dut.clk)
    dut.wr_sel.value = sel
    dut.wr_en.value = 1
    for i, w in enumerate(words):
        dut.wr_addr.value = i
        dut.wr_data.value = w
        await FallingEdge(dut.clk)
    dut.wr_en.value = 0


async def _run(dut, job: int, count: int) -> None:
    await FallingEdge(dut.clk)
    dut.job.value = job
    dut.count.value = count
    dut.go.value = 1
    await FallingEdge(dut.clk)
    dut.go.value = 0
    await RisingEdge(dut.done)


async def _read(dut, sel: int, count: int) -> list[int]:
    dut.rd_sel.value = sel
    out = []
    for i in range(count):
        dut.rd_addr.value = i
        await Timer(1, "ns")
        out.append(int(dut.rd_data.value))
    return out


@cocotb.test()
async def run_job(dut):
    job = np.load(os.environ["KANHW_JOB"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.go.value = 0
    dut.wr_en.value = 0
    dut.rst.value = 1
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0

    # 1. load tables, set the mode, clear the counters
    aw = int(job["addr_width"])
    load = pack_ctrl(aw, job["load_addr"], np.ones(len(job["load_addr"])), job["load_data"])
    await _write(dut, JOB_CTRL, load)
    await _run(dut, JOB_CTRL, len(load))
    # 2. the record stream
    records = pack_records(job["U"], job["Y"], int(job["coord_width"]), int(job["value_bits"]))
    await _write(dut, JOB_RECORDS, records)
    t0 = time.perf_counter()
    await _run(dut, JOB_RECORDS, len(records))
    stream_seconds = time.perf_counter() - t0
    pred, resid = unpack_results(await _read(dut, JOB_RECORDS, len(records)),
                                 int(job["value_bits"]), int(job["n_out"]))
    # 3. read every table word and the counters back
    reads = pack_ctrl(aw, job["read_addr"], np.zeros(len(job["read_addr"])),
                      np.zeros(len(job["read_addr"])))
    await _write(dut, JOB_CTRL, reads)
    await _run(dut, JOB_CTRL, len(reads))
    back = await _read(dut, JOB_CTRL, len(reads))
    np.savez(os.environ["KANHW_OUT"], pred=pred, resid=resid, read=np.array(back, np.int64),
             stream_seconds=stream_seconds)
