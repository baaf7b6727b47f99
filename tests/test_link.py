"""The link: protocol framing, the soft device, and the gateware link engine
answering byte for byte like the soft device (Amaranth simulator)."""

import struct

import numpy as np
import pytest
from amaranth.hdl import Module, ResetInserter, Signal
from amaranth.lib.wiring import connect
from amaranth.sim import Simulator

from kanhw.boards.link import LinkEngine
from kanhw.boards.uart import UARTReceiver, UARTTransmitter
from kanhw.design import design_from_dict
from kanhw.host.client import Device
from kanhw.host.soft import SoftDevice
from kanhw.host.transport import SoftTransport
from kanhw.interface import protocol as P
from kanhw.interface.geometry import GLOBAL_REGS, Geometry
from kanhw.interface.image import table_writes
from kanhw.interface.layouts import link_sizes
from kanhw.rtl_gen.core import TrainingCore
from kanhw.sim.vectors import make_vectors

DESIGN = design_from_dict({"arch": {"inputs": 3, "addends": 2, "points": [3, 5]},
                           "hardware": {"lanes": 3}})
BUFFER = 256


def test_crc_and_parser_resynchronise():
    assert P.crc32(b"123456789") == 0xCBF43926  # the CRC-32/ISO-HDLC check value
    f1, f2 = P.frame(1, P.CMD_INFO), P.frame(2, P.CMD_READ, b"\x01\x00" + b"\x07\x00\x00\x00")
    bad = bytearray(P.frame(3, P.CMD_INFO, b"xy"))
    bad[-1] ^= 0xFF
    frames = P.Parser().feed(b"\x00\x13" + f1 + bytes(bad) + f2[:5])
    assert [(f.seq, f.crc_ok) for f in frames] == [(1, True), (3, False)]
    # a corrupted length fails the header check: the receiver does not wait
    # for it but finds the next frame
    wedge = bytearray(P.frame(700, P.CMD_STREAM, b"\x01\x00" + bytes(27)))
    wedge[6] ^= 0x40
    p = P.Parser(max_payload=256)
    assert [f.seq for f in p.feed(bytes(wedge) + f2)] == [2]
    # a checked length beyond the buffer is refused at once, not waited for
    big = P.frame(9, P.CMD_STREAM, bytes(300))
    (f,) = p.feed(big[:10])
    assert f.too_long and f.seq == 9 and not p.partial
    # a frame cut short is dropped by the partial-frame timeout
    p.feed(f1[:9])
    assert p.partial
    p.expire()
    assert [f.seq for f in p.feed(f2)] == [2]


def test_gateware_crc_is_the_hosts():
    """The link engine's CRC unit (amaranth.lib.crc's catalogue) computes
    the host's CRC-32 (zlib) on random bytes, and the frame check passes on
    the host's frames."""
    from kanhw.boards.link import frame_crc
    rng = np.random.default_rng(5)
    cases = [rng.integers(0, 256, int(n), dtype=np.uint8).tobytes() for n in (1, 5, 37, 300)]
    params = frame_crc()
    dut = params
    got = []

    async def bench(ctx):
        for data in cases:
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            ctx.set(dut.valid, 1)
            for b in data:
                ctx.set(dut.data, b)
                await ctx.tick()
            ctx.set(dut.valid, 0)
            crc = ctx.get(dut.crc)
            for b in crc.to_bytes(4, "little"):     # the codeword: match detected
                ctx.set(dut.data, b)
                ctx.set(dut.valid, 1)
                await ctx.tick()
            ctx.set(dut.valid, 0)
            got.append((crc, ctx.get(dut.match_detected)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == [(P.crc32(d), 1) for d in cases]


def requests(vec, geo):
    """A session: info, load tables, train five records, read back, junk;
    then faults: repeats, corrupted headers and CRCs, a frame too long, a
    frame cut short. Items are bytes, or ``(bytes, "gap")`` for bytes
    followed by silence beyond the partial-frame timeout."""
    addrs, words = table_writes(geo, vec.initial)
    sizes = link_sizes(geo, BUFFER)
    out = [P.frame(1, P.CMD_INFO)]
    step = (BUFFER - 2) // 8
    for s in range(0, len(addrs), step):
        body = struct.pack("<H", len(addrs[s:s + step])) + b"".join(
            struct.pack("<II", int(a), int(w) & 0xFFFFFFFF)
            for a, w in zip(addrs[s:s + step], words[s:s + step]))
        out.append(P.frame(2 + s, P.CMD_WRITE, body))
    from kanhw.interface.packing import pack_records
    recs = pack_records(vec.U[:5], vec.Yq[:5], geo.coord_width, DESIGN.contract.value_bits)
    body = struct.pack("<H", 5) + b"".join(w.to_bytes(sizes["record_bytes"], "little")
                                           for w in recs)
    out.append(P.frame(90, P.CMD_STREAM, body))
    reads = list(addrs[:12]) + [GLOBAL_REGS["records"], GLOBAL_REGS["stretches"]]
    out.append(P.frame(91, P.CMD_READ, struct.pack("<H", len(reads)) + P.pack_words(reads)))
    # the outer grid register clamps what it is given to 2..points (and it
    # is read back as the core holds it)
    op = GLOBAL_REGS["outer_points"]
    for seq, value in ((80, 1), (82, 1000), (84, 3)):
        out.append(P.frame(seq, P.CMD_WRITE, struct.pack("<HII", 1, op, value)))
        out.append(P.frame(seq + 1, P.CMD_READ, struct.pack("<HI", 1, op)))
    out.append(P.frame(92, 0x33))                                 # unknown command
    out.append(P.frame(93, P.CMD_READ, b"\x05\x00\x01"))          # inconsistent length
    out.append(P.frame(89, P.CMD_READ, b"\x01\x00" + bytes(8)))   # ... longer than the count
    bad = bytearray(P.frame(94, P.CMD_INFO))
    bad[-2] ^= 1                                                  # corrupted CRC
    out.append(bytes(bad))
    stream = P.frame(96, P.CMD_STREAM, body)
    out += [stream, stream]                                   # a repeat: its kept answer
    bad = bytearray(stream)
    bad[20] ^= 4
    out += [bytes(bad), stream]                               # refused; still the kept answer
    wedge = bytearray(P.frame(97, P.CMD_INFO, bytes(3)))
    wedge[5] ^= 0x80                                          # length 3 -> 32771: header fails
    out += [bytes(wedge), b"\x5a\x5a\x5a\x13\xa5\x5a", P.frame(97, P.CMD_INFO)]
    out.append(P.frame(98, P.CMD_READ, bytes(BUFFER + 1))[:12])  # too long: refused at once
    out.append((P.frame(99, P.CMD_READ, b"\x01\x00\x07\x00\x00\x00")[:11], "gap"))
    out.append(P.frame(99, P.CMD_READ, struct.pack("<HI", 1, GLOBAL_REGS["records"])))
    out.append(P.frame(99, P.CMD_READ, struct.pack("<HI", 1, GLOBAL_REGS["records"])))
    out.append(P.frame(99, P.CMD_WRITE, struct.pack("<HII", 1, GLOBAL_REGS["mode"], 1)))
    out.append(P.frame(95, P.CMD_RESET))
    return out


def test_gateware_link_answers_like_the_soft_device():
    geo = Geometry(DESIGN)
    vec = make_vectors(DESIGN, 10, seed=1)
    soft = SoftDevice(DESIGN, BUFFER)
    items = requests(vec, geo)
    expected = []
    for item in items:
        data, gap = (item, None) if isinstance(item, bytes) else item
        expected.append(soft.feed(data, now=0.0))
        if gap:
            soft.expire()
    frames = [i if isinstance(i, bytes) else i[0] for i in items]
    answers = [P.Parser().feed(a) for a in expected]
    by_seq = {f[0].seq: f[0] for f in answers if f}
    assert by_seq[93].payload[0] == by_seq[89].payload[0] == P.STATUS_BAD_COMMAND
    assert by_seq[94].payload[0] == P.STATUS_BAD_CRC
    grid_reads = [P.unpack_words(by_seq[s].payload[1:])[0] for s in (81, 83, 85)]
    assert grid_reads == [2, DESIGN.arch.points[1], 3]
    # the faults: repeats answered from the kept answer, byte for byte, so
    # the five records were trained once each (records counter 5 + 5)
    k = next(i for i, f in enumerate(frames) if f[2:4] == struct.pack("<H", 96))
    assert expected[k] == expected[k + 1] == expected[k + 3]
    assert answers[k + 2][0].payload[0] == P.STATUS_BAD_CRC
    assert expected[k + 4] == b"" and expected[k + 5] == b""
    assert answers[k + 6][0].seq == 97 and answers[k + 6][0].payload[0] == P.STATUS_OK
    assert answers[k + 7][0].payload == bytes([P.STATUS_TOO_LONG])
    assert expected[k + 8] == b""
    assert P.unpack_words(answers[k + 9][0].payload[1:]) == [10]
    assert expected[k + 10] == expected[k + 9]
    assert answers[k + 11][0].payload == b"\x00"         # another command: executed

    m = Module()
    m.submodules.link = link = LinkEngine(geo, BUFFER, timeout=200)
    core = TrainingCore(geo)
    core_reset = Signal()
    m.d.sync += core_reset.eq(link.core_reset)        # as the board's device wires it
    m.submodules.core = ResetInserter(core_reset)(core)
    connect(m, link.records, core.records)
    connect(m, core.results, link.results)
    connect(m, link.ctrl_req, core.ctrl_req)
    connect(m, core.ctrl_rsp, link.ctrl_rsp)
    sent = bytearray()
    got = []

    async def receive(ctx):
        ctx.set(link.tx.ready, 1)
        async for _, _, valid, byte in ctx.tick().sample(link.tx.valid, link.tx.payload):
            if valid:
                sent.append(byte)

    async def bench(ctx):
        total = 0
        for item, e in zip(items, expected):
            data, gap = (item, None) if isinstance(item, bytes) else item
            for byte in data:
                ctx.set(link.rx.payload, byte)
                ctx.set(link.rx.valid, 1)
                await ctx.tick().until(link.rx.ready)
            ctx.set(link.rx.valid, 0)
            total += len(e)
            # the expected answer, then a quiet spell (a partial-frame timeout
            # after a "gap" item); anything more shows up in the next answer
            for _ in range(100000):
                if len(sent) >= total:
                    break
                await ctx.tick()
            await ctx.tick().repeat(300 if gap else 40)
            got.append(bytes(sent[total - len(e):total]))
        assert len(sent) == total

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(receive, background=True)
    sim.add_testbench(bench)
    sim.run()
    for k, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"item {k}: gateware {g.hex()} soft {e.hex()}"


def test_uart_round_trip():
    m = Module()
    m.submodules.tx = tx = UARTTransmitter(6)
    m.submodules.rx = rx = UARTReceiver(6)
    m.d.comb += rx.rx.eq(tx.tx)
    data = [0x00, 0xFF, 0x5A, 0xA5, 0x01, 0x80, 0x3C]
    got = []

    async def send(ctx):
        for b in data:
            ctx.set(tx.bytes.payload, b)
            ctx.set(tx.bytes.valid, 1)
            await ctx.tick().until(tx.bytes.ready)
        ctx.set(tx.bytes.valid, 0)

    async def receive(ctx):
        ctx.set(rx.bytes.ready, 1)
        while len(got) < len(data):
            b, = await ctx.tick().sample(rx.bytes.payload).until(rx.bytes.valid)
            got.append(b)

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(send)
    sim.add_testbench(receive)
    sim.run()
    assert got == data


def test_device_client_trains_through_soft_like_the_reference():
    vec = make_vectors(DESIGN, 200, seed=3)
    dev = Device(SoftTransport(DESIGN, BUFFER), DESIGN)
    dev.load_model(vec.initial)
    dev.set_mode(True)
    dev.clear_counters()
    pred, resid = dev.stream(vec.U, vec.Yq)
    assert np.array_equal(pred, vec.pred) and np.array_equal(resid, vec.resid)
    assert dev.read_model(vec.initial).equals(vec.final)
    c = dev.counters()
    assert c["records"] == 200 and c["stretches"] == vec.counts[2]


def test_broken_link_is_an_error_not_a_hang():
    class Dead:
        baud = None

        def write(self, data):
            pass

        def read(self, size, timeout):
            return b""

        def close(self):
            pass

    with pytest.raises(P.LinkError, match="no answer"):
        Device(Dead(), DESIGN, timeout=0.2, retries=1)


def test_record_and_result_packing_round_trips():
    """The link's byte rows, packed and unpacked over whole arrays, against
    the bit layout written out one record at a time."""
    from kanhw.interface.packing import (
        pack_records,
        record_rows,
        records_from_rows,
        result_rows,
        results_from_rows,
        unpack_results,
    )
    rng = np.random.default_rng(7)
    n, cw, V = 50, 13, 24
    U = rng.integers(0, 1 << cw, size=(n, 16))
    Y = rng.integers(-(1 << (V - 1)), 1 << (V - 1), size=n)
    Y[:2] = [-(1 << (V - 1)), (1 << (V - 1)) - 1]
    nbytes = (16 * cw + V + 7) // 8
    words = [sum(int(U[r, i]) << (i * cw) for i in range(16))
             | (int(Y[r]) & ((1 << V) - 1)) << (16 * cw) for r in range(n)]
    rows = record_rows(U, Y, cw, V, nbytes)
    assert [int.from_bytes(row.tobytes(), "little") for row in rows] == words
    assert pack_records(U, Y, cw, V) == words
    U2, Y2 = records_from_rows(rows, 16, cw, V)
    assert (U2 == U).all() and (Y2 == Y).all()
    pred, resid = Y, Y[::-1].copy()
    res = result_rows(pred, resid, V, 6)
    assert all(int.from_bytes(res[r].tobytes(), "little")
               == (int(pred[r]) & ((1 << V) - 1)) | (int(resid[r]) & ((1 << V) - 1)) << V
               for r in range(n))
    for p, r in (results_from_rows(res, V),
                 unpack_results([int.from_bytes(x.tobytes(), "little") for x in res], V)):
        assert (p == pred).all() and (r == resid).all()
