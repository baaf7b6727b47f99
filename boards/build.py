"""Building a design for a board with Yosys and nextpnr (the tools of
:mod:`~kanhw.boards.toolchain`, the synthesis options of the board's
family). nextpnr writes a JSON report; resources and post-route Fmax come
from it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kanhw.design import Design
from kanhw.errors import ConfigError, KanhwError
from kanhw.interface import geometry_of
from kanhw.interface.cycles import CycleModel
from kanhw.interface.geometry import Geometry
from kanhw.interface.layered_cycles import LayeredCycleModel
from kanhw.interface.layouts import link_sizes

from .blocks import block_modules
from .board import Board, BoardTop
from .families import Family
from .toolchain import toolchain_env


class BuildFailed(KanhwError):
    """The toolchain stopped (the design does not fit, or a tool failed)."""


@dataclass
class BuildReport:
    board: str
    device: str
    design: dict
    lanes: int
    addends: int
    clock_target_mhz: float
    fmax_mhz: float
    meets_timing: bool
    resources: dict              # kind -> {"used": n, "available": n}
    cycles_per_record: int
    records_per_s: float         # modelled: Fmax / cycles per record
    uart_baud: int
    uart_records_per_s: float    # the link's ceiling at that baud rate
    bitstream: str
    seconds: float
    suggestion: str = ""
    log: str = ""
    notes: list = field(default_factory=list)   # what the build did differently, and why
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("log")
        return d


def uart_records_per_s(geo: Geometry, board: Board) -> float:
    """Records per second the UART link carries at the board's baud rate: each
    record goes out as ``record_bytes`` and comes back as ``result_bytes``
    (full duplex, so the larger direction limits), 10 bits per byte, frames
    of up to ``max_records`` with 8 bytes of overhead each way."""
    s = link_sizes(geo, board.buffer_bytes)
    n = s["max_records"]
    bytes_out = (8 + 2 + n * s["record_bytes"]) / n
    bytes_back = (8 + 1 + n * s["result_bytes"]) / n
    # request and response are not overlapped by the host: they add up
    return board.baud / 10 / (bytes_out + bytes_back)


def parse_report(path: Path, family: Family) -> tuple[float, dict]:
    rep = json.loads(path.read_text())
    fmax = min((v["achieved"] for v in rep.get("fmax", {}).values()), default=0.0)
    util = rep.get("utilization", {})
    res = {}
    for kind, cell in family.nextpnr_cells.items():
        if cell in util:
            res[kind] = {"used": util[cell]["used"], "available": util[cell]["available"]}
    return fmax, res


#: nextpnr's routers: router1 (its default) and router2, which converges on
#: congested designs (a large ECP5-85F core) where router1 can run for hours.
ROUTERS = ("router1", "router2")
#: nextpnr's placers: heap (its default, analytic) and static (electrostatic),
#: which spreads a dense design more evenly: the det4 core on the ECP5-85F
#: left router2 with a few overused wires after a static placement and
#: thousands after a heap placement.
PLACERS = ("heap", "static")


def check_pnr_options(router: str, placer: str) -> None:
    """One-line errors for a router or placer nextpnr does not have (the CLI
    calls this before the minutes-long resource model, ``build`` again)."""
    if router not in ROUTERS:
        raise ConfigError(f"--router must be one of {', '.join(ROUTERS)}, got {router!r}")
    if placer not in PLACERS:
        raise ConfigError(f"--placer must be one of {', '.join(PLACERS)}, got {placer!r}")


def build(board: Board, design: Design, out_dir: str, clock_hz: float | None = None,
          log=None, router: str = "router1", seed: int | None = None,
          placer: str = "heap") -> BuildReport:
    """Synthesise, place and route ``design`` for ``board``; returns the report
    (raises :class:`BuildFailed` if the design does not fit)."""
    check_pnr_options(router, placer)
    family = board.fpga
    family.check(design)
    geo = geometry_of(design)
    target = clock_hz or board.default_hz
    # One block module (one per stage, layered), instantiated K times
    # (elaborating K copies in Python would dominate the build for large
    # designs). It is elaborated for the board's platform: the family
    # decides how the block's edge registers stay apart through synthesis
    # and where its small memories go.
    modules = block_modules(geo, board.new_platform())

    def attempt(opts: dict):
        """One run of the build script (an Amaranth platform prepares once)."""
        platform = board.new_platform()
        for name, text in modules.items():
            platform.add_file(f"{name}.v", text)
        top = BoardTop(board, geo, target)
        return top, _run_script(platform, top, opts, out, log)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pnr = f"--report report.json --timing-allow-fail --router {router} --placer {placer}"
    if seed is not None:
        pnr += f" --seed {seed}"
    opts = {"nextpnr_opts": pnr}
    if family.synth_opts:
        opts["synth_opts"] = family.synth_opts
    if log:
        log(f"running Yosys and nextpnr in {out} (first use of the YoWASP tools compiles "
            "them, about 2 minutes)")
    top, proc = attempt(opts)
    notes = []
    if proc.returncode != 0 and family.retry_opts and _abc9_aborted(out):
        notes.append(family.retry_reason)
        if log:
            log(family.retry_reason)
        opts["synth_opts"] = " ".join(o for o in (family.synth_opts, family.retry_opts) if o)
        top, proc = attempt(opts)
    text = (out / "build.log").read_text()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise BuildFailed(_failure_line(text, board, design, out))
    fmax, res = parse_report(out / "report.json", family)
    bitstream = next((str(out / f) for f in ("kanhw.bit", "kanhw.bin") if (out / f).exists()),
                     "")
    per = (LayeredCycleModel(geo) if design.layered else CycleModel(geo)).per_record
    rep = BuildReport(
        board=board.name, device=board.description, design=design.to_dict(),
        lanes=design.lanes, addends=design.addends,
        clock_target_mhz=round(top.achieved_hz / 1e6, 3), fmax_mhz=round(fmax, 2),
        meets_timing=fmax >= top.achieved_hz / 1e6, resources=res, cycles_per_record=per,
        records_per_s=round(fmax * 1e6 / per, 1), uart_baud=board.baud,
        uart_records_per_s=round(uart_records_per_s(geo, board), 1), bitstream=bitstream,
        seconds=round(seconds, 1), log=text, notes=notes)
    if not rep.meets_timing:
        rep.suggestion = (f"the design closes at {fmax:.1f} MHz, below the {rep.clock_target_mhz}"
                          f" MHz clock: rebuild with --clock {int(fmax)} (or fewer lanes)")
    return rep


def _run_script(platform, top, opts: dict, out: Path, log) -> subprocess.Popen:
    plan = platform.prepare(top, name="kanhw", **opts)
    plan.extract(str(out))
    return run_in_own_session(["sh", "build_kanhw.sh"], out, log)


def run_in_own_session(cmd: list[str], out: Path, log) -> subprocess.Popen:
    """Run a build script in ``out`` (its output to ``build.log``) in a
    session of its own, so that a terminal's Ctrl-C reaches kanhw alone; an
    interrupt or SIGTERM to kanhw stops the script's tools on the way out."""
    with open(out / "build.log", "w") as logf:
        proc = subprocess.Popen(cmd, cwd=out, env=toolchain_env(), stdout=logf,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        _follow(proc, out, log)
    return proc


def _abc9_aborted(out: Path) -> bool:
    """Yosys stopped inside ABC9 (its log ends there, nextpnr never ran)."""
    if (out / "kanhw.json").exists():
        return False
    try:
        tail = (out / "kanhw.rpt").read_text(errors="replace")[-3000:]
    except OSError:
        return False
    return "Executing ABC9" in tail and "End of script" not in tail


#: The tools' own logs, in the order they are written (``-l`` and ``--log``).
TOOL_LOGS = (("Yosys", "kanhw.rpt"), ("nextpnr", "kanhw.tim"))


def _follow(proc: subprocess.Popen, out: Path, log, every: float = 60.0) -> None:
    """Wait for the build script; every ``every`` seconds report the latest
    line of the running tool's log when it changed (a large ECP5 build runs
    for an hour: which stage it is in, and router2's iterations)."""
    t0 = time.perf_counter()
    last = ""
    while True:
        try:
            proc.wait(timeout=every)
            return
        except subprocess.TimeoutExpired:
            pass
        except BaseException:  # interrupted: do not leave the tools running
            os.killpg(proc.pid, signal.SIGTERM)
            raise
        if log is None:
            continue
        for tool, name in reversed(TOOL_LOGS):
            line = _last_line(out / name)
            if line:
                if line != last:
                    minutes, secs = divmod(int(time.perf_counter() - t0), 60)
                    log(f"{minutes}:{secs:02d} {tool}: {line[:120]}")
                    last = line
                break


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            tail = fh.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _failure_line(text: str, board: Board, design: Design, out: Path) -> str:
    lines = [ln.strip() for ln in text.splitlines() if "ERROR" in ln or "error:" in ln]
    first = lines[0] if lines else (text.strip().splitlines() or ["unknown error"])[-1]
    overflow = re.search(r"(?:design (?:uses|requires)|Unable to place|too many|"
                         r"exceeds|not enough)", text, re.IGNORECASE)
    if overflow:
        from .fit import FitError, propose
        try:
            hint = f"; fits: {propose(board, design)}"
        except FitError:
            hint = ""
        return (f"the {design.addends}-addend, {design.lanes}-lane design does not fit "
                f"{board.name}: {first}{hint} (log: {out / 'build.log'})")
    return f"build for {board.name} failed: {first} (log: {out / 'build.log'})"
