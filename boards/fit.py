"""Resource model: what a design needs on a board, known in seconds, before
place-and-route.

Yosys synthesises one processing block alone, and the rest of the device
(core glue, barrier tree, stretch unit, link, UART) with the blocks left as
black boxes; the need is ``rest + K * block``. The factors that turn Yosys'
cells into nextpnr's counts (the family's ``yosys_cells``) are calibrated from real builds
(the README's board table lists them). ``kanhw build`` checks the fit first,
so a design that cannot fit fails at once with a proposal, not after a long
place-and-route; the same model answers ``kanhw build --fit``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from kanhw.design import Design
from kanhw.errors import ConfigError, KanhwError
from kanhw.interface.geometry import Geometry, ceil_log2
from kanhw.interface.layered import LayeredGeometry
from kanhw.rtl_gen.block import BLOCK_MODULE, ProcessingBlock
from kanhw.rtl_gen.layered.block import stage_module

from .blocks import block_modules
from .board import Board
from .families import Family, get_family
from .toolchain import yosys


class FitError(KanhwError):
    """The resource model could not be evaluated (Yosys failed)."""


#: Part of the cache key of a packed synthesis: raise it when the way cells
#: are counted after packing changes (a cached count would outlive it).
PACKING = 1


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kanhw" / "fit"


def _yosys(files: dict[str, str], script: str, retry: str | None = None,
           reason: str = "", family: Family | None = None) -> tuple[dict[str, int], str]:
    """Run Yosys on ``files`` (written to a scratch directory: the WebAssembly
    build sees only its working directory); returns cells by type and a
    note: empty, or ``reason`` when ``script`` failed and ``retry`` (a
    second script) was run instead. With a ``family`` that packs
    (:meth:`Family.packed_cells`), the counts also hold its packer's cells.
    Results are cached on disk by the hash of the tools, script and sources."""
    tool = yosys()
    packer = family.packer_tool() if family is not None else ""
    key = hashlib.sha256("\0".join([tool, packer and f"{packer} {PACKING}", script,
                                    *sorted(files), *(files[k] for k in sorted(files))]
                                   ).encode()).hexdigest()
    cached = _cache_dir() / f"{key}.json"
    if cached.exists():
        try:
            hit = json.loads(cached.read_text())
            return hit["cells"], hit["note"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    note = ""
    pack = family if packer else None
    try:
        cells = _run_yosys(tool, files, script, pack)
    except FitError as first:
        if not retry:
            raise
        try:
            cells = _run_yosys(tool, files, retry, pack)
        except FitError as second:
            raise FitError(f"{first}; the second attempt too: "
                           f"{str(second).split(': ', 2)[-1]}") from None
        note = reason
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps({"cells": cells, "note": note}))
    except OSError:
        pass  # a read-only home only costs the next run its synthesis
    return cells, note


def _synthesise(files: dict[str, str], reads: str, top: str, family: Family,
                black_boxes: bool = False) -> tuple[dict[str, int], str]:
    """``reads`` then the family's synthesis of ``top`` (and its second
    attempt, if it has one, when the first fails). ``black_boxes``: the
    design holds black-box blocks (the rest of a device); if the flattened
    synthesis fails, it is synthesised unflattened."""
    script = f"{reads}; {family.synth_command(top)}"
    retry = f"{reads}; {family.synth_command(top, retry=True)}" if family.retry_opts else None
    try:
        return _yosys(files, script, retry, family.retry_reason, family)
    except FitError as flat:
        if not black_boxes:
            raise
        # With black-box blocks, ABC9's reintegration can stop on a Yosys
        # assertion in the flattened design (a layered digits rest at 8
        # units a block), while the whole device synthesises. Unflattened,
        # each module is mapped on its own and the boxes stay out of ABC9's
        # way, at the cost of cross-module optimisation (a slight overestimate).
        try:
            cells, _ = _yosys(files, f"{script} -noflatten", family=family)
        except FitError:
            raise flat from None
        return cells, "synthesised unflattened (the flattened synthesis stopped in ABC9)"


def _run_yosys(tool: str, files: dict[str, str], script: str,
               pack: Family | None = None) -> dict[str, int]:
    with tempfile.TemporaryDirectory(prefix="kanhw-fit-") as tmp:
        for name, text in files.items():
            Path(tmp, name).write_text(text)
        script += "; tee -q -o stat.json stat -json"
        if pack is not None:
            script += "; write_json netlist.json"
        proc = subprocess.run([tool, "-q", "-p", script], cwd=tmp, capture_output=True,
                              text=True, check=False)
        stat = Path(tmp, "stat.json")
        if proc.returncode != 0 or not stat.exists():
            lines = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
            err = [ln for ln in lines if "ERROR" in ln]
            # no ERROR line: the tool died (the WebAssembly build's memory or
            # stack); its last words and exit status say which
            what = err[0] if err else (f"exit status {proc.returncode}"
                                       + (f", last output: {lines[-1][:200]}" if lines else
                                          ", no output"))
            raise FitError(f"resource model: Yosys failed: {what}")
        cells = json.loads(stat.read_text())["design"]["num_cells_by_type"]
        if pack is not None:
            try:
                cells.update(pack.packed_cells(Path(tmp, "netlist.json")))
            except KanhwError as exc:
                raise FitError(f"resource model: {exc}") from None
        return cells


def _resources(cells: dict[str, int], family: Family) -> dict[str, float]:
    out = {}
    for kind, (terms, factor) in family.yosys_cells.items():
        out[kind] = factor * sum(w * cells.get(cell, 0) for cell, w in terms)
    return out


@lru_cache(maxsize=64)
def block_resources(design: Design, family_name: str) -> tuple[dict[str, float], str]:
    """One processing block, synthesised alone as the board build does (for
    the family's hooks), and the synthesis note."""
    from amaranth.back import verilog
    family = get_family(family_name)
    v = verilog.convert(ProcessingBlock(Geometry(design)), name=BLOCK_MODULE,
                        platform=family, emit_src=False)
    cells, note = _synthesise({"block.v": v}, "read_verilog block.v", BLOCK_MODULE, family)
    return _resources(cells, family), note and f"block: {note}"


def instantiated_cells(design: Design) -> dict[str, int]:
    """Multipliers (``$mul``) and memories (``$mem_v2``) Yosys reads from
    the core's Verilog, flattened and before any mapping to a device (no
    ROMs of Yosys' own making): what the manifest's counts describe."""
    from amaranth.back import verilog

    from kanhw.interface import geometry_of
    from kanhw.rtl_gen.cores import training_core
    v = verilog.convert(training_core(geometry_of(design)), name="kanhw_core", emit_src=False)
    # plain opt: opt -full merges a LUT-RAM port's constant address bit
    # with an undriven twin and stops on their differing init values (the
    # synthesis flows map the same Verilog fine); the counts are the same
    cells, _ = _yosys({"core.v": v}, "read_verilog core.v; hierarchy -top kanhw_core; "
                      "proc -norom; flatten; opt; memory -nomap; opt_clean")
    return {"multipliers": cells.get("$mul", 0), "memories": cells.get("$mem_v2", 0)}


#: The rest is synthesised at these two K and extrapolated linearly: its
#: K-dependent parts (barrier tree, result and stretch multiplexers, flag
#: counts) grow with K, and small K synthesise in seconds.
REST_PROBES = (4, 8)


@lru_cache(maxsize=64)
def _rest_at(design: Design, family_name: str, buffer_bytes: int
             ) -> tuple[dict[str, float], str]:
    from amaranth.back import verilog

    from .device import LinkedCore
    family = get_family(family_name)
    geo = Geometry(design)
    top = LinkedCore(geo, uart_divisor=25, buffer_bytes=buffer_bytes, shared_blocks=True)
    v = verilog.convert(top, name="kanhw_device", platform=family, emit_src=False)
    stub = verilog.convert(ProcessingBlock(geo), name=BLOCK_MODULE, emit_src=False)
    cells, note = _synthesise({"device.v": v, "block.v": stub},
                              "read_verilog -lib block.v; read_verilog device.v",
                              "kanhw_device", family, black_boxes=True)
    return _resources(cells, family), note and f"rest at K = {design.addends}: {note}"


def rest_resources(design: Design, family: str, buffer_bytes: int
                   ) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Everything but the blocks (the link device with black-box blocks),
    as ``r0 + B * r1`` for B blocks: returns (r0, r1) from two small
    syntheses, and their notes."""
    k1, k2 = REST_PROBES
    M = design.addends_per_block
    a, note_a = _rest_at(with_shape(design, design.lanes, k1 * M), family, buffer_bytes)
    b, note_b = _rest_at(with_shape(design, design.lanes, k2 * M), family, buffer_bytes)
    r1 = {kind: max(0.0, (b[kind] - a[kind]) / (k2 - k1)) for kind in a}
    r0 = {kind: max(0.0, a[kind] - k1 * r1[kind]) for kind in a}
    return r0, r1, [n for n in (note_a, note_b) if n]


@dataclass
class FitEstimate:
    board: str
    addends: int
    lanes: int
    per_block: dict[str, float]
    rest0: dict[str, float]        # the rest's fixed part ...
    rest_per_k: dict[str, float]   # ... and its growth per block
    needed: dict[str, int]
    available: dict[str, int]
    family: str = "ecp5"
    addends_per_block: int = 1
    notes: list = field(default_factory=list)   # syntheses that fell back, and why
    stages: list = field(default_factory=list)  # a layered core's blocks, per stage

    @property
    def limit(self) -> dict[str, float]:
        return get_family(self.family).fill_limit

    def usable(self, kind: str) -> int:
        """How much of ``kind`` a design may use and still place."""
        return math.floor(self.limit[kind] * self.available[kind])

    @property
    def over(self) -> list[str]:
        """Resources past the fill limit, worst first."""
        ratios = {k: self.needed[k] / (self.limit[k] * self.available[k])
                  for k in self.needed if self.available.get(k)}
        return [k for k, r in sorted(ratios.items(), key=lambda kv: -kv[1]) if r > 1]

    @property
    def fits(self) -> bool:
        return not self.over

    def max_addends(self) -> int:
        """Largest K (same lanes, addends per block, points and contract)
        the model lets fit (a layered design: its K when it fits, else 0)."""
        if self.stages:
            return self.addends if self.fits else 0
        best = None
        for k, avail in self.available.items():
            per = self.per_block.get(k, 0) + self.rest_per_k.get(k, 0)
            if per <= 0:
                continue
            best_k = self.addends_per_block * math.floor((self.limit[k] * avail - self.rest0.get(k, 0))
                                             / per)
            best = best_k if best is None else min(best, best_k)
        return max(best if best is not None else self.addends, 0)

    def to_dict(self) -> dict:
        return {"board": self.board, "addends": self.addends, "lanes": self.lanes,
                "addends_per_block": self.addends_per_block,
                "needed": self.needed, "available": self.available, "fits": self.fits,
                "over": self.over, "max_addends": self.max_addends(),
                "per_block": {k: round(v, 1) for k, v in self.per_block.items()},
                "notes": self.notes, **({"stages": self.stages} if self.stages else {})}


def estimate(board: Board, design: Design) -> FitEstimate:
    """The model's resource need of ``design`` on ``board`` (a design the
    board's family cannot map is refused first, in one line)."""
    board.fpga.check(design)
    if design.layered:
        return _estimate_layered(board, design)
    per, note = block_resources(design, board.family)
    r0, r1, notes = rest_resources(design, board.family, board.buffer_bytes)
    B = design.blocks
    needed = {k: round(r0.get(k, 0) + B * (per[k] + r1.get(k, 0))) for k in per}
    return FitEstimate(board.name, design.addends, design.lanes, per, r0, r1, needed,
                       dict(board.capacity), board.family, design.addends_per_block,
                       [n for n in (note, *notes) if n])


@lru_cache(maxsize=64)
def _stage_resources(design: Design, stage: int, family_name: str
                     ) -> tuple[dict[str, float], str]:
    """One block of a layered core's stage ``stage``, synthesised alone."""
    family = get_family(family_name)
    geo = LayeredGeometry(design)
    name = stage_module(geo.stages[stage - 1])
    text = block_modules(geo, family)[name]
    cells, note = _synthesise({"block.v": text}, "read_verilog block.v", name, family)
    return _resources(cells, family), note and f"stage {stage} block: {note}"


@lru_cache(maxsize=64)
def _layered_rest(design: Design, family_name: str, buffer_bytes: int
                  ) -> tuple[dict[str, float], str]:
    """A layered device without its blocks (black boxes): the core's
    sequencer, barriers, stretch unit, link and UART, at its real size."""
    from amaranth.back import verilog

    from .device import LinkedCore
    family = get_family(family_name)
    geo = LayeredGeometry(design)
    top = LinkedCore(geo, uart_divisor=25, buffer_bytes=buffer_bytes, shared_blocks=True)
    files = {"device.v": verilog.convert(top, name="kanhw_device", platform=family,
                                         emit_src=False)}
    reads = []
    for k, text in enumerate(block_modules(geo, None).values()):
        files[f"stub{k}.v"] = text
        reads.append(f"read_verilog -lib stub{k}.v")
    cells, note = _synthesise(files, "; ".join([*reads, "read_verilog device.v"]),
                              "kanhw_device", family, black_boxes=True)
    return _resources(cells, family), note and f"rest: {note}"


def _estimate_layered(board: Board, design: Design) -> FitEstimate:
    """A layered core's need: the rest plus every stage's blocks."""
    geo = LayeredGeometry(design)
    rest, note = _layered_rest(design, board.family, board.buffer_bytes)
    notes = [note] if note else []
    needed = dict(rest)
    stages = []
    for st in geo.stages:
        per, n = _stage_resources(design, st.index, board.family)
        notes += [n] if n else []
        for k, v in per.items():
            needed[k] = needed.get(k, 0.0) + st.blocks * v
        stages.append({"stage": st.index, "blocks": st.blocks,
                       "units_per_block": st.units_per_block,
                       "per_block": {k: round(v, 1) for k, v in per.items()}})
    per_block = {k: (needed[k] - rest.get(k, 0.0)) / geo.blocks for k in needed}
    est = FitEstimate(board.name, design.addends, design.lanes, per_block, rest, {},
                      {k: round(v) for k, v in needed.items()}, dict(board.capacity),
                      board.family, design.addends_per_block, notes)
    est.stages = stages
    return est


def _unit_counts(units: int, least: int) -> list[int]:
    """The units per block (from ``least`` to 16) that each give a stage of
    ``units`` a different number of blocks: the smallest count for each."""
    out: list[int] = []
    for m in range(least, min(16, units) + 1):
        if not out or -(-units // m) < -(-units // out[-1]):
            out.append(m)
    return out


def _table_units(m: int) -> int:
    """The units a block's tables are sized for when it serves ``m``: the
    unit index takes ceil(log2 m) address bits."""
    return 1 << ceil_log2(m)


def _stage_lines(board: Board, design: Design, lanes: int, progress=None
                 ) -> list[tuple[dict[str, float], dict[str, float]]]:
    """Per stage, a block's resources as ``a + b * P`` in the units P its
    tables are sized for (:func:`_table_units`): two syntheses of the
    stage's block, at the design's units per block and at the most (16, or
    the stage's units), through which the line is drawn. The tables grow
    with P; the engine, sequencer and ports barely do."""
    lines = []
    for st in LayeredGeometry(design).stages:
        m1 = st.units_per_block
        m2 = min(16, st.units)
        per = list(design.units_per_block)
        probes = {}
        for m in {m1, m2}:
            per[st.index - 1] = m
            try:
                probe = replace(design, lanes=lanes, units_per_block=tuple(per))
            except ConfigError:
                continue
            if progress:
                progress(f"stage {st.index} block of {m} unit(s) at lanes {lanes}")
            probes[_table_units(m)] = _stage_resources(probe, st.index, board.family)[0]
        if len(probes) < 2:     # one table size only: a constant
            r = next(iter(probes.values()), {})
            lines.append((dict(r), {k: 0.0 for k in r}))
            continue
        (ma, ra), (mb, rb) = sorted(probes.items())
        slope = {k: max(0.0, (rb[k] - ra.get(k, 0.0)) / (mb - ma)) for k in rb}
        lines.append(({k: rb[k] - slope[k] * mb for k in rb}, slope))
    return lines


def _rest_line(board: Board, design: Design, est: FitEstimate, progress=None
               ) -> tuple[dict[str, float], dict[str, float]]:
    """The rest of a layered device (barriers, gathers, stretch unit, link)
    as ``r0 + r1 * B`` in its total blocks B: the design's rest (from its
    estimate) and that of the same network with blocks of four units (or as
    many as a stage has)."""
    rest = {k: est.needed[k] - sum(s["blocks"] * s["per_block"].get(k, 0.0)
                                   for s in est.stages) for k in est.needed}
    blocks = LayeredGeometry(design).blocks
    per = tuple(min(16, st.units, max(4 * st.units_per_block, 4))
                for st in LayeredGeometry(design).stages)
    lanes = design.lanes
    while True:
        try:
            probe = replace(design, lanes=lanes, units_per_block=per)
            break
        except ConfigError:
            if lanes == 1:
                return rest, {k: 0.0 for k in rest}
            lanes = max(1, lanes // 2)
    probe_blocks = LayeredGeometry(probe).blocks
    if probe_blocks >= blocks:
        return rest, {k: 0.0 for k in rest}
    if progress:
        progress(f"the rest of the device with {probe_blocks} blocks")
    other, _ = _layered_rest(probe, board.family, board.buffer_bytes)
    slope = {k: max(0.0, (rest[k] - other.get(k, 0.0)) / (blocks - probe_blocks)) for k in rest}
    return {k: rest[k] - slope[k] * blocks for k in rest}, slope


def _predicted_shape(board: Board, design: Design, est: FitEstimate, progress=None
                     ) -> Design | None:
    """The fewest cycles a record among the shapes (units per block per
    stage; the design's lanes or fewer, dividing the inputs) that the stage
    and rest lines predict to fit; ``None`` when none is predicted to fit."""
    from kanhw.interface.layered_cycles import LayeredCycleModel
    r0, r1 = _rest_line(board, design, est, progress)
    limit = {k: est.limit[k] * est.available[k] for k in est.available}
    geo = LayeredGeometry(design)
    best: tuple[int, float, Design] | None = None
    n_in = design.arch.sizes[0]
    counts = [_unit_counts(st.units, st.units_per_block) for st in geo.stages]
    # the lanes that divide the inputs (no lane idles in a pass), at most the design's
    for lanes in sorted({design.lanes} | {v for v in range(1, design.lanes)
                                          if n_in % v == 0}, reverse=True):
        lines = _stage_lines(board, design, lanes, progress)
        for per in itertools.product(*counts):
            blocks = [-(-st.units // m) for st, m in zip(geo.stages, per)]
            need = {k: r0[k] + r1[k] * sum(blocks) for k in r0}
            for n, m, (a, b) in zip(blocks, per, lines):
                for k in a:
                    need[k] = need.get(k, 0.0) + n * (a[k] + b[k] * _table_units(m))
            if any(need.get(k, 0.0) > limit[k] for k in limit):
                continue
            try:
                cand = replace(design, lanes=lanes, units_per_block=tuple(per))
            except ConfigError:
                continue
            key = (LayeredCycleModel(LayeredGeometry(cand)).per_record, need.get("lut", 0.0))
            if best is None or key < best[:2]:
                best = (*key, cand)
    return best[2] if best else None


def fit_layered(board: Board, design: Design, est: FitEstimate | None = None,
                progress=None) -> tuple[Design | None, FitEstimate]:
    """The layered shape the resource model fits on ``board``, starting from
    ``design``. Each stage's block is synthesised at two unit counts and its
    resources drawn as a line in the units its tables hold; the shape with the
    fewest cycles a record that the lines predict to fit is then estimated
    for real. From there (or from ``design`` when nothing is predicted to
    fit), until the estimate fits: when only DSPs or block RAM are short,
    the first-layer update after the engines (``lane_update =
    "sequential"``, no second multiplier or cache per lane); else blocks
    serving more units in turn (the next count that takes a block off the
    stage), the stage costing most LUTs first, then fewer lanes. Returns the shape and its estimate, or
    ``None`` and the last estimate tried. ``progress`` (optional) is told
    each synthesis and shape tried, as a line of text."""
    d = design
    est = est or estimate(board, design)
    if not est.fits:
        guess = _predicted_shape(board, design, est, progress)
        if guess is not None and guess != design:
            d = guess
            if progress:
                progress(f"predicted to fit: {_shape_text(d)}")
            est = estimate(board, d)
    for _ in range(32):
        if est.fits:
            return d, est
        if d.lane_update == "overlapped" and set(est.over) <= {"dsp", "bram"}:
            # the overlapped update's second multiplier and cache per lane are
            # DSPs and block RAM; the update alone needs neither (a few cycles)
            d = replace(d, lane_update="sequential")
            if progress:
                progress(f"trying {_shape_text(d)}")
            est = estimate(board, d)
            continue
        geo = LayeredGeometry(d)
        costs = sorted(((st.blocks * s["per_block"].get("lut", 0.0), st)
                        for st, s in zip(geo.stages, est.stages)), key=lambda cs: -cs[0])
        changed = None
        for _, st in costs:
            # the next M that takes a block off the stage (its last block may
            # serve fewer units)
            bigger = [m for m in range(st.units_per_block + 1, min(16, st.units) + 1)
                      if -(-st.units // m) < st.blocks]
            if bigger:
                per = list(d.units_per_block)
                per[st.index - 1] = bigger[0]
                try:
                    changed = replace(d, units_per_block=tuple(per))
                except ConfigError:
                    continue
                break
        if changed is None and d.lanes > 1:
            try:
                changed = replace(d, lanes=max(1, d.lanes // 2))
            except ConfigError:
                changed = None
        if changed is None:
            break
        d = changed
        if progress:
            progress(f"trying {_shape_text(d)}")
        est = estimate(board, d)
    return None, est


def _shape_text(d: Design) -> str:
    text = f"units_per_block {list(d.units_per_block)} at lanes {d.lanes}"
    return text + (", lane_update sequential" if d.lane_update == "sequential" else "")


def propose_layered(board: Board, design: Design, est: FitEstimate, progress=None) -> str:
    """:func:`fit_layered`'s shape in one clause, or a plain no."""
    d, _ = fit_layered(board, design, est, progress)
    if d is None:
        return "no layered shape with these widths, points and contract fits this board"
    return _shape_text(d) if d != design else "the design as it is"


def with_shape(design: Design, lanes: int, addends: int,
               addends_per_block: int | None = None) -> Design:
    """``design`` with other lanes, K and addends per block (same points and
    contract)."""
    a = design.arch
    arch = replace(a, sizes=(a.sizes[0], addends, *a.sizes[2:]))
    per_block = design.units_per_block if addends_per_block is None \
        else (*design.units_per_block[:-1], addends_per_block)
    return replace(design, lanes=lanes, arch=arch, units_per_block=per_block)


def propose(board: Board, design: Design, est: FitEstimate | None = None,
            progress=None) -> str:
    """One clause naming designs that fit: the largest K at these lanes, and
    the lanes that keep this K (fewer lanes: smaller blocks); for a layered
    design, the units per block and lanes that fit (``progress`` is told
    each synthesis of that search)."""
    est = est or estimate(board, design)
    if design.layered:
        return propose_layered(board, design, est, progress)
    parts = []
    k_max = est.max_addends()
    if k_max >= 1 and k_max < design.addends:
        parts.append(f"addends <= {k_max} at lanes {design.lanes}")
    lanes = design.lanes
    while lanes > 1:
        lanes = max(1, lanes // 2)
        try_est = estimate(board, with_shape(design, lanes, design.addends))
        if try_est.fits:
            parts.append(f"lanes {lanes} with all {design.addends} addends")
            break
        if try_est.max_addends() > k_max:
            k_max = try_est.max_addends()
            parts.append(f"addends <= {k_max} at lanes {lanes}")
    if not any("with all" in p for p in parts):
        # blocks that serve several addends in turn: fewer, larger blocks
        # (at the fewest lanes tried above: the smallest blocks)
        for M in (2, 4, 8, 16):
            if M <= design.addends_per_block or design.addends % M:
                continue
            try:
                shared = with_shape(design, lanes, design.addends, M)
            except ConfigError:     # one step per lane: nothing to share
                break
            if estimate(board, shared).fits:
                parts.append(f"addends_per_block {M} with all {design.addends} addends "
                             f"at lanes {lanes}")
                break
    if not parts:
        return "no design with these points and contract fits this board (try a bigger one)"
    return "; or ".join(parts)
