"""Shared pytest options: ``--runslow`` runs the tests marked slow; the
random-design sweep's seed (``KANHW_SWEEP_SEED``, else drawn anew)."""

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
