"""The training study (seed 001's grid on piecewise-linear KANs): NK-KAN, a
backprop KAN, an MLP of the same sizes and a parameter-matched wide MLP,
the same three by the HSIC bottleneck, 27 schemes each, and pykan's KAN
(LBFGS and Adam), on digits, det4 and three Feynman formulas.

    python bench/study_table.py [-o docs/study] [--epochs 20] [--workers 2]

Prints the best scheme per model and dataset; the full table (every run),
study.json and PNG plots go to the output folder. The same as
``kanhw study -o DIR`` (docs/study.md gives its time).
"""

from __future__ import annotations

import argparse
import json
import os

from kanhw import study


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="docs/study")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cfg = study.StudyConfig(epochs=args.epochs, workers=args.workers, seed=args.seed)
    total = len(study.tasks(cfg))
    done = []
    runs = study.run_study(cfg, lambda r: (done.append(r), print(
        f"[{len(done)}/{total}] {r.dataset} {r.model} {r.scheme}: {r.best_test:.4f}",
        flush=True)))
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "study.md"), "w") as fh:
        fh.write(study.markdown(runs, cfg))
    with open(os.path.join(args.output, "study.json"), "w") as fh:
        json.dump(study.to_json(runs), fh, indent=1)
    study.plot(runs, args.output)
    print(study.HEADER)
    for r in study.best_per_model(runs):
        print(study.row(r))


if __name__ == "__main__":
    main()
