"""Fault injection: a transport wrapper that damages the byte stream, both
ways, at given rates per byte, reproducibly from a seed.

``flip=R,drop=R,dup=R,delay=R`` (any subset):

* ``flip``: a byte has one bit inverted;
* ``drop``: a byte is lost;
* ``dup``: a frame (one write, or one read's bytes) is sent twice, at rate
  ``R`` per byte of it;
* ``delay``: the answer stops at a byte and the rest arrives late, after
  twice the host's wait (so the host has retried meanwhile); order is kept.

``kanhw stream --faults SPEC`` runs a stream over any transport through it;
``bench/link_faults.py`` sweeps kinds and rates.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from kanhw.errors import ConfigError

KINDS = ("flip", "drop", "dup", "delay")


def parse_faults(spec: str) -> dict[str, float]:
    """``"flip=1e-4,drop=1e-4"`` -> rates per byte; ``all=R`` sets every kind."""
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, value = part.partition("=")
        kind = kind.strip()
        if kind not in KINDS + ("all",):
            raise ConfigError(f"unknown fault kind {kind!r} in --faults; use "
                              + ", ".join(KINDS) + " or all")
        try:
            rate = float(value)
        except ValueError:
            raise ConfigError(f"--faults {kind}={value!r}: the rate must be a number") from None
        if not 0.0 <= rate <= 1.0:
            raise ConfigError(f"--faults {kind}={value}: the rate per byte must be in [0, 1]")
        for k in (KINDS if kind == "all" else (kind,)):
            rates[k] = rate
    if not rates:
        raise ConfigError("--faults needs KIND=RATE, e.g. flip=1e-4,drop=1e-4")
    return rates


class FaultyTransport:
    """``inner`` with faults injected at ``rates`` (per byte), seeded."""

    def __init__(self, inner, rates: dict[str, float], seed: int = 0) -> None:
        self.inner = inner
        self.rates = {k: float(rates.get(k, 0.0)) for k in KINDS}
        self.rng = np.random.default_rng(seed)
        self.baud = getattr(inner, "baud", None)
        self.timeout = getattr(inner, "timeout", 5.0)
        self.byte_seconds = getattr(inner, "byte_seconds", 0.0)
        #: faults injected so far, by kind
        self.injected: Counter = Counter()
        self.held = b""
        self.due = 0.0

    def _damage(self, data: bytes) -> bytes:
        if not data:
            return data
        r, rng = self.rates, self.rng
        arr = np.frombuffer(data, np.uint8).copy()
        if r["flip"]:
            hit = rng.random(arr.size) < r["flip"]
            if hit.any():
                arr[hit] ^= (1 << rng.integers(0, 8, int(hit.sum()))).astype(np.uint8)
                self.injected["flip"] += int(hit.sum())
        if r["drop"]:
            keep = rng.random(arr.size) >= r["drop"]
            self.injected["drop"] += int(arr.size - keep.sum())
            arr = arr[keep]
        out = arr.tobytes()
        if r["dup"] and rng.random() < -np.expm1(len(data) * np.log1p(-r["dup"])):
            self.injected["dup"] += 1
            out += out
        return out

    def write(self, data: bytes) -> None:
        self.inner.write(self._damage(data))

    def read(self, size: int, timeout: float) -> bytes:
        if self.held:          # a delayed answer: later bytes queue behind it
            self.held += self._damage(self.inner.read(size, 0.0))
            left = self.due - time.monotonic()
            if left > 0:
                time.sleep(min(timeout, left))
                return b""
            out, self.held = self.held, b""
            return out
        data = self._damage(self.inner.read(size, timeout))
        if self.rates["delay"] and data:
            hit = np.flatnonzero(self.rng.random(len(data)) < self.rates["delay"])
            if hit.size:
                self.injected["delay"] += 1
                k = int(hit[0])
                self.held, data = data[k:], data[:k]
                self.due = time.monotonic() + 2 * self.timeout
        return data

    def close(self) -> None:
        self.inner.close()
