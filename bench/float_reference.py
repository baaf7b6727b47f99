"""Float reference benchmarks (issue figures): det4 speed and epochs to 0.97
for both step rules, and the three-layer tetrahedron model.

    python bench/float_reference.py [--seeds 3] [--skip-tetra]

Prints a Markdown table. Data generation is excluded from the times; JIT time
(cached across runs) is included in "seconds" and shown separately.
"""

from __future__ import annotations

import argparse
import statistics

from kanhw import KAN, TrainConfig, datasets, fit, recipes
from kanhw.arch import build_architecture


def run(name: str, seed: int, hidden, points, alpha: float, step: str, epochs: int,
        target: float | None):
    data = datasets.builtin(name, seed=seed)
    arch = build_architecture(data.X.shape[1], data.y.shape[1], None, hidden, points)
    model = KAN.initialise(arch, data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0),
                           seed=seed)
    return arch, fit(model, data, TrainConfig(alpha=alpha, step=step, epochs=epochs,
                                              target_pearson=target, seed=seed))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--skip-tetra", action="store_true")
    args = ap.parse_args()
    print("| dataset | model | step | seed | epochs to target | validation Pearson | "
          "seconds (JIT) | records/s |")
    print("|---|---|---|---|---|---|---|---|")
    rates = {}
    cases = [("det4", [64], [5, 22], 0.2, "constant", 15, 0.97),
             ("det4", [64], [5, 22], 0.5, "kaczmarz", 15, 0.97)]
    if not args.skip_tetra:
        r = recipes.RECIPES["tetra"].to_dict()
        cases.append(("tetra", r["hidden"], r["points"], r["alpha"], "constant", r["epochs"], 0.975))
    for name, hidden, points, alpha, step, epochs, target in cases:
        for seed in range(args.seeds):
            arch, res = run(name, seed, hidden, points, alpha, step, epochs, target)
            rates.setdefault((name, step), []).append(res.records_per_s)
            reached = res.epochs if res.reached_target else f"not in {res.epochs}"
            pear = ", ".join(f"{p:.4f}" for p in res.validation_pearson)
            print(f"| {name} | {'-'.join(map(str, arch.sizes))} pts "
                  f"{'/'.join(map(str, arch.points))} | {step} a={alpha} | {seed} | {reached} | "
                  f"{pear} | {res.seconds:.2f} ({res.jit_seconds:.2f}) | "
                  f"{res.records_per_s:,.0f} |", flush=True)
    print()
    for (name, step), r in rates.items():
        print(f"{name} {step}: median {statistics.median(r):,.0f} records/s over {len(r)} runs "
              "(one core)")


if __name__ == "__main__":
    main()
