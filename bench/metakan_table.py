"""MetaKAN against the plain KAN of the same shape: trainable parameters,
peak training memory and best test score, on digits and Feynman formulas.

    python bench/metakan_table.py [--epochs 30] [--seed 0]

Both are trained by backprop with Kaiming-normal initialisation and Adam at
0.005 (batch 64); MetaKAN: one embedding number per function, a meta-learner
8 wide per layer. Peak memory is measured by PyTorch's profiler over the
first optimiser step (parameters, gradients, Adam state, activations).
"""

from __future__ import annotations

import argparse

from kanhw import datasets
from kanhw.backprop import require_torch
from kanhw.metakan import compare

#: (dataset, hidden widths, points per layer)
CASES = [("digits", [32], [8, 12]),
         ("feynman-I.6.2", [32], [32, 22]),
         ("feynman-I.27.6", [32], [32, 22])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    require_torch().set_num_threads(1)
    print("| dataset | KAN | plain params | MetaKAN params | ratio | plain best | MetaKAN best "
          "| difference | plain peak KiB | MetaKAN peak KiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, hidden, points in CASES:
        c, _ = compare(datasets.load(name, seed=args.seed), hidden, points, embed=1,
                       meta_hidden=8, epochs=args.epochs, seed=args.seed)
        shape = " -> ".join(map(str, c.sizes)) + f" ({'/'.join(map(str, c.points))} points)"
        print(f"| {name} | {shape} | {c.plain_parameters:,} | {c.meta_parameters:,} | "
              f"{c.parameter_ratio:.2f}x | {c.plain_best:.4f} | {c.meta_best:.4f} | "
              f"{c.difference:+.4f} | {c.plain_peak_bytes / 1024:,.0f} | "
              f"{c.meta_peak_bytes / 1024:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
