"""FPGA families: one module each (``ecp5``, ``ice40``) owning everything
vendor-specific: PLL, synthesis commands and their fallbacks, Yosys' and
nextpnr's cell names, fill limits, primitive registers and which memories
the fabric has. Boards name their family; the generator never names a
vendor cell, it asks the platform (:class:`~.base.Family` hooks, as
Amaranth asks for ``get_ff_sync``). A new family is one module here plus
its boards."""

from __future__ import annotations

from kanhw.errors import ConfigError

from .base import Family, with_family
from .ecp5 import ECP5
from .ice40 import ICE40

FAMILIES: dict[str, Family] = {f.name: f for f in (ECP5, ICE40)}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"unknown FPGA family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


__all__ = ["FAMILIES", "Family", "get_family", "with_family"]
