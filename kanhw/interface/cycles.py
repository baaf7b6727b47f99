"""The cycle model of a generated core: cycles per record, a stream's
cycles as the core's counter adds them, and the exact stall of every
domain stretch. The latencies the generator builds in are stated here once
(``BROADCAST_STAGES``, ``UPDATE_LEAD``, ``CONTROL_READ_LATENCY``; the
barrier tree's registers are :data:`.geometry.BARRIER_MIN_STAGES` and
:func:`.geometry.tree_stages`); the generator and the testbenches read them from
here, and the tests hold simulation to this model to the cycle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Geometry

#: Registers between the core and each block: ``start``, ``update``, the
#: step and the coordinates reach a block a cycle after the core forms them
#: (:class:`kanhw.rtl_gen.block.edge.BlockEdge`).
BROADCAST_STAGES = 1

#: Sequencer (:class:`kanhw.rtl_gen.block.sequencer.Sequencer`): cycles from
#: the ``start`` a block sees to its forward pass's first slot.
SEQUENCER_START = 1

#: Lane pipeline (:class:`kanhw.rtl_gen.block.lanes.LanePipeline`): stages
#: from a slot's issue to the lane's sum holding it (address, product,
#: accumulate), before ``lane_stages`` adds its extra ones and the lane tree
#: its own.
LANE_STAGES = 3

#: Update pass: cycles from a slot's issue to its write-back (issue,
#: product, write).
UPDATE_WRITE = 2

#: Saturation tests pass a register of their own before the block's flag.
FLAG_DELAY = 1

#: Cycles by which a record's update pass leads the next record's forward
#: pass through the same table slots: its write-back, then the forward port
#: reads the slot written.
UPDATE_LEAD = UPDATE_WRITE + 1

#: Outer engine (:class:`kanhw.rtl_gen.block.engine.OuterEngine`): cycles
#: from taking an addend's hidden sum to the block's ``done`` after its
#: value (subtract, map, coordinate, read, difference, product, value);
#: cycles between takes (three products share a multiplier); from a take to
#: a stretch request; from the stretch unit's grant to the engine taking
#: again.
ENGINE_VALUE_LATENCY = 7
ENGINE_TAKE_INTERVAL = 4
ENGINE_STRETCH_REQUEST = 4
ENGINE_REMAP = 3

#: Core (:class:`kanhw.rtl_gen.core.TrainingCore`): cycles from the barrier
#: tree's sum to the result and the next record's start (residual, step).
RESULT_STAGES = 2

#: Cycles from a control request to the block's read data: the block's edge
#: register (BROADCAST_STAGES), the table's read, the register the data
#: leaves the block through.
CONTROL_READ_LATENCY = BROADCAST_STAGES + 2


@dataclass(frozen=True)
class CycleModel:
    """Cycles of a design's core (``Geometry.cycles``)."""

    geo: Geometry

    # The sum of the parts' latencies (kanhw.rtl_gen.block and core.py,
    # checked against simulation by the tests). A record's forward pass:
    # the broadcast reaches the block, the sequencer issues the first of S
    # slots (each addend's in turn when a block serves M), the last slot
    # passes the lane pipeline and the lane tree, the outer engine takes
    # the addend (the last of M takes follows the first after
    # ``engine_takes``) and shows ``done`` after its value, the barrier tree
    # sums the blocks, and the core forms the residual and step. Training:
    # the next record's forward pass runs beside this record's update and
    # trails it by UPDATE_LEAD cycles; the update's M * S steps never hold
    # up a stream, only its end.
    @property
    def _shared_forward(self) -> int:
        """Cycles from the outer engine's first take to its last."""
        return engine_takes(self.geo.addends_per_block, self.geo.steps)[-1]

    @property
    def per_record(self) -> int:
        """Training mode, records back to back, no stretch."""
        return self.per_record_frozen + UPDATE_LEAD

    @property
    def per_record_frozen(self) -> int:
        """Frozen (inference) mode, records back to back."""
        g = self.geo
        last_issue = BROADCAST_STAGES + SEQUENCER_START + g.steps - 1
        first_sum = last_issue + LANE_STAGES + g.extra_lane_stages + g.lane_tree_stages
        done = first_sum + self._shared_forward + ENGINE_VALUE_LATENCY
        return done + g.barrier_tree_stages + RESULT_STAGES

    def stream(self, records: int, train: bool, back_to_back: bool = True) -> int:
        """Cycles the core's counter adds for ``records`` records without
        stretches: back to back (the next record waits as each update
        starts), or one at a time (each arriving after the last was counted,
        as over a serial link)."""
        first = self.per_record_frozen + 1    # start to result, nothing to trail
        # the update's last saturation test lands a cycle after its last write
        M, S = self.geo.addends_per_block, self.geo.steps
        drain = M * S + UPDATE_LEAD + BROADCAST_STAGES + FLAG_DELAY if train else 1
        if not back_to_back:
            return records * (first + drain)
        per = self.per_record if train else self.per_record_frozen
        return first + (records - 1) * per + drain if records > 0 else 0

    @property
    def stretch_service(self) -> int:
        """Cycles the shared stretch unit spends on one block's stretch: pick,
        load, select, gap, bounds, divider start, the divider (rcp_bits + 1),
        grant."""
        return self.geo.design.contract.rcp_bits + 8

    #: Extra cycles of a record that stretches, beyond the unit's services.
    STRETCH_BASE = 2

    def stretch_stall(self, stretches: int) -> int:
        """Extra cycles of a record in which ``stretches`` blocks of one
        addend each stretch: the shared unit serves them one after another."""
        if stretches <= 0:
            return 0
        return self.STRETCH_BASE + stretches * self.stretch_service

    def record_stall(self, addends) -> int:
        """Extra cycles of one training record in which the outer domains of
        ``addends`` (addend indices) stretch; exact for any addends per block.

        Each block's outer engine takes addend ``a``'s hidden sum when it
        arrives from the lanes (``a * steps`` cycles after the first) and
        the engine is free (a new addend every 4 cycles, never the cycle
        after the previous one left it; see :func:`engine_takes`). An addend that
        stretches raises its request 4 cycles after the take; the stretch
        unit, when idle, takes the lowest requesting block, grants it
        ``stretch_service - 1`` cycles later and is idle again the
        cycle after; the engine re-maps the addend and is free 3 cycles
        after the grant. The record's forward pass ends when the last
        block's engine is done. With one addend per block this is
        :meth:`stretch_stall`; with several, a stall can hide behind lanes
        still working or grow while queued sums wait."""
        M, S = self.geo.addends_per_block, self.geo.steps
        grant_delay = self.stretch_service - 1
        stretching: dict[int, set[int]] = {}
        for k in addends:
            stretching.setdefault(int(k) // M, set()).add(int(k) % M)
        if not stretching:
            return 0

        def run(b: int, a: int, free: int) -> tuple[int, int, int | None]:
            """Block ``b``'s engine from addend ``a`` (free from cycle
            ``free``) until a request or the end: (addend, free, request)."""
            while a < M:
                take = _take(a * S, free)
                if a in stretching.get(b, ()):
                    return a, free, take + ENGINE_STRETCH_REQUEST
                free, a = take + ENGINE_TAKE_INTERVAL, a + 1
            return a, free, None

        _, base_end, _ = run(-1, 0, -2)         # a block with no stretch
        state = {b: run(b, 0, -2) for b in stretching}
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
            state[b] = run(b, a + 1, grant + ENGINE_REMAP)
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
        if self.geo.addends_per_block == 1:
            return int(np.count_nonzero(stretched)) * self.STRETCH_BASE \
                + addends.size * self.stretch_service
        ends = np.cumsum(stretched)
        return sum(self.record_stall(addends[ends[r] - stretched[r]:ends[r]])
                   for r in np.flatnonzero(stretched))


def _take(arrival: int, free: int) -> int:
    """The cycle the outer engine takes a sum that arrives at ``arrival``
    when the previous addend leaves it at ``free`` (its ``o_valid``): not
    before either, and not at ``free + 1``, where its map would share the
    multiplier with the previous addend's slope."""
    take = max(arrival, free)
    return take + 1 if take == free + 1 else take


def engine_takes(addends: int, steps: int) -> list[int]:
    """Cycles at which a block's outer engine takes each addend of a record
    without stretches, from the first: the sums arrive ``steps`` apart and
    each addend holds the engine 4 cycles."""
    takes, free = [], -2
    for a in range(addends):
        takes.append(_take(a * steps, free))
        free = takes[-1] + ENGINE_TAKE_INTERVAL
    return takes
