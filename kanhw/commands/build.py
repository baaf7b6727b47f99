"""``kanhw build``: bitstream, resources and Fmax of a design for a board."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import ConfigError

#: Exit status when the bitstream was built but misses the clock.
EXIT_TIMING = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="synthesise, place and route a design for a board",
                       description="Build a bitstream with Yosys and nextpnr (the YoWASP wheels, "
                                   "or the tools named by YOSYS, NEXTPNR_ICE40, ICEPACK, "
                                   "NEXTPNR_ECP5, ECPPACK) and report resources, post-route "
                                   "Fmax and the modelled training throughput.")
    p.add_argument("--board", required=True, help="icebreaker, ulx3s[-85f|-45f|-25f|-12f], "
                                                   "orangecrab[-85f|-25f]")
    p.add_argument("--config", required=True, metavar="ARCH.toml")
    p.add_argument("-o", "--output", metavar="DIR", help="build folder (default build/BOARD)")
    p.add_argument("--clock", type=float, metavar="MHZ", help="design clock (default: the "
                                                               "board's)")
    p.add_argument("--router", default="router1", metavar="ROUTER",
                   help="nextpnr router: router1 (default) or router2, which converges on "
                        "congested designs such as a large core on the ECP5-85F")
    p.add_argument("--placer", default="heap", metavar="PLACER",
                   help="nextpnr placer: heap (default) or static, which spreads a dense "
                        "design more evenly (the det4 core on the ECP5-85F routes with "
                        "static and router2)")
    p.add_argument("--seed", type=int, help="nextpnr placement seed")
    p.add_argument("--fit", action="store_true",
                   help="only report the resource model's estimate (seconds, no place and "
                        "route)")
    p.add_argument("--force", action="store_true",
                   help="place and route even when the resource model says it will not fit")
    p.add_argument("--json", action="store_true", help="end stdout with a JSON report")
    p.set_defaults(run=run)


def _print_estimate(est) -> None:
    for kind, need in est.needed.items():
        avail = est.available.get(kind, 0)
        print(f"{kind:5s} {need:>7,d} / {avail:>7,d} ({100 * need / max(1, avail):.1f} %) "
              f"modelled, {est.per_block[kind]:,.0f} per block")
    for note in est.notes:
        print(f"resource model: {note}")


def run(args: argparse.Namespace) -> int:
    from ..boards import get_board
    from ..boards.build import BuildFailed, build, check_pnr_options
    from ..boards.fit import estimate, propose
    from ..design import load_design

    check_pnr_options(args.router, args.placer)

    board = get_board(args.board)
    design = load_design(args.config)
    if args.clock is not None and not 1 <= args.clock <= 500:
        raise ConfigError(f"--clock must lie in 1..500 MHz, got {args.clock}")
    out = args.output or f"build/{board.name}"
    print("kanhw build: resource model (Yosys on one block and on the rest)", file=sys.stderr,
          flush=True)
    est = estimate(board, design)

    def searching(msg: str) -> None:
        print(f"kanhw build: searching a shape that fits: {msg}", file=sys.stderr, flush=True)

    if args.fit:
        _print_estimate(est)
        verdict = "fits" if est.fits else f"does not fit ({', '.join(est.over)}): " \
            + propose(board, design, est, searching)
        print(f"{_shape(design)} on {board.name}: {verdict}")
        if args.json:
            print(json.dumps(est.to_dict()))
        return 0 if est.fits else 2
    if not est.fits and not args.force:
        worst = est.over[0]
        raise BuildFailed(
            f"the design ({_shape(design)}) does not fit "
            f"{board.name}: the resource model needs {est.needed[worst]:,d} {worst.upper()}, "
            f"past the {est.usable(worst):,d} that place ({100 * est.limit[worst]:.0f} % of "
            f"{est.available[worst]:,d}); fits: {propose(board, design, est, searching)} "
            "(--force builds anyway)")
    rep = build(board, design, out, args.clock * 1e6 if args.clock else None,
                log=lambda s: print(f"kanhw build: {s}", file=sys.stderr, flush=True),
                router=args.router, seed=args.seed, placer=args.placer)
    rep.extra["modelled"] = est.to_dict()
    for kind, r in rep.resources.items():
        print(f"{kind:5s} {r['used']:>7,d} / {r['available']:>7,d} "
              f"({100 * r['used'] / max(1, r['available']):.1f} %); modelled "
              f"{est.needed.get(kind, 0):,d}")
    print(f"Fmax {rep.fmax_mhz:.1f} MHz (clock {rep.clock_target_mhz:.1f} MHz); "
          f"{rep.cycles_per_record} cycles per record -> {rep.records_per_s:,.0f} records/s "
          f"modelled; the UART at {rep.uart_baud:,d} baud carries {rep.uart_records_per_s:,.0f} "
          "records/s")
    for note in est.notes + rep.notes:
        print(f"kanhw build: {note}", file=sys.stderr)
    print(f"bitstream {rep.bitstream} ({rep.seconds:.0f} s)")
    if rep.suggestion:
        print(f"kanhw build: {rep.suggestion}", file=sys.stderr)
    if args.json:
        print(json.dumps(rep.to_dict()))
    return 0 if rep.meets_timing else EXIT_TIMING


def _shape(design) -> str:
    """The design in a few words: addends (widths and units per block for a
    layered core) and lanes."""
    if design.layered:
        widths = " -> ".join(map(str, design.arch.sizes))
        units = ", ".join(map(str, design.units_per_block))
        return f"{widths}, units per block {units}, {design.lanes} lane(s)"
    return f"{design.addends} addends, {design.lanes} lane(s)"
