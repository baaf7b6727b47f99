"""The link engine: the host protocol (:mod:`kanhw.interface.protocol`) in
gateware, between a byte stream (the UART) and the training core's streams.

A request frame is received whole into a buffer RAM while its CRC is
computed; only a frame whose CRC checks is executed (records are never
trained from a corrupted frame). Execution drives the core's control and
record streams and collects the answer in a second buffer RAM, which is then
sent as the response frame.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kanhw.interface import protocol as P
from kanhw.interface.geometry import CORE_ID, Geometry
from kanhw.interface.layouts import link_sizes
from kanhw.rtl_gen.core import ctrl_layout, record_layout, result_layout

INFO_WORDS = 5


def _crc_taps() -> list[tuple[list[int], list[int]]]:
    """CRC-16/CCITT after one byte is linear over GF(2): for each output bit,
    the CRC bits and data bits that XOR into it (found by probing the
    reference with unit vectors)."""
    def step(c: int, b: int) -> int:
        c ^= b << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
        return c
    taps = []
    for out in range(16):
        crc_bits = [i for i in range(16) if step(1 << i, 0) >> out & 1]
        data_bits = [i for i in range(8) if step(0, 1 << i) >> out & 1]
        taps.append((crc_bits, data_bits))
    return taps


_TAPS = _crc_taps()


def crc16_byte(crc, byte):
    """CRC-16/CCITT-FALSE after one more byte, as one level of XORs."""
    bits = []
    for crc_bits, data_bits in _TAPS:
        terms = [crc[i] for i in crc_bits] + [byte[i] for i in data_bits]
        x = terms[0]
        for t in terms[1:]:
            x = x ^ t
        bits.append(x)
    return Cat(*bits)


class LinkEngine(wiring.Component):
    def __init__(self, geo: Geometry, buffer_bytes: int = 2048,
                 timeout: int = 1 << 20) -> None:
        """``timeout``: clock cycles without a byte after which a partly
        received frame is dropped (the host then simply retries)."""
        self.geo = geo
        self.sizes = link_sizes(geo, buffer_bytes)
        self.timeout = timeout
        super().__init__({
            "rx": In(stream.Signature(8)),
            "tx": Out(stream.Signature(8)),
            "records": Out(stream.Signature(record_layout(geo))),
            "results": In(stream.Signature(result_layout(geo))),
            "ctrl_req": Out(stream.Signature(ctrl_layout(geo))),
            "ctrl_rsp": In(stream.Signature(32)),
            "core_reset": Out(1),
            "frames": Out(16),      # frames executed (status LED activity)
            "errors": Out(16),      # frames refused
            "idle": Out(1),         # waiting for a frame, nothing in progress
        })

    def elaborate(self, platform):
        m = Module()
        sz = self.sizes
        depth = sz["buffer_bytes"]
        RB, QB = sz["record_bytes"], sz["result_bytes"]
        rec_bits = record_layout(self.geo).size
        m.submodules.rxbuf = rxbuf = Memory(shape=8, depth=depth, init=[])
        m.submodules.txbuf = txbuf = Memory(shape=8, depth=depth, init=[])
        rx_w, rx_r = rxbuf.write_port(), rxbuf.read_port()
        tx_w, tx_r = txbuf.write_port(), txbuf.read_port()

        seq = Signal(8)
        cmd = Signal(8)
        length = Signal(16)
        expect = Signal(range(2 + 0xFFFF * max(RB, 8) + 1))   # the length the count implies
        crc = Signal(16)
        crc_rx = Signal(16)
        status = Signal(8)
        count = Signal(16)        # payload bytes received / entries left
        ptr = Signal(range(depth + 1))
        tptr = Signal(range(depth + 1))
        n = Signal(16)
        k = Signal(range(max(RB, QB, 8, 4 * INFO_WORDS) + 1))
        word = Signal(64)
        rec = Signal(RB * 8)
        res = Signal(max(QB * 8, 32))
        tx_count = Signal(16)
        m.d.comb += [rx_r.addr.eq(ptr), tx_r.addr.eq(tptr)]
        info_words = (CORE_ID, self.geo.shape_word, sz["max_records"], RB, QB)
        info = Array([Const((w >> (8 * b)) & 0xFF, 8) for w in info_words for b in range(4)])
        # bytes of one entry of the current command
        entry_bytes = Signal(8)
        m.d.comb += entry_bytes.eq(Mux(cmd == P.CMD_READ, 4, Mux(cmd == P.CMD_STREAM, RB, 8)))
        # a partly received frame is dropped after `timeout` idle cycles
        idle = Signal(range(self.timeout + 1))
        receiving = Signal()
        with m.If(self.rx.valid | ~receiving):
            m.d.sync += idle.eq(0)
        with m.Elif(idle != self.timeout):
            m.d.sync += idle.eq(idle + 1)

        def put(byte):
            m.d.comb += [tx_w.addr.eq(tptr), tx_w.data.eq(byte), tx_w.en.eq(1)]
            m.d.sync += tptr.eq(tptr + 1)

        with m.FSM(name="link"):
            # -- receive a frame ------------------------------------------------------
            with m.State("SYNC0"):
                m.d.comb += [self.rx.ready.eq(1), self.idle.eq(1)]
                m.d.sync += receiving.eq(0)
                with m.If(self.rx.valid & (self.rx.payload == P.SYNC[0])):
                    m.next = "SYNC1"
            with m.State("SYNC1"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    with m.If(self.rx.payload == P.SYNC[1]):
                        m.d.sync += [crc.eq(0xFFFF), count.eq(0), status.eq(P.STATUS_OK),
                                     receiving.eq(1)]
                        m.next = "SEQ"
                    with m.Elif(self.rx.payload != P.SYNC[0]):
                        m.next = "SYNC0"
                with m.If(receiving & (idle == self.timeout)):
                    m.next = "SYNC0"  # a stalled frame is dropped
            for state, target, nxt in (("SEQ", seq, "CMD"), ("CMD", cmd, "LEN0")):
                with m.State(state):
                    m.d.comb += self.rx.ready.eq(1)
                    with m.If(self.rx.valid):
                        m.d.sync += [target.eq(self.rx.payload),
                                     crc.eq(crc16_byte(crc, self.rx.payload))]
                        m.next = nxt
                    with m.If(receiving & (idle == self.timeout)):
                        m.next = "SYNC0"  # a stalled frame is dropped
            with m.State("LEN0"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    m.d.sync += [length[:8].eq(self.rx.payload),
                                 crc.eq(crc16_byte(crc, self.rx.payload))]
                    m.next = "LEN1"
                with m.If(receiving & (idle == self.timeout)):
                    m.next = "SYNC0"  # a stalled frame is dropped
            with m.State("LEN1"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    m.d.sync += [length[8:].eq(self.rx.payload),
                                 crc.eq(crc16_byte(crc, self.rx.payload))]
                    with m.If(Cat(length[:8], self.rx.payload) == 0):
                        m.next = "CRC0"
                    with m.Else():
                        m.next = "PAYLOAD"
                with m.If(receiving & (idle == self.timeout)):
                    m.next = "SYNC0"  # a stalled frame is dropped
            with m.State("PAYLOAD"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    with m.If(count < depth):
                        m.d.comb += [rx_w.addr.eq(count), rx_w.data.eq(self.rx.payload),
                                     rx_w.en.eq(1)]
                    with m.Else():
                        m.d.sync += status.eq(P.STATUS_TOO_LONG)
                    m.d.sync += [count.eq(count + 1), crc.eq(crc16_byte(crc, self.rx.payload))]
                    with m.If(count + 1 == length):
                        m.next = "CRC0"
                with m.If(receiving & (idle == self.timeout)):
                    m.next = "SYNC0"  # a stalled frame is dropped
            with m.State("CRC0"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    m.d.sync += crc_rx[:8].eq(self.rx.payload)
                    m.next = "CRC1"
                with m.If(receiving & (idle == self.timeout)):
                    m.next = "SYNC0"  # a stalled frame is dropped
            with m.State("CRC1"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    m.d.sync += [ptr.eq(0), tptr.eq(0)]
                    with m.If(Cat(crc_rx[:8], self.rx.payload) != crc):
                        m.d.sync += status.eq(P.STATUS_BAD_CRC)
                    m.d.sync += receiving.eq(0)
                    m.next = "DISPATCH"
                with m.If(receiving & (idle == self.timeout)):
                    m.next = "SYNC0"  # a stalled frame is dropped

            # -- execute ---------------------------------------------------------------
            with m.State("DISPATCH"):
                with m.If(status != P.STATUS_OK):
                    m.next = "RESPOND"
                with m.Elif(cmd == P.CMD_INFO):
                    m.d.sync += k.eq(0)
                    m.next = "INFO"
                with m.Elif(cmd == P.CMD_RESET):
                    m.d.comb += self.core_reset.eq(1)
                    m.next = "RESPOND"
                with m.Elif((cmd == P.CMD_WRITE) | (cmd == P.CMD_READ) |
                            (cmd == P.CMD_STREAM)):
                    with m.If(length < 2):
                        m.d.sync += status.eq(P.STATUS_BAD_COMMAND)
                        m.next = "RESPOND"
                    with m.Else():
                        m.d.sync += [k.eq(2), word.eq(0)]
                        m.next = "COUNT_ADDR"
                with m.Else():
                    m.d.sync += status.eq(P.STATUS_BAD_COMMAND)
                    m.next = "RESPOND"
            with m.State("INFO"):
                put(info[k])
                m.d.sync += k.eq(k + 1)
                with m.If(k == INFO_WORDS * 4 - 1):
                    m.next = "RESPOND"
            # the entry count: two bytes, little endian
            with m.State("COUNT_ADDR"):
                m.next = "COUNT_DATA"
            with m.State("COUNT_DATA"):
                m.d.sync += [word.eq(Cat(word[8:16], rx_r.data)), ptr.eq(ptr + 1),
                             k.eq(k - 1)]
                with m.If(k == 1):
                    m.next = "SIZE"
                with m.Else():
                    m.next = "COUNT_ADDR"
            with m.State("SIZE"):
                # the length the entries imply, a cycle of its own: formed in
                # CHECK (a multiplier, then the comparison) it was the
                # longest path of a small ECP5 build
                entries = word[:16]
                m.d.sync += expect.eq(2 + Mux(cmd == P.CMD_READ, entries * 4,
                                              Mux(cmd == P.CMD_STREAM, entries * RB,
                                                  entries * 8)))
                m.next = "CHECK"
            with m.State("CHECK"):
                entries = word[:16]
                ok = (length == expect) & \
                    ((cmd != P.CMD_STREAM) | (entries <= sz["max_records"]))
                m.d.sync += [n.eq(entries), k.eq(entry_bytes), word.eq(0), rec.eq(0)]
                with m.If(~ok):
                    m.d.sync += status.eq(P.STATUS_BAD_COMMAND)
                    m.next = "RESPOND"
                with m.Elif(entries == 0):
                    m.next = "RESPOND"
                with m.Else():
                    m.next = "ENTRY_ADDR"
            # one entry: fetch its bytes from the buffer (two cycles per byte)
            with m.State("ENTRY_ADDR"):
                m.next = "ENTRY_DATA"
            with m.State("ENTRY_DATA"):
                m.d.sync += [word.eq(Cat(word[8:], rx_r.data)), rec.eq(Cat(rec[8:], rx_r.data)),
                             ptr.eq(ptr + 1), k.eq(k - 1)]
                with m.If(k == 1):
                    with m.Switch(cmd):
                        with m.Case(P.CMD_WRITE):
                            m.next = "DO_WRITE"
                        with m.Case(P.CMD_READ):
                            m.next = "DO_READ"
                        with m.Default():
                            m.next = "DO_RECORD"
                with m.Else():
                    m.next = "ENTRY_ADDR"
            with m.State("DO_WRITE"):   # word = data:32 | addr:32
                m.d.comb += [self.ctrl_req.valid.eq(1),
                             self.ctrl_req.payload.addr.eq(word[:32]),
                             self.ctrl_req.payload.write.eq(1),
                             self.ctrl_req.payload.data.eq(word[32:])]
                with m.If(self.ctrl_req.ready):
                    m.next = "WAIT_WRITE"
            with m.State("WAIT_WRITE"):
                m.d.comb += self.ctrl_rsp.ready.eq(1)
                with m.If(self.ctrl_rsp.valid):
                    m.next = "NEXT"
            with m.State("DO_READ"):    # word[32:] = addr
                m.d.comb += [self.ctrl_req.valid.eq(1),
                             self.ctrl_req.payload.addr.eq(word[32:]),
                             self.ctrl_req.payload.write.eq(0)]
                with m.If(self.ctrl_req.ready):
                    m.next = "WAIT_READ"
            with m.State("WAIT_READ"):
                m.d.comb += self.ctrl_rsp.ready.eq(1)
                with m.If(self.ctrl_rsp.valid):
                    m.d.sync += [res.eq(self.ctrl_rsp.payload), k.eq(4)]
                    m.next = "EMIT"
            with m.State("DO_RECORD"):
                m.d.comb += [self.records.valid.eq(1),
                             self.records.payload.eq(rec[:rec_bits])]
                with m.If(self.records.ready):
                    m.next = "WAIT_RESULT"
            with m.State("WAIT_RESULT"):
                m.d.comb += self.results.ready.eq(1)
                with m.If(self.results.valid):
                    m.d.sync += [res.eq(self.results.payload.as_value()), k.eq(QB)]
                    m.next = "EMIT"
            with m.State("EMIT"):       # the answer of one entry into the TX buffer
                put(res[:8])
                m.d.sync += [res.eq(res >> 8), k.eq(k - 1)]
                with m.If(k == 1):
                    m.next = "NEXT"
            with m.State("NEXT"):
                m.d.sync += [n.eq(n - 1), word.eq(0), rec.eq(0), k.eq(entry_bytes)]
                with m.If(n == 1):
                    m.next = "RESPOND"
                with m.Else():
                    m.next = "ENTRY_ADDR"

            # -- send the response ---------------------------------------------------------
            with m.State("RESPOND"):
                m.d.sync += [tx_count.eq(tptr + 1), crc.eq(0xFFFF), k.eq(0), tptr.eq(0)]
                with m.If(status == P.STATUS_OK):
                    m.d.sync += self.frames.eq(self.frames + 1)
                with m.Else():
                    m.d.sync += self.errors.eq(self.errors + 1)
                m.next = "T_HEAD"
            with m.State("T_HEAD"):     # sync, sync, seq, cmd, len, len, status
                head = Array([Const(P.SYNC[0], 8), Const(P.SYNC[1], 8), seq,
                              cmd | P.RESPONSE, tx_count[:8], tx_count[8:], status])
                byte = head[k]
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(byte)]
                with m.If(self.tx.ready):
                    with m.If(k >= 2):
                        m.d.sync += crc.eq(crc16_byte(crc, byte))
                    m.d.sync += k.eq(k + 1)
                    with m.If(k == 6):
                        with m.If(tx_count == 1):
                            m.next = "T_CRC0"
                        with m.Else():
                            m.next = "T_FETCH"
            with m.State("T_FETCH"):
                m.next = "T_BODY"
            with m.State("T_BODY"):
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(tx_r.data)]
                with m.If(self.tx.ready):
                    m.d.sync += [crc.eq(crc16_byte(crc, tx_r.data)), tptr.eq(tptr + 1)]
                    with m.If(tptr + 2 == tx_count):
                        m.next = "T_CRC0"
                    with m.Else():
                        m.next = "T_FETCH"
            with m.State("T_CRC0"):
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(crc[:8])]
                with m.If(self.tx.ready):
                    m.next = "T_CRC1"
            with m.State("T_CRC1"):
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(crc[8:])]
                with m.If(self.tx.ready):
                    m.next = "SYNC0"
        return m

