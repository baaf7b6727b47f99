"""Start-up figures of the ``kanhw`` command on this machine.

    python bench/startup.py [--runs 7] [--first]

* ``kanhw --help``: wall time of the whole process.
* a cached det4 run, ``kanhw train det4 --epochs 1 --json --quiet``: wall
  time, the training loop (the kernels on 100,000 records and the
  validation after the epoch: ``seconds`` in the JSON) and the rest,
  outside training: interpreter, imports, data, loading the kernels from
  numba's cache (``jit_seconds``) and the summary. A first run fills the
  cache and is not counted.
* ``--first``: a run on an empty numba cache (``NUMBA_CACHE_DIR``), its
  wall time and the compile notice it prints.

Every figure is the median over ``--runs`` processes, with the best in
brackets: the machines this runs on are shared, so the best is the figure
of an idle machine and the median that of a busy one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

DET4 = ["train", "det4", "--epochs", "1", "--json", "--quiet"]


def kanhw(args: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "kanhw", *args], capture_output=True, text=True,
                       env=env, check=True)
    return time.perf_counter() - t0, r


def figure(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s (best {min(values):.3f} s)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--first", action="store_true", help="also time a run on an empty cache")
    args = ap.parse_args()
    help_s = [kanhw(["--help"])[0] for _ in range(args.runs)]
    print(f"kanhw --help                      {figure(help_s)}")
    kanhw(DET4)                                   # fills numba's cache
    wall, loop, outside, load = [], [], [], []
    for _ in range(args.runs):
        t, r = kanhw(DET4)
        s = json.loads(r.stdout.strip().splitlines()[-1])
        wall.append(t)
        loop.append(s["seconds"])
        outside.append(t - s["seconds"])
        load.append(s["jit_seconds"])
    print(f"cached det4 run, wall             {figure(wall)}")
    print(f"  training loop (JSON seconds)    {figure(loop)}")
    print(f"  outside training                {figure(outside)}")
    print(f"    of which loading the kernels  {figure(load)}")
    if args.first:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            t, r = kanhw(["train", "det4", "--epochs", "1", "--json"], env=env)
        s = json.loads(r.stdout.strip().splitlines()[-1])
        notice = [line for line in r.stderr.splitlines() if line.startswith("kanhw:")]
        print(f"first run (empty cache), wall     {t:.1f} s, compiling {s['jit_seconds']:.1f} s")
        for line in notice:
            print(f"  {line}")


if __name__ == "__main__":
    main()
