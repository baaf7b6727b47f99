"""The first run says that numba is compiling, with progress and the time
it took; a run on a warm cache says nothing."""

import io
import os
import subprocess
import sys

import pytest
from numba import njit

from kanhw.progress import CompileNotice


def test_notice_only_when_numba_compiles():
    @njit(cache=False)
    def twice(x):
        return 2 * x

    out = io.StringIO()
    with CompileNotice(kernels=1, stream=out) as note:
        twice(3)
        note.step("twice")
    text = out.getvalue()
    assert "compiling" in text and "twice ready (1/1" in text and "compiled in" in text
    assert note.compiled
    out = io.StringIO()
    with CompileNotice(kernels=1, stream=out) as note:   # compiled now: silence
        twice(4)
        note.step("twice")
    assert out.getvalue() == "" and not note.compiled


@pytest.mark.slow
def test_first_cli_run_says_it_compiles(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    args = [sys.executable, "-m", "kanhw", "train", "triangle", "--epochs", "1"]
    first = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    assert "compiling the training kernels" in first.stderr and "compiled in" in first.stderr
    second = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    assert "compiling" not in second.stderr
