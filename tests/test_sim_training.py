"""Training a core in simulation, epoch after epoch (``kanhw sim --epochs``):
every segment (shuffled training stream, validation in frozen mode) equals
the fixed-point reference bit for bit and cycle for cycle; streams longer
than the harness's record ring run on one build; a multilevel schedule's
coarse level runs on the core's ``outer_points`` register."""

import json
import subprocess
import sys

import pytest
from hw_designs import design

from kanhw.design import EXAMPLES, design_from_dict
from kanhw.multilevel import parse_schedule
from kanhw.sim import runner, training
from kanhw.sim.job import RING

needs_verilator = pytest.mark.skipif(not runner.available("verilator"),
                                     reason="verilator not installed")


def run_plan(d, records, val, epochs, simulator, **kw):
    ep = training.plan(d, records, val, epochs, **kw)
    outs = runner.run_segments(training.segments_of(ep), simulator)
    checks = training.check(ep, outs)
    for c in checks:
        assert c.mismatches == [], "\n".join(map(str, c.mismatches))
        assert c.cycles[0] == c.cycles[1] and c.validation_cycles[0] == c.validation_cycles[1]
    return ep, checks


def test_multilevel_epochs_on_the_amaranth_simulator():
    d = design("n4_k4_share2")
    ep, _ = run_plan(d, 160, 40, 3, "amaranth", dataset="mixed",
                     schedule=parse_schedule("4,2x1 4,6x2", 2))
    assert [e.outer_points for e in ep] == [2, 6, 6]
    # the refined level learns on from where the coarse level left off
    assert ep[-1].pearson > ep[0].pearson


def test_multilevel_epochs_on_a_layered_core():
    """A deep design's schedule: the coarse level runs on both stages'
    grid registers, the refined tables load between levels."""
    d = design_from_dict({"arch": {"inputs": 4, "layers": [4, 3, 1], "points": [3, 5, 7]},
                          "hardware": {"lanes": 2, "units_per_block": [2, 3]}})
    ep, _ = run_plan(d, 120, 30, 2, "amaranth", dataset="mixed",
                     schedule=parse_schedule("3,3,4x1 3,5,7x1", 3))
    assert [e.grid for e in ep] == [(3, 3, 4), (3, 5, 7)]


@needs_verilator
def test_streams_longer_than_the_ring_under_verilator():
    d = design("n5_k3_lanes2")
    records = 2 * RING + 300     # the ring wraps twice in each training stream
    ep, checks = run_plan(d, records, 500, 2, "verilator", dataset="mixed-outliers")
    assert len(ep) == 2 and all(len(e.train.U) == records for e in ep)
    assert sum(c.epoch.train.stretch_records for c in checks) > 0


@needs_verilator
def test_a_layered_core_trains_epochs_under_verilator():
    d = design_from_dict({"arch": {"inputs": 4, "layers": [3, 2], "points": [3, 5]},
                          "hardware": {"lanes": 2}})
    run_plan(d, 400, 100, 2, "verilator", dataset="mixed")


def test_epoch_options_are_checked(tmp_path):
    cfg = tmp_path / "d.toml"
    cfg.write_text("[arch]\ninputs = 4\naddends = 4\npoints = [4, 6]\n")
    for extra, msg in ((["--multilevel", "4,2x1 4,6x1"], "go with --epochs"),
                       (["--epochs", "0"], "at least 1"),
                       (["--epochs", "2", "--frozen"], "drop --frozen"),
                       (["--epochs", "2", "--multilevel", "4,7x2"], "coarser outer grid")):
        r = subprocess.run([sys.executable, "-m", "kanhw", "sim", "--config", str(cfg),
                            "--records", "100", *extra], capture_output=True, text=True,
                           check=False)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and msg in lines[0], r.stderr


@pytest.mark.slow
@needs_verilator
@pytest.mark.parametrize("schedule", [None, "5,8x2 5,22x13"])
def test_det4_core_trains_to_pearson_097_under_verilator(tmp_path, schedule):
    cfg = tmp_path / "det4.toml"
    cfg.write_text(EXAMPLES["det4-85f"])     # the shape that routes on the ULX3S-85F
    extra = ["--multilevel", schedule] if schedule else []
    r = subprocess.run([sys.executable, "-m", "kanhw", "sim", "--config", str(cfg),
                        "--records", "100000", "--val-records", "20000", "--epochs", "15",
                        "--dataset", "det4", "--json", *extra], capture_output=True, text=True,
                           check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["bit_exact"] and summary["target_reached"]
    assert all(e["mismatches"] == 0 and e["cycles"] == e["cycles_predicted"]
               for e in summary["epochs"])
