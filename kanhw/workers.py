"""Worker processes that fail loudly instead of hanging.

:class:`WorkerPool` runs one round of jobs at a time on forked worker
processes (they inherit the data) and watches them while it waits: a worker
that dies (killed, out of memory, crashed) is seen at once through its
process sentinel, one that is stopped within a fraction of a second through
its process state, and one that stops making progress when a round takes
far longer than the rounds before it. The round is then run again on fresh
workers (jobs are pure: the same jobs give the same result, bit for bit);
when that fails as well the run ends with one :class:`WorkerError` line.
Workers ignore Ctrl-C; the parent, interrupted, ends them (terminate, then
kill) before it returns, so no process outlives the run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from typing import Self

from .errors import KanhwError

#: seconds between checks on the workers while a round runs
POLL = 0.2


class WorkerError(KanhwError):
    """A worker process died, hung or failed, and re-running did not help."""


def _serve(conn, initializer, initargs) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)       # the parent decides
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, arg = job
        try:
            out = (True, fn(arg))
        except Exception as exc:  # noqa: BLE001 - any failure goes to the parent as one line
            out = (False, f"{type(exc).__name__}: {exc}")
        try:
            conn.send(out)
        except (BrokenPipeError, OSError):
            return


def _stopped(pid: int) -> bool:
    """The process is stopped (SIGSTOP, a debugger) or a zombie (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("T", "t", "Z")


def _death(code: int | None) -> str:
    if code is None:
        return "stopped"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class WorkerPool:
    """``workers`` forked processes, each set up by ``initializer(*initargs)``.

    ``restarts``: how many times a failed round is run again on fresh
    workers; ``round_timeout``: seconds after which a round counts as hung
    (default: 60 s, or 20 times the longest round so far if that is more);
    ``log``: told when a round is run again."""

    def __init__(self, workers: int, initializer: Callable | None = None,
                 initargs: tuple = (), restarts: int = 1, round_timeout: float | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.n = workers
        self.initializer, self.initargs = initializer, initargs
        self.restarts = restarts
        self.round_timeout = round_timeout
        self.log = log or (lambda msg: None)
        self.ctx = mp.get_context("fork")
        self.longest = 0.0
        self.procs: list = []
        self.conns: list = []
        self._start()

    def _start(self) -> None:
        for _ in range(self.n):
            parent, child = self.ctx.Pipe()
            p = self.ctx.Process(target=_serve, args=(child, self.initializer, self.initargs),
                                 daemon=True)
            p.start()
            child.close()
            self.procs.append(p)
            self.conns.append(parent)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def map(self, fn: Callable, jobs: Sequence) -> list:
        """``[fn(job) for job in jobs]`` on the workers, in order."""
        problem = ""
        for attempt in range(self.restarts + 1):
            if attempt:
                self.log(f"{problem}; running the round again on fresh workers")
                self.close()
                self._start()
            t0 = time.monotonic()
            out = self._round(fn, jobs)
            if isinstance(out, list):
                self.longest = max(self.longest, time.monotonic() - t0)
                return out
            problem = out
        self.close()
        raise WorkerError(f"{problem}, {self.restarts + 1} times; giving up "
                          "(fewer --workers, or none, avoids worker processes)")

    def _round(self, fn: Callable, jobs: Sequence) -> list | str:
        """The results, or what went wrong."""
        limit = self.round_timeout or max(60.0, 20 * self.longest)
        start = time.monotonic()
        results: list = [None] * len(jobs)
        todo = list(range(len(jobs)))[::-1]
        busy: dict[int, int] = {}          # worker -> job

        def give(w: int) -> str | None:
            if not todo:
                return None
            k = todo.pop()
            try:
                self.conns[w].send((fn, jobs[k]))
            except (BrokenPipeError, OSError):
                return f"worker process {self.procs[w].pid} went away"
            busy[w] = k
            return None

        for w in range(self.n):
            if (err := give(w)):
                return err
        while busy:
            watch = {self.conns[w]: w for w in busy}
            sentinels = {self.procs[w].sentinel: w for w in busy}
            for ready in wait(list(watch) + list(sentinels), timeout=POLL):
                if ready in watch:
                    w = watch[ready]
                    try:
                        ok, value = ready.recv()
                    except (EOFError, OSError):
                        self.procs[w].join(1)
                        return (f"worker process {self.procs[w].pid} died mid-round "
                                f"({_death(self.procs[w].exitcode)})")
                    if not ok:
                        self.close()
                        raise WorkerError(f"a worker failed: {value}")
                    results[busy.pop(w)] = value
                    if (err := give(w)):
                        return err
                elif sentinels[ready] in busy:
                    w = sentinels[ready]
                    self.procs[w].join(1)
                    return (f"worker process {self.procs[w].pid} died mid-round "
                            f"({_death(self.procs[w].exitcode)})")
            for w in busy:
                if _stopped(self.procs[w].pid):
                    return f"worker process {self.procs[w].pid} stopped mid-round"
            if time.monotonic() - start > limit:
                return f"a round took more than {limit:.0f} s (a worker hangs)"
        return results

    def close(self) -> None:
        """End every worker: ask, then terminate, then kill; reap them all."""
        for c in self.conns:
            try:
                c.send(None)
            except (BrokenPipeError, OSError):
                pass
        deadline = time.monotonic() + 0.5
        for p in self.procs:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in self.procs:
            if p.is_alive():
                try:
                    os.kill(p.pid, signal.SIGCONT)      # a stopped process cannot die
                except OSError:
                    pass
                p.terminate()
        for p in self.procs:
            p.join(0.5)
            if p.is_alive():
                p.kill()
                p.join(1)
        for c in self.conns:
            c.close()
        self.procs, self.conns = [], []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
