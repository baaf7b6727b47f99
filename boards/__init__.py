"""Board support and builds (installed as ``kanhw.boards``): one module per
board on top of amaranth-boards, the UART link gateware, clocking, the
toolchain runner and the resource model that proposes designs that fit."""

from __future__ import annotations

from kanhw.errors import ConfigError

from . import icebreaker, orangecrab, ulx3s
from .board import Board

BOARDS: dict[str, Board] = {b.name: b for b in (
    icebreaker.BOARD,
    ulx3s.board("85F"), ulx3s.board("45F"), ulx3s.board("25F"), ulx3s.board("12F"),
    orangecrab.board("85F"), orangecrab.board("25F"),
)}
ALIASES = {"ulx3s": "ulx3s-85f", "orangecrab": "orangecrab-85f"}


def get_board(name: str) -> Board:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in BOARDS:
        raise ConfigError(f"unknown board {name!r}; supported: "
                          f"{', '.join(sorted(BOARDS))} (aliases: {', '.join(ALIASES)})")
    return BOARDS[key]
