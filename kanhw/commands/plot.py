"""``kanhw plot``: PNGs of a saved model's functions and training curve."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="plot a saved model's functions and training curve",
                       description="Write layer<L>.png (learned functions) and training.png "
                                   "(validation curve) for a model saved by --save.")
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import persist
    from ..plot import plot_model

    model = persist.load(args.model)
    for path in plot_model(model, args.output):
        print(path)
    return 0
