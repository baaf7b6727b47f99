"""One processing block under Verilator, alone: nanoseconds a clock cycle of
the verilated block model, driven from a C++ loop (no cocotb, no
hierarchical wrapper), with the emitted Verilog as it is and with its
concatenations spelled out bit by bit as Yosys writes them.

    python bench/block_sim.py                       # the det4 example's block (16 lanes)
    python bench/block_sim.py --design det4-85f --cycles 2000000

The block sees a record every 21 cycles (the det4 example's steady rate)
with random coordinates and steps; Verilator evaluates every register of
the block on every clock edge whether a lane is busy or not, so the figure
hardly depends on the inputs. The difference between this figure and the
whole core's (``bench/sim_speed.py``, per block and cycle) is what the
hierarchical wrapper, the core around the blocks and cocotb cost.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from amaranth.back import verilog

from kanhw.design import EXAMPLES, design_from_dict
from kanhw.interface.geometry import Geometry
from kanhw.rtl_gen import emit
from kanhw.rtl_gen.block import BLOCK_MODULE, ProcessingBlock
from kanhw.sim import runner

MAIN = r"""
#include "V%(top)s.h"
#include "verilated.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    auto* m = new V%(top)s;
    long cycles = atol(argv[1]);
    unsigned s = 12345;
    auto rnd = [&]() { s = s * 1103515245u + 12345u; return s >> 8; };
    m->rst = 1; m->clk = 0; m->eval();
    for (int i = 0; i < 4; i++) { m->clk = 1; m->eval(); m->clk = 0; m->eval(); }
    m->rst = 0;
    unsigned long seen = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (long c = 0; c < cycles; c++) {
        m->start = c %% 21 == 0; m->train = 1; m->update = c %% 42 == 21;
        if (c %% 21 == 0) {
            %(drive_u)s
            m->e = rnd();
        }
        m->clk = 1; m->eval(); m->clk = 0; m->eval();
        seen += m->done;
    }
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("%%.1f %%lu\n", dt / cycles * 1e9, seen);
    delete m;
}
"""


def _drive_u(width: int) -> str:
    """C++ assigning random bits to the block's ``u`` port of ``width`` bits."""
    if width > 64:
        return f"for (int w = 0; w < {(width + 31) // 32}; w++) m->u[w] = rnd();"
    return "m->u = ((unsigned long)rnd() << 32) | rnd();"


def block_ns(geo: Geometry, text: str, cycles: int, folder: Path) -> float:
    """Build ``text`` (the block module) with the simulation's Verilator
    options and return nanoseconds a cycle."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "block.v").write_text(text)
    (folder / "main.cpp").write_text(MAIN % {"top": BLOCK_MODULE,
                                             "drive_u": _drive_u(geo.n * geo.coord_width)})
    args = [a for a in runner.verilator_args(geo) if a != "--hierarchical"]
    env = {**os.environ, "PATH": runner.verilator_bin() + os.pathsep + os.environ["PATH"]}
    build = subprocess.run(
        ["verilator", "--cc", "--exe", "--build", "-j", "2", *args, "--top-module", BLOCK_MODULE,
         "-MAKEFLAGS", f"OPT_FAST={runner.OPT_FAST} CFG_CXXFLAGS_PCH_I=-include",
         "-Mdir", "obj", "block.v", "main.cpp"],
        cwd=folder, env=env, capture_output=True, text=True, check=False)
    if build.returncode:
        sys.exit(f"block_sim: the Verilator build failed:\n{build.stdout[-2000:]}"
                 f"{build.stderr[-2000:]}")
    run = subprocess.run([str(folder / "obj" / f"V{BLOCK_MODULE}"), str(cycles)],
                         capture_output=True, text=True, check=True)
    return float(run.stdout.split()[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--design", choices=["det4", "det4-85f"], default="det4",
                    help="a two-layer example design")
    ap.add_argument("--cycles", type=int, default=1_000_000)
    args = ap.parse_args()
    if not runner.available("verilator"):
        sys.exit("block_sim: Verilator is not installed")
    geo = Geometry(design_from_dict(tomllib.loads(EXAMPLES[args.design])))
    spelled_out = verilog.convert(ProcessingBlock(geo), name=BLOCK_MODULE, emit_src=False)
    print(f"{args.design}: one block of {geo.lanes} lanes, {geo.addends_per_block} addend(s); "
          f"{args.cycles:,d} cycles")
    print("| Verilog | bytes | ns/cycle |")
    print("|---|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="kanhw-block-sim-") as tmp:
        for label, text in (("as emitted (replications)", emit.compact(spelled_out)),
                            ("bit by bit", spelled_out)):
            ns = block_ns(geo, text, args.cycles, Path(tmp) / label.split()[0])
            print(f"| {label} | {len(text):,d} | {ns:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
