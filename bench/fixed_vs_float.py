"""Fixed-point against float: validation Pearson of the two trainers on the
same data, initialisation and record order, over several seeds.

    python bench/fixed_vs_float.py det4 --seeds 5 [--contract value_bits=20,value_frac=16]
    python bench/fixed_vs_float.py tetra --seeds 3

Prints, per seed, the final validation Pearson of each trainer and the mean
over the last three epochs (the Pearson of a constant-step run fluctuates by
a few thousandths from epoch to epoch), then the mean difference.
"""

from __future__ import annotations

import argparse

import numpy as np

from kanhw import KAN, TrainConfig, datasets, fit, recipes
from kanhw.arch import build_architecture
from kanhw.contract import PRESETS
from kanhw.design import resolve_contract
from kanhw.fixed_model import FixedBackend, FixedKAN


def parse_contract(text: str | None) -> dict:
    if not text:
        return {}
    out = {}
    for item in text.split(","):
        k, v = item.split("=")
        out[k.strip()] = int(v)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--preset", default="hw", help="named contract: hw or deep")
    ap.add_argument("--contract", help="overrides, e.g. value_bits=20,value_frac=16")
    args = ap.parse_args()
    recipe = recipes.RECIPES[args.dataset].to_dict()
    epochs = args.epochs or recipe["epochs"]
    base = PRESETS[args.preset].replace(**parse_contract(args.contract))
    rows = []
    per_output = []
    print("| seed | float final (worst output) | fixed final | float last-3 mean | "
          "fixed last-3 mean | fixed sat. records | stretches (float / fixed) |")
    print("|---|---|---|---|---|---|---|")
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        data = datasets.builtin(args.dataset, seed=seed)
        arch = build_architecture(data.X.shape[1], data.y.shape[1], None, recipe["hidden"],
                                  recipe["points"])
        contract = resolve_contract(base, arch, recipe["alpha"])
        cfg = TrainConfig(alpha=recipe["alpha"], epochs=epochs, seed=seed)
        fl = KAN.initialise(arch, data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0),
                            seed=seed)
        rf = fit(fl, data, cfg)
        fx = FixedKAN.initialise(arch, contract, data.X.min(0), data.X.max(0), data.y.min(0),
                                 data.y.max(0), seed=seed)
        rx = fit(fx, data, cfg, backend=FixedBackend(fx))

        def last3(r):
            return np.mean([min(h["validation_pearson"]) for h in r.history[-3:]])

        rows.append((min(rf.validation_pearson), min(rx.validation_pearson), last3(rf),
                     last3(rx)))
        per_output.append(np.subtract(rx.validation_pearson, rf.validation_pearson))
        print(f"| {seed} | {rows[-1][0]:.4f} | {rows[-1][1]:.4f} | {rows[-1][2]:.4f} | "
              f"{rows[-1][3]:.4f} | {fx.counts[0]} | {rf.stretches} / {rx.stretches} |",
              flush=True)
    a = np.array(rows)
    print(f"\ncontract {contract}")
    print(f"mean final: float {a[:, 0].mean():.4f}, fixed {a[:, 1].mean():.4f}, "
          f"difference {a[:, 1].mean() - a[:, 0].mean():+.4f}")
    print(f"mean of last-3 means: float {a[:, 2].mean():.4f}, fixed {a[:, 3].mean():.4f}, "
          f"difference {a[:, 3].mean() - a[:, 2].mean():+.4f}")
    print("mean final difference per output (fixed - float): "
          + ", ".join(f"{d:+.4f}" for d in np.mean(per_output, axis=0)))


if __name__ == "__main__":
    main()
