"""The generator's random-design sweep: designs drawn across every knob
(``kanhw.sim.random_designs``), each simulated on random data and compared
with the fixed-point reference record by record, table by table, counter by
counter, and cycle count against the cycle model.

    python bench/random_designs.py                       # 50 designs x 300 records
    python bench/random_designs.py --designs 100 --seed 7 --simulator verilator
    python bench/random_designs.py --seed S --first I --designs 1   # replay one design
    python bench/random_designs.py --layered --designs 30 --seed 7  # deep / multi-output designs

Prints one row per design and a summary: designs, records, mismatches,
cycle-count errors, and how many designs saturated, clamped and stretched;
with ``--resources`` also whether the manifest's multipliers and memories
are the cells Yosys reads from each design.
Exits 1 if any design disagrees.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from kanhw.sim.random_designs import check_design, random_design, random_layered_design


def _check(args: tuple[int, int, int, str, bool, bool]):
    seed, index, records, simulator, resources, layered = args
    try:
        row = check_design(seed, index, records, simulator, layered=layered)
        if resources:
            row.cells = _cells(seed, index, layered)
        return row, None
    except Exception as exc:  # noqa: BLE001 (a design that fails to run is a finding too)
        return None, f"design {index}: {type(exc).__name__}: {exc}"


def _cells(seed: int, index: int, layered: bool) -> tuple[dict, dict]:
    """(manifest, Yosys) multipliers and memories of design ``index``."""
    from kanhw.boards.fit import instantiated_cells
    from kanhw.interface import geometry_of
    from kanhw.rtl_gen.manifest import layered_resource_counts, resource_counts
    design = (random_layered_design if layered else random_design)(seed, index)[1]
    res = (layered_resource_counts if layered else resource_counts)(geometry_of(design))
    return ({"multipliers": res["multipliers"]["total"], "memories": res["memories"]["total"]},
            instantiated_cells(design))


def _blocks(rows) -> str:
    """How many two-layer designs had one block, and one addend."""
    one_block = sum(1 for r in rows
                    if r.spec["hardware"]["addends_per_block"] == r.spec["arch"]["addends"])
    return f"single-block {one_block}, K = 1 {sum(1 for r in rows if r.spec['arch']['addends'] == 1)}"


def _shapes(rows) -> str:
    """How many layered designs had each depth (layers of functions), and
    more than one output."""
    depths = {}
    for r in rows:
        n = len(r.spec["arch"]["layers"])
        depths[n] = depths.get(n, 0) + 1
    multi = sum(1 for r in rows if r.spec["arch"]["layers"][-1] > 1)
    return (", ".join(f"depth {n}: {k}" for n, k in sorted(depths.items()))
            + f", multi-output {multi}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=50, help="designs to draw (default 50)")
    ap.add_argument("--first", type=int, default=0, help="index of the first design")
    ap.add_argument("--records", type=int, default=300, help="records per design")
    ap.add_argument("--seed", type=int, default=None, help="sweep seed (default: random)")
    ap.add_argument("--simulator", default="amaranth",
                    choices=("amaranth", "verilator", "icarus"))
    ap.add_argument("--jobs", type=int, default=2, help="designs simulated at once")
    ap.add_argument("--layered", action="store_true",
                    help="draw layered designs (2 to 4 layers, 1 to 4 outputs) for the "
                         "layered core")
    ap.add_argument("--resources", action="store_true",
                    help="also hold the manifest's multipliers and memories against the "
                         "cells Yosys reads from each design's Verilog")
    args = ap.parse_args()
    seed = secrets.randbits(31) if args.seed is None else args.seed
    print(f"sweep seed {seed}: {args.designs} {'layered ' if args.layered else ''}designs x "
          f"{args.records} records on {args.simulator}", flush=True)
    jobs = [(seed, i, args.records, args.simulator, args.resources, args.layered)
            for i in range(args.first, args.first + args.designs)]
    rows, errors = [], []
    t0 = time.perf_counter()
    print("| # | design | mismatches | cycles | model | sat/clamp/stretch | s |")
    print("|---:|---|---:|---:|---:|---|---:|")
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for row, err in pool.map(_check, jobs):
            if err:
                errors.append(err)
                print(f"| - | {err} | - | - | - | - | - |", flush=True)
                continue
            rows.append(row)
            print(f"| {row.index} | {row.describe()} | {len(row.mismatches)} | {row.cycles} | "
                  f"{row.cycles_model} | {'/'.join(map(str, row.counts))} | "
                  f"{row.seconds:.1f} |", flush=True)
            for m in row.mismatches[:3]:
                print(f"    {m}")
            if args.resources and row.cells[0] != row.cells[1]:
                print(f"    manifest {row.cells[0]}, Yosys {row.cells[1]}")
    mismatching = sum(1 for r in rows if r.mismatches)
    cycle_errors = sum(1 for r in rows if r.cycles != r.cycles_model)
    count_errors = sum(1 for r in rows if args.resources and r.cells[0] != r.cells[1])
    print(f"\nseed {seed}: {len(rows)} designs, {sum(r.records for r in rows):,} records; "
          f"{mismatching} with mismatches, {cycle_errors} with cycle-count errors, "
          f"{len(errors)} that did not finish"
          + (f", {count_errors} whose manifest counts differ from Yosys'" if args.resources
             else "") + "; "
          f"{sum(1 for r in rows if r.counts[0])} saturated, "
          f"{sum(1 for r in rows if r.counts[1])} clamped, "
          f"{sum(1 for r in rows if r.counts[2])} stretched; "
          + (_shapes(rows) if args.layered else _blocks(rows)) + "; "
          f"{time.perf_counter() - t0:.0f} s")
    return 1 if mismatching or cycle_errors or count_errors or errors else 0


if __name__ == "__main__":
    sys.exit(main())
