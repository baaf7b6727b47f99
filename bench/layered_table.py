"""Deep and multi-output KANs on a board: for the published networks (tetra,
the authors' four-layer triangle net, digits), the layered shape the resource
model fits on the board, its cycles per record, records/s at a clock, and the
modelled fabric time to train (records the bit-exact fixed-point reference
needs, divided by records/s), beside the CPU reference's time on one core.

    python bench/layered_table.py                       # all three, ULX3S-85F
    python bench/layered_table.py tetra --mhz tetra=41.2 # a real build's Fmax
    python bench/layered_table.py --shape tetra=4:16,4   # lanes 4, units 16/4
    python bench/layered_table.py --shape tetra=4:16,4:sequential  # lane_update too

The shape search starts from the fastest shape (a block per unit, a lane
per input), synthesises each stage's block at two unit counts, takes the
shape with the fewest cycles that the lines through them predict to fit,
and lets its blocks serve more units in turn until the model says it fits
(``kanhw.boards.fit.fit_layered``, what ``kanhw build`` proposes). The
clock is the board's design clock unless ``--mhz NAME=F`` gives a real
place-and-route's Fmax (``kanhw build --board B --config C --json``).

Training figures come from ``kanhw train`` itself, one numba thread:
``--fixed`` (the core's arithmetic, bit for bit) for the records and the
accuracy, and the float reference for the CPU time. tetra trains to
validation Pearson >= 0.975 on every output; triangle and digits train the
recipe's epochs (relative RMSE, against the published ~1 %; accuracy, goal
0.95).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass

from kanhw.boards import get_board
from kanhw.boards.fit import estimate, fit_layered
from kanhw.contract import PRESETS
from kanhw.design import Design, design_from_dict
from kanhw.errors import KanhwError
from kanhw.interface.layered import LayeredGeometry
from kanhw.interface.layered_cycles import LayeredCycleModel

#: The deep contract (``kanhw train --fixed deep``): hidden values grow beyond
#: the target range and the steps pushed down several layers are tiny.
DEEP = {k: getattr(PRESETS["deep"], k) for k in
        ("value_bits", "value_frac", "mul_bits", "guard_bits", "rcp_bits", "slope_bits",
         "slope_frac")}


@dataclass(frozen=True)
class Network:
    dataset: str
    inputs: int
    layers: tuple[int, ...]       # hidden widths, then the outputs
    points: tuple[int, ...]
    alpha: float
    train_args: tuple[str, ...]   # how long ``kanhw train`` trains it
    quality: str                  # what the table reports

    def design(self, lanes: int, units_per_block: tuple[int, ...],
               lane_update: str = "overlapped") -> Design:
        return design_from_dict({
            "arch": {"inputs": self.inputs, "layers": list(self.layers),
                     "points": list(self.points)},
            "hardware": {"lanes": lanes, "units_per_block": list(units_per_block),
                         "lane_update": lane_update},
            "training": {"alpha": self.alpha}, "contract": DEEP})

    @property
    def fastest(self) -> Design:
        return self.design(self.inputs, (1,) * (len(self.layers) - 1))


NETWORKS = {
    "tetra": Network("tetra", 12, (64, 16, 4), (2, 12, 22), 0.3,
                     ("--target-pearson", "0.975", "--validate-every", "10000",
                      "--epochs", "20"), "pearson"),
    "triangle": Network("triangle", 6, (53, 11, 4, 1), (2, 14, 14, 14), 0.3,
                        ("--epochs", "40"), "relative_rmse"),
    "digits": Network("digits", 64, (32, 10), (2, 12), 0.1, ("--epochs", "30"), "accuracy"),
}


def kanhw_train(net: Network, fixed: bool, seed: int) -> dict:
    """One ``kanhw train`` run's JSON summary (one numba thread)."""
    args = [sys.executable, "-m", "kanhw", "train", net.dataset,
            "--layers", ",".join(map(str, net.layers[:-1])),
            "--points", ",".join(map(str, net.points)), "--alpha", str(net.alpha),
            "--seed", str(seed), "--quiet", "--json", *net.train_args]
    if fixed:
        args += ["--fixed", "deep"]
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    out = subprocess.run(args, check=False, capture_output=True, text=True, env=env)
    if out.returncode:
        sys.exit(f"layered_table: {' '.join(args[2:])} failed: {out.stderr.strip()[-300:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def quality(net: Network, summary: dict) -> str:
    if net.quality == "accuracy":
        return f"accuracy {summary['validation_accuracy']:.4f}"
    if net.quality == "relative_rmse":
        return f"relative RMSE {100 * max(summary['validation_relative_rmse']):.2f} %"
    return f"Pearson >= {min(summary['validation_pearson']):.4f} (all outputs)"


def shape(d: Design) -> str:
    return f"upb {list(d.units_per_block)}, lanes {d.lanes}, {d.lane_update} update"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("networks", nargs="*", default=list(NETWORKS), choices=list(NETWORKS))
    ap.add_argument("--board", default="ulx3s-85f")
    ap.add_argument("--mhz", action="append", default=[], metavar="NAME=MHZ",
                    help="a real build's Fmax for a network (default: the board's clock)")
    ap.add_argument("--shape", action="append", default=[], metavar="NAME=L:U1,U2,..[:MODE]",
                    help="skip the search: lanes L, units per block U1,U2,... and the "
                         "lane_update (overlapped or sequential)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    board = get_board(args.board)
    mhz = {k: float(v) for k, v in (s.split("=", 1) for s in args.mhz)}
    fixed_shape = {}
    for s in args.shape:
        name, spec = s.split("=", 1)
        lanes, per, *mode = spec.split(":")
        fixed_shape[name] = (int(lanes), tuple(int(u) for u in per.split(",")), *mode)

    rows = []
    for name in args.networks:
        net = NETWORKS[name]
        if name in fixed_shape:
            d = net.design(*fixed_shape[name])
            est = estimate(board, d)
        else:
            print(f"{name}: fitting from {shape(net.fastest)} on {board.name} ...", flush=True)
            d, est = fit_layered(board, net.fastest,
                                 progress=lambda msg: print(f"  {msg}", flush=True))
        if d is None:
            print(f"{name}: no shape fits {board.name}", flush=True)
            continue
        cyc = LayeredCycleModel(LayeredGeometry(d))
        clock = mhz.get(name, board.default_hz / 1e6)
        rps = clock * 1e6 / cyc.per_record
        print(f"{name}: {shape(d)}: {cyc.per_record} cycles a training record; "
              f"training the fixed-point and the float reference ...", flush=True)
        fx = kanhw_train(net, True, args.seed)
        fl = kanhw_train(net, False, args.seed)
        fabric = fx["records"] / rps
        rows.append({
            "network": f"{name} {net.inputs} -> {' -> '.join(map(str, net.layers))}",
            "shape": shape(d),
            "lut": f"{est.needed['lut']:,} ({100 * est.needed['lut'] / est.available['lut']:.0f} %)",
            "dsp": f"{est.needed['dsp']}/{est.available['dsp']}",
            "cycles": f"{cyc.per_record} / {cyc.per_record_frozen}",
            "clock": f"{clock:.1f} MHz" + (" (given)" if name in mhz else " (design clock)"),
            "rps": f"{rps:,.0f}",
            "records": f"{fx['records']:,}",
            "quality": quality(net, fx),
            "fabric": f"{fabric:.2f} s",
            "cpu_fixed": f"{fx['train_seconds']:.2f} s",
            "cpu_float": f"{fl['train_seconds']:.2f} s ({quality(net, fl)}, "
                         f"{fl['records']:,} records)",
            "ratio": f"{fl['train_seconds'] / fabric:.2f}x",
        })
    heads = {"network": "network", "shape": "shape on " + board.name, "lut": "LUT (model)",
             "dsp": "DSP (model)", "cycles": "cycles/record train / frozen", "clock": "clock",
             "rps": "records/s", "records": "records (fixed point)", "quality": "validation",
             "fabric": "fabric time", "cpu_fixed": "CPU fixed point, 1 core",
             "cpu_float": "CPU float, 1 core", "ratio": "CPU float / fabric"}
    print()
    print("| " + " | ".join(heads.values()) + " |")
    print("|" + "---|" * len(heads))
    for r in rows:
        print("| " + " | ".join(r[k] for k in heads) + " |")


if __name__ == "__main__":
    try:
        main()
    except KanhwError as exc:
        sys.exit(f"layered_table: {exc}")
