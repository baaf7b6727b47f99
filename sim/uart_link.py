"""The ``sim`` transport: the board's device (UART, link engine, training
core) simulated under cocotb and Verilator, reached through a local socket.

The simulation runs in a background thread (cocotb's runner); its bench
(:mod:`kanhw.sim.link_tb`) turns socket bytes into UART bits on the
device's ``rx`` pin and decodes its ``tx`` pin. The UART runs at 8 clocks
per bit to keep simulations short; everything else is the board gateware.
"""

from __future__ import annotations

import socket
import threading
import time

from kanhw.design import Design
from kanhw.errors import KanhwError
from kanhw.interface.protocol import LinkError

UART_DIVISOR = 8
CLOCK_NS = 10
TOP = "kanhw_link_harness"


class SimTransport:
    baud = None
    #: the host's wait for an answer: this beyond the frame's bytes at
    #: ``byte_seconds`` each (a simulated UART byte takes a few ms)
    timeout = 5.0
    byte_seconds = 0.02

    def __init__(self, design: Design, buffer_bytes: int = 2048, log=None) -> None:
        from kanhw.boards.device import LinkedCore
        from kanhw.interface import geometry_of
        from kanhw.sim.runner import build_cocotb

        geo = geometry_of(design)
        top = LinkedCore(geo, UART_DIVISOR, buffer_bytes, shared_blocks=True,
                         timeout=UART_DIVISOR * 10 * 64)
        self.runner, self.build_dir = build_cocotb(top, geo, "verilator", TOP, log=log)
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        port = self.server.getsockname()[1]
        self.error: BaseException | None = None

        def simulate():
            try:
                self.runner.test(test_module="kanhw.sim.link_tb", hdl_toplevel=TOP,
                                 build_dir=self.build_dir, test_dir=self.build_dir,
                                 extra_env={"KANHW_LINK_PORT": str(port),
                                            "KANHW_BIT_NS": str(UART_DIVISOR * CLOCK_NS)},
                                 timescale=("1ns", "1ps"),
                                 log_file=self.build_dir / "link_test.log")
            except (RuntimeError, OSError, KanhwError) as exc:  # surfaces as a link error
                self.error = exc

        self.thread = threading.Thread(target=simulate, daemon=True)
        self.thread.start()
        self.server.settimeout(120)
        try:
            self.sock, _ = self.server.accept()
        except TimeoutError:
            raise KanhwError(f"the simulated board did not start; see "
                             f"{self.build_dir / 'link_test.log'}") from None
        self.sock.settimeout(None)

    def write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise LinkError(f"the simulated board went away: {exc}") from None

    def read(self, size: int, timeout: float) -> bytes:
        end = time.monotonic() + timeout
        out = bytearray()
        while len(out) < size:
            left = end - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(size - len(out))
            except TimeoutError:
                break
            except OSError as exc:
                raise LinkError(f"the simulated board went away: {exc}") from None
            if not chunk:
                raise LinkError("the simulated board closed the link")
            out += chunk
            if out:
                break
        return bytes(out)

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            self.server.close()
            self.thread.join(timeout=60)
