"""``kanhw generate``: Verilog, manifest and resource estimate of a design."""

from __future__ import annotations

import argparse
import json
import os
import time

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate the Verilog training core of a design",
                       description="Write <top>.v (the training core and its block module), "
                                   "manifest.json (parameters, ports, memory map, cycles per "
                                   "record) and resources.txt for the design in ARCH.toml.")
    p.add_argument("--config", metavar="ARCH.toml", help="the design file")
    p.add_argument("-o", "--output", metavar="DIR", help="output folder")
    p.add_argument("--top", default="kanhw_core", help="top module name (default kanhw_core)")
    p.add_argument("--example", nargs="?", const="det4", metavar="NAME",
                   help="print a commented example design file and exit: det4 (the "
                        "default; two layers, one output), det4-85f (the det4 shape that "
                        "routes on the ULX3S-85F) or tetra (three layers, four outputs)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..design import EXAMPLES, load_design

    if args.example:
        if args.example not in EXAMPLES:
            raise ConfigError(f"no example {args.example!r}; examples: "
                              f"{', '.join(EXAMPLES)}")
        print(EXAMPLES[args.example], end="")
        return 0
    if not args.config or not args.output:
        raise ConfigError("give --config ARCH.toml and -o DIR (or --example)")
    if not args.top.isidentifier():
        raise ConfigError(f"--top must be a Verilog identifier, got {args.top!r}")
    design = load_design(args.config)
    if design.layered:
        return _generate_layered(args, design)
    from ..interface.cycles import CycleModel
    from ..interface.geometry import Geometry
    from ..rtl_gen.core import TrainingCore
    from ..rtl_gen.emit import to_verilog
    from ..rtl_gen.manifest import manifest

    geo = Geometry(design)
    cyc = CycleModel(geo)
    try:
        os.makedirs(args.output, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {args.output}: {exc.strerror}") from None
    t0 = time.perf_counter()
    text = to_verilog(TrainingCore(geo, shared_blocks=True), geo, args.top)
    vpath = os.path.join(args.output, f"{args.top}.v")
    with open(vpath, "w") as fh:
        fh.write(text)
    man = manifest(design, args.top)
    with open(os.path.join(args.output, "manifest.json"), "w") as fh:
        json.dump(man, fh, indent=2)
    res = man["resources"]
    lines = [
        f"design: {design.arch.describe()}, {design.lanes} lane(s), {geo.steps} step(s)"
        + (f", {geo.blocks} blocks of {geo.addends_per_block} addends"
           if geo.addends_per_block > 1 else ""),
        (f"cycles per record: {cyc.per_record} training, "
        f"{cyc.per_record_frozen} frozen; a stretch stalls its record "
        f"{cyc.STRETCH_BASE} + {cyc.stretch_service} cycles per block that "
        "stretches (with shared blocks, as the outer engines' schedule allows)"),
        (f"multipliers: {res['multipliers']['total']} ({res['multipliers']['per_block']} per "
        "block; " + ", ".join(f"{m['count']} x {m['widths'][0]}x{m['widths'][1]}"
                              for m in res["multipliers"]["detail"]) + ")"),
        (f"memories: {res['memories']['total']} ({res['memories']['per_block']} per block; "
        f"{res['memories']['total_bits'] / 1024:.1f} kbit in all)"),
    ]
    with open(os.path.join(args.output, "resources.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n" + res["note"] + "\n")
    for line in lines:
        print(line)
    print(f"wrote {vpath}, manifest.json, resources.txt in {time.perf_counter() - t0:.1f} s")
    return 0


def _generate_layered(args: argparse.Namespace, design) -> int:
    from ..interface.layered import LayeredGeometry
    from ..rtl_gen.emit import to_verilog
    from ..rtl_gen.layered.core import LayeredCore
    from ..rtl_gen.manifest import layered_manifest

    geo = LayeredGeometry(design)
    try:
        os.makedirs(args.output, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {args.output}: {exc.strerror}") from None
    t0 = time.perf_counter()
    vpath = os.path.join(args.output, f"{args.top}.v")
    with open(vpath, "w") as fh:
        fh.write(to_verilog(LayeredCore(geo, shared_blocks=True), geo, args.top))
    man = layered_manifest(design, args.top)
    with open(os.path.join(args.output, "manifest.json"), "w") as fh:
        json.dump(man, fh, indent=2)
    res = man["resources"]
    t = man["timing"]
    lines = [f"design: {design.arch.describe()}, layered core, {design.lanes} lane(s)",
             *(f"stage {s['stage']}: {s['blocks']} blocks of {s['units_per_block']} units, "
               f"{s['multipliers_per_block']} multipliers and {s['memories_per_block']} "
               "memories each" for s in res["stages"]),
             (f"cycles per record: {t['cycles_per_record']} training, "
             f"{t['cycles_per_record_frozen']} frozen (a stretch stalls its record "
             f"{t['stretch_service_cycles']} + 2 cycles when the unit is free)"),
             (f"multipliers: {res['multipliers']['total']}; memories: "
             f"{res['memories']['total']} ({res['memories']['total_bits'] / 1024:.1f} kbit)")]
    with open(os.path.join(args.output, "resources.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n" + res["note"] + "\n")
    for line in lines:
        print(line)
    print(f"wrote {vpath}, manifest.json, resources.txt in {time.perf_counter() - t0:.1f} s")
    return 0
