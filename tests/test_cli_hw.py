"""generate / sim / train --fixed from the command line."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kanhw import cli
from kanhw.design import EXAMPLE, example_design, load_design
from kanhw.interface.cycles import CycleModel
from kanhw.interface.geometry import Geometry
from kanhw.sim import runner
from kanhw.sim.compare import compare

SMALL = """
[arch]
inputs = 5
addends = 3
points = [4, 7]
[hardware]
lanes = 2
[training]
alpha = 0.3
"""


def kanhw(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kanhw", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=900, check=False)


def test_example_design_is_valid_and_det4_sized():
    d = example_design()
    assert (d.n, d.addends, d.lanes) == (16, 64, 16)
    # the README's formula: ceil(n/lanes) + 16 + lane-tree and barrier-tree
    # stages (16 lanes and 64 blocks at 3 levels a stage: 2 each)
    assert CycleModel(Geometry(d)).per_record == 1 + 16 + 2 + 2
    r = kanhw("generate", "--example")
    assert r.returncode == 0 and r.stdout == EXAMPLE


def test_generate_writes_verilog_manifest_resources(tmp_path):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    r = kanhw("generate", "--config", str(cfg), "-o", str(tmp_path / "out"), "--top", "mycore")
    assert r.returncode == 0, r.stderr
    v = (tmp_path / "out" / "mycore.v").read_text()
    assert "module mycore(" in v and "module kanhw_block(" in v
    assert v.count("kanhw_block block") == 3 or v.count("kanhw_block ") >= 3
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    geo = Geometry(load_design(str(cfg)))
    assert man["timing"]["cycles_per_record"] == CycleModel(geo).per_record
    assert man["memory_map"]["address_bits"] == geo.addr_width
    assert man["design"]["contract"]["step_mult"] > 0
    assert "multipliers" in (tmp_path / "out" / "resources.txt").read_text()


def test_sim_cli_on_the_amaranth_simulator(tmp_path):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    r = kanhw("sim", "--config", str(cfg), "--records", "40", "--simulator", "amaranth",
              "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["bit_exact"] and s["cycles"] == s["cycles_predicted"]


def test_sim_reports_a_mismatch_and_fails(tmp_path, monkeypatch, capsys):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    real_run = runner.run

    def broken(vec, simulator, **kw):
        out = real_run(vec, simulator, **kw)
        out.resid[7] += 1  # as if the hardware had got one residual wrong
        return out

    monkeypatch.setattr(runner, "run", broken)
    rc = cli.main(["sim", "--config", str(cfg), "--records", "20", "--simulator", "amaranth"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "mismatch at record 7: residual expected" in out


def test_compare_names_tables_and_counters():
    from kanhw.design import design_from_dict
    from kanhw.sim.vectors import make_vectors
    d = design_from_dict({"arch": {"inputs": 3, "addends": 2, "points": [3, 5]}})
    vec = make_vectors(d, 10, seed=0)
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []
    out.final.values[3] += 1
    out.counts[2] += 1
    found = [str(m) for m in compare(vec, out)]
    assert any("inner addend 0 input 1 node 0" in f for f in found)
    assert any("counter stretches" in f for f in found)


@pytest.mark.parametrize("content,message", [
    ("[arch]\ninputs = 4\n", "addends"),
    ("[arch]\ninputs = 4\naddends = 3\n[hardware]\nlanes = 9\n", "lanes"),
    ("[arch]\ninputs = 4\naddends = 3\nbogus = 1\n", "unknown key"),
    ("[arch\ninputs = 4", "malformed TOML"),
    ("[arch]\ninputs = 4\naddends = 3\npoints = [5]\n", "one value per layer"),
    ("[arch]\ninputs = 4\naddends = 3\n[contract]\nvalue_bits = 5\n", "value_bits"),
    ("[arch]\ninputs = 4\naddends = 3\nlayers = [3, 1]\n", "not both"),
    ("[arch]\ninputs = 4\nlayers = [8, 2]\n[hardware]\nlane_stages = 6\n", "lane_stages"),
    ("[arch]\ninputs = 4\naddends = 3\n[hardware]\nlane_update = \"sequential\"\n",
     "applies to layered designs"),
    ("[arch]\ninputs = 4\nlayers = [8, 2]\n[hardware]\ncore = \"two-layer\"\n",
     "builds two-layer, one-output KANs"),
    ("[arch]\ninputs = 4\naddends = 3\n[hardware]\ncore = 2\n", "core must be one of"),
])
def test_bad_design_files_are_one_line_errors(tmp_path, content, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    for args in (["generate", "--config", str(cfg), "-o", str(tmp_path / "o")],
                 ["sim", "--config", str(cfg), "--simulator", "amaranth"]):
        r = kanhw(*args)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], r.stderr


def test_train_fixed_json_and_counters(tmp_path):
    r = kanhw("train", "triangle", "--layers", "12", "--points", "5,12", "--fixed", "hw",
              "--epochs", "8", "--json", "--quiet", "--save", str(tmp_path / "f.npz"))
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["validation_pearson"][0] > 0.8
    assert s["contract"]["mul_bits"] == 18 and "stretches" in s["counters"]
    from kanhw import persist
    assert persist.load_fixed(str(tmp_path / "f.npz")).contract.value_bits == 24
    r = kanhw("train", "triangle", "--fixed", "nosuch")
    assert r.returncode == 2 and "no contract" in r.stderr


def test_sigterm_to_a_build_stops_the_tool_it_runs(tmp_path):
    """SIGTERM to ``kanhw build`` ends the tool it is running: here a
    nextpnr that hangs as the resource model packs the block (after the
    real Yosys). One line, exit 143, no tool left behind."""
    (tmp_path / "small.toml").write_text(SMALL)
    pid_file = tmp_path / "tool.pid"
    tool = tmp_path / "nextpnr"
    tool.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 300\n")
    tool.chmod(0o755)
    env = {**os.environ, "NEXTPNR_ICE40": str(tool)}
    proc = subprocess.Popen([sys.executable, "-m", "kanhw", "build", "--board", "icebreaker",
                             "--config", "small.toml", "-o", "out", "--force"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    err = _terminate_when_started(proc, pid_file)
    assert err.strip().splitlines()[-1] == "kanhw build: terminated"
    assert "Traceback" not in err


def test_sigterm_reaches_a_build_script_in_its_own_session(tmp_path):
    """A board build's script runs in a session of its own (out of reach of
    a signal to kanhw's process group); SIGTERM to kanhw ends it there too."""
    pid_file = tmp_path / "tool.pid"
    (tmp_path / "build.sh").write_text(f"echo $$ > {pid_file}\nexec sleep 300\n")
    code = ("import signal, sys\nfrom pathlib import Path\n"
            "from kanhw.boards.build import run_in_own_session\n"
            "from kanhw.cli import Terminated, _terminated\n"
            "signal.signal(signal.SIGTERM, _terminated)\n"
            "try:\n    run_in_own_session(['sh', 'build.sh'], Path('.'), None)\n"
            "except Terminated:\n    sys.exit(143)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tool_pid = int(_wait_for(pid_file, proc))
    assert os.getsid(tool_pid) != os.getsid(proc.pid)     # a session of its own
    _terminate_when_started(proc, pid_file)


def _wait_for(pid_file: Path, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + 600
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    return pid_file.read_text()


def _terminate_when_started(proc: subprocess.Popen, pid_file: Path) -> str:
    """Once the tool has written its pid: SIGTERM to ``proc``, which must
    exit 143 with the tool gone. Returns its stderr."""
    tool_pid = int(_wait_for(pid_file, proc))
    try:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=60)[1]
        assert proc.returncode == 128 + signal.SIGTERM, err
        for _ in range(50):
            if not _alive(tool_pid):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the tool outlived its kanhw process")
        return err
    finally:
        if _alive(tool_pid):
            os.kill(tool_pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """``pid`` runs (a zombie waiting for init does not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
