"""The host link protocol: framed packets that survive a faulty link.

Every frame, in both directions::

    0x5A 0xA5 | seq:2 | cmd:1 | len:2 | hcheck:1 | payload:len | crc:4

(multi-byte fields little-endian). ``hcheck`` is the low byte of the CRC-32
of ``seq, cmd, len``: a receiver checks the header before it trusts the
length, so a corrupted length never makes a side wait for a frame that is
not coming. ``crc`` is the CRC-32 (CRC-32/ISO-HDLC, the standard library's
:func:`zlib.crc32`; the gateware uses ``amaranth.lib.crc.catalog.CRC32_ISO_HDLC``)
of everything from ``seq`` to the end of the payload, which detects every
error of up to 3 bits in frames of the sizes used here (a few kB).

A receiver looks for the preamble ``5A A5``; a header whose check fails is
dropped and the search for the preamble goes on after it; a header whose
length exceeds the receiver's buffer is answered ``STATUS_TOO_LONG`` at once
and dropped; a frame that stops arriving mid-way is dropped after a timeout
of silence (the *partial-frame timeout*, in gateware and soft device alike).

The device answers every request whose header checked with ``cmd | 0x80``,
the request's ``seq`` and a payload whose first byte is a status
(``STATUS_*``): a frame with a bad CRC is answered ``STATUS_BAD_CRC`` and
not executed. **Exactly once**: the device keeps the answer to the last
frame it executed; a frame with that frame's ``seq`` and ``cmd`` is not
executed again but answered with the kept answer, byte for byte. A host
therefore retries every frame, training frames included, with the same
``seq`` until it has an answer: a record is trained once however many
copies of its frame reach the device. Sequence numbers are 16 bits; a host
starts each session with ``INFO``.

Commands (request payload -> response payload after the status byte):

* ``INFO``: nothing -> core id, shape word, max records per STREAM, record
  bytes, result bytes (5 little-endian 32-bit words);
* ``WRITE``: n:2, then n x (addr:4, data:4) -> nothing (control writes: tables,
  domains, mode, counters);
* ``READ``: n:2, then n x addr:4 -> n x data:4;
* ``STREAM``: n:2, then n records of ``record_bytes`` (the core's record
  payload, little-endian) -> n results of ``result_bytes`` (prediction and
  residual); the records are applied only after the whole frame checked;
* ``RESET``: nothing -> nothing (counters cleared, training mode).

This module is the single source of the framing: the gateware
(:mod:`kanhw.boards.link`), the soft device and the host import it.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from kanhw.errors import KanhwError

SYNC = b"\x5a\xa5"
HEADER = 5          # seq:2, cmd:1, len:2 (after the sync bytes)
HCHECK = 1          # the header check byte
CRC_BYTES = 4
OVERHEAD = len(SYNC) + HEADER + HCHECK + CRC_BYTES
SEQ_MASK = 0xFFFF

#: The frame check: CRC-32/ISO-HDLC (poly 0x04C11DB7 reflected, init and
#: final XOR 0xFFFFFFFF). The gateware builds it from amaranth.lib.crc's
#: catalogue entry of this name; a test checks the two agree.
CRC_ALGORITHM = "CRC32_ISO_HDLC"

CMD_INFO, CMD_WRITE, CMD_READ, CMD_STREAM, CMD_RESET = 0x01, 0x02, 0x03, 0x04, 0x05
RESPONSE = 0x80

STATUS_OK, STATUS_BAD_CRC, STATUS_BAD_COMMAND, STATUS_TOO_LONG = 0, 1, 2, 3
STATUS_TEXT = {STATUS_OK: "ok", STATUS_BAD_CRC: "bad CRC", STATUS_BAD_COMMAND: "bad command",
               STATUS_TOO_LONG: "frame too long"}


class LinkError(KanhwError):
    """A broken link: no usable answer after every retry, or a refusal."""


def crc32(data: bytes, crc: int = 0) -> int:
    """CRC-32/ISO-HDLC of ``data`` (continuing from ``crc``)."""
    return zlib.crc32(data, crc)


def header_check(header: bytes) -> int:
    """The header check byte: the low byte of the CRC-32 of ``seq, cmd, len``."""
    return zlib.crc32(header) & 0xFF


def frame(seq: int, cmd: int, payload: bytes = b"") -> bytes:
    """One frame, preamble to CRC."""
    head = struct.pack("<HBH", seq & SEQ_MASK, cmd, len(payload))
    body = head + bytes([header_check(head)]) + payload
    return SYNC + body + struct.pack("<I", crc32(body))


@dataclass
class Frame:
    """A received frame. ``crc_ok`` False: the CRC did not match (the header
    did); ``too_long``: the header checked but announced more payload than
    the receiver holds (the payload is not waited for)."""

    seq: int
    cmd: int
    payload: bytes
    crc_ok: bool = True
    too_long: bool = False


_SYNC0, _SYNC1, _HEAD, _BODY = range(4)


class Parser:
    """Incremental frame parser, byte for byte the gateware's receiver: feed
    bytes, collect :class:`Frame` s. ``max_payload``: the longest payload
    waited for (the receiver's buffer)."""

    def __init__(self, max_payload: int = 1 << 16) -> None:
        self.max_payload = max_payload
        self.state = _SYNC0
        self.head = bytearray()
        self.body = bytearray()
        self.need = 0

    @property
    def partial(self) -> bool:
        """A frame is partly received (its preamble has arrived)."""
        return self.state in (_HEAD, _BODY)

    def expire(self) -> None:
        """The partial-frame timeout: drop a partly received frame."""
        if self.partial:
            self.state = _SYNC0

    def feed(self, data: bytes) -> list[Frame]:
        """The frames ``data`` completes, in order."""
        out: list[Frame] = []
        data = bytes(data)
        i, n = 0, len(data)
        while i < n:
            if self.state == _SYNC0:
                j = data.find(SYNC[0], i)
                if j < 0:
                    break
                self.state, i = _SYNC1, j + 1
            elif self.state == _SYNC1:
                b = data[i]
                i += 1
                if b == SYNC[1]:
                    self.state = _HEAD
                    self.head.clear()
                elif b != SYNC[0]:
                    self.state = _SYNC0
            elif self.state == _HEAD:
                take = min(HEADER + HCHECK - len(self.head), n - i)
                self.head += data[i:i + take]
                i += take
                if len(self.head) < HEADER + HCHECK:
                    break
                self.state = _SYNC0
                if self.head[HEADER] != header_check(bytes(self.head[:HEADER])):
                    continue                          # a corrupted header: resynchronise
                seq, cmd, length = struct.unpack_from("<HBH", self.head)
                if length > self.max_payload:
                    out.append(Frame(seq, cmd, b"", False, True))
                    continue
                self.state, self.need = _BODY, length + CRC_BYTES
                self.body.clear()
            else:
                take = min(self.need - len(self.body), n - i)
                self.body += data[i:i + take]
                i += take
                if len(self.body) < self.need:
                    break
                self.state = _SYNC0
                seq, cmd, length = struct.unpack_from("<HBH", self.head)
                payload = bytes(self.body[:length])
                (crc,) = struct.unpack_from("<I", self.body, length)
                out.append(Frame(seq, cmd, payload, crc == crc32(payload, crc32(self.head))))
        return out


def pack_words(words) -> bytes:
    return b"".join(struct.pack("<I", int(w) & 0xFFFFFFFF) for w in words)


def unpack_words(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 4}I", data[:len(data) // 4 * 4]))
