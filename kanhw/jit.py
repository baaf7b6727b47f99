"""How kanhw loads numba: every compiled kernel module takes ``njit`` from
here, so that the command line's start-up step (:mod:`kanhw.startup`) runs
before numba's array math loads."""

from .startup import before_numba

before_numba()

from numba import njit

__all__ = ["njit"]
