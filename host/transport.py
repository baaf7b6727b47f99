"""Byte transports to a device, all behind one small interface:

* ``serial:PORT[@BAUD]``: a real board's USB-serial port (pyserial);
* ``soft``: the fixed-point reference behind the protocol (:mod:`.soft`);
* ``sim``: the simulated board top, UART gateware included (:mod:`.simlink`).
"""

from __future__ import annotations

import time
from typing import Protocol

from kanhw.design import Design
from kanhw.errors import ConfigError

from .protocol import LinkError


class Transport(Protocol):
    baud: int | None

    def write(self, data: bytes) -> None: ...

    def read(self, size: int, timeout: float) -> bytes:
        """Up to ``size`` bytes; fewer (maybe none) if ``timeout`` passes."""

    def close(self) -> None: ...


class SerialTransport:
    def __init__(self, port: str, baud: int) -> None:
        try:
            import serial
        except ImportError:  # pragma: no cover - pyserial is a dependency
            raise ConfigError("the serial transport needs pyserial") from None
        self._errors = (serial.SerialException, OSError)
        try:
            self.port = serial.Serial(port, baud, timeout=0)
        except (serial.SerialException, ValueError) as exc:
            raise LinkError(f"cannot open {port}: {exc}") from None
        self.baud = baud

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.port.flush()
        except self._errors as exc:
            raise LinkError(f"serial write failed: {exc}") from None

    def read(self, size: int, timeout: float) -> bytes:
        end = time.monotonic() + timeout
        out = bytearray()
        try:
            while len(out) < size:
                self.port.timeout = max(0.0, end - time.monotonic())
                chunk = self.port.read(size - len(out))
                if not chunk:
                    break
                out += chunk
        except self._errors as exc:
            raise LinkError(f"serial read failed: {exc}") from None
        return bytes(out)

    def close(self) -> None:
        self.port.close()


class SoftTransport:
    """In-process: bytes go straight to a :class:`~.soft.SoftDevice`."""

    baud = None

    def __init__(self, design: Design, buffer_bytes: int = 8192) -> None:
        from .soft import SoftDevice
        self.device = SoftDevice(design, buffer_bytes)
        self.pending = b""

    def write(self, data: bytes) -> None:
        self.pending += self.device.feed(data)

    def read(self, size: int, timeout: float) -> bytes:
        out, self.pending = self.pending[:size], self.pending[size:]
        return out

    def close(self) -> None:
        pass


def open_transport(spec: str, design: Design, board: str | None = None) -> Transport:
    """``serial:PORT[@BAUD]``, ``soft`` or ``sim``."""
    if spec == "soft":
        return SoftTransport(design)
    if spec == "sim":
        from .simlink import SimTransport
        return SimTransport(design)
    if spec.startswith("serial:"):
        rest = spec[len("serial:"):]
        port, _, baud = rest.partition("@")
        if not port:
            raise ConfigError("serial transport needs a port: serial:/dev/ttyUSB1[@BAUD]")
        if baud:
            try:
                rate = int(baud)
            except ValueError:
                raise ConfigError(f"bad baud rate {baud!r}") from None
        else:
            from kanhw.boards import get_board
            rate = get_board(board).baud if board else 1_000_000
        return SerialTransport(port, rate)
    raise ConfigError(f"unknown transport {spec!r}; use serial:PORT[@BAUD], sim or soft")
