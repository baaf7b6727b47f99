"""Seed 003's Table 2 on det4, on this machine: a fixed workload of 1M
records split between W workers (disjoint batches, model averaging after
each round), against the sequential trainer on the same workload.

    python bench/merge_table.py [--seed 0] [--workers 1,2,4,6] [--rounds 10,20,40] [--repeats 3]

Time is training time (worker start-up, training, merging; data generation
and validation excluded; JIT compiled and cached beforehand). With 2 cores,
4 and 6 workers are oversubscribed. This VM's speed drifts 10-30 % over
minutes, so every row, the sequential baseline included, is run
``--repeats`` times interleaved (one pass over all rows per repeat) and
reports its median time; the speedup is median over median, and its range
is the spread of the per-pass ratios (each against the same pass's
sequential run). Results are identical across repeats; only time varies.
The last line measures this machine's ceiling for two processes: half the
workload trained alone, and two such runs side by side (no merging).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp

import numpy as np

from kanhw import KAN, TrainConfig, datasets, fit
from kanhw.arch import build_architecture
from kanhw.merge import MergeConfig, fit_merged

WORK = 1_000_000


def model_for(data, seed):
    arch = build_architecture(16, 1, None, [64], [5, 22])
    return KAN.initialise(arch, data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0),
                          seed=seed)


def _half_run(args: tuple) -> float:
    data, cfg, seed = args
    return fit(model_for(data, seed), data, cfg).train_seconds


def side_by_side(data, seed: int, repeats: int) -> tuple[float, float]:
    """Median seconds of the sequential trainer on half the workload alone,
    and of the slower of two such runs side by side (no merging): their
    ratio bounds what any 2-process scheme can gain on this machine."""
    cfg = TrainConfig(alpha=0.2, epochs=WORK // 2 // data.X.shape[0], seed=seed)
    ctx = mp.get_context("fork")
    alone, pair = [], []
    for _ in range(repeats):
        with ctx.Pool(1) as p:
            alone.append(p.map(_half_run, [(data, cfg, seed)])[0])
        with ctx.Pool(2) as p:
            pair.append(max(p.map(_half_run, [(data, cfg, seed)] * 2)))
    return float(np.median(alone)), float(np.median(pair))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", default="1,2,4,6")
    ap.add_argument("--rounds", default="10,20,40")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    data = datasets.builtin("det4", seed=args.seed)
    cfg = TrainConfig(alpha=0.2, epochs=WORK // data.X.shape[0], seed=args.seed)
    fit(model_for(data, args.seed), data, TrainConfig(alpha=0.2, epochs=1))  # JIT
    rows = [(w, r) for w in (int(x) for x in args.workers.split(","))
            for r in (int(x) for x in args.rounds.split(","))]
    times: dict = {row: [] for row in [None, *rows]}
    pearson: dict = {}
    for _ in range(max(1, args.repeats)):
        res = fit(model_for(data, args.seed), data, cfg)
        times[None].append(res.train_seconds)
        pearson[None] = res.validation_pearson[0]
        for w, r in rows:
            res = fit_merged(model_for(data, args.seed), data, cfg,
                             MergeConfig(workers=w, rounds=r, batch=WORK // (w * r),
                                         validate_every=r))
            times[(w, r)].append(res.train_seconds)
            pearson[(w, r)] = res.validation_pearson[0]
    base = float(np.median(times[None]))
    print(f"det4, K=64, points 5/22, alpha 0.2, {WORK:,} records per run, seed {args.seed}, "
          f"median of {args.repeats} interleaved repeats")
    print("| workers | rounds | batch | validation Pearson | time (s) | speedup | speedup range |")
    print("|---|---|---|---|---|---|---|")
    print(f"| sequential | - | - | {pearson[None]:.4f} | {base:.2f} | 1.00 | "
          f"(times {min(times[None]):.2f}-{max(times[None]):.2f} s) |")
    for w, r in rows:
        t = float(np.median(times[(w, r)]))
        ratios = [s / m for s, m in zip(times[None], times[(w, r)])]
        print(f"| {w} | {r} | {WORK // (w * r):,} | {pearson[(w, r)]:.4f} | {t:.2f} | "
              f"{base / t:.2f} | {min(ratios):.2f}-{max(ratios):.2f} |")
    alone, pair = side_by_side(data, args.seed, max(3, args.repeats))
    print(f"ceiling: {WORK // 2:,} records alone {alone:.2f} s, two side by side {pair:.2f} s "
          f"(x{pair / alone:.3f}): no 2-process scheme exceeds {2 * alone / pair:.2f}x here")

if __name__ == "__main__":
    main()
