"""Host streaming over the soft device: training, validation, checkpoint and
resume give exactly the fixed-point reference's tables."""

import json
import subprocess
import sys

import numpy as np
import pytest

from kanhw import datasets, persist
from kanhw.design import load_design
from kanhw.fixed_model import FixedBackend, FixedKAN

DESIGN = """
[arch]
inputs = 6
addends = 6
points = [4, 9]
[hardware]
lanes = 3
[training]
alpha = 0.1
"""


def kanhw(*args, cwd):
    return subprocess.run([sys.executable, "-m", "kanhw", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600, check=False)


def test_stream_soft_matches_reference_and_resumes(tmp_path):
    cfg = tmp_path / "d.toml"
    cfg.write_text(DESIGN)
    common = ["--transport", "soft", "--config", str(cfg), "--train-records", "3000",
              "--val-records", "500", "--json", "--quiet"]
    r = kanhw("stream", "triangle", *common, "--epochs", "2", "--save", str(tmp_path / "a.npz"),
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["records"] == 6000 and s["counters"]["records"] == 6000 + 2 * 500
    # the same two epochs in the reference, record for record
    design = load_design(str(cfg))
    data = datasets.builtin("triangle", seed=0, train=3000, val=500)
    ref = FixedKAN.initialise(design.arch, design.contract, data.X.min(0), data.X.max(0),
                              data.y.min(0), data.y.max(0), seed=design.seed)
    U, _ = ref.map_inputs(data.X)
    Y = ref.map_targets(data.y)
    for epoch in range(2):
        FixedBackend(ref).train_mapped(U, Y, np.random.default_rng([0, epoch]).permutation(3000))
    streamed = persist.load_fixed(str(tmp_path / "a.npz"))
    assert streamed.equals(ref)
    # one epoch, checkpoint, then resume for the second: the same tables
    ck = str(tmp_path / "ck.npz")
    assert kanhw("stream", "triangle", *common, "--epochs", "1", "--checkpoint", ck,
                 cwd=tmp_path).returncode == 0
    assert kanhw("stream", "triangle", *common, "--epochs", "2", "--checkpoint", ck,
                 cwd=tmp_path).returncode == 0
    assert persist.load_fixed(ck).equals(ref)


@pytest.mark.parametrize("first", [(4, 5), (7, 5)])
def test_stream_multilevel_refines_between_levels(tmp_path, first):
    """Coarse level, read back, prolong, reload into the design's (finest)
    grid, fine level: the reference doing the same gives the same tables.
    A first level on another inner grid runs on a design of its own; one on
    the design's inner grid on the device, a coarser outer grid in its
    tables."""
    from kanhw.arch import Architecture
    from kanhw.multilevel import refine_fixed
    cfg = tmp_path / "d.toml"
    cfg.write_text(DESIGN.replace("points = [4, 9]", "points = [7, 9]"))
    r = kanhw("stream", "triangle", "--transport", "soft", "--config", str(cfg),
              "--train-records", "2000", "--val-records", "300", "--multilevel",
              f"{first[0]},{first[1]}x1 7,9x2", "--save", str(tmp_path / "m.npz"), "--json",
              "--quiet",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["epochs"] == 3
    # another inner grid needs a design of its own; the design's runs on the core
    assert summary["levels"][0]["design_points"] == {(4, 5): [4, 5], (7, 5): [7, 9]}[first]
    design = load_design(str(cfg))
    data = datasets.builtin("triangle", seed=0, train=2000, val=300)
    ref = FixedKAN.initialise(Architecture(design.arch.sizes, first), design.contract,
                              data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0),
                              seed=design.seed)
    Y = ref.map_targets(data.y)
    for epoch in range(3):
        if epoch == 1:
            ref = refine_fixed(ref, (7, 9))
        U, _ = ref.map_inputs(data.X)
        FixedBackend(ref).train_mapped(U, Y, np.random.default_rng([0, epoch]).permutation(2000))
    assert persist.load_fixed(str(tmp_path / "m.npz")).equals(ref)
    bad = kanhw("stream", "triangle", "--transport", "soft", "--config", str(cfg),
                "--multilevel", "4,5x1 4,9x1", cwd=tmp_path)
    assert bad.returncode == 2 and "design's grid" in bad.stderr


def test_stream_multilevel_on_a_layered_core(tmp_path):
    """A deep design's schedule over the soft device: the coarse level on
    the layered core's grid registers (every stage coarser), then the
    refined tables; the same tables as the reference doing the same."""
    from kanhw.arch import Architecture
    from kanhw.multilevel import refine_fixed
    cfg = tmp_path / "deep.toml"
    cfg.write_text("[arch]\ninputs = 6\nlayers = [5, 3, 1]\npoints = [4, 5, 9]\n"
                   "[hardware]\nlanes = 3\nunits_per_block = [5, 3]\n"
                   "[training]\nalpha = 0.1\n")
    r = kanhw("stream", "triangle", "--transport", "soft", "--config", str(cfg),
              "--train-records", "1500", "--val-records", "200", "--multilevel",
              "4,3,5x1 4,5,9x1", "--save", str(tmp_path / "m.npz"), "--json", "--quiet",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert [lv["design_points"] for lv in summary["levels"]] == [[4, 5, 9]] * 2
    design = load_design(str(cfg))
    data = datasets.builtin("triangle", seed=0, train=1500, val=200)
    ref = FixedKAN.initialise(Architecture(design.arch.sizes, (4, 3, 5)), design.contract,
                              data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0),
                              seed=design.seed)
    Y = ref.map_targets(data.y)
    for epoch in range(2):
        if epoch == 1:
            ref = refine_fixed(ref, (4, 5, 9))
        U, _ = ref.map_inputs(data.X)
        FixedBackend(ref).train_mapped(U, Y, np.random.default_rng([0, epoch]).permutation(1500))
    assert persist.load_fixed(str(tmp_path / "m.npz")).equals(ref)


def test_stream_bad_input(tmp_path):
    cfg = tmp_path / "d.toml"
    cfg.write_text(DESIGN)
    r = kanhw("stream", "det4", "--transport", "soft", "--config", str(cfg), cwd=tmp_path)
    assert r.returncode == 2 and "inputs" in r.stderr.strip().splitlines()[-1]
    r = kanhw("stream", "triangle", "--transport", "serial:/dev/nonexistent", "--config",
              str(cfg), cwd=tmp_path)
    assert r.returncode == 2 and "cannot open" in r.stderr
    r = kanhw("stream", "triangle", "--transport", "carrier-pigeon", "--config", str(cfg),
              cwd=tmp_path)
    assert r.returncode == 2 and "unknown transport" in r.stderr


SMALL = """
[arch]
inputs = 6
addends = 3
points = [4, 7]
[hardware]
lanes = 2
[training]
alpha = 0.2
"""


@pytest.mark.parametrize("schedule", [None, "4,3x1 4,7x1"])
def test_sim_transport_trains_like_soft(tmp_path, schedule):
    """A few hundred records over the simulated board (UART gateware
    included): the tables read back equal the soft device's bit for bit.
    With a multilevel schedule both levels run on the one simulated core:
    the coarse level on a 3-point outer grid in the 7-point tables."""
    from kanhw.sim import runner
    if not runner.available("verilator"):
        pytest.skip("verilator not installed")
    cfg = tmp_path / "s.toml"
    cfg.write_text(SMALL)
    out = {}
    levels = ["--multilevel", schedule] if schedule else []
    for transport in ("soft", "sim"):
        r = kanhw("stream", "triangle", "--transport", transport, "--config", str(cfg),
                  "--train-records", "250", "--val-records", "40", "--save",
                  str(tmp_path / f"{transport}.npz"), "--json", "--quiet",
                  *(levels or ["--epochs", "1"]),
                  cwd=tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        out[transport] = json.loads(r.stdout.strip().splitlines()[-1])
    assert persist.load_fixed(str(tmp_path / "sim.npz")).equals(
        persist.load_fixed(str(tmp_path / "soft.npz")))
    assert out["sim"]["counters"] == out["soft"]["counters"]
    # every level on the one core: the design's grid, the level's outer grid
    # set in its register
    assert [lv["design_points"] for lv in out["sim"]["levels"]] == \
        [[4, 7]] * (2 if schedule else 1)
    assert out["sim"]["validation_pearson"] == out["soft"]["validation_pearson"]


def test_stream_trainer_is_a_host_class():
    """The streaming trainer is a library class (kanhw stream only parses
    arguments for it); its counters use the names of every JSON summary."""
    from kanhw.design import design_from_dict
    from kanhw.host.trainer import StreamTrainer
    design = design_from_dict({"arch": {"inputs": 6, "addends": 4, "points": [4, 9]}})
    data = datasets.builtin("triangle", seed=0, train=500, val=100)
    model, summary = StreamTrainer(design, "soft", epochs=1).run(data)
    ref = FixedKAN.initialise(design.arch, design.contract, data.X.min(0), data.X.max(0),
                              data.y.min(0), data.y.max(0), seed=design.seed)
    U, _ = ref.map_inputs(data.X)
    FixedBackend(ref).train_mapped(U, ref.map_targets(data.y),
                                   np.random.default_rng([0, 0]).permutation(500))
    assert model.equals(ref)
    assert set(summary["counters"]) == {"records", "saturated_records", "clamps", "stretches",
                                        "cycles", "input_clamps"}
    assert summary["counters"]["stretches"] == ref.counts[2]


def test_resuming_another_runs_checkpoint_is_one_line(tmp_path):
    """A checkpoint records its run (dataset, data, seed, records, design):
    another seed, record count or dataset refuses to resume from it in one
    line (exit 2); a damaged epoch count is one line too."""
    cfg = tmp_path / "d.toml"
    cfg.write_text(DESIGN)
    ck = str(tmp_path / "ck.npz")
    common = ["--transport", "soft", "--config", str(cfg), "--val-records", "100", "--quiet",
              "--checkpoint", ck, "--epochs", "1"]
    assert kanhw("stream", "triangle", *common, "--train-records", "300",
                 cwd=tmp_path).returncode == 0
    assert persist.load_fixed(ck).info["run"]["records"] == 300
    for extra, word in ((["--train-records", "400"], "records 300 there, 400 here"),
                        (["--train-records", "300", "--seed", "5"], "seed 0 there, 5 here")):
        r = kanhw("stream", "triangle", *common, *extra, cwd=tmp_path)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        last = r.stderr.strip().splitlines()[-1]
        assert "belongs to another run" in last and word in last, last
    model = persist.load_fixed(ck)
    model.info["stream_epochs"] = "two"
    persist.save(model, ck)
    r = kanhw("stream", "triangle", *common, "--train-records", "300", "--epochs", "2",
              cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "stream_epochs 'two'" in r.stderr.strip().splitlines()[-1]
