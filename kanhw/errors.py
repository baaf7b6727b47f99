"""User-facing errors.

Every problem caused by user input (a malformed file, an impossible
architecture, NaN in data, an unknown dataset) is raised as a
:class:`KanhwError`. The CLI turns it into one line on stderr and exit
code 2; library users catch it like any other exception. Bad options and
bad data are also :class:`ValueError` (what scikit-learn and its users
expect of an estimator given bad input).
"""

from __future__ import annotations

EXIT_USAGE = 2


class KanhwError(Exception):
    """A problem with the user's input, reported in one line."""


class ConfigError(KanhwError, ValueError):
    """An impossible or malformed architecture, contract or option."""


class DataError(KanhwError, ValueError):
    """Unreadable, malformed or non-finite data."""


class TrainingDiverged(KanhwError):
    """Training produced a non-finite value (the step is too large)."""
