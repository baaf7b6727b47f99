"""``kanhw program``: load a bitstream into a board with the usual tools."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

from ..errors import ConfigError, KanhwError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("program", help="load a bitstream into a board",
                       description="Program the board with openFPGALoader, iceprog, fujprog "
                                   "or dfu-util, whichever the board uses and is installed.")
    p.add_argument("--board", required=True)
    p.add_argument("bitstream", metavar="BITSTREAM")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..boards import get_board

    board = get_board(args.board)
    if not os.path.exists(args.bitstream):
        raise ConfigError(f"{args.bitstream}: no such bitstream")
    tried = []
    for tool, template in board.programmers:
        exe = shutil.which(tool)
        tried.append(tool)
        if exe:
            cmd = [exe] + [a.replace("{bitstream}", args.bitstream) for a in template]
            print("kanhw program:", " ".join(cmd))
            done = subprocess.run(cmd, check=False)
            if done.returncode != 0:
                raise KanhwError(f"{tool} failed with status {done.returncode}")
            return 0
    raise KanhwError(f"no programmer found for {board.name}: install one of {', '.join(tried)} "
                     "(openFPGALoader and dfu-util are in Debian; iceprog in fpga-icestorm)")
