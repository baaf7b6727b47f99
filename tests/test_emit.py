"""Verilog emission: runs of one bit in a concatenation are written as
replications, and Yosys reads the compacted Verilog as the same netlist."""

import subprocess
from pathlib import Path

import pytest
from hw_designs import SPECS
from test_layered_core import SHAPES

from kanhw.boards.toolchain import yosys
from kanhw.design import design_from_dict
from kanhw.interface import geometry_of
from kanhw.rtl_gen import emit
from kanhw.rtl_gen.cores import training_core


@pytest.mark.parametrize("text, expected", [
    ("assign a = { x [40], x [40], x [40], x [40:10] };",
     "assign a = { {3{x [40]}}, x [40:10] };"),
    # a run anywhere in the list, and two runs of different bits
    ("{ 1'h0, y [3], y [3], z, z }", "{ 1'h0, {2{y [3]}}, {2{z}} }"),
    # the same bit apart is not a run; a single item stays as it is
    ("{ a, b, a }", "{ a, b, a }"),
    ("{ \\x$1 [2], \\x$1 [2] }", "{ {2{\\x$1 [2]}} }"),
    # only the innermost concatenations are rewritten
    ("{ p, { q, q }, p }", "{ p, { {2{q}} }, p }"),
    ("assign b = c ? d : e;", "assign b = c ? d : e;"),
])
def test_compact_writes_runs_of_one_item_as_replications(text, expected):
    assert emit.compact(text) == expected


def _netlist(text: str, tmp: Path) -> str:
    """The design as Yosys reads it (processes and unused wires removed,
    source locations dropped)."""
    tmp.mkdir()
    (tmp / "core.v").write_text(text)
    script = ("read_verilog core.v; hierarchy -top top; proc; opt_clean; "
              "attrmap -remove src; write_rtlil core.il")
    subprocess.run([yosys(), "-q", "-p", script], cwd=tmp, check=True, capture_output=True)
    return (tmp / "core.il").read_text()


@pytest.mark.parametrize("spec", [SPECS["n5_k4_share2_stages5"], SHAPES["n4_h5_h3_o2_ragged"]],
                         ids=["two-layer", "layered"])
def test_compacted_verilog_is_the_same_netlist(spec, tmp_path, monkeypatch):
    geo = geometry_of(design_from_dict(spec))
    compacted = emit.to_verilog(training_core(geo, shared_blocks=True), geo, "top")
    monkeypatch.setattr(emit, "compact", lambda text: text)
    spelled_out = emit.to_verilog(training_core(geo, shared_blocks=True), geo, "top")
    assert "{2{" in compacted and len(compacted) < len(spelled_out)
    assert _netlist(compacted, tmp_path / "a") == _netlist(spelled_out, tmp_path / "b")
