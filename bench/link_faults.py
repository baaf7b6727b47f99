"""Link faults: streaming runs with faults injected into the byte stream,
swept over fault kinds and rates per byte.

    python bench/link_faults.py                      # det4, 2 epochs x 4,000 records
    python bench/link_faults.py --runs 20 --rates 1e-4,1e-3 --kinds flip,drop,dup,delay,all
    python bench/link_faults.py --transport sim --dataset triangle --config tri.toml ...

Every run streams the same training (data, seed, record order) over a
transport wrapped in :class:`kanhw.host.faults.FaultyTransport` with its own
fault seed. Per kind and rate the table counts: runs; runs finished; runs
finished with tables bit-identical to the fault-free run; records trained
twice and records lost (the device's own count of records it executed
against the records the host had answers for, over every run); runs that
ended in one clean ``LinkError`` line; runs that hung (no end within
``--deadline`` seconds).
"""

from __future__ import annotations

import argparse
import threading
import time
import tomllib
from dataclasses import dataclass, field

from kanhw import datasets
from kanhw.design import EXAMPLES, design_from_dict, load_design
from kanhw.host.faults import KINDS
from kanhw.host.trainer import StreamTrainer
from kanhw.interface.protocol import LinkError


@dataclass
class Cell:
    kind: str
    rate: float
    runs: int = 0
    finished: int = 0
    identical: int = 0
    twice: int = 0
    lost: int = 0
    errors: int = 0
    hangs: int = 0
    retried: int = 0
    injected: int = 0
    uncounted: int = 0          # failed runs whose device could not be counted
    messages: list[str] = field(default_factory=list)


def _device_records(trainer: StreamTrainer, summary: dict | None
                    ) -> tuple[int, int, int] | None:
    """(records the device executed, records the host had answers for,
    records of a frame left unanswered), over the run's devices. The soft
    device counts every record it executes; another device (the simulated
    board) by its records counter, read at the end of a finished run; None
    for a failed run on such a device (not counted)."""
    done = acked = open_ = 0
    own = True
    for dev in trainer.devices:
        inner = getattr(dev.t, "inner", dev.t)
        device = getattr(inner, "device", None)
        own = own and device is not None
        done += device.records_total if device is not None else 0
        acked += dev.records_acked
        open_ += dev.records_unacked
    if not own:
        if summary is None:
            return None
        done = summary["counters"]["records"]
    return done, acked, open_


def one_run(design, transport: str, data, epochs: int, rates: dict | None, seed: int,
            deadline: float) -> dict:
    """One streaming run in a thread watched for ``deadline`` seconds."""
    trainer = StreamTrainer(design, transport, epochs=epochs, seed=0, faults=rates,
                            fault_seed=seed)
    out: dict = {}

    def target():
        try:
            out["model"], out["summary"] = trainer.run(data)
        except LinkError as exc:
            out["error"] = str(exc)

    th = threading.Thread(target=target, daemon=True)
    th.start()
    th.join(deadline)
    out["hang"] = th.is_alive()
    out["trainer"] = trainer
    return out


def sweep(design, transport: str, data, epochs: int, kinds: list[str], rates: list[float],
          runs: int, deadline: float = 600.0, first_seed: int = 1) -> tuple[list[Cell], object]:
    """The fault-free run's tables and one :class:`Cell` per kind and rate."""
    ref = one_run(design, transport, data, epochs, None, 0, deadline)
    if "model" not in ref:
        raise SystemExit(f"the fault-free run failed: {ref.get('error', 'hang')}")
    cells = []
    for rate in rates:
        for kind in kinds:
            cell = Cell(kind, rate)
            spec = {k: rate for k in KINDS} if kind == "all" else {kind: rate}
            for r in range(runs):
                res = one_run(design, transport, data, epochs, spec, first_seed + r, deadline)
                cell.runs += 1
                if res["hang"]:
                    cell.hangs += 1
                    continue
                counts = _device_records(res["trainer"], res.get("summary"))
                if counts is None:
                    cell.uncounted += 1
                else:
                    done, acked, open_ = counts
                    cell.twice += max(0, done - acked - open_)
                    cell.lost += max(0, acked - done)
                cell.retried += sum(d.retried for d in res["trainer"].devices)
                cell.injected += sum(sum(getattr(t, "injected", {}).values())
                                     for t in res["trainer"].opened)
                if "error" in res:
                    cell.errors += 1
                    cell.messages.append(res["error"])
                    continue
                cell.finished += 1
                cell.identical += bool(res["model"].equals(ref["model"]))
            cells.append(cell)
    return cells, ref["model"]


def table(cells: list[Cell]) -> str:
    rows = [("| faults | rate / byte | runs | finished | bit-identical | trained twice | lost "
             "| clean errors | hangs | faults injected | frames retried |"),
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        rows.append(f"| {c.kind} | {c.rate:g} | {c.runs} | {c.finished} | {c.identical} | "
                    f"{c.twice} | {c.lost} | {c.errors} | {c.hangs} | {c.injected:,} | "
                    f"{c.retried:,} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="det4")
    ap.add_argument("--config", help="design file (default: the det4 example design)")
    ap.add_argument("--transport", default="soft", help="soft or sim")
    ap.add_argument("--train-records", type=int, default=4000)
    ap.add_argument("--val-records", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--kinds", default="flip,drop,dup,delay,all")
    ap.add_argument("--rates", default="1e-4,1e-3")
    ap.add_argument("--deadline", type=float, default=600.0,
                    help="seconds after which a run counts as hung")
    args = ap.parse_args()
    design = load_design(args.config) if args.config else design_from_dict(tomllib.loads(EXAMPLES["det4"]))
    data = datasets.builtin(args.dataset, seed=0, train=args.train_records, val=args.val_records)
    t0 = time.perf_counter()
    cells, _ = sweep(design, args.transport, data, args.epochs, args.kinds.split(","),
                     [float(r) for r in args.rates.split(",")], args.runs, args.deadline)
    print(f"{args.dataset}, {args.epochs} epochs x {args.train_records:,} records "
          f"(+{args.val_records:,} validation per epoch), transport {args.transport}, "
          f"{time.perf_counter() - t0:.0f} s")
    print(table(cells))
    for c in cells:
        if c.uncounted:
            print(f"  {c.kind} {c.rate:g}: {c.uncounted} failed run(s) not counted for records "
                  "trained twice or lost (the device has no count of its own)")
        for msg in sorted(set(c.messages)):
            print(f"  {c.kind} {c.rate:g}: {msg}")


if __name__ == "__main__":
    main()
