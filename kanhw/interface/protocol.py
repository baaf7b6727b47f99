"""The host link protocol: framed packets with a sequence number and a CRC.

Every frame, in both directions::

    0x5A 0xA5 | seq:1 | cmd:1 | len:2 (LE) | payload:len | crc:2 (LE)

The CRC is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over ``seq`` to the
end of the payload. The device answers every request with ``cmd | 0x80``,
the request's ``seq`` and a payload whose first byte is a status
(``STATUS_*``); a frame with a bad CRC is answered with ``STATUS_BAD_CRC``.

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

This module is the single source of the constants: the gateware
(:mod:`kanhw.boards.link`) and the host side import them from here.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass

from kanhw.errors import KanhwError

SYNC = b"\x5a\xa5"
HEADER = 4          # seq, cmd, len (after the sync bytes)
CRC_BYTES = 2

CMD_INFO, CMD_WRITE, CMD_READ, CMD_STREAM, CMD_RESET = 0x01, 0x02, 0x03, 0x04, 0x05
RESPONSE = 0x80

STATUS_OK, STATUS_BAD_CRC, STATUS_BAD_COMMAND, STATUS_TOO_LONG = 0, 1, 2, 3
STATUS_TEXT = {STATUS_OK: "ok", STATUS_BAD_CRC: "bad CRC", STATUS_BAD_COMMAND: "bad command",
               STATUS_TOO_LONG: "frame too long"}


class LinkError(KanhwError):
    """A broken link: timeout, bad CRC, unexpected answer."""


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, not reflected): the standard
    library's ``crc_hqx`` computes it in C; a bitwise loop in Python was most
    of the soft device's time per frame."""
    return binascii.crc_hqx(data, crc)


def frame(seq: int, cmd: int, payload: bytes = b"") -> bytes:
    body = struct.pack("<BBH", seq & 0xFF, cmd, len(payload)) + payload
    return SYNC + body + struct.pack("<H", crc16(body))


@dataclass
class Frame:
    seq: int
    cmd: int
    payload: bytes
    crc_ok: bool = True


class Parser:
    """Incremental frame parser: feed bytes, collect frames (or errors)."""

    def __init__(self, max_payload: int = 1 << 16) -> None:
        self.buf = bytearray()
        self.max_payload = max_payload

    def feed(self, data: bytes) -> list[Frame | LinkError]:
        """Complete frames (``crc_ok`` False when the CRC did not match), or a
        :class:`LinkError` for a length no device could hold."""
        self.buf += data
        out: list[Frame | LinkError] = []
        while True:
            start = self.buf.find(SYNC)
            if start < 0:
                del self.buf[:max(0, len(self.buf) - 1)]
                return out
            del self.buf[:start]
            if len(self.buf) < 2 + HEADER:
                return out
            seq, cmd, length = struct.unpack_from("<BBH", self.buf, 2)
            if length > self.max_payload:
                del self.buf[:2]
                out.append(LinkError(f"frame length {length} exceeds {self.max_payload}"))
                continue
            total = 2 + HEADER + length + CRC_BYTES
            if len(self.buf) < total:
                return out
            body = bytes(self.buf[2:2 + HEADER + length])
            (crc,) = struct.unpack_from("<H", self.buf, 2 + HEADER + length)
            del self.buf[:total]
            out.append(Frame(seq, cmd, body[HEADER:], crc == crc16(body)))


def pack_words(words) -> bytes:
    return b"".join(struct.pack("<I", int(w) & 0xFFFFFFFF) for w in words)


def unpack_words(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 4}I", data[:len(data) // 4 * 4]))
