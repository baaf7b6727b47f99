"""The README's board table: det4-sized designs (n = 16, points 5/22) built
for each board with the largest K the resource model lets fit, with
resources, post-route Fmax, cycles per record, modelled records/s and the
modelled time to validation Pearson 0.97 on det4 (records the fixed-point
reference needs at that K, divided by records/s); with ``--multilevel`` also
the time with that schedule, its coarse levels trained on the same core.

    python bench/board_table.py ulx3s-85f icebreaker [--addends K] [--seeds 2]
    python bench/board_table.py ulx3s-85f --addends 64 --lanes 4 --addends-per-block 8 \
        --router router2 --placer static --multilevel "5,8x1 5,22x19" --seeds 5

Each build is a real Yosys + nextpnr run (a large ECP5 takes tens of
minutes); folders go to build/table/BOARD.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from records_to_target import records_to_target

from kanhw.boards import get_board
from kanhw.boards.fit import estimate
from kanhw.design import design_from_dict

#: iCE40UP5K multipliers are 16 x 16: the narrow contract.
NARROW = {"value_bits": 16, "value_frac": 12, "mul_bits": 16, "guard_bits": 2,
          "rcp_bits": 15, "slope_bits": 16, "slope_frac": 10}


def doc(K: int, lanes: int, family: str, per_block: int = 1) -> dict:
    d = {"arch": {"inputs": 16, "addends": K, "points": [5, 22]},
         "hardware": {"lanes": lanes, "table_ram": "block", "addends_per_block": per_block}}
    if family == "ice40":
        d["contract"] = NARROW
    return d


def largest_fit(board, lanes: int, per_block: int = 1) -> int:
    """Largest K <= 64 the resource model lets fit: the linear model's
    bound, checked (and lowered) against the estimate at that K, which is
    what ``kanhw build`` refuses on."""
    est = estimate(board, design_from_dict(doc(64, lanes, board.family, per_block)))
    K = min(64, est.max_addends())
    while K >= per_block and not estimate(board, design_from_dict(
            doc(K, lanes, board.family, per_block))).fits:
        K -= per_block
    return K


def to_toml(d: dict) -> str:
    out = []
    for sec, t in d.items():
        out.append(f"[{sec}]")
        for k, v in t.items():
            out.append(f"{k} = {json.dumps(v)}")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("boards", nargs="+")
    ap.add_argument("--lanes", type=int, default=1)
    ap.add_argument("--addends", type=int, help="skip the search; build this K")
    ap.add_argument("--addends-per-block", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--router", default="router1", help="nextpnr router (router2 for the 85F)")
    ap.add_argument("--placer", default="heap", help="nextpnr placer (static for the 85F)")
    ap.add_argument("--multilevel", metavar="SCHEDULE",
                    help="also the time to 0.97 with this schedule, e.g. '5,8x1 5,22x19'")
    args = ap.parse_args()
    rows = []
    for name in args.boards:
        board = get_board(name)
        K = args.addends or largest_fit(board, args.lanes, args.addends_per_block)
        if K < 1:
            print(f"| {board.name} | no det4-sized design fits (n = 16, K = 1 exceeds the "
                  "device) |", flush=True)
            continue
        d = doc(K, args.lanes, board.family, args.addends_per_block)
        out = Path("build/table") / board.name
        out.mkdir(parents=True, exist_ok=True)
        cfg = out / "design.toml"
        cfg.write_text(to_toml(d))
        print(f"{board.name}: building K={K}, lanes {args.lanes} ...", file=sys.stderr,
              flush=True)
        r = subprocess.run([sys.executable, "-m", "kanhw", "build", "--board", board.name,
                            "--config", str(cfg), "-o", str(out), "--json",
                            "--router", args.router, "--placer", args.placer],
                           capture_output=True, text=True, check=False)
        if r.returncode not in (0, 1):
            print(f"{board.name}: {r.stderr.strip().splitlines()[-1]}", flush=True)
            continue
        rep = json.loads(r.stdout.strip().splitlines()[-1])
        res = rep["resources"]
        row = {
            "board": board.name, "K": K, "lanes": args.lanes, "addends_per_block": args.addends_per_block,
            "lut": f"{res['lut']['used']:,} / {res['lut']['available']:,}",
            "ff": f"{res['ff']['used']:,}" if "ff" in res else "n/a",
            "dsp": f"{res['dsp']['used']} / {res['dsp']['available']}",
            "bram": f"{res['bram']['used']} / {res['bram']['available']}",
            "fmax": rep["fmax_mhz"], "cycles": rep["cycles_per_record"],
            "records_per_s": rep["records_per_s"],
            "time_to_097": time_to_target(K, args.seeds, rep["records_per_s"]),
        }
        if args.multilevel:
            row["multilevel"] = time_to_target(K, args.seeds, rep["records_per_s"],
                                               args.multilevel)
        rows.append(row)
        print(json.dumps(row), flush=True)
    ml = f" | time to 0.97, multilevel {args.multilevel}" if args.multilevel else ""
    print("| board | K | lanes | LUT | FF | DSP | BRAM | Fmax (MHz) | cycles/record | "
          f"records/s | time to 0.97{ml} |")
    print("|---" * (12 if ml else 11) + "|")
    for r in rows:
        print(f"| {r['board']} | {r['K']} | {r['lanes']} | {r['lut']} | {r['ff']} | {r['dsp']} | "
              f"{r['bram']} | {r['fmax']:.1f} | {r['cycles']} | {r['records_per_s']:,.0f} | "
              f"{r['time_to_097']}" + (f" | {r['multilevel']}" if ml else "") + " |")


def time_to_target(K: int, seeds: int, records_per_s: float, schedule: str | None = None) -> str:
    """Median records to 0.97 over ``seeds`` seeds / records per second."""
    points = [5, 22]
    need = [records_to_target("det4", s, K, points, 0.2, 0.97, 10_000, 20, "hw", schedule)[0]
            for s in range(seeds)]
    if not need or None in need:
        return "not reached at this K"
    return f"{np.median(need) / records_per_s:.2f} s"


if __name__ == "__main__":
    main()
