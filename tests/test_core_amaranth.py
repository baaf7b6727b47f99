"""The whole training core in Amaranth's simulator: bit for bit against the
fixed-point reference, cycle counts against the manifest's model."""

import pytest
from hw_designs import SPECS, design

from kanhw.sim import runner
from kanhw.sim.compare import compare, expected_cycles
from kanhw.sim.vectors import make_vectors


@pytest.mark.parametrize("name", sorted(SPECS))
def test_training_stream_is_bit_exact(name):
    vec = make_vectors(design(name), 60, seed=2)
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []
    assert out.cycles == expected_cycles(vec)
    assert out.counts[2] > 0  # stretches exercised the slow path
    if name not in ("n3_k2_tight", "n16_k1_icebreaker"):
        # several addends stretched in one record: the shared unit served them in turn
        assert vec.counts[2] > vec.stretch_records
    if name == "n3_k2_tight":
        assert out.counts[0] > 0  # saturations counted like the reference


@pytest.mark.parametrize("name, points", [("n6_k6_share3", 5), ("n4_k3_stages4", 2),
                                          ("n6_k5_lanes6", 3)])
def test_coarser_outer_grid_on_the_same_tables(name, points):
    """A multilevel schedule's coarse level on the design's core: the outer
    functions use only the first ``points`` nodes of their tables (the
    ``outer_points`` register, loaded with the tables). Coordinates,
    stretches and the stretch unit's reciprocal all follow the coarser grid,
    bit for bit against a reference model on that grid."""
    vec = make_vectors(design(name), 60, seed=4, outer_points=points)
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []
    assert out.counts[2] > 0  # the stretch unit divided for the coarser grid


@pytest.mark.parametrize("points", [3, 5])
def test_coarser_outer_grid_clamps_at_its_top(points):
    vec = make_vectors(design("n6_k5_lanes6"), 40, seed=5, train=False, outer_points=points)
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []
    assert out.counts[1] > 0


@pytest.mark.parametrize("reset", ["domain", "core"])
def test_reset_in_the_middle_of_a_record_clears_every_block(reset):
    """The power-on reset (the clock domain's) or the link's reset command (a
    reset inserted around the core) while the blocks are in a record's
    forward pass: each block takes the reset through registers of its own,
    and the stream run again afterwards is bit exact."""
    from kanhw.interface.geometry import Geometry
    from kanhw.sim.amaranth_tb import run_amaranth
    from kanhw.sim.job import make_job
    vec = make_vectors(design("n5_k3_lanes2"), 20, seed=3)
    geo = Geometry(vec.design)
    out = run_amaranth(vec, geo, make_job(vec, geo), reset_after=8, reset=reset)
    assert compare(vec, out) == []


def test_frozen_stream_clamps_and_keeps_tables():
    vec = make_vectors(design("n6_k5_lanes6"), 40, seed=5, train=False)
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []
    assert out.counts[1] > 0 and out.counts[2] == 0
    assert out.final.equals(vec.initial)
    assert out.cycles == expected_cycles(vec)


def test_trained_model_check():
    vec = make_vectors(design("n5_k3_lanes2"), 50, seed=1, warm_epochs=3)
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []


@pytest.mark.parametrize("name", ["n4_k4_share2", "n6_k6_share3", "n5_k4_share2_stages5",
                                  "n6_k4_single_block", "n16_k1_icebreaker"])
def test_shared_blocks_frozen_cycles_exact(name):
    """Without stretches a block serving several addends takes exactly the
    modelled cycles, with the outer engine keeping up (4 steps) or not (2)."""
    vec = make_vectors(design(name), 30, seed=5, train=False)
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []
    assert out.cycles == expected_cycles(vec)


def test_addends_per_block_must_divide_and_leave_steps():
    from kanhw.design import design_from_dict
    from kanhw.errors import ConfigError
    with pytest.raises(ConfigError, match="must divide addends"):
        design_from_dict({"arch": {"inputs": 4, "addends": 6},
                          "hardware": {"lanes": 1, "addends_per_block": 4}})
    with pytest.raises(ConfigError, match="two steps per lane"):
        design_from_dict({"arch": {"inputs": 4, "addends": 4},
                          "hardware": {"lanes": 4, "addends_per_block": 2}})
    with pytest.raises(ConfigError, match="lane_stages must be one of 3, 4, 5"):
        design_from_dict({"arch": {"inputs": 4, "addends": 4},
                          "hardware": {"lanes": 1, "lane_stages": 6}})


def test_a_lane_difference_alone_counts_a_saturated_record():
    """Inner tables whose neighbouring nodes differ by more than a multiplier
    operand holds, in frozen mode: the lanes' difference test is the only
    saturation there is, and the records it hits are counted as the
    reference counts them (the flag passes a register in the lane)."""
    import numpy as np

    from kanhw.fixed_model import FixedBackend

    vec = make_vectors(design("n3_k2_tight"), 40, seed=2, train=False)
    model = vec.initial.copy()
    c, arch = model.contract, model.arch
    inner = slice(int(arch.node_base[0]), int(arch.node_base[1]))
    span = 1 << (c.mul_bits - 1)               # the operand's range, not the value's
    model.values[inner] = np.resize([span // 2 + 8, -span // 2 - 8], inner.stop - inner.start)
    vec.initial = model.copy()
    model.counts[:] = 0
    pred, resid = FixedBackend(model).predict_mapped(vec.U, vec.Yq[:, None])
    vec.pred, vec.resid, vec.final = pred[:, 0], resid[:, 0], model
    vec.counts = model.counts[:len(vec.counts)].copy()
    assert vec.counts[0] > 0                    # the reference saw lane saturations
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []


def test_an_outer_difference_alone_counts_a_saturated_record():
    """Outer nodes alternating -h, +h with 2h = 2^(mul_bits + guard_bits - 1),
    in frozen mode: a segment whose first node is even has the difference
    2h, one past the multiplier operand's range, and saturates; one whose
    first node is odd has -2h, the operand's lowest value, and does not.
    The outer engine's difference test is the only saturation there is,
    and the records it flags are the reference's (its flag had no test)."""
    import numpy as np

    from kanhw.fixed_model import FixedBackend

    vec = make_vectors(design("n3_k2_tight"), 40, seed=2, train=False)
    model = vec.initial.copy()
    c, arch = model.contract, model.arch
    outer = slice(int(arch.node_base[1]), int(arch.node_base[2]))
    h = 1 << (c.mul_bits + c.guard_bits - 2)
    P = arch.points[1]
    model.values[outer] = np.tile(np.resize([-h, h], P), (outer.stop - outer.start) // P)
    vec.initial = model.copy()
    model.counts[:] = 0
    pred, resid = FixedBackend(model).predict_mapped(vec.U, vec.Yq[:, None])
    vec.pred, vec.resid, vec.final = pred[:, 0], resid[:, 0], model
    vec.counts = model.counts[:len(vec.counts)].copy()
    assert 0 < vec.counts[0] < len(vec.U)       # some records saturate, not all
    out = runner.run(vec, "amaranth")
    assert compare(vec, out) == []
