"""The link engine: the host protocol (:mod:`kanhw.interface.protocol`) in
gateware, between a byte stream (the UART) and the training core's streams.

A request frame is received whole into a buffer RAM while its CRC-32 is
computed (``amaranth.lib.crc``); its header is checked before its length is
trusted, a length beyond the buffer is refused at once, and a frame that
stalls mid-way is dropped after ``timeout`` cycles. Only a frame whose CRC
checks is executed (records are never trained from a corrupted frame), and
only once: the answer to the last frame executed stays in the TX buffer,
and a repeat of that frame (same ``seq`` and ``cmd``) is answered from it.
Execution drives the core's control and record streams and collects the
answer in the TX buffer, which is then sent as the response frame.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import crc, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kanhw.interface import protocol as P
from kanhw.interface.geometry import CORE_ID, Geometry
from kanhw.interface.layouts import link_sizes
from kanhw.rtl_gen.core import ctrl_layout, record_layout, result_layout

INFO_WORDS = 5


def frame_crc() -> crc.Processor:
    """The frame check of :mod:`kanhw.interface.protocol`: CRC-32/ISO-HDLC from
    Amaranth's catalogue, one byte a cycle."""
    return getattr(crc.catalog, P.CRC_ALGORITHM)(data_width=8).create()


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
            "frames": Out(1),       # toggles with each frame executed (activity LED)
            "errors": Out(1),       # a frame has been refused since reset (error LED)
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
        # one CRC unit: the received frame's, then the answer's
        m.submodules.crc = fcs = frame_crc()

        seq = Signal(16)
        cmd = Signal(8)
        length = Signal(16)
        status = Signal(2)
        # the answer to the last frame executed (its payload stays in the TX
        # buffer): a repeat of that frame is answered from here
        saved_seq = Signal(16)
        saved_cmd = Signal(8)
        saved_status = Signal(2)
        saved_len = Signal(range(depth + 1))
        saved = Signal()
        err = Signal()            # answering a refused frame: status only, nothing saved
        count = Signal(range(depth + 1))   # payload bytes received
        ptr = Signal(range(depth + 1))
        tptr = Signal(range(depth + 1))
        n = Signal(16)
        k = Signal(range(max(RB, QB, 9, 4 * INFO_WORDS) + 1))
        # one shift register takes an entry's bytes (little endian, shifted in
        # at the top): a record, a write's address and data, a read's address,
        # the entry count
        W = max(RB * 8, 64)
        rec = Signal(W)
        word = rec[W - 64:]
        res = Signal(max(QB * 8, 32))
        m.d.comb += [rx_r.addr.eq(ptr), tx_r.addr.eq(tptr)]
        info_words = (CORE_ID, self.geo.shape_word, sz["max_records"], RB, QB)
        info = Array([Const((w >> (8 * b)) & 0xFF, 8) for w in info_words for b in range(4)])
        # bytes of one entry of the current command
        entry_bytes = Signal(8)
        m.d.comb += entry_bytes.eq(Mux(cmd == P.CMD_READ, 4, Mux(cmd == P.CMD_STREAM, RB, 8)))
        # a partly received frame is dropped after `timeout` idle cycles
        idle = Signal(range(self.timeout + 1))
        receiving = Signal()
        stalled = Signal()
        m.d.comb += stalled.eq(idle == self.timeout)
        with m.If(self.rx.valid | ~receiving):
            m.d.sync += idle.eq(0)
        with m.Elif(~stalled):
            m.d.sync += idle.eq(idle + 1)

        def put(byte):
            m.d.comb += [tx_w.addr.eq(tptr), tx_w.data.eq(byte), tx_w.en.eq(1)]
            m.d.sync += tptr.eq(tptr + 1)

        def take(into_crc=True):
            """Accept the byte on ``rx``: the condition it is there."""
            m.d.comb += self.rx.ready.eq(1)
            if into_crc:
                m.d.comb += [fcs.data.eq(self.rx.payload), fcs.valid.eq(self.rx.valid)]
            return self.rx.valid

        with m.FSM(name="link") as fsm:
            # -- receive a frame ------------------------------------------------------
            with m.State("SYNC0"):
                m.d.comb += self.idle.eq(1)
                with m.If(take(False) & (self.rx.payload == P.SYNC[0])):
                    m.next = "SYNC1"
            with m.State("SYNC1"):
                with m.If(take(False)):
                    with m.If(self.rx.payload == P.SYNC[1]):
                        m.d.comb += fcs.start.eq(1)
                        m.d.sync += k.eq(0)
                        m.next = "HEAD"
                    with m.Elif(self.rx.payload != P.SYNC[0]):
                        m.next = "SYNC0"
            with m.State("HEAD"):       # seq:2, cmd, len:2, header check
                with m.If(take()):
                    byte = self.rx.payload
                    m.d.sync += k.eq(k + 1)
                    with m.Switch(k):
                        with m.Case(0):
                            m.d.sync += seq[:8].eq(byte)
                        with m.Case(1):
                            m.d.sync += seq[8:].eq(byte)
                        with m.Case(2):
                            m.d.sync += cmd.eq(byte)
                        with m.Case(3):
                            m.d.sync += length[:8].eq(byte)
                        with m.Case(4):
                            m.d.sync += length[8:].eq(byte)
                        with m.Default():
                            m.d.sync += [count.eq(0), k.eq(0), ptr.eq(0), tptr.eq(0),
                                         status.eq(P.STATUS_OK)]
                            with m.If(byte != fcs.crc[:8]):
                                m.next = "SYNC0"        # a corrupted header: resynchronise
                            with m.Elif(length > depth):
                                m.d.sync += status.eq(P.STATUS_TOO_LONG)
                                m.next = "REFUSE"       # not waited for
                            with m.Elif(length == 0):
                                m.next = "CRC"
                            with m.Else():
                                m.next = "PAYLOAD"
                with m.If(stalled):
                    m.next = "SYNC0"    # a stalled frame is dropped
            with m.State("PAYLOAD"):
                with m.If(take()):
                    m.d.comb += [rx_w.addr.eq(count), rx_w.data.eq(self.rx.payload),
                                 rx_w.en.eq(1)]
                    m.d.sync += count.eq(count + 1)
                    with m.If(count + 1 == length):
                        m.next = "CRC"
                with m.If(stalled):
                    m.next = "SYNC0"
            with m.State("CRC"):
                with m.If(take()):
                    m.d.sync += k.eq(k + 1)
                    with m.If(k == P.CRC_BYTES - 1):
                        m.next = "CHECK_CRC"
                with m.If(stalled):
                    m.next = "SYNC0"
            with m.State("CHECK_CRC"):
                with m.If(~fcs.match_detected):
                    m.d.sync += status.eq(P.STATUS_BAD_CRC)
                    m.next = "REFUSE"
                with m.Elif(saved & (seq == saved_seq) & (cmd == saved_cmd)):
                    m.next = "REPLAY"         # executed already: the kept answer
                with m.Else():
                    m.next = "DISPATCH"

            # -- execute ---------------------------------------------------------------
            with m.State("DISPATCH"):
                with m.If(cmd == P.CMD_INFO):
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
                        m.d.sync += k.eq(2)
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
                m.d.sync += [rec.eq(Cat(rec[8:], rx_r.data)), ptr.eq(ptr + 1),
                             k.eq(k - 1)]
                with m.If(k == 1):
                    m.next = "SIZE"
                with m.Else():
                    m.next = "COUNT_ADDR"
            with m.State("SIZE"):
                m.d.sync += [n.eq(rec[W - 16:]), count.eq(length - 2)]
                m.next = "CHECK"
            with m.State("CHECK"):
                # the length must be 2 + entries x entry bytes: counted down,
                # an entry a cycle (no multiplier: the iCE40 is full)
                entries = rec[W - 16:]
                with m.If(n == 0):
                    with m.If((count != 0) |
                              ((cmd == P.CMD_STREAM) & (entries > sz["max_records"]))):
                        m.d.sync += status.eq(P.STATUS_BAD_COMMAND)
                        m.next = "RESPOND"
                    with m.Elif(entries == 0):
                        m.next = "RESPOND"
                    with m.Else():
                        m.d.sync += [n.eq(entries), k.eq(entry_bytes)]
                        m.next = "ENTRY_ADDR"
                with m.Elif(count < entry_bytes):
                    m.d.sync += status.eq(P.STATUS_BAD_COMMAND)
                    m.next = "RESPOND"
                with m.Else():
                    m.d.sync += [count.eq(count - entry_bytes), n.eq(n - 1)]
            # one entry: fetch its bytes from the buffer (two cycles per byte;
            # kanhw.interface.layouts.record_gap counts the cycles from a
            # result to the next record, which a layered core's cycle count
            # depends on)
            with m.State("ENTRY_ADDR"):
                m.next = "ENTRY_DATA"
            with m.State("ENTRY_DATA"):
                m.d.sync += [rec.eq(Cat(rec[8:], rx_r.data)),
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
                             self.records.payload.eq(rec[W - RB * 8:][:rec_bits])]
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
                m.d.sync += [n.eq(n - 1), k.eq(entry_bytes)]
                with m.If(n == 1):
                    m.next = "RESPOND"
                with m.Else():
                    m.next = "ENTRY_ADDR"

            # -- send the response ---------------------------------------------------------
            with m.State("RESPOND"):      # a frame executed: keep its answer
                m.d.sync += [saved.eq(1), saved_seq.eq(seq), saved_cmd.eq(cmd),
                             saved_status.eq(status), saved_len.eq(tptr + 1), err.eq(0)]
                with m.If(status == P.STATUS_OK):
                    m.d.sync += self.frames.eq(~self.frames)
                with m.Else():
                    m.d.sync += self.errors.eq(1)
                m.next = "ANSWER"
            with m.State("REFUSE"):       # bad CRC, too long: nothing kept
                m.d.sync += [err.eq(1), self.errors.eq(1)]
                m.next = "ANSWER"
            with m.State("REPLAY"):
                m.d.sync += err.eq(0)
                m.next = "ANSWER"
            with m.State("ANSWER"):
                m.d.comb += fcs.start.eq(1)
                m.d.sync += [k.eq(0), tptr.eq(0)]
                m.next = "T_HEAD"
            rsp_len = Mux(err, 1, saved_len)
            with m.State("T_HEAD"):     # sync:2, seq:2, cmd, len:2, check, status
                head = Array([Const(P.SYNC[0], 8), Const(P.SYNC[1], 8),
                              Mux(err, seq[:8], saved_seq[:8]), Mux(err, seq[8:], saved_seq[8:]),
                              Mux(err, cmd, saved_cmd) | P.RESPONSE, rsp_len[:8], rsp_len[8:],
                              fcs.crc[:8], Mux(err, status, saved_status)])
                byte = head[k]
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(byte),
                             fcs.data.eq(byte), fcs.valid.eq(self.tx.ready & (k >= 2))]
                with m.If(self.tx.ready):
                    m.d.sync += k.eq(k + 1)
                    with m.If(k == 8):
                        m.d.sync += k.eq(0)
                        with m.If(rsp_len == 1):
                            m.next = "T_CRC"
                        with m.Else():
                            m.next = "T_FETCH"
            with m.State("T_FETCH"):
                m.next = "T_BODY"
            with m.State("T_BODY"):
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(tx_r.data),
                             fcs.data.eq(tx_r.data), fcs.valid.eq(self.tx.ready)]
                with m.If(self.tx.ready):
                    m.d.sync += tptr.eq(tptr + 1)
                    with m.If(tptr + 2 == rsp_len):
                        m.next = "T_CRC"
                    with m.Else():
                        m.next = "T_FETCH"
            with m.State("T_CRC"):
                m.d.comb += [self.tx.valid.eq(1),
                             self.tx.payload.eq(fcs.crc.word_select(k[:2], 8))]
                with m.If(self.tx.ready):
                    m.d.sync += k.eq(k + 1)
                    with m.If(k == P.CRC_BYTES - 1):
                        m.next = "SYNC0"
        m.d.comb += receiving.eq(fsm.ongoing("HEAD") | fsm.ongoing("PAYLOAD") |
                                 fsm.ongoing("CRC"))
        return m
