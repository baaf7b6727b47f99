"""Simulation harness around a training core, so that a bench touches each
record and each table word once from Python and never drives the core cycle
by cycle.

The harness holds four RAMs: records to play, control requests to issue,
results captured, control responses captured. A bench writes the inputs
through ``wr_*``, starts a job (``go`` with ``job`` = records or control and
``count``), waits for ``done``, then reads the outputs through ``rd_*``
(asynchronous read). ``cycles`` counts clock cycles of the last job.

The record and result RAMs are rings of ``ring`` entries, so a stream of any
length runs on one build: record ``i`` sits in slot ``i % ring``, the
harness plays it once the bench has raised ``avail`` above ``i``, and
``n_out`` counts the results captured. A bench refills the slots whose
results it has read while the core works on the rest, so the core sees one
unbroken stream (the same cycle count as a stream held whole).

With ``core_reset``, the harness has a ``core_reset`` input wired as the
board's link wires its reset command: a reset inserted around the core
(:class:`~amaranth.hdl.ResetInserter`), which also stops the job under way.
Off by default, so the HDL benches have no extra input to drive.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, ResetInserter, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kanhw.interface.geometry import ceil_log2
from kanhw.interface.layouts import ctrl_fields, payload_bits, record_fields, result_fields
from kanhw.rtl_gen.cores import training_core

#: Harness jobs (the ``job`` input): play records, or issue control requests.
JOB_RECORDS, JOB_CTRL = 0, 1
#: Width of the stream counters: a job of up to 2^32 - 1 records.
COUNT_BITS = 32


class SimHarness(wiring.Component):
    def __init__(self, geo, ring: int, max_ctrl: int,
                 shared_blocks: bool = False, core_reset: bool = False) -> None:
        self.geo = geo
        self.shared_blocks = shared_blocks
        self.has_core_reset = core_reset
        self.rec_w = payload_bits(record_fields(geo))
        self.res_w = payload_bits(result_fields(geo))
        self.ctrl_w = payload_bits(ctrl_fields(geo))
        self.rec_depth = 1 << ceil_log2(max(ring, 2))
        self.ctrl_depth = 1 << ceil_log2(max(max_ctrl, 2))
        aw = max(ceil_log2(self.rec_depth), ceil_log2(self.ctrl_depth))
        self.addr_width = aw
        members = {
            "wr_sel": In(1), "wr_addr": In(aw), "wr_data": In(max(self.rec_w, self.ctrl_w)),
            "wr_en": In(1),
            "rd_sel": In(1), "rd_addr": In(aw), "rd_data": Out(max(self.res_w, 32)),
            "go": In(1), "job": In(1), "count": In(COUNT_BITS), "avail": In(COUNT_BITS),
            "done": Out(1), "n_out": Out(COUNT_BITS), "cycles": Out(32),
        }
        if core_reset:
            members["core_reset"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        core = training_core(self.geo, shared_blocks=self.shared_blocks)
        m.submodules.core = ResetInserter(self.core_reset)(core) if self.has_core_reset else core
        m.submodules.rec_mem = rec_mem = Memory(shape=self.rec_w, depth=self.rec_depth, init=[])
        m.submodules.res_mem = res_mem = Memory(shape=self.res_w, depth=self.rec_depth, init=[])
        m.submodules.req_mem = req_mem = Memory(shape=self.ctrl_w, depth=self.ctrl_depth,
                                                init=[])
        m.submodules.rsp_mem = rsp_mem = Memory(shape=32, depth=self.ctrl_depth, init=[])

        # bench-side access
        w_rec, w_req = rec_mem.write_port(), req_mem.write_port()
        m.d.comb += [w_rec.addr.eq(self.wr_addr), w_rec.data.eq(self.wr_data),
                     w_rec.en.eq(self.wr_en & (self.wr_sel == JOB_RECORDS)),
                     w_req.addr.eq(self.wr_addr), w_req.data.eq(self.wr_data),
                     w_req.en.eq(self.wr_en & (self.wr_sel == JOB_CTRL))]
        r_res, r_rsp = res_mem.read_port(domain="comb"), rsp_mem.read_port(domain="comb")
        m.d.comb += [r_res.addr.eq(self.rd_addr), r_rsp.addr.eq(self.rd_addr),
                     self.rd_data.eq(Mux(self.rd_sel == JOB_CTRL, r_rsp.data, r_res.data))]

        # job engine: play inputs into the core, capture its outputs
        running = Signal()
        job = Signal()
        count = Signal.like(self.count)
        n_in = Signal.like(self.count)      # inputs handed to the core
        n_out = self.n_out                  # outputs captured
        ring = ceil_log2(self.rec_depth)
        rec_slot, res_slot = n_in[:ring], n_out[:ring]
        rd_rec, rd_req = rec_mem.read_port(domain="comb"), req_mem.read_port(domain="comb")
        w_res, w_rsp = res_mem.write_port(), rsp_mem.write_port()
        m.d.comb += [rd_rec.addr.eq(rec_slot), rd_req.addr.eq(n_in),
                     core.records.payload.eq(rd_rec.data), core.ctrl_req.payload.eq(rd_req.data),
                     core.results.ready.eq(1), core.ctrl_rsp.ready.eq(1),
                     w_res.addr.eq(res_slot), w_res.data.eq(core.results.payload),
                     w_rsp.addr.eq(n_out), w_rsp.data.eq(core.ctrl_rsp.payload),
                     self.done.eq(~running & ~core.busy)]
        with m.If(running):
            m.d.sync += self.cycles.eq(self.cycles + 1)
            feeding = n_in < count
            with m.If(job == JOB_RECORDS):
                playing = feeding & (n_in < self.avail)
                m.d.comb += core.records.valid.eq(playing)
                with m.If(playing & core.records.ready):
                    m.d.sync += n_in.eq(n_in + 1)
                with m.If(core.results.valid):
                    m.d.comb += w_res.en.eq(1)
                    m.d.sync += n_out.eq(n_out + 1)
            with m.Else():
                m.d.comb += core.ctrl_req.valid.eq(feeding)
                with m.If(feeding & core.ctrl_req.ready):
                    m.d.sync += n_in.eq(n_in + 1)
                with m.If(core.ctrl_rsp.valid):
                    m.d.comb += w_rsp.en.eq(1)
                    m.d.sync += n_out.eq(n_out + 1)
            with m.If((n_out == count) & ~core.busy):
                m.d.sync += running.eq(0)
        with m.Elif(self.go):
            m.d.sync += [running.eq(1), job.eq(self.job), count.eq(self.count), n_in.eq(0),
                         n_out.eq(0), self.cycles.eq(0)]
        if self.has_core_reset:
            with m.If(self.core_reset):
                m.d.sync += running.eq(0)
        return m
