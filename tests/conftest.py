"""Shared pytest options: ``--runslow`` runs the tests marked slow; the
random-design sweep's seed (``KANHW_SWEEP_SEED``, else drawn anew); the
``inline_checker`` fixture (every mid-epoch target check runs at once)."""

import os
import secrets

import pytest

#: Seed of this run's random-design sweep (tests/test_random_designs.py).
SWEEP_SEED = int(os.environ.get("KANHW_SWEEP_SEED") or secrets.randbits(31))


def pytest_report_header(config):
    return f"random design sweep seed: {SWEEP_SEED} (KANHW_SWEEP_SEED={SWEEP_SEED} replays it)"


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run slow tests (long simulations, place-and-route)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow; run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


class _InlineChecker:
    """An executor that runs each submitted check at once, so every snapshot
    is checked whatever the machine's load (training's checker, a thread,
    skips snapshots while it is busy)."""

    def __init__(self, workers: int) -> None:
        pass

    def submit(self, fn, *args):
        from concurrent.futures import Future
        fut = Future()
        fut.set_result(fn(*args))
        return fut

    def shutdown(self, wait: bool = True) -> None:
        pass


@pytest.fixture
def inline_checker(monkeypatch):
    """Mid-epoch target checks run inline: which records end a run no longer
    depends on timing."""
    from kanhw import train
    monkeypatch.setattr(train, "ThreadPoolExecutor", _InlineChecker)
