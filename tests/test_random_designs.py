"""Random designs against the reference: every CI run draws a new sweep of
eight (single-block, K = 1 and frozen designs among them) and checks each
bit for bit and cycle for cycle in Amaranth's simulator. The seed is in the
report header; replay a failure with
``KANHW_SWEEP_SEED=S python -m pytest tests/test_random_designs.py`` or
``python bench/random_designs.py --seed S --first I --designs 1``."""

import pytest
from conftest import SWEEP_SEED

from kanhw.sim.random_designs import FROZEN_EVERY, SHAPES, check_design, random_design

DESIGNS = 8


@pytest.mark.parametrize("index", range(DESIGNS))
def test_random_design_is_bit_and_cycle_exact(index):
    row = check_design(SWEEP_SEED, index, 200)
    replay = (f"seed {SWEEP_SEED}, design {index} ({row.describe()}): replay with "
              f"python bench/random_designs.py --seed {SWEEP_SEED} --first {index} --designs 1")
    assert row.mismatches == [], replay + "\n" + "\n".join(map(str, row.mismatches))
    assert row.cycles == row.cycles_model, replay


def test_the_sweep_covers_single_blocks_one_addend_and_frozen_runs():
    specs = [random_design(SWEEP_SEED, i)[0] for i in range(DESIGNS)]
    assert any(s["arch"]["addends"] == 1 for s in specs)
    assert any(s["arch"]["addends"] > 1 and
               s["hardware"]["addends_per_block"] == s["arch"]["addends"] for s in specs)
    assert "one-addend" in SHAPES and DESIGNS > FROZEN_EVERY


def test_a_design_is_a_function_of_seed_and_index():
    assert random_design(5, 3)[0] == random_design(5, 3)[0]
    assert random_design(5, 3)[0] != random_design(6, 3)[0]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_manifest_counts_what_yosys_reads(index):
    """The manifest's multipliers and memories are the cells Yosys finds in
    the emitted Verilog (three designs of this run's sweep)."""
    from kanhw.boards.fit import instantiated_cells
    from kanhw.interface.geometry import Geometry
    from kanhw.rtl_gen.manifest import resource_counts
    spec, design = random_design(SWEEP_SEED, index)
    res = resource_counts(Geometry(design))
    got = instantiated_cells(design)
    assert got == {"multipliers": res["multipliers"]["total"],
                   "memories": res["memories"]["total"]}, (SWEEP_SEED, index, spec)


def test_manifest_counts_a_lut_ram_design_with_constant_port_bits():
    """Sweep 2026's design 32 (LUT-RAM tables, lane stages 4): the count
    once stopped in Yosys on its RAM port's constant address bit."""
    from kanhw.boards.fit import instantiated_cells
    from kanhw.interface.geometry import Geometry
    from kanhw.rtl_gen.manifest import resource_counts
    design = random_design(2026, 32)[1]
    res = resource_counts(Geometry(design))
    assert instantiated_cells(design) == {"multipliers": res["multipliers"]["total"],
                                          "memories": res["memories"]["total"]}
