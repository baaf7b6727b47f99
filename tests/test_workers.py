"""Worker processes: one that dies or stops mid-round is noticed, the round
runs again on fresh workers with the same result bit for bit; one that
fails every time ends the run in one line; Ctrl-C ends a run with workers
and leaves no process behind."""

import os
import signal
import subprocess
import sys
import time

import pytest
from test_merge import float_model, small

from kanhw import merge
from kanhw.merge import MergeConfig, fit_merged
from kanhw.train import TrainConfig
from kanhw.workers import WorkerError, WorkerPool

_FAULT: dict = {}
_REAL = merge._train_copy


def _faulty(job):
    """A worker's round that kills or stops its worker the first time (every
    time when the marker says "always"); workers look it up by name."""
    marker, fault = _FAULT["marker"], _FAULT["signal"]
    if marker.read_text() == "always" or not marker.with_suffix(".done").exists():
        marker.with_suffix(".done").write_text("x")
        os.kill(os.getpid(), fault)
    return _REAL(job)


def _run(monkeypatch=None, fault=None, marker=None):
    data, arch = small()
    cfg = TrainConfig(alpha=0.2, epochs=1, seed=3)
    m = float_model(data, arch)
    if fault:
        _FAULT.update(marker=marker, signal=fault)
        monkeypatch.setattr(merge, "_train_copy", _faulty)
    fit_merged(m, data, cfg, MergeConfig(workers=2, rounds=4, batch=1000))
    return m


@pytest.mark.parametrize("fault", [signal.SIGKILL, signal.SIGSTOP])
def test_a_worker_killed_or_stopped_mid_round_is_rerun(monkeypatch, tmp_path, fault, capfd):
    clean = _run()
    marker = tmp_path / "fault"
    marker.write_text("once")
    m = _run(monkeypatch, fault, marker)
    assert marker.with_suffix(".done").exists()          # a worker did die / stop
    assert m.equals(clean)                               # the round re-ran: same tables
    err = capfd.readouterr().err
    assert "mid-round" in err and "running the round again" in err


def test_a_worker_that_dies_every_time_is_one_line(monkeypatch, tmp_path):
    marker = tmp_path / "fault"
    marker.write_text("always")
    with pytest.raises(WorkerError, match=r"died mid-round \(killed by SIGKILL\), 2 times"):
        _run(monkeypatch, signal.SIGKILL, marker)


def test_pool_leaves_no_process():
    pool = WorkerPool(2)
    pids = pool.pids()
    assert pool.map(abs, [-1, -2, -3]) == [1, 2, 3]
    pool.close()
    assert not any(os.path.exists(f"/proc/{p}") and _state(p) != "Z" for p in pids)


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def test_ctrl_c_ends_a_run_with_workers_and_leaves_no_process(tmp_path):
    # a shell runs background jobs (a CI script's too) with SIGINT ignored,
    # and Python keeps an inherited SIG_IGN: the run gets Ctrl-C's handler
    # back, as in a terminal. The target is out of reach, so the run is still
    # training when the signal comes.
    start = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
             "sys.argv[0] = 'kanhw'; from kanhw.cli import entry; entry()")
    p = subprocess.Popen([sys.executable, "-c", start, "train", "det4", "--workers", "2",
                          "--epochs", "200", "--target-pearson", "0.9999", "--quiet"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        kids = []
        for _ in range(1200):              # until the workers run
            kids = [k for k in _children(p.pid) if _state(k) not in ("Z", "gone")]
            if len(kids) >= 2 or p.poll() is not None:
                break
            time.sleep(0.1)
        assert len(kids) >= 2, "the workers did not start"
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    assert all(_state(k) == "gone" for k in kids)


def _die(job):
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_study_worker_that_dies_is_one_line():
    from kanhw.study import run_pool
    with pytest.raises(WorkerError, match="a study worker process died after 0 of 2 runs"):
        run_pool(_die, [1, 2], 2)
