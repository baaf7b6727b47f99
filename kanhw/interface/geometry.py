"""Geometry of a generated core: its sizes, memory banks and the control
address map. Pure Python, shared by the generator, the simulation
testbenches and the host (which loads and reads tables through this map);
the cycle model is :mod:`.cycles`.

Control address (word addressed, 32-bit data)::

    [space:1][block:KB][region:2][offset:RB]

``space = 0`` holds the global registers (``GLOBAL_REGS``); ``space = 1``
addresses block ``block``, which serves addends ``block * M + j`` for
``j < M = addends_per_block``: region 0 inner nodes (offset
``lane << (SB + PB0) | slot << PB0 | node`` with ``slot = j << TB | step``,
input ``i = step * lanes + lane``), region 1 outer nodes (offset
``j << PB1 | node``), region 2 the outer domain (offset ``j << 2 | w``,
``w`` = 0 ``lo``, 1 ``hi``, 2 ``rcp``).
"""

from __future__ import annotations

from dataclasses import dataclass

from kanhw.design import Design


def ceil_log2(x: int) -> int:
    return max(0, (x - 1).bit_length())


def bank_depths(points: int) -> tuple[int, int]:
    """(even, odd) node counts of a table of ``points`` nodes split by
    parity (:class:`kanhw.rtl_gen.block.tables.Banks`), padded to powers of
    two."""
    return 1 << ceil_log2((points + 1) // 2), 1 << ceil_log2(points // 2)


#: Global registers (space 0), word offsets.
GLOBAL_REGS = {
    "id": 0,          # RO: 0x4B414E31 ("KAN1")
    "shape": 1,       # RO: inputs | addends << 8 | lanes << 20 (low bits of each)
    "mode": 2,        # RW: bit 0 = train (1) / frozen (0)
    "records": 3,     # RO: records processed; any write clears it
    "saturations": 4,  # RO: records with at least one saturation; write clears
    "clamps": 5,      # RO: frozen-mode outer arguments clamped; write clears
    "stretches": 6,   # RO: outer domains stretched; write clears
    "cycles": 7,      # RO: clock cycles spent on records; write clears
    # RW: points of every outer function in use, 2 to the design's (its value
    # after a reset); a coarser grid on the same tables runs the coarse
    # levels of a multilevel schedule (a write outside that range is clamped)
    "outer_points": 8,
}
CORE_ID = 0x4B414E31
REGION_INNER, REGION_OUTER, REGION_DOMAIN = 0, 1, 2
DOMAIN_LO, DOMAIN_HI, DOMAIN_RCP = 0, 1, 2


@dataclass(frozen=True)
class LaneShape:
    """What a block's first-layer lanes are built from, in either core: ``M``
    functions' worth of inputs (``addends_per_block``: a two-layer block's
    addends, a layered stage-1 block's units), each input ``i`` of ``n`` on
    lane ``i % lanes`` at step ``i // lanes``; tables of ``p_inner`` points.
    The lane pipeline and its sequencer (:mod:`kanhw.rtl_gen.block`) take
    their sizes from here, so both cores' lanes are one component."""

    design: Design
    n: int
    lanes: int
    addends_per_block: int
    p_inner: int
    #: the update runs beside the next record's forward pass (a cache and a
    #: second multiplier per lane), or alone, through the forward pass's
    #: table reads and multiplier (a layered design's ``lane_update``)
    overlapped: bool = True

    @property
    def steps(self) -> int:
        return -(-self.n // self.lanes)

    @property
    def coord_width(self) -> int:
        return self.design.contract.coord_bits(self.p_inner)

    @property
    def step_bits(self) -> int:
        return ceil_log2(self.steps)

    @property
    def addend_bits(self) -> int:
        return ceil_log2(self.addends_per_block)

    @property
    def slot_bits(self) -> int:
        """Bits of a table slot: the addend (unit) within the block, then the step."""
        return self.addend_bits + self.step_bits

    @property
    def lane_bits(self) -> int:
        return ceil_log2(self.lanes)

    @property
    def node_bits_inner(self) -> int:
        return ceil_log2(self.p_inner)

    @property
    def lane_tree_stages(self) -> int:
        return tree_stages(self.lanes, self.design.tree_levels_per_cycle)

    @property
    def extra_lane_stages(self) -> int:
        """Lane stages beyond the three of the base pipeline (A, B, C)."""
        return self.design.lane_stages - 3


@dataclass(frozen=True)
class Geometry:
    """Every derived size of a design's hardware."""

    design: Design

    # -- datapath ---------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.design.n

    @property
    def n_out(self) -> int:
        return self.design.arch.n_out

    @property
    def K(self) -> int:
        return self.design.addends

    @property
    def lanes(self) -> int:
        return self.design.lanes

    @property
    def addends_per_block(self) -> int:
        """Addends each block serves in turn (``M`` in the formulas)."""
        return self.design.addends_per_block

    @property
    def blocks(self) -> int:
        return self.design.blocks

    @property
    def steps(self) -> int:
        return self.design.steps

    @property
    def p_inner(self) -> int:
        return self.design.arch.points[0]

    @property
    def p_outer(self) -> int:
        return self.design.arch.points[1]

    @property
    def coord_width(self) -> int:
        return self.lane_shape.coord_width

    @property
    def outer_coord_width(self) -> int:
        return self.design.contract.coord_bits(self.p_outer)

    # -- control address map ------------------------------------------------------
    # the lanes' sizes: the lane shape's
    @property
    def step_bits(self) -> int:
        return self.lane_shape.step_bits

    @property
    def addend_bits(self) -> int:
        """Bits of an addend's index within its block."""
        return self.lane_shape.addend_bits

    @property
    def slot_bits(self) -> int:
        return self.lane_shape.slot_bits

    @property
    def node_bits_outer(self) -> int:
        return ceil_log2(self.p_outer)

    @property
    def lane_bits(self) -> int:
        return self.lane_shape.lane_bits

    @property
    def node_bits_inner(self) -> int:
        return self.lane_shape.node_bits_inner

    @property
    def offset_bits(self) -> int:
        return max(self.lane_bits + self.slot_bits + self.node_bits_inner,
                   self.addend_bits + self.node_bits_outer, self.addend_bits + 2,
                   ceil_log2(len(GLOBAL_REGS)) - 2)

    @property
    def block_bits(self) -> int:
        return ceil_log2(self.blocks)

    @property
    def shape_word(self) -> int:
        """The read-only ``shape`` register: inputs, addends, lanes and
        addends per block, so a host never loads tables into a core of
        another address map."""
        return (self.n & 0xFF) | (self.K & 0xFFF) << 8 | (self.lanes & 0xFF) << 20 \
            | ((self.addends_per_block - 1) & 0xF) << 28

    @property
    def addr_width(self) -> int:
        return 1 + self.block_bits + 2 + self.offset_bits

    def _block(self, k: int, region: int, offset: int) -> int:
        """Address of ``offset`` in ``region`` of the block serving addend ``k``."""
        if not 0 <= k < self.K:
            raise IndexError(f"addend {k} out of range 0..{self.K - 1}")
        b = k // self.addends_per_block
        return (((1 << self.block_bits | b) << 2 | region) << self.offset_bits) | offset

    def inner_addr(self, k: int, i: int, p: int) -> int:
        if not (0 <= i < self.n and 0 <= p < self.p_inner):
            raise IndexError("inner node out of range")
        lane, step = i % self.lanes, i // self.lanes
        slot = (k % self.addends_per_block) << self.step_bits | step
        return self._block(k, REGION_INNER, (lane << self.slot_bits | slot)
                           << self.node_bits_inner | p)

    def outer_addr(self, k: int, p: int) -> int:
        if not 0 <= p < self.p_outer:
            raise IndexError("outer node out of range")
        return self._block(k, REGION_OUTER, (k % self.addends_per_block) << self.node_bits_outer | p)

    def domain_addr(self, k: int, which: int) -> int:
        return self._block(k, REGION_DOMAIN, (k % self.addends_per_block) << 2 | which)

    def global_addr(self, name: str) -> int:
        return GLOBAL_REGS[name]

    @property
    def lane_shape(self) -> LaneShape:
        return LaneShape(self.design, self.n, self.lanes, self.addends_per_block, self.p_inner)

    @property
    def lane_tree_stages(self) -> int:
        return self.lane_shape.lane_tree_stages

    @property
    def barrier_tree_stages(self) -> int:
        return tree_stages(self.blocks, self.design.tree_levels_per_cycle, BARRIER_MIN_STAGES)

    @property
    def extra_lane_stages(self) -> int:
        """Lane stages beyond the three of the base pipeline (A, B, C)."""
        return self.lane_shape.extra_lane_stages


#: Registers the barrier's adder tree has at least, even over one block: a
#: block's last saturation flag lands two cycles after its ``done`` and
#: the core samples the flags as the update starts.
BARRIER_MIN_STAGES = 1


def tree_stages(count: int, levels_per_cycle: int, min_stages: int = 0) -> int:
    """Pipeline registers of an adder tree over ``count`` inputs (none for
    one input, unless ``min_stages``)."""
    levels = ceil_log2(count)
    return max(min_stages, -(-levels // levels_per_cycle) if levels else 0)
