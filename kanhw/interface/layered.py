"""Geometry of a layered core (a KAN with more than one hidden layer, or
more than one output): its stages, blocks, function slots and control
address map. Pure Python, like :mod:`.geometry` for the two-layer core.

A KAN ``n0 -> n1 -> ... -> nL`` has a stage per hidden layer ``h = 1 ..
L-1``. Stage ``h`` has a block per ``M_h`` units of layer ``h``
(``units_per_block``; the last block serves the rest when ``M_h``
does not divide ``n_h``). Every function lives in exactly one block: a
first-layer function ``f(o, i)`` (input ``i`` into unit ``o`` of layer 1)
in the stage-1 block of unit ``o`` (its *inner* table, evaluated by lanes
on grid coordinates); a function ``f(p, u)`` of layer ``h >= 1`` (unit
``u`` of layer ``h`` into unit ``p`` of layer ``h + 1``) in the stage-``h``
block of unit ``u`` (its *outgoing* table, mapped from the unit's value by
the block's function engine). So a two-layer KAN's stage is the two-layer
core's blocks, with ``n_out`` outgoing functions per addend.

Control address (word addressed, 32-bit data)::

    [space:1][block:BB][region:2][offset:OB]

Blocks are numbered across stages (stage 1's first). Region 0: inner nodes
(stage 1; offset ``lane << (SB + PB0) | slot << PB0 | node``, ``slot = j <<
TB | step``, input ``i = step * lanes + lane``). Region 1: outgoing nodes
(offset ``slot << PBh | node``, ``slot = j << QB | p``). Region 2: outgoing
domains (offset ``slot << 2 | w``, ``w`` = 0 ``lo``, 1 ``hi``, 2 ``rcp``).
Space 0 holds the global registers of :data:`.geometry.GLOBAL_REGS`, with
the grid registers in place of ``outer_points``: stage ``h``'s (``h <=
GRID_STAGES``) at ``GRID_BASE + h - 1`` holds the points of its outgoing
functions in use, 2 to the design's (its value after a reset; a write
outside that range is clamped). A coarser grid on the same tables (the
first nodes of each) runs the coarse levels of a multilevel schedule; for
a two-layer design that register is the two-layer core's ``outer_points``.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from functools import cached_property

from kanhw.arch import Architecture
from kanhw.design import Design
from kanhw.errors import ConfigError

from .geometry import (
    DOMAIN_HI,
    DOMAIN_LO,
    DOMAIN_RCP,
    GLOBAL_REGS,
    REGION_DOMAIN,
    REGION_INNER,
    REGION_OUTER,
    LaneShape,
    ceil_log2,
)

#: Global registers of a layered core (the two-layer core's, the grid
#: registers in place of the outer grid's).
LAYERED_REGS = {k: v for k, v in GLOBAL_REGS.items() if k != "outer_points"}
#: The first grid register (stage 1's), and how many stages have one (the
#: rest of the 16 global addresses); deeper stages run their design's grid.
GRID_BASE = GLOBAL_REGS["outer_points"]
GRID_STAGES = 16 - GRID_BASE

#: The shape register's top bit marks a layered core; the rest is a CRC of
#: the structure, so a host never loads tables into a core of another map.
LAYERED_SHAPE_FLAG = 1 << 31


@dataclass(frozen=True)
class Stage:
    """Hidden layer ``h`` of the KAN as the core builds it."""

    index: int                 # h, 1-based
    units: int                 # n_h
    units_per_block: int       # M_h
    outputs: int               # n_{h+1}: outgoing functions per unit
    points: int                # points of the outgoing functions (layer h)
    first_block: int           # global index of the stage's first block

    @property
    def blocks(self) -> int:
        return -(-self.units // self.units_per_block)

    @property
    def ragged(self) -> bool:
        """The last block serves fewer units than the others (its count is
        a port of the stage's block module, the others' is ``M``)."""
        return self.units % self.units_per_block != 0

    def units_in(self, b: int) -> int:
        """Units block ``b`` of the stage serves."""
        return min(self.units_per_block, self.units - b * self.units_per_block)

    @property
    def busiest(self) -> int:
        """Units of the stage's fullest block."""
        return min(self.units_per_block, self.units)

    @property
    def unit_bits(self) -> int:
        return ceil_log2(self.units_per_block)

    @property
    def out_bits(self) -> int:
        return ceil_log2(self.outputs)

    @property
    def slot_bits(self) -> int:
        """Bits of an outgoing function's slot in its block: unit, then output."""
        return self.unit_bits + self.out_bits

    @property
    def slots(self) -> int:
        """Outgoing functions of one block."""
        return self.units_per_block * self.outputs

    @property
    def one_slot(self) -> bool:
        """Each block holds one outgoing function (never ragged): one slot
        in flight, so the engine's map shares the slope's multiplier."""
        return self.slots == 1

    @property
    def node_bits(self) -> int:
        return ceil_log2(self.points)

    def slot(self, j: int, p: int) -> int:
        return j << self.out_bits | p


@dataclass(frozen=True)
class LayeredGeometry:
    """Every derived size and address of a layered core."""

    design: Design

    def __post_init__(self) -> None:
        if not self.design.layered:
            raise ConfigError("internal: a two-layer, one-output design has the two-layer "
                              "core's geometry")

    # -- shape ---------------------------------------------------------------------
    @property
    def sizes(self) -> tuple[int, ...]:
        return self.design.arch.sizes

    @property
    def n(self) -> int:
        return self.sizes[0]

    @property
    def n_out(self) -> int:
        return self.sizes[-1]

    @property
    def lanes(self) -> int:
        return self.design.lanes

    @property
    def steps(self) -> int:
        return self.design.steps

    @property
    def p_inner(self) -> int:
        return self.design.arch.points[0]

    @property
    def p_outer(self) -> int:
        """Points of the last layer's functions (the grid image tables key on)."""
        return self.design.arch.points[-1]

    @cached_property
    def stages(self) -> tuple[Stage, ...]:
        out, first = [], 0
        a = self.design.arch
        for h in range(1, a.n_layers):
            st = Stage(h, a.sizes[h], self.design.units_per_block[h - 1], a.sizes[h + 1],
                       a.points[h], first)
            out.append(st)
            first += st.blocks
        return tuple(out)

    @property
    def blocks(self) -> int:
        return sum(st.blocks for st in self.stages)

    @property
    def lane_shape(self) -> LaneShape:
        """Stage 1's lanes: its blocks' units take the place of a two-layer
        block's addends (the same lane pipeline and sequencer)."""
        return LaneShape(self.design, self.n, self.lanes, self.stages[0].units_per_block,
                         self.p_inner, self.design.lane_update == "overlapped")

    @property
    def coord_width(self) -> int:
        """Width of a first-layer grid coordinate (the record's ``u``)."""
        return self.design.contract.coord_bits(self.p_inner)

    def coord_width_of(self, stage: Stage) -> int:
        return self.design.contract.coord_bits(stage.points)

    # -- control address map ----------------------------------------------------------
    @property
    def step_bits(self) -> int:
        return ceil_log2(self.steps)

    @property
    def lane_bits(self) -> int:
        return ceil_log2(self.lanes)

    @property
    def inner_slot_bits(self) -> int:
        return self.stages[0].unit_bits + self.step_bits

    @property
    def node_bits_inner(self) -> int:
        return ceil_log2(self.p_inner)

    @property
    def offset_bits(self) -> int:
        widths = [self.lane_bits + self.inner_slot_bits + self.node_bits_inner,
                  ceil_log2(GRID_BASE + len(self.grid_stages)) - 2]
        for st in self.stages:
            widths += [st.slot_bits + st.node_bits, st.slot_bits + 2]
        return max(widths)

    @property
    def block_bits(self) -> int:
        return ceil_log2(self.blocks)

    @property
    def addr_width(self) -> int:
        return 1 + self.block_bits + 2 + self.offset_bits

    @property
    def shape_word(self) -> int:
        d = self.design
        text = json.dumps([list(self.sizes), list(d.arch.points), d.lanes,
                           list(d.units_per_block), d.contract.to_dict()])
        return LAYERED_SHAPE_FLAG | (zlib.crc32(text.encode()) & (LAYERED_SHAPE_FLAG - 1))

    def global_addr(self, name: str) -> int:
        return LAYERED_REGS[name]

    @property
    def grid_stages(self) -> tuple[Stage, ...]:
        """The stages whose grid a register sets."""
        return self.stages[:GRID_STAGES]

    def grid_addr(self, stage: Stage) -> int:
        """The address of a stage's grid register."""
        return GRID_BASE + stage.index - 1

    def grid_of(self, arch: Architecture) -> tuple[int, ...]:
        """The grids a model of ``arch`` runs on in the core: the design's,
        or coarser ones on the grid registers' stages (the first layer's
        and the deeper stages' as the design's); an error otherwise."""
        d = self.design.arch
        regs = {st.index for st in self.grid_stages}
        fits = arch.sizes == d.sizes and arch.points[0] == d.points[0] and all(
            (2 <= p <= q) if h in regs else p == q
            for h, (p, q) in enumerate(zip(arch.points, d.points)) if h)
        if not fits:
            raise ConfigError(f"a {arch.describe()} KAN does not fit the core's tables "
                              f"({d.describe()}): coarser grids after the first layer "
                              "are the only difference a core takes")
        return tuple(int(p) for p in arch.points)

    def _block(self, b: int, region: int, offset: int) -> int:
        return (((1 << self.block_bits | b) << 2 | region) << self.offset_bits) | offset

    def inner_addr(self, o: int, i: int, p: int) -> int:
        """First-layer function ``f(o, i)``, node ``p``."""
        st = self.stages[0]
        if not (0 <= o < st.units and 0 <= i < self.n and 0 <= p < self.p_inner):
            raise IndexError("inner node out of range")
        b, j = divmod(o, st.units_per_block)
        lane, step = i % self.lanes, i // self.lanes
        slot = j << self.step_bits | step
        return self._block(st.first_block + b, REGION_INNER,
                           (lane << self.inner_slot_bits | slot) << self.node_bits_inner | p)

    def outer_addr(self, h: int, p: int, u: int, node: int) -> int:
        """Layer-``h`` function ``f(p, u)`` (``h >= 1``), node ``node``."""
        st = self.stages[h - 1]
        if not (0 <= u < st.units and 0 <= p < st.outputs and 0 <= node < st.points):
            raise IndexError("outgoing node out of range")
        b, j = divmod(u, st.units_per_block)
        return self._block(st.first_block + b, REGION_OUTER,
                           st.slot(j, p) << st.node_bits | node)

    def domain_addr(self, h: int, p: int, u: int, which: int) -> int:
        st = self.stages[h - 1]
        b, j = divmod(u, st.units_per_block)
        return self._block(st.first_block + b, REGION_DOMAIN, st.slot(j, p) << 2 | which)

    def table_words(self, grid: tuple[int, ...] | None = None
                    ) -> tuple[tuple[int, str, int], ...]:
        """Every table word: ``(address, kind, index)`` into the fixed model's
        flat array ``kind`` (``values``, ``lo``, ``hi``, ``rcp``). ``grid``:
        a model's points per layer (:meth:`grid_of`), the first nodes of
        each table; by default the design's."""
        a = Architecture(self.sizes, grid) if grid else self.design.arch
        fb, nb = a.func_base, a.node_base
        out = []
        n0, n1, P0 = self.n, a.sizes[1], self.p_inner
        for o in range(n1):
            for i in range(n0):
                F = o * n0 + i
                for p in range(P0):
                    out.append((self.inner_addr(o, i, p), "values", int(nb[0]) + F * P0 + p))
        for st in self.stages:
            h = st.index
            for u in range(st.units):
                for p in range(st.outputs):
                    F = p * st.units + u
                    P = int(a.points[h])
                    for node in range(P):
                        out.append((self.outer_addr(h, p, u, node), "values",
                                    int(nb[h]) + F * P + node))
                    for which, kind in ((DOMAIN_LO, "lo"), (DOMAIN_HI, "hi"),
                                        (DOMAIN_RCP, "rcp")):
                        out.append((self.domain_addr(h, p, u, which), kind, int(fb[h]) + F))
        return tuple(out)

    def function_slot(self, F: int) -> tuple[Stage, int, int]:
        """(stage, block within the stage, slot) of global function ``F``
        of a layer ``>= 1`` (the stretch log's entries)."""
        a = self.design.arch
        fb = a.func_base
        h = int(sum(1 for base in fb[1:-1] if F >= base))
        if h < 1:
            raise ValueError(f"function {F} is a first-layer function")
        st = self.stages[h - 1]
        p, u = divmod(F - int(fb[h]), st.units)
        b, j = divmod(u, st.units_per_block)
        return st, b, st.slot(j, p)

    @property
    def steps_per_unit(self) -> int:
        return math.ceil(self.n / self.lanes)
