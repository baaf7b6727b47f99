"""Pipelined adder tree: the exact sum of its inputs, with a register after
every ``levels_per_cycle`` adder levels (and after the last). Used inside a
block (lane sums, :func:`lane_sum`) and at the barrier (addend values)."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from kanhw.interface.geometry import ceil_log2, tree_stages

from .arith import saturate


class AdderTree(wiring.Component):
    """``output`` = sum of ``inputs``, ``tree_stages`` cycles after
    ``valid_in``; at least ``min_stages`` (0 or 1): one input is a wire
    unless a register is asked for."""

    def __init__(self, count: int, width: int, levels_per_cycle: int,
                 min_stages: int = 0) -> None:
        self.count = count
        self.levels_per_cycle = levels_per_cycle
        self.out_width = width + ceil_log2(count)
        self.stages = tree_stages(count, levels_per_cycle, min_stages)
        super().__init__({
            "inputs": In(data.ArrayLayout(signed(width), count)),
            "valid_in": In(1),
            "output": Out(signed(self.out_width)),
            "valid_out": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        level = [self.inputs[k] for k in range(self.count)]
        valid = self.valid_in
        depth = 0
        while len(level) > 1:
            nxt = [level[k] + level[k + 1] for k in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            depth += 1
            if depth % self.levels_per_cycle == 0 or len(nxt) == 1:
                regs = [Signal(signed(self.out_width), name=f"t{depth}_{k}")
                        for k in range(len(nxt))]
                v_reg = Signal(name=f"valid{depth}")
                m.d.sync += [r.eq(v) for r, v in zip(regs, nxt)] + [v_reg.eq(valid)]
                level, valid = regs, v_reg
            else:
                level = nxt
        if self.stages and depth == 0:       # one input, registered once
            reg, v_reg = Signal(signed(self.out_width), name="t0_0"), Signal(name="valid0")
            m.d.sync += [reg.eq(level[0]), v_reg.eq(valid)]
            level, valid = [reg], v_reg
        m.d.comb += [self.output.eq(level[0]), self.valid_out.eq(valid)]
        return m


def balanced_sum(values: list):
    """The sum of ``values`` as one combinational tree of pairwise adds (the
    barrier's event counts: a few bits each, so one level of registers
    after the whole tree is enough)."""
    level = list(values)
    while len(level) > 1:
        nxt = [level[k] + level[k + 1] for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def lane_sum(m: Module, name: str, sums: list, width: int, levels_per_cycle: int, valid_in,
             value_bits: int):
    """The lanes' sums (``width`` bits each) added in a tree, submodule
    ``name`` of ``m``, and saturated to ``value_bits``: returns the tree,
    the value and its saturation test, both valid with ``tree.valid_out``."""
    m.submodules[name] = tree = AdderTree(len(sums), width, levels_per_cycle)
    for i, acc in enumerate(sums):
        m.d.comb += tree.inputs[i].eq(acc)
    m.d.comb += tree.valid_in.eq(valid_in)
    value, over = saturate(tree.output, value_bits)
    return tree, value, over
