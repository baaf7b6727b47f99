"""NK-KAN's accuracy ceiling against pykan, in one run: test RMSE and
training seconds on the study's Feynman formulas and Feynman I.34.8.

    nice python bench/nk_vs_pykan.py [--datasets feynman-I.34.8 ...]
                                     [--pykan-steps 50,200] [--float64] [--json FILE]
                                     [--fixed deep] [--nk-only]

Per dataset, on one thread each:

* NK, the recipe: the dataset's recipe as ``kanhw train DATASET`` runs it
  (constant step);
* NK, annealed: a larger step, a finer grid for the last level where it
  helps (multilevel), and the last epochs halving the step (``--anneal``);
  in float64 and in the bit-exact fixed point (``--fixed``, default the
  ``deep`` contract: the ``hw`` contract's 24-bit values saturate at these
  steps and grids; the anneal is software-only fixed point: one more bit
  of step shift per epoch);
* pykan: the package's KAN at the same widths (grid 5, cubic), its LBFGS
  (50 steps by default) and Adam (lr 0.01, 200 steps) trainings, inputs in
  [-1, 1], standardised targets.

The goal of issue 26: NK's annealed test RMSE within 2x of pykan's best
while training at least 20x faster. Prints one Markdown table; ``--json``
also writes every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from kanhw import KANRegressor, datasets
from kanhw.pykan_baseline import train_pykan

#: NK's annealed settings per dataset: hidden width, multilevel schedule
#: (points per layer x epochs), alpha and annealed epochs.
ANNEALED = {
    "feynman-I.6.2": ([7], "5,22x40 9,43x40", 1.0, 15),
    "feynman-I.27.6": ([7], "5,22x40 9,43x40 17,85x40", 0.6, 20),
    "feynman-I.29.16": ([9], "5,22x40 9,43x40", 1.0, 15),
    "feynman-I.34.8": ([9], "5,22x60 9,43x40", 1.5, 20),
}
DEFAULT = tuple(ANNEALED)
#: Records: the study's (10,000 / 2,000) and the issue's 16k / 4k for I.34.8.
RECORDS = {"feynman-I.34.8": (16_000, 4_000)}


def rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred).reshape(y.shape) - y) ** 2)))


def nk(data: datasets.Dataset, fixed: str | None, annealed: bool) -> tuple[float, float, str]:
    r = datasets.recipe(data)
    if annealed:
        hidden, schedule, alpha, anneal = ANNEALED[data.name]
        first = [int(p) for p in schedule.split()[0].partition("x")[0].split(",")]
        est = KANRegressor(hidden=hidden, points=first, alpha=alpha, multilevel=schedule,
                           anneal=anneal, fixed=fixed, validation_fraction=0)
        how = f"alpha {alpha}, {schedule}, anneal {anneal}"
    else:
        est = KANRegressor(hidden=r["hidden"], points=r["points"], alpha=r["alpha"],
                           epochs=r["epochs"], anneal=r.get("anneal", 0), fixed=fixed,
                           validation_fraction=0)
        how = f"recipe: alpha {r['alpha']}, points {r['points']}, {r['epochs']} epochs" + (
            f", anneal {r['anneal']}" if r.get("anneal") else "")
    est.fit(data.X, data.y)
    return rmse(est.predict(data.X_val), data.y_val), est.result_.train_seconds, how


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=list(DEFAULT), choices=list(ANNEALED))
    ap.add_argument("--pykan-steps", default="50,200", metavar="LBFGS,ADAM")
    ap.add_argument("--float64", action="store_true", help="pykan in float64 (default float32)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    ap.add_argument("--fixed", default="deep", help="contract of the fixed-point column")
    ap.add_argument("--nk-only", action="store_true",
                    help="NK columns only (no pykan, no goal): a quick check")
    args = ap.parse_args()
    lbfgs, adam = (int(v) for v in args.pykan_steps.split(","))
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    out = []
    for name in args.datasets:
        train, test = RECORDS.get(name, (10_000, 2_000))
        data = datasets.builtin(name, args.seed, train, test)
        # compile the NK kernels once, outside every timing
        KANRegressor(hidden=[2], points=(3, 3), epochs=1, validation_fraction=0).fit(
            data.X[:50], data.y[:50])
        row = {"dataset": name, "records": [train, test], "target_sd": float(data.y_val.std())}
        row["nk_recipe"] = nk(data, None, False)
        row["nk_annealed"] = nk(data, None, True)
        row["nk_annealed_fixed"] = nk(data, args.fixed, True)
        if args.nk_only:
            out.append(row)
            print(f"| {name} | " + " | ".join(
                f"{row[k][0]:.4f} ({row[k][1]:.2f})"
                for k in ("nk_recipe", "nk_annealed", "nk_annealed_fixed")) + " |")
            continue
        sizes = [data.X.shape[1], *ANNEALED[name][0], 1]
        for opt, steps in (("lbfgs", lbfgs), ("adam", adam)):
            t = time.perf_counter()
            res = train_pykan(sizes, data.X, data.y, data.X_val, data.y_val, opt, steps,
                              seed=args.seed, score_every=steps, float64=args.float64)
            row[f"pykan_{opt}"] = (res.test_rmse, res.seconds[-1], f"{opt}, {steps} steps")
            print(f"{name}: pykan {opt} rmse {res.test_rmse:.4g} in {res.seconds[-1]:.1f} s "
                  f"(wall {time.perf_counter() - t:.1f} s)", file=sys.stderr, flush=True)
        best = min((row["pykan_lbfgs"], row["pykan_adam"]), key=lambda v: v[0])
        nk_r, nk_s = row["nk_annealed"][:2]
        row["rmse_ratio"] = nk_r / best[0]
        row["speedup"] = best[1] / nk_s
        row["goal_met"] = row["rmse_ratio"] <= 2.0 and row["speedup"] >= 20.0
        out.append(row)
        print(f"{name}: NK annealed rmse {nk_r:.4g} in {nk_s:.2f} s; ratio "
              f"{row['rmse_ratio']:.2f}, {row['speedup']:.0f}x faster", file=sys.stderr,
              flush=True)
    if args.nk_only:
        return
    print(f"| dataset | NK recipe RMSE (s) | NK annealed RMSE (s) | NK annealed, fixed "
          f"{args.fixed} RMSE (s)"
          " | pykan LBFGS RMSE (s) | pykan Adam RMSE (s) | NK / pykan best RMSE | speed-up |"
          " goal |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in out:
        cells = [f"{r[k][0]:.4f} ({r[k][1]:.2f})" for k in (
            "nk_recipe", "nk_annealed", "nk_annealed_fixed", "pykan_lbfgs", "pykan_adam")]
        print(f"| {r['dataset']} | " + " | ".join(cells) + f" | {r['rmse_ratio']:.2f} | "
              f"{r['speedup']:.0f}x | {'met' if r['goal_met'] else 'not met'} |")
    print()
    for r in out:
        print(f"{r['dataset']}: NK annealed = {r['nk_annealed'][2]}; target sd "
              f"{r['target_sd']:.4g}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
