"""What the ``kanhw`` command line does before numba loads.

One start-up cost is kanhw's to decide. numba's array-math module asks,
when it is first imported, whether BLAS is available, by importing
``scipy.linalg``. In a cached ``kanhw train`` run that import is about
0.1 s of 0.4 s (most of it ``numpy.f2py``, which scipy's array-API shim
loads by walking numpy's whole namespace). The probe's answer chooses one
thing only: the inner loop of ``np.correlate`` / ``np.convolve`` in
compiled code (BLAS or a plain loop; both correct). kanhw's kernels call
neither, and ``np.dot`` or ``np.linalg`` in compiled code still load BLAS
themselves when they are compiled.

So the command line, a process of its own, marks itself with
:func:`command_line_process`; the first kernel module (through
:mod:`kanhw.jit`) then loads numba's array math with the probe answered
"no BLAS", without asking scipy. Imported as a library (the estimators, in
a user's process), numba loads as installed.
"""

from __future__ import annotations

import sys

_command_line = False


def command_line_process() -> None:
    """Called by the ``kanhw`` console script before any kernel module loads."""
    global _command_line
    _command_line = True


def before_numba() -> None:
    """Called by :mod:`kanhw.jit` before it imports numba."""
    if _command_line:
        skip_blas_probe()


def skip_blas_probe() -> bool:
    """Import numba's array-math module with its BLAS probe answered "no".

    Returns whether the probe was skipped: not when numba's array math is
    already loaded, or when numba's internals are not the expected ones
    (then numba loads as it always does).
    """
    if "numba.np.arraymath" in sys.modules:
        return False
    try:
        from numba.np import linalg
    except ImportError:
        return False
    probe = getattr(linalg, "ensure_blas", None)
    if probe is None:
        return False

    def no_blas() -> None:
        raise ImportError("BLAS probe skipped by kanhw's command line")

    linalg.ensure_blas = no_blas
    try:
        import numba.np.arraymath  # noqa: F401  (binds and runs the probe now)
    finally:
        linalg.ensure_blas = probe
    return True
