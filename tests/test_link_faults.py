"""The link under faults: the host retries every frame, the device trains a
record once however many copies of its frame arrive, and a run over a link
with injected faults ends bit-identical to a fault-free run (or in one
clean line); a small sweep on the soft transport, a short faulty run over
the simulated UART."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kanhw import datasets
from kanhw.design import design_from_dict
from kanhw.errors import ConfigError
from kanhw.host.client import Device
from kanhw.host.faults import FaultyTransport, parse_faults
from kanhw.host.transport import SoftTransport
from kanhw.interface import protocol as P
from kanhw.sim.vectors import make_vectors

DESIGN = design_from_dict({"arch": {"inputs": 3, "addends": 2, "points": [3, 5]},
                           "hardware": {"lanes": 3}})
ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("link_faults", ROOT / "bench" / "link_faults.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["link_faults"] = mod          # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


class Scripted:
    """A soft transport whose answers to chosen request numbers are lost, or
    whose requests are delivered twice."""

    def __init__(self, lose=(), double=()):
        self.inner = SoftTransport(DESIGN, 256)
        self.timeout = 0.01
        self.lose, self.double = set(lose), set(double)
        self.n = 0

    def write(self, data):
        self.n += 1
        self.inner.write(data + data if self.n in self.double else data)
        if self.n in self.lose:
            self.inner.pending = b""

    def read(self, size, timeout):
        return self.inner.read(size, timeout)

    def close(self):
        pass


def _train(t):
    vec = make_vectors(DESIGN, 120, seed=3)
    dev = Device(t, DESIGN)
    dev.load_model(vec.initial)
    dev.set_mode(True)
    dev.clear_counters()
    n0 = t.n
    pred, _ = dev.stream(vec.U, vec.Yq)
    return vec, dev, n0, pred


def test_lost_answers_and_repeated_frames_train_once():
    """Every STREAM frame's answer lost once, or every frame delivered
    twice: the host retries with the same sequence number, the device
    answers the repeat from its kept answer; tables and predictions are the
    reference's and the core counted each record once."""
    for kind in ("lose", "double"):
        t = Scripted(**{kind: range(1, 10_000, 2)})
        vec, dev, n0, pred = _train(t)
        assert t.n > n0 + 2                           # several STREAM frames
        assert np.array_equal(pred, vec.pred)
        assert dev.read_model(vec.initial).equals(vec.final)
        assert dev.counters()["records"] == 120
        assert t.inner.device.records_total == 120
        assert dev.retried > 0 if kind == "lose" else dev.retried == 0


def test_a_dead_link_ends_in_one_line_after_bounded_retries():
    t = Scripted()
    dev = Device(t, DESIGN, retries=3)
    t.lose = set(range(t.n + 1, t.n + 100))
    with pytest.raises(P.LinkError, match=r"link failed: no answer .*4 attempts"):
        dev.read([0])


def test_fault_spec():
    assert parse_faults("flip=1e-4,drop=2e-4") == {"flip": 1e-4, "drop": 2e-4}
    assert parse_faults("all=1e-3") == {k: 1e-3 for k in ("flip", "drop", "dup", "delay")}
    for bad in ("flop=1", "flip=x", "flip=2", ""):
        with pytest.raises(ConfigError):
            parse_faults(bad)


def test_faults_are_injected_reproducibly():
    data = bytes(range(256)) * 40
    out = []

    class Sink:
        timeout = 0.01

        def __init__(self):
            self.got = []

        def write(self, d):
            self.got.append(d)

    for _ in range(2):
        sink = Sink()
        f = FaultyTransport(sink, {"flip": 1e-3, "drop": 1e-3, "dup": 1e-3}, seed=4)
        for _ in range(20):
            f.write(data)
        out.append((b"".join(sink.got), dict(f.injected)))
    assert out[0] == out[1]
    assert out[0][0] != data * 20 and all(out[0][1].get(k) for k in ("flip", "drop", "dup"))


def test_soft_sweep_every_fault_kind():
    """A small sweep on the soft transport: at 1e-3 faults per byte of each
    kind and of all kinds together every run finishes with the fault-free
    run's tables; no record is trained twice or lost; nothing hangs."""
    bench = _bench()
    design = design_from_dict({"arch": {"inputs": 6, "addends": 6, "points": [4, 9]},
                               "hardware": {"lanes": 3}, "training": {"alpha": 0.1}})
    data = datasets.builtin("triangle", seed=0, train=600, val=100)
    cells, _ = bench.sweep(design, "soft", data, 1, ["flip", "drop", "dup", "delay", "all"],
                           [1e-3], runs=2, deadline=300)
    for c in cells:
        assert (c.runs, c.finished, c.identical) == (2, 2, 2), (c.kind, c.messages)
        assert (c.twice, c.lost, c.hangs, c.errors) == (0, 0, 0, 0)
        assert c.injected > 0, c.kind                 # faults did hit the link
    assert all(c.retried > 0 for c in cells if c.kind != "dup")
    print(bench.table(cells))


def test_cli_faults_option_is_checked(tmp_path):
    r = subprocess.run([sys.executable, "-m", "kanhw", "stream", "triangle", "--transport", "soft",
                        "--addends", "3", "--faults", "flip=lots", "--train-records", "50",
                        "--val-records", "10"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("kanhw stream: error: --faults flip=")


def test_faulty_run_over_the_simulated_uart(tmp_path):
    """A layered design streamed over the simulated UART (the gateware link
    engine under Verilator) with faults injected both ways: the tables are
    the fault-free soft device's, bit for bit."""
    cfg = tmp_path / "tri3.toml"
    cfg.write_text("[arch]\ninputs = 6\nlayers = [4, 3, 1]\npoints = [2, 5, 6]\n"
                   "[hardware]\nlanes = 3\nunits_per_block = [2, 1]\n")
    runs = {}
    for transport, faults in (("soft", []), ("sim", ["--faults", "flip=1e-3,dup=2e-3",
                                                     "--fault-seed", "2"])):
        r = subprocess.run([sys.executable, "-m", "kanhw", "stream", "triangle", "--transport",
                            transport, "--config", str(cfg), "--epochs", "1",
                            "--train-records", "60", "--val-records", "20", "--json",
                            "--quiet", "--save", str(tmp_path / f"{transport}.npz"), *faults],
                           capture_output=True, text=True, timeout=1800, check=False)
        assert r.returncode == 0, r.stderr
        runs[transport] = json.loads(r.stdout.strip().splitlines()[-1])
    link = runs["sim"]["link"]
    assert link["faults_injected"].get("flip") and link["faults_injected"].get("dup")
    assert link["retried_frames"] > 0
    assert runs["sim"]["counters"] == runs["soft"]["counters"]
    from kanhw import persist
    a, b = (persist.load(str(tmp_path / f"{t}.npz")) for t in ("soft", "sim"))
    assert np.array_equal(a.values, b.values) and np.array_equal(a.lo, b.lo)
