"""Terminal progress for long training runs (tqdm on stderr)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from tqdm import tqdm


def fmt_list(values: list[float], digits: int = 4) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values) if values else "n/a"


class EpochBars:
    """One progress bar per epoch, then a one-line epoch summary."""

    def __init__(self, quiet: bool = False, stream=sys.stderr) -> None:
        self.quiet = quiet
        self.stream = stream
        self.bar: tqdm | None = None

    def start_epoch(self, epoch: int, epochs: int, records: int) -> None:
        if self.quiet:
            return
        self.bar = tqdm(total=records, desc=f"epoch {epoch}/{epochs}", unit="rec",
                        unit_scale=True, leave=False, file=self.stream, dynamic_ncols=True,
                        disable=None)  # None: bars only on a terminal

    def advance(self, records: int) -> None:
        if self.bar is not None:
            self.bar.update(records)

    def end_epoch(self, entry: dict) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.quiet:
            return
        line = (f"epoch {entry['epoch']:3d}  records {entry['records']:>10,d}  "
                f"val pearson [{fmt_list(entry['validation_pearson'])}]  "
                f"val rrmse [{fmt_list(entry['validation_relative_rmse'])}]  "
                f"{entry['seconds']:.2f} s")
        if "validation_accuracy" in entry:
            line += f"  val acc {entry['validation_accuracy']:.4f}"
        print(line, file=self.stream, flush=True)


@contextlib.contextmanager
def run_bar(total: int, desc: str) -> Iterator:
    """A bar over the finished runs of a study or sweep; yields the callback
    that each finished run (a :class:`kanhw.study.Run`) is given to."""
    bar = tqdm(total=total, desc=desc, unit="run", file=sys.stderr, disable=None)

    def done(r) -> None:
        bar.update(1)
        bar.set_postfix_str(f"{r.dataset} {r.model} {r.best_test:.4f}")

    try:
        yield done
    finally:
        bar.close()
