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


def _in_fresh_process(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_command_line_loads_kernels_without_scipy():
    """The console script skips numba's import-time BLAS probe (0.1 s of a
    cached run): loading kanhw's kernels does not import scipy.linalg, and
    compiled code that needs BLAS (np.dot) or numba's correlate still works."""
    out = _in_fresh_process(
        "import sys\n"
        "from kanhw.startup import command_line_process\n"
        "command_line_process()\n"
        "import numpy as np\n"
        "from kanhw.jit import njit\n"
        "njit(lambda x: x + 1)(1)\n"   # numba's registries (and array math) load
        "print('scipy.linalg' in sys.modules)\n"
        "dot = njit(lambda a, b: np.dot(a, b))\n"
        "corr = njit(lambda a, b: np.correlate(a, b))\n"
        "a = np.arange(3.0); b = np.array([1.0, 2.0, 4.0])\n"
        "print(dot(a, b), corr(a, b)[0])\n")
    assert out.splitlines() == ["False", "10.0 10.0"]


def test_library_import_leaves_numba_as_installed():
    """Imported as a library (the estimators), numba's probe runs as usual."""
    out = _in_fresh_process(
        "import sys\n"
        "from kanhw.jit import njit\n"
        "njit(lambda x: x + 1)(1)\n"
        "from numba.np import arraymath\n"
        "print('scipy.linalg' in sys.modules, arraymath._HAVE_BLAS)\n")
    assert out == "True True"
