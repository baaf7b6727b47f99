"""Records the bit-exact fixed-point trainer needs to reach a validation
Pearson, measured finely (validation every ``--every`` records), for the
board table's modelled time to target (records needed / records per second).

    python bench/records_to_target.py det4 --seeds 5
    python bench/records_to_target.py det4 --addends 32 --alpha 0.3 --seeds 5
    python bench/records_to_target.py det4 --addends 64 --late-update

``--late-update`` measures a variant the hardware does not build: each
record's update lands one record late (record r + 1's forward pass sees the
tables before record r's update), which is what a second record in flight
per block would compute; it prices that design in records.

The fixed-point trainer is exactly what the generated core computes, so these
records are the ones the device needs; the order is the same seeded shuffle
the epoch driver uses. Prints one row per seed and the median.
"""

from __future__ import annotations

import argparse

import numpy as np
from numba import njit

from kanhw import datasets, metrics
from kanhw import nk_fixed as nkx
from kanhw.arch import Architecture, build_architecture
from kanhw.contract import PRESETS
from kanhw.design import resolve_contract
from kanhw.fixed_model import FixedBackend, FixedKAN
from kanhw.multilevel import parse_schedule, refine_fixed


@njit(cache=True)
def train_late(U, Yq, order, sizes, points, fbase, nbase, abase, values, lo, hi, rcp, c,
               counts, pred_out, resid_out, stretch_out, slog):
    """``nk_fixed.train_records`` with each record's update applied after the
    next record's forward pass (the last one at the end of the call)."""
    n_funcs, n_units = fbase[fbase.size - 1], abase[abase.size - 1]
    L = points.size
    out0 = abase[L]
    eb = min(c[nkx.K_VBITS], c[nkx.K_MBITS])
    act = np.zeros(n_units, dtype=np.int64)
    # two sets of per-record state: this record's, and the one awaiting its update
    delta = np.zeros((2, n_units), dtype=np.int64)
    node = np.empty((2, n_funcs), dtype=np.int64)
    frac = np.empty((2, n_funcs), dtype=np.int64)
    slope = np.zeros((2, n_funcs), dtype=np.int64)
    for r in range(order.size):
        cur, prev = r % 2, (r + 1) % 2
        before = counts[nkx.C_STRETCH]
        nkx.forward(U[order[r]], act, sizes, points, fbase, nbase, abase, values, lo, hi, rcp,
                    c, counts, node[cur], frac[cur], slope[cur], True, slog)
        stretch_out[r] = counts[nkx.C_STRETCH] - before
        if r > 0:
            nkx.backward(sizes, points, fbase, abase, values, node[prev], frac[prev],
                         slope[prev], delta[prev], c, counts)
        for q in range(sizes[L]):
            res = nkx.sat(Yq[order[r], q] - act[out0 + q], c[nkx.K_VBITS], counts)
            pred_out[r, q], resid_out[r, q] = act[out0 + q], res
            delta[cur, out0 + q] = nkx.sat(nkx.rshift_round(res * c[nkx.K_MULT], c[nkx.K_SHIFT]),
                                           eb, counts)
        nkx.close_record(counts)
    if order.size:
        last = (order.size - 1) % 2
        nkx.backward(sizes, points, fbase, abase, values, node[last], frac[last], slope[last],
                     delta[last], c, counts)


def records_to_target(dataset: str, seed: int, addends: int | None, points: list[int] | None,
                      alpha: float, target: float, every: int, max_epochs: int,
                      preset: str, schedule: str | None = None) -> tuple[int | None, float]:
    """Records until every output's validation Pearson reaches ``target``
    (None if not within ``max_epochs``), and the best Pearson seen. With a
    multilevel ``schedule`` the grids are refined after each level's epochs
    (the last level then trains until ``max_epochs`` in all)."""
    recipe = datasets.BUILTINS[dataset].recipe
    data = datasets.builtin(dataset, seed=seed)
    hidden = [addends] if addends else recipe["hidden"]
    arch = build_architecture(data.X.shape[1], data.y.shape[1], None, hidden,
                              points or recipe["points"])
    levels = parse_schedule(schedule, arch.n_layers) if schedule else []
    if levels and levels[-1].points != arch.points:
        raise SystemExit(f"the schedule's last level must be the grid {list(arch.points)}")
    # one contract for every level: the finest grid's (as the device's design)
    contract = resolve_contract(PRESETS[preset], arch, alpha)
    first = Architecture(arch.sizes, levels[0].points) if levels else arch
    model = FixedKAN.initialise(first, contract, data.X.min(0), data.X.max(0),
                                data.y.min(0), data.y.max(0), seed=seed)
    backend = FixedBackend(model)
    U, Yq = backend._inputs(data.X), model.map_targets(data.y)
    Uv = backend._inputs(data.X_val)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    n = data.X.shape[0]
    done, best = 0, -1.0
    refine_at = np.cumsum([lv.epochs for lv in levels[:-1]]).tolist()
    for epoch in range(max_epochs):
        if epoch in refine_at:
            model = refine_fixed(model, levels[refine_at.index(epoch) + 1].points)
            backend = FixedBackend(model)
        order = rng.permutation(n)
        for s in range(0, n, every):
            part = order[s:s + every]
            backend.train_mapped(U, Yq, part)
            done += part.size
            pred = model.unmap_outputs(backend.predict_mapped(Uv)[0])
            p = min(metrics.summary(pred, data.y_val)["pearson"])
            best = max(best, p)
            if p >= target:
                return done, best
    return None, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--addends", type=int)
    ap.add_argument("--points", help="INNER,OUTER")
    ap.add_argument("--alpha", type=float)
    ap.add_argument("--target", type=float, default=0.97)
    ap.add_argument("--every", type=int, default=10_000)
    ap.add_argument("--max-epochs", type=int, default=20)
    ap.add_argument("--preset", default="hw")
    ap.add_argument("--multilevel", metavar="SCHEDULE",
                    help="coarse grids first, e.g. '5,8x2 5,22x18' (the last level the grid)")
    ap.add_argument("--late-update", action="store_true",
                    help="apply each record's update after the next record's forward pass")
    args = ap.parse_args()
    if args.late_update:
        nkx.train_records = train_late      # FixedBackend calls it through the module
    recipe = datasets.BUILTINS[args.dataset].recipe
    alpha = args.alpha or recipe["alpha"]
    points = [int(p) for p in args.points.split(",")] if args.points else None
    print(f"{args.dataset}: K={args.addends or recipe['hidden']}, points "
          f"{points or recipe['points']}, alpha {alpha}, target {args.target}, "
          f"validation every {args.every} records"
          + (", updates a record late" if args.late_update else "")
          + (f", multilevel {args.multilevel}" if args.multilevel else ""))
    print("| seed | records to target | best validation Pearson |")
    print("|---|---|---|")
    got = []
    for seed in range(args.seeds):
        r, best = records_to_target(args.dataset, seed, args.addends, points, alpha,
                                    args.target, args.every, args.max_epochs, args.preset,
                                    args.multilevel)
        got.append(r if r is not None else np.inf)
        print(f"| {seed} | {r if r is not None else 'not reached'} | {best:.4f} |", flush=True)
    print(f"median records to {args.target}: {np.median(got):.0f}")


if __name__ == "__main__":
    main()
