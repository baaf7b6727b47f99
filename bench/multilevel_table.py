"""Multilevel grids against fine-only and coarse-only training at equal
records, on det4, tetrahedra and triangle area (seed 002's question for NK).

    python bench/multilevel_table.py [--seeds 2] [--datasets det4,tetra,triangle]

For each dataset the three runs process the same number of records (the
fine-only recipe's epochs); validation after every epoch. Printed: the final
(worst-output) validation Pearson of each, and the records multilevel needs
to reach the fine-only run's final Pearson, as a fraction of fine-only's.
"""

from __future__ import annotations

import argparse

import numpy as np

from kanhw import KAN, TrainConfig, datasets, fit, recipes
from kanhw.arch import build_architecture
from kanhw.multilevel import fit_multilevel, parse_schedule

#: dataset -> (epochs, multilevel schedule, coarse points); the fine points are
#: the recipe's, the schedule's last level.
PLANS = {
    "det4": (10, "5,8x3 5,22x7", (5, 8)),
    "tetra": (10, "2,12,4x2 2,12,22x8", (2, 12, 4)),
    "triangle": (40, "2,12,8x12 2,12,22x28", (2, 12, 8)),
}


def worst(h: dict) -> float:
    return min(h["validation_pearson"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--datasets", default="det4,tetra,triangle")
    args = ap.parse_args()
    print("| dataset | seed | epochs | fine only | coarse only | multilevel | schedule | "
          "multilevel records to fine-only's final Pearson |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.datasets.split(","):
        epochs, sched, coarse_pts = PLANS[name]
        recipe = recipes.RECIPES[name].to_dict()
        fractions = []
        for seed in range(args.seeds):
            data = datasets.builtin(name, seed=seed)
            bounds = (data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0))
            cfg = TrainConfig(alpha=recipe["alpha"], epochs=epochs, seed=seed)

            def model(points, data=data, bounds=bounds, seed=seed, hidden=recipe["hidden"]):
                arch = build_architecture(data.X.shape[1], data.y.shape[1], None,
                                          hidden, list(points))
                return KAN.initialise(arch, *bounds, seed=seed)

            fine = fit(model(recipe["points"]), data, cfg)
            coarse = fit(model(coarse_pts), data, cfg)
            levels = parse_schedule(sched, len(recipe["points"]))
            _, ml = fit_multilevel(model(levels[0].points), data, cfg, levels)
            goal = worst(fine.history[-1])
            n = data.X.shape[0]
            hit = next((h["records"] for h in ml.history if worst(h) >= goal), None)
            frac = hit / (epochs * n) if hit else np.inf
            fractions.append(frac)
            print(f"| {name} | {seed} | {epochs} | {goal:.4f} | {worst(coarse.history[-1]):.4f} "
                  f"| {worst(ml.history[-1]):.4f} | `{sched}` | "
                  f"{'not reached' if hit is None else f'{hit:,} ({frac:.2f})'} |", flush=True)
        print(f"| {name} | median | | | | | | {np.median(fractions):.2f} of the records |",
              flush=True)


if __name__ == "__main__":
    main()
