"""cocotb bench of the board's device (UART, link engine, training core): a
bridge between a TCP socket and the simulated UART pins, so that a host
program talks to the simulated board exactly as to a real one.

Environment: ``KANHW_LINK_PORT`` (the host's listening port on 127.0.0.1) and
``KANHW_BIT_NS`` (the UART bit time in ns). The bench drives ``rx`` bit by bit
and decodes ``tx``; when the host has nothing to send and the device nothing
to answer, it waits for the host without advancing simulated time.
"""

from __future__ import annotations

import os
import queue
import socket
import threading

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

CLOCK_NS = 10


def _reader(sock: socket.socket, inbox: queue.Queue) -> None:
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            inbox.put(None)  # the host hung up
            return
        for b in data:
            inbox.put(b)


@cocotb.test()
async def bridge(dut):
    bit = int(os.environ["KANHW_BIT_NS"])
    sock = socket.create_connection(("127.0.0.1", int(os.environ["KANHW_LINK_PORT"])))
    inbox: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(sock, inbox), daemon=True).start()
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rx.value = 1
    dut.rst.value = 1
    for _ in range(4):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    state = {"receiving": False, "done": False}

    async def decode_tx():
        while not state["done"]:
            await FallingEdge(dut.tx)
            state["receiving"] = True
            await Timer(bit + bit // 2, "ns")
            value = 0
            for k in range(8):
                value |= int(dut.tx.value) << k
                await Timer(bit, "ns")
            sock.sendall(bytes([value]))
            state["receiving"] = False

    cocotb.start_soon(decode_tx())
    while True:
        try:
            byte = inbox.get_nowait()
        except queue.Empty:
            if state["receiving"] or not int(dut.idle.value):
                await Timer(bit, "ns")  # the device is working or answering
                continue
            byte = inbox.get()  # idle both ways: wait for the host in real time
        if byte is None:
            break
        for level in [0] + [(byte >> k) & 1 for k in range(8)] + [1]:
            dut.rx.value = level
            await Timer(bit, "ns")
    state["done"] = True
    sock.close()
