"""det4 time to validation Pearson 0.97 on this machine's cores: sequential,
multilevel, and multilevel with disjoint-batch merging over W processes.

    python bench/det4_time_to_target.py [--seeds 3] [--workers 2] [--batch 10000]

Time counts everything after data generation: loading the cached JIT
(measured once, in this fresh process, and added to every run), worker
start-up, training, merging and the validations that decide when to
stop (every ``--validate-every`` records, 20,000 by default, on the 20,000
independent validation records). The published 2-thread parallel C++ code
takes 4.2-5.2 s here.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from kanhw import KAN, TrainConfig, datasets, fit
from kanhw.arch import build_architecture
from kanhw.multilevel import fit_multilevel, parse_schedule

TARGET = 0.97


def run(kind: str, data, seed: int, workers: int, batch: int, schedule: str,
        every: int | None) -> tuple:
    bounds = (data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0))
    cfg = TrainConfig(alpha=0.2, epochs=15, target_pearson=TARGET, seed=seed,
                      validate_every=every)
    t0 = time.perf_counter()
    if kind == "sequential":
        m = KAN.initialise(build_architecture(16, 1, None, [64], [5, 22]), *bounds, seed=seed)
        r = fit(m, data, cfg)
    else:
        levels = parse_schedule(schedule, 2)
        m = KAN.initialise(build_architecture(16, 1, None, [64], list(levels[0].points)),
                           *bounds, seed=seed)
        _, r = fit_multilevel(m, data, cfg, levels, workers=workers if kind == "merged" else 1,
                              batch=batch)
    seconds = time.perf_counter() - t0
    return seconds, r.records, min(r.validation_pearson), bool(r.reached_target)


def load_jit() -> float:
    """Seconds to load the compiled kernels from numba's on-disk cache (the
    first use in a process; compiles and fills the cache if it is empty)."""
    from kanhw.train import FloatBackend

    arch = build_architecture(16, 1, None, [64], [5, 22])
    m = KAN.initialise(arch, np.zeros(16), np.ones(16), np.zeros(1), np.ones(1))
    t = time.perf_counter()
    FloatBackend(m, TrainConfig()).compile()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--schedule", default="5,8x2 5,22x12")
    ap.add_argument("--validate-every", type=int, default=20_000, metavar="N",
                    help="check the target every N training records (0: once per epoch)")
    ap.add_argument("--methods", default="sequential,multilevel,merged",
                    help="comma-separated subset of sequential,multilevel,merged")
    args = ap.parse_args()
    jit = load_jit()
    print(f"JIT load (numba cache, fresh process): {jit:.2f} s, added to every time below")
    print(f"det4, K=64, alpha 0.2, target {TARGET} checked every "
          f"{args.validate_every or 'epoch'} records (in a second thread); multilevel schedule `{args.schedule}`; "
          f"merging: {args.workers} workers, batch {args.batch:,}")
    print("| seed | method | seconds | records | validation Pearson | reached |")
    print("|---|---|---|---|---|---|")
    got: dict[str, list[float]] = {}
    for seed in range(args.seeds):
        data = datasets.builtin("det4", seed=seed)
        for kind in args.methods.split(","):
            s, rec, p, ok = run(kind, data, seed, args.workers, args.batch, args.schedule,
                                args.validate_every or None)
            s += jit
            got.setdefault(kind, []).append(s if ok else np.inf)
            label = {"merged": f"multilevel + {args.workers} workers"}.get(kind, kind)
            print(f"| {seed} | {label} | {s:.2f} | {rec:,} | {p:.4f} | {ok} |", flush=True)
    for kind, v in got.items():
        print(f"median {kind}: {np.median(v):.2f} s")


if __name__ == "__main__":
    main()
