"""What an FPGA family module provides (:class:`Family`), and the platform
hooks through which the generator reaches it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from amaranth.hdl import Elaboratable, Module

from kanhw.design import Design


@dataclass(frozen=True)
class PLLSetting:
    params: dict
    f_out: float


@dataclass(frozen=True)
class Family:
    """One FPGA family. Subclasses implement :meth:`pll` and may override the
    hooks; the data fields describe its tools and fabric."""

    name: str
    #: options Amaranth's build plan passes to the family's synth command
    synth_opts: str = ""
    #: nextpnr resource kind <- (weight, Yosys cell) terms, and a packing
    #: factor fitted to real builds (route-through LUTs, LUTs split around
    #: carry chains): the resource model's map from Yosys to nextpnr
    yosys_cells: dict = field(default_factory=dict)
    #: nextpnr report cell type per resource kind (``kanhw build``'s report)
    nextpnr_cells: dict = field(default_factory=dict)
    #: share of each resource a design may use and still place and route
    fill_limit: dict = field(default_factory=dict)
    #: the fabric has LUT (distributed) RAM with asynchronous reads
    has_lut_ram: bool = True
    #: the PLL is fed from the clock pad itself, not from a buffered clock
    pll_from_pad: bool = False
    #: synth options for a second attempt when the first stops inside ABC9
    #: ("" for none), and what to tell the user when it is taken
    retry_opts: str = ""
    retry_reason: str = ""

    # -- synthesis --------------------------------------------------------------
    def synth_command(self, top: str, retry: bool = False) -> str:
        """The Yosys command that synthesises ``top`` for this family (the
        second attempt's with ``retry``)."""
        opts = " ".join(o for o in (self.synth_opts, self.retry_opts if retry else "") if o)
        return f"synth_{self.name}{' ' + opts if opts else ''} -top {top}"

    def check(self, design: Design) -> None:
        """Refuse, in one line, a design the family's synthesis cannot map."""

    # -- packing (the resource model) ---------------------------------------------------
    def packer_tool(self) -> str:
        """The tool :meth:`packed_cells` runs, or "" when the resource model
        reads the family's need off Yosys' cells alone (``yosys_cells``)."""
        return ""

    def packed_cells(self, netlist: Path) -> dict[str, int]:
        """Cells by type after the family's placer packs the Yosys JSON
        ``netlist`` (black-box instances left out); only called when
        :meth:`packer_tool` names a tool."""
        raise NotImplementedError

    # -- clocking -----------------------------------------------------------------
    def pll(self, m: Module, clk_in, f_in: float, f_out: float, clk_out, locked) -> float:
        """Instantiate a PLL making ``clk_out`` near ``f_out``; returns its frequency."""
        raise NotImplementedError

    # -- generator hooks (see :func:`with_family`) --------------------------------------
    def get_edge_register(self, q, d, domain: str) -> Elaboratable | None:
        """Registers ``q <= d`` in ``domain`` that synthesis keeps apart from
        identical ones (primitive flip-flops), or None for plain registers."""
        return None


def with_family(platform_cls: type, family: Family) -> type:
    """An Amaranth platform class whose instances answer the generator's
    hooks for ``family``: ``get_edge_register`` and ``has_lut_ram``."""

    class Platform(platform_cls):
        kanhw_family = family
        has_lut_ram = family.has_lut_ram

        def get_edge_register(self, q, d, domain):
            return family.get_edge_register(q, d, domain)

    Platform.__name__ = platform_cls.__name__
    Platform.__qualname__ = platform_cls.__qualname__
    return Platform
