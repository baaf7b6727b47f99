"""The ``kanhw`` command line.

Every sub-command lives in :mod:`kanhw.commands`. Errors caused by the user's
input are :class:`~kanhw.errors.KanhwError`: they print one line on stderr
and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from .errors import EXIT_USAGE, KanhwError


class Terminated(BaseException):
    """SIGTERM to the command line, raised where the command is, so that
    what it started (a build's toolchain in a session of its own, a
    simulator) is stopped on the way out, as for Ctrl-C."""


def _terminated(signum, frame) -> None:
    raise Terminated


def build_parser() -> argparse.ArgumentParser:
    from .commands import build, generate, metakan, plot, program, sim, stream, study, sweep, train

    parser = argparse.ArgumentParser(
        prog="kanhw",
        description="Kolmogorov-Arnold networks trained by Newton-Kaczmarz: reference "
                    "model, hardware generator, simulation and host streaming.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in (train, plot, generate, sim, build, program, stream, study, sweep, metakan):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KanhwError as exc:
        print(f"kanhw {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"kanhw {args.command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"kanhw {args.command}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except BrokenPipeError:
        return 1


def entry() -> None:
    """The ``kanhw`` console script: :func:`main`, then exit without the
    interpreter's teardown. Freeing numba's compiled kernels takes 0.1-0.3 s,
    and every file, process and thread a command opens is closed by the
    time it returns; only the standard streams need flushing. The process
    is marked as the command line first, which skips numba's import-time
    BLAS probe when a kernel loads (:mod:`kanhw.startup`). SIGTERM ends the
    command as Ctrl-C does, tools it started included (exit status 143)."""
    from .startup import command_line_process
    command_line_process()
    signal.signal(signal.SIGTERM, _terminated)
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, OSError):
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    entry()
