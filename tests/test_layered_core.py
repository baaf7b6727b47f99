"""The layered core (KANs of any depth and any number of outputs) bit for bit
and cycle for cycle against the fixed-point reference: hand-picked shapes in
Amaranth's simulator, training and frozen, and this run's random layered
designs (the seed is in pytest's header) over 1,000 records each under
Verilator."""

import pytest
from conftest import SWEEP_SEED

from kanhw.design import design_from_dict
from kanhw.sim import runner
from kanhw.sim.compare import compare, expected_cycles
from kanhw.sim.random_designs import check_design
from kanhw.sim.vectors import make_vectors

SHAPES = {
    # one hidden layer, three outputs (a multi-output two-layer KAN)
    "n4_h5_o3": {"arch": {"inputs": 4, "layers": [5, 3], "points": [4, 6]},
                 "hardware": {"lanes": 2}},
    # three layers, blocks serving two units, a padded lane step
    "n5_h4_h3_o2": {"arch": {"inputs": 5, "layers": [4, 3, 2], "points": [3, 5, 6]},
                    "hardware": {"lanes": 2, "units_per_block": [2, 3]}},
    # blocks serving 2 units of 5 and of 3: each stage's last block serves one
    "n4_h5_h3_o2_ragged": {"arch": {"inputs": 4, "layers": [5, 3, 2], "points": [3, 5, 6]},
                           "hardware": {"lanes": 2, "units_per_block": [2, 2]}},
    # the two-layer block's lanes with the table data registered twice
    # (lane_stages 5), a first-layer update of four slots a block
    "n4_h4_h2_o2_stages5": {"arch": {"inputs": 4, "layers": [4, 2, 2], "points": [3, 4, 5]},
                            "hardware": {"lanes": 2, "units_per_block": [2, 1],
                                         "lane_stages": 5}},
    # the first-layer update alone, after the engines (one multiplier a
    # lane, no cache), through lane_stages 4
    "n5_h4_h2_o2_sequential": {"arch": {"inputs": 5, "layers": [4, 2, 2], "points": [3, 4, 5]},
                               "hardware": {"lanes": 2, "units_per_block": [3, 2],
                                            "lane_stages": 4, "lane_update": "sequential"}},
    # stage 1's backward pass (8 units x 6 functions) outlasts the next
    # record's lanes: that record's engine waits for it; the lanes' update
    # waits for the units' steps (6 functions a unit against 2 lane steps)
    "n4_h8_h6_o1_backward_bound": {"arch": {"inputs": 4, "layers": [8, 6, 1],
                                            "points": [3, 4, 5]},
                                   "hardware": {"lanes": 2, "units_per_block": [8, 2]}},
    # a two-layer, one-output KAN (the two-layer core's shape) on the
    # layered core: blocks of two units, the last serving one
    "n4_h5_o1_core_layered": {"arch": {"inputs": 4, "layers": [5, 1], "points": [4, 6]},
                              "hardware": {"lanes": 2, "units_per_block": [2],
                                           "core": "layered"}},
    # a block a unit, one output: one slot a block, whose map takes the
    # slope's multiplier (the small boards' det4 shape)
    "n4_h3_o1_one_slot": {"arch": {"inputs": 4, "layers": [3, 1], "points": [4, 6]},
                          "hardware": {"lanes": 2, "units_per_block": [1],
                                       "core": "layered"}},
    # four layers, one output (the published triangle network's shape, small)
    "n3_h4_h3_h2_o1": {"arch": {"inputs": 3, "layers": [4, 3, 2, 1], "points": [2, 4, 4, 4]},
                       "hardware": {"lanes": 3, "tree_levels_per_cycle": 1}},
}


@pytest.mark.parametrize("name", sorted(SHAPES))
@pytest.mark.parametrize("train", [True, False])
def test_layered_core_is_bit_and_cycle_exact(name, train):
    d = design_from_dict(SHAPES[name])
    vec = make_vectors(d, 40, seed=3, train=train, warm_epochs=0 if train else 1,
                       dataset="mixed-outliers")
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []
    assert out.cycles == expected_cycles(vec)
    if train:
        assert out.counts[2] > 0          # hidden domains stretched through the shared unit
        if name.endswith("backward_bound"):
            from kanhw.interface.layered import LayeredGeometry
            from kanhw.interface.layered_cycles import LayeredCycleModel
            cyc = LayeredCycleModel(LayeredGeometry(d))
            assert cyc.per_record > cyc.record(True, after_update=False)
    else:
        assert out.final.equals(vec.initial)


@pytest.mark.skipif(not runner.available("icarus"), reason="icarus (iverilog) not installed")
def test_a_three_layer_core_under_icarus():
    d = design_from_dict(SHAPES["n5_h4_h3_o2"])
    vec = make_vectors(d, 200, seed=5, dataset="mixed-outliers")
    out = runner.run(vec, "icarus")
    assert compare(vec, out) == []
    assert out.cycles == expected_cycles(vec) and out.counts[2] > 0


def test_a_layered_design_refuses_what_its_core_does_not_have():
    from kanhw.errors import ConfigError
    with pytest.raises(ConfigError, match="lane_update must be one of overlapped, sequential, "
                       "got 'later'"):
        design_from_dict({"arch": {"inputs": 4, "layers": [4, 3, 2]},
                          "hardware": {"lanes": 2, "lane_update": "later"}})
    with pytest.raises(ConfigError, match="applies to layered designs; the two-layer core"):
        design_from_dict({"arch": {"inputs": 4, "addends": 3},
                          "hardware": {"lanes": 2, "lane_update": "sequential"}})
    with pytest.raises(ConfigError, match=r"units_per_block must lie in 1\.\.3 \(hidden layer 2's "
                       r"width is 3\), got 4"):
        design_from_dict({"arch": {"inputs": 4, "layers": [4, 3, 2]},
                          "hardware": {"lanes": 2, "units_per_block": [2, 4]}})
    with pytest.raises(ConfigError, match="one value per layer"):
        design_from_dict({"arch": {"inputs": 4, "layers": [4, 3, 2], "points": [4, 5]}})
    with pytest.raises(ConfigError, match="core = \"two-layer\" builds two-layer, one-output"):
        design_from_dict({"arch": {"inputs": 4, "layers": [4, 2]},
                          "hardware": {"core": "two-layer"}})
    with pytest.raises(ConfigError, match="core must be one of auto, two-layer, layered"):
        design_from_dict({"arch": {"inputs": 4, "addends": 4}, "hardware": {"core": "deep"}})


def test_either_core_builds_a_two_layer_one_output_design():
    """``core`` picks the core; the design file round-trips it, and the
    layered core's geometry takes the design the two-layer one refuses."""
    from kanhw.interface import geometry_of
    from kanhw.interface.geometry import Geometry
    from kanhw.interface.layered import LayeredGeometry
    doc = {"arch": {"inputs": 4, "addends": 6, "points": [4, 6]},
           "hardware": {"lanes": 2, "addends_per_block": 3}}
    auto = design_from_dict(doc)
    assert not auto.layered and isinstance(geometry_of(auto), Geometry)
    assert design_from_dict({**doc, "hardware": {**doc["hardware"], "core": "two-layer"}}) \
        .to_dict() == {**auto.to_dict(), "hardware": {**auto.to_dict()["hardware"],
                                                      "core": "two-layer"}}
    lay = design_from_dict({**doc, "hardware": {**doc["hardware"], "core": "layered"}})
    assert lay.layered and isinstance(geometry_of(lay), LayeredGeometry)
    again = design_from_dict(lay.to_dict())
    assert again == lay and again.units_per_block == (3,)


@pytest.mark.parametrize("example", ["det4", "det4-85f"])
@pytest.mark.parametrize("lane_stages", [3, 4, 5])
def test_the_det4_designs_cost_the_same_cycles_on_either_core(example, lane_stages):
    """The layered core's cycle model (held to simulation to the cycle by
    the tests above) against the two-layer core's (held by its own), for
    the det4 designs: the same cycles a training and a frozen record."""
    import tomllib

    from kanhw.design import EXAMPLES
    from kanhw.interface.cycles import CycleModel
    from kanhw.interface.geometry import Geometry
    from kanhw.interface.layered import LayeredGeometry
    from kanhw.interface.layered_cycles import LayeredCycleModel
    doc = tomllib.loads(EXAMPLES[example])
    doc["hardware"]["lane_stages"] = lane_stages
    two = CycleModel(Geometry(design_from_dict(doc)))
    doc["hardware"]["core"] = "layered"
    lay = LayeredCycleModel(LayeredGeometry(design_from_dict(doc)))
    assert (lay.per_record, lay.per_record_frozen) == (two.per_record, two.per_record_frozen)


def test_no_two_layer_design_costs_more_cycles_on_the_layered_core():
    """Over a sweep of two-layer one-output shapes (inputs, addends, blocks,
    lanes, lane stages, update placement, tree levels), a record never
    costs more cycles on the layered core; fewer where the two-layer
    engine's four-cycle take interval binds (few lane steps an addend)."""
    import itertools

    from kanhw.errors import ConfigError
    from kanhw.interface.cycles import CycleModel
    from kanhw.interface.geometry import Geometry
    from kanhw.interface.layered import LayeredGeometry
    from kanhw.interface.layered_cycles import LayeredCycleModel
    fewer = same = 0
    for n, K, M, lanes, ls, upd, tl in itertools.product(
            [2, 5, 16], [4, 12, 64], [1, 2, 4, 16], [1, 2, 4, 16], [3, 5],
            ["overlapped", "sequential"], [1, 3]):
        hw = {"lanes": lanes, "addends_per_block": M, "lane_stages": ls, "lane_update": upd,
              "tree_levels_per_cycle": tl}
        doc = {"arch": {"inputs": n, "addends": K, "points": [4, 6]}, "hardware": hw}
        try:
            two = CycleModel(Geometry(design_from_dict(doc)))
        except ConfigError:
            continue            # not a design (lanes above inputs, blocks not dividing)
        doc["hardware"] = {**hw, "core": "layered"}
        lay = LayeredCycleModel(LayeredGeometry(design_from_dict(doc)))
        a = (two.per_record, two.per_record_frozen)
        b = (lay.per_record, lay.per_record_frozen)
        assert b[0] <= a[0] and b[1] <= a[1], (doc, a, b)
        fewer += b != a
        same += b == a
    assert fewer and same


COARSE = {
    # a deep design on coarser grids in both stages' registers
    "deep": ({"arch": {"inputs": 4, "layers": [5, 3, 2], "points": [3, 6, 7]},
              "hardware": {"lanes": 2, "units_per_block": [2, 3]}}, (3, 4, 3)),
    # a two-layer design on the layered core: its outer grid, as the
    # two-layer core's outer_points register
    "two-layer": ({"arch": {"inputs": 6, "addends": 6, "points": [3, 7]},
                   "hardware": {"lanes": 3, "addends_per_block": 3, "core": "layered"}},
                  (3, 3)),
}


@pytest.mark.parametrize("train", [True, False], ids=["train", "frozen"])
@pytest.mark.parametrize("name", sorted(COARSE))
def test_coarser_grids_on_the_same_tables(name, train):
    """A multilevel schedule's coarse level on the layered core: each
    stage's functions use the first nodes of their tables (the stage's grid
    register, loaded with the tables); coordinates, clamps, stretches and
    the stretch unit's reciprocal follow the coarser grid, bit for bit and
    to the cycle against a reference model on that grid."""
    spec, grid = COARSE[name]
    vec = make_vectors(design_from_dict(spec), 40, seed=4, train=train, grid=grid,
                       dataset="mixed-outliers")
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []
    assert out.cycles == expected_cycles(vec)
    assert out.counts[2 if train else 1] > 0    # stretched / clamped on the coarse grid


def test_grid_registers_take_only_coarser_grids():
    """A model on finer grids than the design's, or another first-layer
    grid, does not load: one line."""
    from kanhw.arch import Architecture
    from kanhw.errors import ConfigError
    from kanhw.interface.layered import LayeredGeometry
    geo = LayeredGeometry(design_from_dict(COARSE["deep"][0]))
    assert geo.grid_of(Architecture((4, 5, 3, 2), (3, 2, 7))) == (3, 2, 7)
    for sizes, points in [((4, 5, 3, 2), (3, 8, 7)), ((4, 5, 3, 2), (2, 6, 7)),
                          ((4, 5, 3, 1), (3, 6, 7))]:
        with pytest.raises(ConfigError, match="coarser grids"):
            geo.grid_of(Architecture(sizes, points))


def test_a_stage_whose_last_block_serves_fewer_units():
    from kanhw.interface.layered import LayeredGeometry
    from kanhw.interface.layered_cycles import LayeredCycleModel
    d = design_from_dict({"arch": {"inputs": 6, "layers": [53, 11, 4, 1],
                                   "points": [2, 14, 14, 14]},
                          "hardware": {"lanes": 3, "units_per_block": [16, 6, 4]}})
    geo = LayeredGeometry(d)
    s1, s2, s3 = geo.stages
    assert (s1.blocks, s1.ragged, [s1.units_in(b) for b in range(4)]) == (4, True, [16, 16, 16, 5])
    assert (s2.blocks, s2.units_in(1), s3.blocks, s3.ragged) == (2, 5, 1, False)
    # every function has its own word; unit 52 is the last block's fifth
    words = geo.table_words()
    assert len({a for a, _, _ in words}) == len(words)
    assert geo.outer_addr(1, 0, 52, 0) == geo._block(3, 1, s1.slot(4, 0) << s1.node_bits)
    # the barrier waits for the full blocks: the ragged one changes no cycle count
    full = design_from_dict({"arch": {"inputs": 6, "layers": [64, 11, 4, 1],
                                      "points": [2, 14, 14, 14]},
                             "hardware": {"lanes": 3, "units_per_block": [16, 6, 4]}})
    assert LayeredCycleModel(geo).per_record == LayeredCycleModel(LayeredGeometry(full)).per_record


@pytest.mark.skipif(not runner.available("verilator"), reason="verilator not installed")
@pytest.mark.parametrize("index", range(4))
def test_random_layered_design_under_verilator(index):
    row = check_design(SWEEP_SEED, index, 1000, "verilator", layered=True)
    replay = f"seed {SWEEP_SEED}, layered design {index} ({row.describe()})"
    assert row.mismatches == [], replay + "\n" + "\n".join(map(str, row.mismatches))
    assert row.cycles == row.cycles_model, replay


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_layered_manifest_counts_what_yosys_reads(name):
    from kanhw.boards.fit import instantiated_cells
    from kanhw.interface.layered import LayeredGeometry
    from kanhw.rtl_gen.manifest import layered_resource_counts
    d = design_from_dict(SHAPES[name])
    res = layered_resource_counts(LayeredGeometry(d))
    assert instantiated_cells(d) == {"multipliers": res["multipliers"]["total"],
                                     "memories": res["memories"]["total"]}


@pytest.mark.skipif(not runner.available("verilator"), reason="verilator not installed")
def test_a_deep_design_streams_over_the_simulated_uart_like_the_soft_device(tmp_path):
    """kanhw stream with a three-layer design: the board's device (UART, link
    engine, layered core) under Verilator trains the same tables, counters
    and predictions as the soft device, bit for bit."""
    import json
    import subprocess
    import sys

    import numpy as np

    from kanhw import persist
    cfg = tmp_path / "tri3.toml"
    cfg.write_text("[arch]\ninputs = 6\nlayers = [4, 3, 1]\npoints = [2, 5, 6]\n"
                   "[hardware]\nlanes = 3\nunits_per_block = [2, 1]\n")
    runs = {}
    for transport in ("soft", "sim"):
        r = subprocess.run([sys.executable, "-m", "kanhw", "stream", "triangle", "--transport",
                            transport, "--config", str(cfg), "--epochs", "1",
                            "--train-records", "150", "--val-records", "40", "--json",
                            "--save", str(tmp_path / f"{transport}.npz")],
                           capture_output=True, text=True, timeout=1800, check=False)
        assert r.returncode == 0, r.stderr
        runs[transport] = json.loads(r.stdout.strip().splitlines()[-1])
    assert runs["sim"]["counters"] == runs["soft"]["counters"]
    assert runs["sim"]["counters"]["stretches"] > 0
    assert runs["sim"]["validation_pearson"] == runs["soft"]["validation_pearson"]
    a, b = (persist.load(str(tmp_path / f"{t}.npz")) for t in ("soft", "sim"))
    assert np.array_equal(a.values, b.values) and np.array_equal(a.lo, b.lo)


#: The deep contract: hidden values grow beyond the target range and the
#: steps pushed down several layers are tiny.
DEEP = {"value_bits": 30, "value_frac": 20, "mul_bits": 32, "guard_bits": 0, "rcp_bits": 20,
        "slope_bits": 24, "slope_frac": 16}

#: The published networks, as layered designs (long runs: --runslow).
PUBLISHED = {
    # tetrahedron face areas, the recipe's shape
    "tetra": ({"arch": {"inputs": 12, "layers": [64, 16, 4], "points": [2, 12, 22]},
               "hardware": {"lanes": 4, "units_per_block": [8, 4]},
               "training": {"alpha": 0.3}, "contract": DEEP}, "tetra", 10_000),
    # the authors' four-layer triangle-area network, 6 -> 53 -> 11 -> 4 -> 1
    "triangle": ({"arch": {"inputs": 6, "layers": [53, 11, 4, 1], "points": [2, 14, 14, 14]},
                  "hardware": {"lanes": 6, "units_per_block": [1, 11, 4]},
                  "training": {"alpha": 0.3}, "contract": DEEP}, "triangle", 10_000),
    # 8x8 digits, ten outputs
    "digits": ({"arch": {"inputs": 64, "layers": [32, 10], "points": [2, 12]},
                "hardware": {"lanes": 8, "units_per_block": [4]},
                "training": {"alpha": 0.1}, "contract": DEEP}, "digits", 3_000),
}


@pytest.mark.slow
@pytest.mark.skipif(not runner.available("verilator"), reason="verilator not installed")
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_network_under_verilator(name):
    spec, dataset, records = PUBLISHED[name]
    d = design_from_dict(spec)
    for train in ((True, False) if name == "digits" else (True,)):
        vec = make_vectors(d, records if train else records // 3, seed=0, train=train,
                           dataset=dataset, warm_epochs=0 if train else 1)
        out = runner.run(vec, "verilator")
        assert compare(vec, out) == []
        assert out.cycles == expected_cycles(vec)


def test_a_one_slot_engine_holds_no_more_registers_than_the_two_layer_engine(
        monkeypatch, tmp_path):
    """A two-layer, one-output design on the layered core (one unit a
    block): its engine reads each slot word from the word's store instead of
    carrying it down the pipelines, so it holds no more flip-flop bits than
    the two-layer core's engine for the same design (Yosys, before any
    device mapping). Carried, it held 44 % more (723 against 501 bits)."""
    from amaranth.back import verilog

    from kanhw.boards import fit
    from kanhw.interface import geometry_of
    from kanhw.rtl_gen.block.engine import OuterEngine
    from kanhw.rtl_gen.layered.engine import FunctionEngine
    monkeypatch.setattr(fit, "_cache_dir", lambda: tmp_path)

    def ff_bits(engine) -> int:
        v = verilog.convert(engine, name="engine", emit_src=False)
        cells, _ = fit._yosys({"e.v": v}, "read_verilog e.v; proc; opt; wreduce; memory -nomap; "
                              "opt_clean; simplemap t:*dff*; opt_clean; stat")
        return sum(n for kind, n in cells.items() if "DFF" in kind)

    doc = {"arch": {"inputs": 16, "addends": 2, "points": [5, 22]}, "hardware": {"lanes": 1}}
    two = geometry_of(design_from_dict(doc))
    lay = geometry_of(design_from_dict({**doc, "hardware": {"lanes": 1, "core": "layered"}}))
    assert lay.stages[-1].one_slot
    assert ff_bits(FunctionEngine(lay, lay.stages[-1])) <= ff_bits(OuterEngine(two))
