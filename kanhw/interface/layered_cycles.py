"""The cycle model of a layered core: each phase of a record is the sum of
the latencies the generator states (:mod:`kanhw.rtl_gen.layered`; their
values are repeated here as the interface's, and the tests hold simulation
to the model to the cycle), and a domain stretch's stall is replayed
against the shared stretch unit.

A record: stage 1's forward pass (lanes, then the engine taking each unit
as the lanes finish it), then per stage the barrier's reduction and the
next stage's forward pass; residuals and steps per output; the result; and
when training, per stage from the last: the steps broadcast (or gathered
from the stage above) and the engines' backward pass. Stage 1's backward
pass and its lanes' update of the first-layer functions (the two-layer
block's update pass, :mod:`kanhw.interface.cycles`) run beside the next
record (``lane_update = "overlapped"``): the record ends as stage 1's
backward pass starts, and the core takes the next record in that cycle;
that record's lanes trail the update (which starts
:func:`update_after` cycles after the backward pass) by ``UPDATE_LEAD``
cycles, its stage-1 engines take their first slot once the backward pass
is over; a stream costs the last record's update beyond that (the update
always ends after the backward pass: it starts after the last unit's
step is ready and runs at least ``S`` cycles a unit more).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cycles import (
    BROADCAST_STAGES,
    FLAG_DELAY,
    LANE_STAGES,
    SEQUENCER_START,
    UPDATE_LEAD,
    UPDATE_WRITE,
)
from .geometry import BARRIER_MIN_STAGES, LaneShape, tree_stages
from .layered import LayeredGeometry, Stage

#: Engine (kanhw.rtl_gen.layered.engine): a slot taken a cycle; the forward
#: pass shows done FORWARD_LATENCY cycles after its last take; the backward
#: pass has its first slot in the product stage as it starts and a slot a
#: cycle after, and shows done BACKWARD_LATENCY cycles after the last
#: slot's products (the write and step, the pass leaving, done); a stretch
#: request STRETCH_REQUEST cycles after the slot's take; the stretched slot
#: is taken again at its grant, the next one a cycle later.
FORWARD_LATENCY, BACKWARD_LATENCY, STRETCH_REQUEST = 7, 3, 3
#: Cycle (from the start) of the engine's first possible take.
FIRST_TAKE = 2
#: Cycles from the backward pass's last products to the engine taking a
#: forward pass that waited for it (the pass's done, then the take).
BACKWARD_TO_FORWARD = BACKWARD_LATENCY + 1
#: A block's backward state: cycles from the engine's done to the block's.
BLOCK_DONE = 1
#: Core: cycles from a broadcast to what the blocks show back, a start to
#: the blocks' done being sampled, the last flag to the record's count
#: (kanhw.rtl_gen.layered.core).
READBACK, SETTLE, FLAG_SETTLE = 2, 2, 2
#: Core: cycles from the last barrier sum to every residual (a residual and
#: step a cycle behind each sum, the steps broadcast a cycle later).
OUTPUT_STAGES = 1


def update_after(shape: LaneShape, stage: Stage) -> int:
    """Cycles from a stage-1 block's backward start to its lanes' update
    start, when the update runs beside the next record: unit ``j``'s step is
    formed the cycle after its last slot's products (cycle ``(j + 1) * Q -
    1``) and readable that cycle (the read port passes it on), and the
    update asks for it the cycle after the start plus ``j * S``: the
    tightest ``j`` sets the lead (none with one output)."""
    M, Q, S = stage.units_per_block, stage.outputs, shape.steps
    return Q - 1 + (M - 1) * max(0, Q - S)


@dataclass(frozen=True)
class LayeredCycleModel:
    """Cycles of a layered core's records (see the module docstring)."""

    geo: LayeredGeometry

    @property
    def stretch_service(self) -> int:
        return self.geo.design.contract.rcp_bits + 8

    def _barrier(self, st: Stage) -> int:
        return tree_stages(st.blocks, self.geo.design.tree_levels_per_cycle, BARRIER_MIN_STAGES)

    @property
    def _lead(self) -> int:
        return update_after(self.geo.lane_shape, self.geo.stages[0])

    def _arrivals(self, st: Stage, delay: int = 0) -> list[int] | None:
        """Cycle (from the stage's start) each unit's value reaches the
        engine: stage 1's from its lanes (``delay``: cycles the lanes' first
        slot trails the previous record's update by); later stages' are all
        there."""
        if st.index != 1:
            return None
        shape = self.geo.lane_shape
        # the start passes the block's edge register, the sequencer issues the
        # unit's S slots, the last passes the lanes and their tree, and the
        # engine takes the value as it leaves the tree
        latency = LANE_STAGES + shape.extra_lane_stages + shape.lane_tree_stages
        S = shape.steps
        return [BROADCAST_STAGES + SEQUENCER_START + delay + (j + 1) * S - 1 + latency
                for j in range(st.units_per_block)]

    @property
    def beside(self) -> bool:
        """Stage 1's backward pass and update run beside the next record."""
        return self.geo.lane_shape.overlapped

    def _first_takes(self, st: Stage, after_update: bool, wait: int = 0) -> list[int]:
        """Each block's first possible take (from the stage's start): a
        stage-1 engine still in the previous record's backward pass (started
        ``wait`` cycles before this record, through the same edge register)
        takes once that is over: its ``units * Q`` slots, then
        ``BACKWARD_TO_FORWARD`` cycles."""
        if st.index != 1 or not after_update:
            return [FIRST_TAKE] * st.blocks
        return [max(FIRST_TAKE, BROADCAST_STAGES + st.units_in(b) * st.outputs - 1
                    + BACKWARD_TO_FORWARD - wait)
                for b in range(st.blocks)]

    def _forward(self, st: Stage, stretching: dict[int, list[int]],
                 after_update: bool = False, wait: int = 0) -> int:
        """Cycles from the stage's start to its last block's done, each
        block's stretching slots (in slot order) served by the shared unit;
        ``after_update``: the record follows a training record whose
        backward pass and update run beside it, taken ``wait`` cycles after
        their start: the lanes trail the update by ``UPDATE_LEAD``."""
        Q = st.outputs
        delay = max(0, self._lead + UPDATE_LEAD - wait) if after_update else 0
        arrivals = self._arrivals(st, delay)
        grant_delay = self.stretch_service - 1

        def walk(b: int, j: int, p: int, free: int, last: int):
            """Block ``b`` from slot (j, p), taking from cycle ``free`` on
            (``last``: its latest take so far): until a request or the end.
            Returns (j, p, the stretching slot's take or the last take,
            request)."""
            slots = stretching.get(b, ())
            while j < st.units_in(b):
                take = max(free, arrivals[j] if arrivals is not None else 0)
                if j * Q + p in slots:
                    return j, p, take, take + STRETCH_REQUEST
                last, free = take, take + 1
                p += 1
                if p == Q:
                    j, p = j + 1, 0
            return j, p, last, None

        def finish(b: int, j: int, p: int, grant: int):
            """The stretched slot is taken again at its grant."""
            p += 1
            if p == Q:
                j, p = j + 1, 0
            return walk(b, j, p, grant + 1, grant)

        firsts = self._first_takes(st, after_update, wait)
        state = {b: walk(b, 0, 0, firsts[b], firsts[b]) for b in range(st.blocks)}
        unit_free = 0
        while True:
            pending = {b: s for b, s in state.items() if s[3] is not None}
            if not pending:
                break
            x = max(unit_free, min(s[3] for s in pending.values()))
            b = min(b for b, s in pending.items() if s[3] <= x)
            grant = x + grant_delay
            unit_free = grant + 1
            j, p, _, _ = pending[b]
            state[b] = finish(b, j, p, grant)
        return max(s[2] for s in state.values()) + FORWARD_LATENCY

    def record(self, train: bool, stretches: dict | None = None,
               after_update: bool | None = None, wait: int = 0,
               _upto_result: bool = False) -> int:
        """Cycles of one record; ``stretches`` maps a stage's index to
        ``{block: [slot order, ...]}`` of the functions that stretch;
        ``after_update``: the record follows a training record in the same
        stream (by default, a training record does: the steady state),
        taken ``wait`` cycles after that record's stage-1 backward start."""
        geo = self.geo
        stretches = stretches or {}
        stages = geo.stages
        if after_update is None:
            after_update = train
        after_update = after_update and self.beside
        total = 0
        for st in stages:
            done = self._forward(st, stretches.get(st.index, {}), after_update, wait)
            # stage 1 from the cycle after the record's acceptance; later
            # stages from their start cycle, one before the engines see it
            total += done if st.index == 1 else done + 1
            # the reduction: the first unit's sums enter the barrier with the
            # blocks' done, the others READBACK cycles after their reads
            total += st.outputs + self._barrier(st) - (st.outputs == 1)
        total += OUTPUT_STAGES + 1                                # outputs, result
        if _upto_result or not train:
            # a frozen record is counted as its result leaves
            return total
        for st in reversed(stages):
            if st.index != len(stages):
                total += stages[st.index].units + 2               # gathered (and the start)
            if st.index == 1 and self.beside:
                # stage 1's backward start ends the record: the core takes
                # the next one in the same cycle
                break
            # the edge register, the fullest block's slots, its done
            M, Q = st.busiest, st.outputs
            total += BROADCAST_STAGES + M * Q - 1 + BACKWARD_LATENCY + BLOCK_DONE
            if st.index == 1:
                # the lanes' update alone, then its last flags land
                total += self._update_span + FLAG_SETTLE + 1
        return total

    @property
    def _update_span(self) -> int:
        """Cycles from the update's start to the cycle after its last
        write's flag landed: the fullest stage-1 block's slots, the write
        stage and the flag register."""
        shape = self.geo.lane_shape
        write = UPDATE_WRITE + (0 if shape.overlapped else shape.extra_lane_stages)
        return self.geo.stages[0].busiest * shape.steps + write + FLAG_DELAY + 1

    @property
    def update_tail(self) -> int:
        """Cycles a training stream's last record's stage-1 backward pass and
        update run on after the record's own (the core counts them while
        the update is pending): from the backward start, the edge register,
        the lead and the update (which always ends after the backward pass:
        it starts after the last unit's step is ready and runs at least
        ``S`` cycles a unit more)."""
        if not self.beside:
            return 0
        return BROADCAST_STAGES + self._lead + self._update_span

    @property
    def per_record(self) -> int:
        """Training mode, no stretch."""
        return self.record(True)

    @property
    def per_record_frozen(self) -> int:
        return self.record(False)

    @property
    def after_result(self) -> int:
        """Cycles of a training record from the cycle after its result's
        handshake to the core taking the next record (back to back) or going
        idle: the steps and the backward passes down to stage 1's start."""
        return self.record(True) - self._to_result(True)

    def _to_result(self, train: bool) -> int:
        """Cycles of a record up to its result's handshake (no stretch)."""
        return self.record(train, _upto_result=True)

    def stream(self, records: int, train: bool, stretched=None, functions=None,
               gap: int | None = None) -> int:
        """Cycles the core's counter adds for ``records`` records, the
        stretches of the reference's log included (``stretched`` per record,
        ``functions`` in stream order). ``gap``: each record after the first
        is offered ``gap`` cycles after the previous record's result (the
        link engine's :func:`~.layouts.record_gap`); by default records wait
        at the core, back to back. A training record the core waits for is
        counted while the previous update runs (the update's pending
        cycles, at most), and the next record's stage-1 engines and lanes
        wait that much less for the previous backward pass and update."""
        if not records:
            return 0
        beside = train and self.beside
        wait = max(0, gap - self.after_result) if (gap is not None and beside) else 0
        # counted idle cycles between a record and the next: the previous
        # update pending while the core waits for the record
        between = min(wait, self.update_tail) if beside else 0
        base = self.record(train, wait=wait) + between
        first = self.record(train, after_update=False) + between
        tail = self.update_tail - between if beside else 0
        if stretched is None or not np.any(stretched):
            return first + (records - 1) * base + tail
        stretched = np.asarray(stretched)
        functions = np.asarray(functions)
        ends = np.cumsum(stretched)
        total = (records - np.count_nonzero(stretched)) * base
        if not stretched[0]:
            total += first - base
        for r in np.flatnonzero(stretched):
            per_stage: dict[int, dict[int, list[int]]] = {}
            for F in functions[ends[r] - stretched[r]:ends[r]]:
                st, b, slot = self.geo.function_slot(int(F))
                j, p = slot >> st.out_bits, slot & ((1 << st.out_bits) - 1)
                per_stage.setdefault(st.index, {}).setdefault(b, []).append(j * st.outputs + p)
            total += self.record(train, per_stage, after_update=train and r > 0,
                                 wait=wait) + between
        return int(total) + tail
