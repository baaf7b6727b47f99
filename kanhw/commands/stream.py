"""``kanhw stream``: train a device (real, simulated or soft) by streaming
records to it from the host, with validation, progress and checkpoints.

The command parses its options into a design and a
:class:`kanhw.host.trainer.StreamTrainer`, which does the work.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError
from . import options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stream", help="train a device by streaming records from the host",
                       description="Map the dataset to device format, load the initial tables, "
                                   "stream training records in frames, validate in frozen "
                                   "mode, read the tables back and checkpoint them. The data "
                                   "and training options are kanhw train's.")
    groups = options.add_shared(p)
    dev = p.add_argument_group("device")
    dev.add_argument("--transport", required=True,
                     help="serial:PORT[@BAUD] (a board), sim (the simulated board, "
                          "Verilator) or soft (the fixed-point reference behind the protocol)")
    dev.add_argument("--config", metavar="ARCH.toml",
                     help="the design file (required for serial: the design the board was "
                          "built from); without it, soft and sim derive the design from "
                          "--addends/--points/--lanes/--alpha and the dataset's recipe")
    groups["architecture"].add_argument(
        "--lanes", type=int, metavar="L",
        help="without --config: inner functions each block evaluates per cycle "
             "(default: the number of inputs)")
    dev.add_argument("--board", help="board (for the serial transport's default baud rate)")
    dev.add_argument("--faults", metavar="SPEC",
                     help="inject link faults at rates per byte, both ways: "
                          "flip=R,drop=R,dup=R,delay=R (or all=R); for testing a link")
    dev.add_argument("--fault-seed", type=int, default=0, metavar="S",
                     help="seed of the injected faults (default 0)")
    groups["output"].add_argument(
        "--checkpoint", metavar="PATH",
        help="write the tables after every epoch; resume from PATH if it exists")
    p.set_defaults(run=run)


def design_for(args: argparse.Namespace, data, r):
    """The design file's design, or one derived from the options and the
    dataset's recipe ``r`` (the soft and sim transports build any design)."""
    from ..design import design_from_dict, load_design
    given = [f"--{n}" for n in ("addends", "points", "lanes", "alpha")
             if getattr(args, n) is not None]
    if args.config:
        if given:
            raise ConfigError(f"--config fixes the design; drop {'/'.join(given)}")
        return load_design(args.config)
    if args.transport.startswith("serial"):
        raise ConfigError("--transport serial needs --config: the design the board's "
                          "bitstream was built from")
    options.check_counts(args, ("lanes",))
    two_layer = len(r.hidden) == 1
    if args.addends is None and not two_layer:
        raise ConfigError(f"the recipe of {data.name} is a {len(r.hidden) + 1}-layer KAN; the "
                          "hardware design has two layers: give --addends (or --config)")
    pts = options.points(args) or (list(r.points) if two_layer else [5, 22])
    doc = {"arch": {"inputs": data.X.shape[1], "addends": args.addends or r.hidden[0],
                    "points": pts},
           "training": {"alpha": args.alpha if args.alpha is not None else r.alpha,
                        "seed": args.seed}}
    if args.lanes is not None:
        doc["hardware"] = {"lanes": args.lanes}
    return design_from_dict(doc)


def run(args: argparse.Namespace) -> int:
    from .. import classes, persist
    from ..datasets import recipe_of
    from ..host.trainer import StreamTrainer
    from ..multilevel import parse_schedule
    from ..progress import EpochBars

    data = options.load_data(args)
    recipe = recipe_of(data)
    design = design_for(args, data, recipe)
    schedule = parse_schedule(args.multilevel, design.arch.n_layers) if args.multilevel \
        else None
    if schedule and args.epochs:
        raise ConfigError("the multilevel schedule sets the epochs of every level; "
                          "drop --epochs")
    epochs = args.epochs or recipe.epochs

    def log(msg: str) -> None:
        if not args.quiet:
            print(f"kanhw stream: {msg}", file=sys.stderr, flush=True)

    from ..host.faults import parse_faults
    faults = parse_faults(args.faults) if args.faults else None
    init = persist.load(args.init) if args.init else None
    # a serial link without a baud rate runs at the board's
    baud = None
    if args.board:
        from ..boards import get_board
        baud = get_board(args.board).baud
    trainer = StreamTrainer(design, args.transport, baud, epochs=epochs,
                            validate_every=args.validate_every,
                            target_pearson=args.target_pearson, seed=args.seed,
                            schedule=schedule, checkpoint=args.checkpoint, init=init,
                            progress=EpochBars(quiet=args.quiet), log=log, quiet=args.quiet,
                            faults=faults, fault_seed=args.fault_seed)
    if args.init:
        log(f"initial tables from {args.init}")
    model, summary = trainer.run(data)
    if args.save:
        persist.save(model, args.save)
    print(f"{args.transport}: {summary['records']:,} records in {summary['seconds']:.1f} s "
          f"({summary['records_per_s']:,.0f} records/s); validation pearson "
          f"{summary['validation_pearson']}")
    if "classification" in summary:
        print("\n".join(classes.format_report(summary["classification"])))
    options.print_counters(summary["counters"])
    if args.json:
        options.print_json(summary)
    return 0
