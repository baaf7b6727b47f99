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
    p.add_argument("--example", action="store_true",
                   help="print a commented example design file and exit")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..design import EXAMPLE, load_design

    if args.example:
        print(EXAMPLE, end="")
        return 0
    if not args.config or not args.output:
        raise ConfigError("give --config ARCH.toml and -o DIR (or --example)")
    if not args.top.isidentifier():
        raise ConfigError(f"--top must be a Verilog identifier, got {args.top!r}")
    design = load_design(args.config)
    from ..rtl_gen.core import TrainingCore
    from ..rtl_gen.emit import to_verilog
    from ..rtl_gen.manifest import manifest
    from ..rtl_gen.memmap import Geometry

    geo = Geometry(design)
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
        + (f", {geo.blocks} blocks of {geo.share} addends" if geo.share > 1 else ""),
        (f"cycles per record: {geo.cycles_per_record} training, "
        f"{geo.cycles_per_record_frozen} frozen; a record whose blocks stretch stalls "
        f"{geo.STRETCH_BASE_CYCLES} + {geo.stretch_service_cycles} per stretch"),
        (f"multipliers: {res['multipliers']['total']} ({res['multipliers']['per_block']} per "
        f"block; operands at most {design.contract.mul_bits} x "
        f"{max(design.contract.rcp_bits, design.contract.slope_bits)} bits)"),
        (f"table memories: {res['memories']['total']} "
        f"({res['memories']['total_bits'] / 1024:.1f} kbit of {design.contract.value_bits}-bit "
        "words)"),
        f"flip-flops (estimate): {res['flip_flops_estimate']:,}",
    ]
    with open(os.path.join(args.output, "resources.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n" + res["note"] + "\n")
    for line in lines:
        print(line)
    print(f"wrote {vpath}, manifest.json, resources.txt in {time.perf_counter() - t0:.1f} s")
    return 0
