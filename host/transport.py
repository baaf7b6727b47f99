"""Byte transports to a device, all behind one small interface, opened by
name through a registry:

* ``serial:PORT[@BAUD]``: a real board's USB-serial port (pyserial);
* ``soft``: the fixed-point reference behind the protocol (:mod:`.soft`);
* ``sim``: the simulated board top, UART gateware included
  (:mod:`kanhw.sim.uart_link`, imported only when asked for: the host
  itself needs neither Amaranth nor a simulator).
"""

from __future__ import annotations

import importlib
import time
from typing import Protocol

from kanhw.design import Design
from kanhw.errors import ConfigError
from kanhw.interface.protocol import LinkError


class Transport(Protocol):
    baud: int | None

    def write(self, data: bytes) -> None: ...

    def read(self, size: int, timeout: float) -> bytes:
        """Up to ``size`` bytes; fewer (maybe none) if ``timeout`` passes."""

    def close(self) -> None: ...


class SerialTransport:
    #: seconds to wait for an answer beyond its transfer time
    timeout = 1.0

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
        #: a byte's time on the wire (10 bits), doubled for the USB bridge
        self.byte_seconds = 20.0 / baud

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
    """In-process: bytes go straight to a :class:`~.soft.SoftDevice`, which
    answers at once; an answer that is missing is therefore lost, and the
    host's wait for it (``timeout``) is short."""

    baud = None
    timeout = 0.01

    def __init__(self, design: Design, buffer_bytes: int = 8192) -> None:
        from .soft import SoftDevice
        self.device = SoftDevice(design, buffer_bytes, frame_timeout=self.timeout / 2)
        self.pending = b""

    def write(self, data: bytes) -> None:
        self.pending += self.device.feed(data)

    def read(self, size: int, timeout: float) -> bytes:
        if not self.pending:
            time.sleep(timeout)
            return b""
        out, self.pending = self.pending[:size], self.pending[size:]
        return out

    def close(self) -> None:
        pass


#: Transports opened by name: ``module:class``, imported when first asked
#: for; each class takes ``(design)``.
REGISTRY = {
    "soft": "kanhw.host.transport:SoftTransport",
    "sim": "kanhw.sim.uart_link:SimTransport",
}

#: Baud rate of ``serial:PORT`` when neither the spec nor the caller names one.
DEFAULT_BAUD = 1_000_000


def open_transport(spec: str, design: Design, baud: int | None = None,
                   faults: dict[str, float] | None = None, fault_seed: int = 0) -> Transport:
    """``serial:PORT[@BAUD]`` (``baud``, e.g. the board's, when the spec has
    none), or a name in :data:`REGISTRY` (``soft``, ``sim``); with ``faults``
    (rates per byte, :mod:`.faults`) wrapped in a fault injector."""
    t = _open(spec, design, baud)
    if faults:
        from .faults import FaultyTransport
        return FaultyTransport(t, faults, fault_seed)
    return t


def _open(spec: str, design: Design, baud: int | None) -> Transport:
    if spec.startswith("serial:"):
        rest = spec[len("serial:"):]
        port, _, rate = rest.partition("@")
        if not port:
            raise ConfigError("serial transport needs a port: serial:/dev/ttyUSB1[@BAUD]")
        if rate:
            try:
                baud = int(rate)
            except ValueError:
                raise ConfigError(f"bad baud rate {rate!r}") from None
        return SerialTransport(port, baud or DEFAULT_BAUD)
    if spec not in REGISTRY:
        raise ConfigError(f"unknown transport {spec!r}; use serial:PORT[@BAUD], "
                          + " or ".join(sorted(REGISTRY)))
    module, _, name = REGISTRY[spec].partition(":")
    return getattr(importlib.import_module(module), name)(design)
