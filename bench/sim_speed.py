"""Simulation speed: records and cycles per second of the generated cores on
each simulator (Verilator, Icarus, Amaranth's), side by side, each run
checked against the fixed-point reference (every prediction, residual,
final table, counter and the cycle count).

    python bench/sim_speed.py                         # the default designs, every simulator
    python bench/sim_speed.py --designs det4-m8 --simulators verilator --records 20000

"records/s" is the record stream alone (records in, results out, the
bench's reads and refills included; not the build, the table load or the
read-back); "total s" is the whole run with the build (cached builds are
reused: run twice for the warm figure).
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib

from kanhw.design import EXAMPLES, design_from_dict
from kanhw.sim import runner
from kanhw.sim.compare import compare, expected_cycles
from kanhw.sim.vectors import make_vectors

DESIGNS = {
    # the 8 x 8 lanes-4 det4 design that routes on the ULX3S-85F
    "det4-m8": lambda: design_from_dict(tomllib.loads(EXAMPLES["det4-85f"])),
    # the det4 example: 64 blocks of 16 lanes
    "det4-example": lambda: design_from_dict(tomllib.loads(EXAMPLES["det4"])),
    # a small core
    "small": lambda: design_from_dict({
        "arch": {"inputs": 4, "addends": 4, "points": [4, 6]},
        "hardware": {"lanes": 2, "addends_per_block": 2}}),
}

#: Records per run by simulator for an 8-block core (the slow simulators get
#: fewer, and larger cores fewer again, at least 20).
RECORDS = {"verilator": 10_000, "icarus": 100, "amaranth": 100}


def default_records(simulator: str, blocks: int) -> int:
    base = RECORDS[simulator]
    return base if simulator == "verilator" else max(20, base * 8 // max(8, blocks))


#: Cores above this many blocks run on the slow simulators only with
#: ``--all``: Amaranth's simulator does about 50 cycles/s on the 8-block det4
#: core, and loading the 64-block example's tables alone is some 40k cycles.
SLOW_BLOCKS = 8


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", nargs="+", choices=sorted(DESIGNS), default=list(DESIGNS))
    ap.add_argument("--simulators", nargs="+", choices=runner.SIMULATORS,
                    default=list(runner.SIMULATORS))
    ap.add_argument("--records", type=int, help="records per run (default: by simulator)")
    ap.add_argument("--all", action="store_true",
                    help=f"also run cores of more than {SLOW_BLOCKS} blocks on Icarus and "
                         "Amaranth's simulator (hours)")
    args = ap.parse_args()
    print("| design | blocks | simulator | records | cycles/record | records/s | cycles/s "
          "| total s | bit-exact |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---|")
    bad = 0
    for name in args.designs:
        d = DESIGNS[name]()
        for sim in args.simulators:
            if not runner.available(sim):
                print(f"| {name} | {d.blocks} | {sim} | - | - | - | - | - | not installed |")
                continue
            if sim != "verilator" and d.blocks > SLOW_BLOCKS and not args.all:
                print(f"| {name} | {d.blocks} | {sim} | - | - | - | - | - | skipped "
                      "(--all) |")
                continue
            n = args.records or default_records(sim, d.blocks)
            vec = make_vectors(d, n, seed=1, dataset="det4" if d.n == 16 else "mixed")
            t0 = time.perf_counter()
            out = runner.run(vec, sim)
            total = time.perf_counter() - t0
            ok = not compare(vec, out) and out.cycles == expected_cycles(vec)
            bad += not ok
            # Amaranth's simulator runs in-process: its stream time is the run's
            secs = out.stream_seconds or total
            print(f"| {name} | {d.blocks} | {sim} | {n:,d} | {out.cycles / n:.1f} | "
                  f"{n / secs:,.0f} | {out.cycles / secs:,.0f} | {total:.1f} | "
                  f"{'yes' if ok else 'NO'} |", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
