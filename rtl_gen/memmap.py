"""Geometry of a generated core: memory banks, the control address map and
the cycle model. Pure Python, shared by the generator, the simulation
benches and the host (which loads and reads tables through this map).

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

import numpy as np

from kanhw.design import Design


def ceil_log2(x: int) -> int:
    return max(0, (x - 1).bit_length())


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
class Geometry:
    """Every derived size of a design's hardware."""

    design: Design

    # -- datapath ---------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.design.n

    @property
    def K(self) -> int:
        return self.design.addends

    @property
    def lanes(self) -> int:
        return self.design.lanes

    @property
    def share(self) -> int:
        """Addends each block serves in turn (``addends_per_block``)."""
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
        return self.design.contract.coord_bits(self.p_inner)

    @property
    def outer_coord_width(self) -> int:
        return self.design.contract.coord_bits(self.p_outer)

    def bank_depths(self, points: int) -> tuple[int, int]:
        """(even, odd) node counts, padded to powers of two."""
        return 1 << ceil_log2((points + 1) // 2), 1 << ceil_log2(points // 2)

    # -- control address map ------------------------------------------------------
    @property
    def step_bits(self) -> int:
        return ceil_log2(self.steps)

    @property
    def addend_bits(self) -> int:
        """Bits of an addend's index within its block."""
        return ceil_log2(self.share)

    @property
    def slot_bits(self) -> int:
        """Bits of an inner table slot: the addend within the block, then the step."""
        return self.addend_bits + self.step_bits

    @property
    def node_bits_outer(self) -> int:
        return ceil_log2(self.p_outer)

    @property
    def lane_bits(self) -> int:
        return ceil_log2(self.lanes)

    @property
    def node_bits_inner(self) -> int:
        return ceil_log2(self.p_inner)

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
            | ((self.share - 1) & 0xF) << 28

    @property
    def addr_width(self) -> int:
        return 1 + self.block_bits + 2 + self.offset_bits

    def _block(self, k: int, region: int, offset: int) -> int:
        """Address of ``offset`` in ``region`` of the block serving addend ``k``."""
        if not 0 <= k < self.K:
            raise IndexError(f"addend {k} out of range 0..{self.K - 1}")
        b = k // self.share
        return (((1 << self.block_bits | b) << 2 | region) << self.offset_bits) | offset

    def inner_addr(self, k: int, i: int, p: int) -> int:
        if not (0 <= i < self.n and 0 <= p < self.p_inner):
            raise IndexError("inner node out of range")
        lane, step = i % self.lanes, i // self.lanes
        slot = (k % self.share) << self.step_bits | step
        return self._block(k, REGION_INNER, (lane << self.slot_bits | slot)
                           << self.node_bits_inner | p)

    def outer_addr(self, k: int, p: int) -> int:
        if not 0 <= p < self.p_outer:
            raise IndexError("outer node out of range")
        return self._block(k, REGION_OUTER, (k % self.share) << self.node_bits_outer | p)

    def domain_addr(self, k: int, which: int) -> int:
        return self._block(k, REGION_DOMAIN, (k % self.share) << 2 | which)

    def global_addr(self, name: str) -> int:
        return GLOBAL_REGS[name]

    # -- cycle model ----------------------------------------------------------------
    # Derived from the pipeline in block.py and core.py (and checked against
    # simulation by the tests): a record's forward pass takes S lane steps,
    # the lane tree (T stages) and the barrier tree (TK stages), plus fixed
    # stages: accept, A/B/C lanes, saturate, take, subtract, map, coordinate,
    # outer read, difference, value; barrier, residual, step, result; and the
    # block's input register (BROADCAST_STAGES). A block serving M
    # addends issues M * S forward steps; its outer engine starts an addend
    # every max(S, 4) cycles, so the last value is ready (M - 1) * max(S, 4)
    # cycles after a one-addend block's. A fourth lane stage adds a cycle.
    # Training: the next record's forward pass runs beside this record's
    # update and trails it by UPDATE_LEAD cycles; the update's M * S steps
    # never hold up a stream, only its end (issue, multiply, write, idle).
    @property
    def lane_tree_stages(self) -> int:
        return tree_stages(self.lanes, self.design.tree_levels_per_cycle)

    @property
    def barrier_tree_stages(self) -> int:
        return tree_stages(self.blocks, self.design.tree_levels_per_cycle, BARRIER_MIN_STAGES)

    @property
    def extra_lane_stages(self) -> int:
        """Lane stages beyond the three of the base pipeline (A, B, C)."""
        return self.design.lane_stages - 3

    @property
    def _shared_forward(self) -> int:
        return (self.share - 1) * max(self.steps, 4)

    @property
    def cycles_per_record(self) -> int:
        """Training mode, records back to back, no stretch."""
        return self.cycles_per_record_frozen + UPDATE_LEAD

    @property
    def cycles_per_record_frozen(self) -> int:
        """Frozen (inference) mode, records back to back."""
        return self.steps + 12 + BROADCAST_STAGES + self.lane_tree_stages \
            + self.barrier_tree_stages + self._shared_forward + self.extra_lane_stages

    def stream_cycles(self, records: int, train: bool, back_to_back: bool = True) -> int:
        """Cycles the core's counter adds for ``records`` records without
        stretches: back to back (the next record waits as each update
        starts), or one at a time (each arriving after the last was counted,
        as over a serial link)."""
        first = self.cycles_per_record_frozen + 1    # start to result, nothing to trail
        # the update's last saturation test lands a cycle after its last write
        drain = self.share * self.steps + UPDATE_LEAD + BROADCAST_STAGES + 1 if train else 1
        if not back_to_back:
            return records * (first + drain)
        per = self.cycles_per_record if train else self.cycles_per_record_frozen
        return first + (records - 1) * per + drain if records > 0 else 0

    @property
    def stretch_service_cycles(self) -> int:
        """Cycles the shared stretch unit spends on one block's stretch: pick,
        load, select, gap, bounds, divider start, the divider (rcp_bits + 1),
        grant."""
        return self.design.contract.rcp_bits + 8

    #: Extra cycles of a record that stretches, beyond the unit's services.
    STRETCH_BASE_CYCLES = 2

    def stretch_stall(self, stretches: int) -> int:
        """Extra cycles of a record in which ``stretches`` blocks of one
        addend each stretch: the shared unit serves them one after another."""
        if stretches <= 0:
            return 0
        return self.STRETCH_BASE_CYCLES + stretches * self.stretch_service_cycles

    def record_stall(self, addends) -> int:
        """Extra cycles of one training record in which the outer domains of
        ``addends`` (addend indices) stretch; exact for any addends per block.

        Each block's outer engine takes addend ``a``'s hidden sum when it
        arrives from the lanes (``a * steps`` cycles after the first) and
        the engine is free (a new addend every 4 cycles). An addend that
        stretches raises its request 4 cycles after the take; the stretch
        unit, when idle, takes the lowest requesting block, grants it
        ``stretch_service_cycles - 1`` cycles later and is idle again the
        cycle after; the engine re-maps the addend and is free 3 cycles
        after the grant. The record's forward pass ends when the last
        block's engine is done. With one addend per block this is
        :meth:`stretch_stall`; with several, a stall can hide behind lanes
        still working or grow while queued sums wait."""
        M, S = self.share, self.steps
        grant_delay = self.stretch_service_cycles - 1
        stretching: dict[int, set[int]] = {}
        for k in addends:
            stretching.setdefault(int(k) // M, set()).add(int(k) % M)
        if not stretching:
            return 0

        def run(b: int, a: int, free: int) -> tuple[int, int, int | None]:
            """Block ``b``'s engine from addend ``a`` (free from cycle
            ``free``) until a request or the end: (addend, free, request)."""
            while a < M:
                take = max(a * S, free)
                if a in stretching.get(b, ()):
                    return a, free, take + 4
                free, a = take + 4, a + 1
            return a, free, None

        _, base_end, _ = run(-1, 0, 0)          # a block with no stretch
        state = {b: run(b, 0, 0) for b in stretching}
        end = base_end
        unit_free = 0
        while True:
            pending = {b: st for b, st in state.items() if st[2] is not None}
            if not pending:
                break
            x = max(unit_free, min(st[2] for st in pending.values()))
            b = min(b for b, st in pending.items() if st[2] <= x)
            grant = x + grant_delay
            unit_free = grant + 1
            a = pending[b][0]
            state[b] = run(b, a + 1, grant + 3)
        for a, free, _ in state.values():
            end = max(end, free)
        return end - base_end

    def stream_stalls(self, stretched, addends) -> int:
        """Extra cycles of a training stream: ``stretched`` the number of
        domains each record stretched, ``addends`` the stretching addends of
        all records in stream order (the reference's stretch log)."""
        stretched = np.asarray(stretched)
        addends = np.asarray(addends)
        if int(stretched.sum()) != addends.size:
            raise ValueError(f"{addends.size} logged stretches for {int(stretched.sum())}")
        if self.share == 1:
            return int(np.count_nonzero(stretched)) * self.STRETCH_BASE_CYCLES \
                + addends.size * self.stretch_service_cycles
        ends = np.cumsum(stretched)
        return sum(self.record_stall(addends[ends[r] - stretched[r]:ends[r]])
                   for r in np.flatnonzero(stretched))


#: Registers between the core and each block: ``start``, ``update``, the
#: step and the coordinates reach a block a cycle after the core forms them
#: (see :class:`kanhw.rtl_gen.block.ProcessingBlock`).
BROADCAST_STAGES = 1

#: Cycles by which a record's update pass leads the next record's forward
#: pass through the same table slots: issue, multiply, write; the forward
#: port then reads the slot written.
UPDATE_LEAD = 3

#: Registers the barrier's adder tree has at least, even over one block: a
#: block's last saturation flag lands two cycles after its ``done`` and
#: the core samples the flags as the update starts.
BARRIER_MIN_STAGES = 1

#: Cycles from a control request to the block's read data: the block's edge
#: register (BROADCAST_STAGES), the table's read, the register the data
#: leaves the block through.
CONTROL_READ_LATENCY = BROADCAST_STAGES + 2


def tree_stages(count: int, levels_per_cycle: int, min_stages: int = 0) -> int:
    """Pipeline registers of an adder tree over ``count`` inputs (none for
    one input, unless ``min_stages``)."""
    levels = ceil_log2(count)
    return max(min_stages, -(-levels // levels_per_cycle) if levels else 0)
