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
record (``lane_update = "overlapped"``): the record costs the lead to the
update's start and the cycle on which the core takes the next record; the
next record's stage-1 engines take their first slot once the backward
pass is over; a stream costs the last record's update beyond that (the
update always ends after the backward pass: it starts after the last
unit's step is ready and runs at least ``S`` cycles a unit more).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cycles import BROADCAST_STAGES, FLAG_DELAY, LANE_STAGES, SEQUENCER_START, UPDATE_WRITE
from .geometry import BARRIER_MIN_STAGES, LaneShape, tree_stages
from .layered import LayeredGeometry, Stage

#: Engine (kanhw.rtl_gen.layered.engine): a slot taken a cycle; the forward
#: pass shows done FORWARD_LATENCY cycles after its last take, the backward
#: one BACKWARD_LATENCY + 1 after its last read; a stretch request
#: STRETCH_REQUEST cycles after the slot's take; the stretched slot is taken
#: again at its grant, the next one a cycle later.
FORWARD_LATENCY, BACKWARD_LATENCY, STRETCH_REQUEST = 7, 4, 3
#: Cycle (from the start) of the engine's first possible take.
FIRST_TAKE = 2
#: Cycles from the backward pass's last read to the engine taking a forward
#: pass that waited for it (the pass's pipeline drains, the engine leaves
#: the pass, takes the waiting start).
BACKWARD_TO_FORWARD = BACKWARD_LATENCY + 2
#: Core: cycles from a broadcast to what the blocks show back, a start to
#: the blocks' done being sampled, the last flag to the record's count
#: (kanhw.rtl_gen.layered.core).
READBACK, SETTLE, FLAG_SETTLE = 2, 2, 2
#: Core: cycles from the last barrier sum to every residual (a residual and
#: step a cycle behind each sum, the steps broadcast a cycle later).
OUTPUT_STAGES = 1
#: Counted cycles of a training record's update beside the next record:
#: the core's cycle taking it.
UPDATE_ACCEPT = 1


def update_after(shape: LaneShape, stage: Stage) -> int:
    """Cycles from a stage-1 block's backward start to its lanes' update
    start, when the update runs beside the next record: unit ``j``'s step is
    written ``BACKWARD_LATENCY - 1`` cycles after the engine reads its last
    slot (cycle ``(j + 1) * Q``) and readable that cycle (the read port
    passes it on), and the update asks for it the cycle after the start
    plus ``j * S``: the tightest ``j`` sets the lead."""
    M, Q, S = stage.units_per_block, stage.outputs, shape.steps
    return Q + BACKWARD_LATENCY - 2 + (M - 1) * max(0, Q - S)


@dataclass(frozen=True)
class LayeredCycleModel:
    """Cycles of a layered core's records (see the module docstring)."""

    geo: LayeredGeometry

    @property
    def stretch_service(self) -> int:
        return self.geo.design.contract.rcp_bits + 8

    def _barrier(self, st: Stage) -> int:
        return tree_stages(st.blocks, self.geo.design.tree_levels_per_cycle, BARRIER_MIN_STAGES)

    def _arrivals(self, st: Stage) -> list[int] | None:
        """Cycle (from the stage's start) each unit's value reaches the
        engine: stage 1's from its lanes; later stages' are all there."""
        if st.index != 1:
            return None
        shape = self.geo.lane_shape
        # the start passes the block's edge register, the sequencer issues the
        # unit's S slots, the last passes the lanes and their tree, and the
        # engine sees the value a cycle later
        latency = LANE_STAGES + shape.extra_lane_stages + shape.lane_tree_stages
        S = shape.steps
        return [BROADCAST_STAGES + SEQUENCER_START + (j + 1) * S - 1 + latency + 1
                for j in range(st.units_per_block)]

    @property
    def beside(self) -> bool:
        """Stage 1's backward pass and update run beside the next record."""
        return self.geo.lane_shape.overlapped

    @property
    def _backward_in_record(self) -> int:
        """Cycles from the core's stage-1 backward start to its leaving the
        backward state when the pass runs beside the next record: the edge
        register, the lead to the update's start, the block's ``bdone``
        register the core samples."""
        return BROADCAST_STAGES + update_after(self.geo.lane_shape, self.geo.stages[0]) + 1

    @property
    def _backward_to_next(self) -> int:
        """Cycles from the core's stage-1 backward start to the next record's
        acceptance, when the pass runs beside it: the backward state, then
        the idle state's taking cycle."""
        return self._backward_in_record + UPDATE_ACCEPT

    def _first_takes(self, st: Stage, after_update: bool, wait: int = 0) -> list[int]:
        """Each block's first possible take (from the stage's start): a
        stage-1 engine still in the previous record's backward pass takes
        once that is over (its ``units * Q`` reads, ``BACKWARD_TO_FORWARD``
        cycles more), measured from that pass's start through the edge
        register."""
        if st.index != 1 or not after_update:
            return [FIRST_TAKE] * st.blocks
        return [max(FIRST_TAKE, BROADCAST_STAGES + st.units_in(b) * st.outputs
                    + BACKWARD_TO_FORWARD - self._backward_to_next - wait)
                for b in range(st.blocks)]

    def _forward(self, st: Stage, stretching: dict[int, list[int]],
                 after_update: bool = False, wait: int = 0) -> int:
        """Cycles from the stage's start to its last block's done, each
        block's stretching slots (in slot order) served by the shared unit;
        ``after_update``: the record follows a training record whose
        backward pass runs beside it."""
        Q = st.outputs
        arrivals = self._arrivals(st)
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
        taken ``wait`` cycles after the core was idle again."""
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
        if _upto_result:
            return total
        if train:
            for st in reversed(stages):
                if st.index != len(stages):
                    total += stages[st.index].units + 2           # gathered (and the start)
                if st.index == 1 and self.beside:
                    total += self._backward_in_record
                    continue
                # the barrier waits for the fullest block
                M, Q = st.busiest, st.outputs
                total += M * Q + BACKWARD_LATENCY + 3
            total += self._update_in_record
        # the end: a record whose update ran inside it waits for its last
        # flags; a frozen one is counted as its result leaves, a training one
        # beside the next record as its update ends
        return total + (FLAG_SETTLE + 1 if train and not self.beside else 0)

    @property
    def _update_span(self) -> int:
        """Cycles from the update's start to the cycle after its last
        write's flag landed: the fullest stage-1 block's slots, the write
        stage and the flag register."""
        shape = self.geo.lane_shape
        write = UPDATE_WRITE + (0 if shape.overlapped else shape.extra_lane_stages)
        return self.geo.stages[0].busiest * shape.steps + write + FLAG_DELAY + 1

    @property
    def _update_in_record(self) -> int:
        """A training record's cycles for stage 1's update: beside the next
        record, the core's cycle taking that record while it runs; alone,
        the whole update (the block waits for it)."""
        return UPDATE_ACCEPT if self.beside else self._update_span

    @property
    def update_tail(self) -> int:
        """Cycles a training stream's last record's first-layer update runs
        on after the record's own: the update's slots of the fullest stage-1
        block and its write and flag registers, from the cycle the engines
        finish, less the core's return to idle."""
        if not self.beside:
            return 0
        # the core sees the blocks done a cycle after the update starts and is
        # idle the next: the update's cycles after that are counted while it
        # is pending
        pending_from = 1 + 1
        return max(0, self._update_span - pending_from - UPDATE_ACCEPT + 1)

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
        handshake to the core's idle state: the steps, the backward passes
        and the end (the phases :meth:`record` adds after the result)."""
        return self.record(True) - self._to_result(True) - UPDATE_ACCEPT

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
        cycles, at most), and the next record's stage-1 engines wait that
        much less for the previous backward pass."""
        if not records:
            return 0
        wait = max(0, gap - self.after_result - 1) if (gap is not None and train) else 0
        # counted cycles of the previous update's run before the next record
        # is taken, the taking cycle included (UPDATE_ACCEPT back to back)
        pending = UPDATE_ACCEPT + (self.update_tail if train else 0)
        between = min(wait + UPDATE_ACCEPT, pending) - UPDATE_ACCEPT if train else 0
        base = self.record(train, wait=wait) + between
        first = self.record(train, after_update=False) + between
        tail = self.update_tail - between if train else 0
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
