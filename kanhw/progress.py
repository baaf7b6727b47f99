"""Terminal progress: epoch bars for long training runs (tqdm on stderr)
and the notice that numba is compiling the kernels (the first run)."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Self, TextIO


def fmt_list(values: list[float], digits: int = 4) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values) if values else "n/a"


#: Epoch summary lines a run prints at most (about; long runs of small
#: tables print every n-th epoch, and the last).
MAX_EPOCH_LINES = 50


class EpochBars:
    """One progress bar per epoch, then a one-line epoch summary."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.bar = None
        self.epochs = 1

    def start_epoch(self, epoch: int, epochs: int, records: int) -> None:
        self.epochs = epochs
        if self.quiet or not self.stream.isatty():
            return  # bars only on a terminal (tqdm is imported only then)
        from tqdm import tqdm
        self.bar = tqdm(total=records, desc=f"epoch {epoch}/{epochs}", unit="rec",
                        unit_scale=True, leave=False, file=self.stream, dynamic_ncols=True)

    def advance(self, records: int) -> None:
        if self.bar is not None:
            self.bar.update(records)

    def end_epoch(self, entry: dict) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        every = -(-self.epochs // MAX_EPOCH_LINES)
        if self.quiet or (entry["epoch"] % every and entry["epoch"] != self.epochs):
            return
        line = (f"epoch {entry['epoch']:3d}  records {entry['records']:>10,d}  "
                f"val pearson [{fmt_list(entry['validation_pearson'])}]  "
                f"val rrmse [{fmt_list(entry['validation_relative_rmse'])}]  "
                f"{entry['seconds']:.2f} s")
        if "validation_accuracy" in entry:
            line += f"  val acc {entry['validation_accuracy']:.4f}"
        print(line, file=self.stream, flush=True)


class CompileNotice:
    """Says that numba is compiling, which kernels are ready and how long
    it took, when it compiles: the first run, or after an update of kanhw
    or numba. A run that loads every kernel from numba's cache prints
    nothing. Compilation is detected by numba's ``numba:compile`` event,
    which fires on a cache miss only.

    ``with CompileNotice(kernels=3) as note: backend.compile(note.step)``
    """

    def __init__(self, kernels: int, quiet: bool = False, stream: TextIO | None = None,
                 what: str = "the training kernels") -> None:
        self.kernels = kernels
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.what = what
        self.done = 0
        self.compiled = False      # numba compiled something (a cache miss)
        self.seconds = 0.0
        self._t0 = 0.0
        self._lock = threading.Lock()
        self._listener = None

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def _started(self) -> None:
        with self._lock:
            if self.compiled:
                return
            self.compiled = True
        self._say(f"kanhw: compiling {self.what} with numba ({self.kernels} kernels; "
                  "the first run only, later runs load them from the cache) ...")

    def step(self, name: str) -> None:
        """Kernel ``name`` is ready."""
        self.done += 1
        if self.compiled:
            self._say(f"kanhw:   {name} ready ({self.done}/{self.kernels}, "
                      f"{time.perf_counter() - self._t0:.1f} s)")

    def __enter__(self) -> Self:
        from numba.core import event

        notice = self

        class _Listener(event.Listener):
            def on_start(self, ev) -> None:
                notice._started()

            def on_end(self, ev) -> None:
                pass

        self._listener = _Listener()
        self._t0 = time.perf_counter()
        event.register("numba:compile", self._listener)
        return self

    def __exit__(self, *exc) -> None:
        from numba.core import event
        event.unregister("numba:compile", self._listener)
        self.seconds = time.perf_counter() - self._t0
        if self.compiled and exc[0] is None:
            self._say(f"kanhw: compiled in {self.seconds:.1f} s")


@contextlib.contextmanager
def run_bar(total: int, desc: str) -> Iterator:
    """A bar over the finished runs of a study or sweep; yields the callback
    that each finished run (a :class:`kanhw.study.Run`) is given to."""
    from tqdm import tqdm
    bar = tqdm(total=total, desc=desc, unit="run", file=sys.stderr, disable=None)

    def done(r) -> None:
        bar.update(1)
        bar.set_postfix_str(f"{r.dataset} {r.model} {r.best_test:.4f}")

    try:
        yield done
    finally:
        bar.close()
