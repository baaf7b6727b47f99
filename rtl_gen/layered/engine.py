"""The function engine of a layered core's block: the outgoing functions of
the block's units (``M`` units x ``Q`` functions each, one *slot* per
function), mapped from each unit's value, evaluated and trained. Both
passes are pipelines taking a slot a cycle (``j`` outer, ``p`` inner).

The latencies below are stated once, for the cycle model, in
:mod:`kanhw.interface.layered_cycles` (``FORWARD_LATENCY``,
``BACKWARD_LATENCY``, ``STRETCH_REQUEST``); simulation holds the two to
the cycle.

Forward, six stages (``fdone`` shows ``FORWARD_LATENCY`` = 7 cycles after
the last take): take the unit's value ``a`` (from the argument memory, or
straight from the lanes as it arrives) and the slot's domain; map it to the
function's grid (``t = round(sat(round(a - lo)) * rcp / 2^rcp_shift)``);
test it (outside the domain a training record stretches it through the
core's shared stretch unit, a frozen one clamps) and read the segment's
node pair; form ``dv``; the value and slope products; add the function's
value ``v0 + round(f * dv)`` to the block's sum for output ``p`` and keep
the slope ``round(dv * rcp)`` and the coordinate for the backward pass. A
slot that stretches leaves the pipeline and waits for the unit; the slots
taken behind it are dropped and taken again after the grant, when the
stretched slot re-enters at the map with its new domain.

Backward, three stages, a slot a cycle: the first slot's words are read
while the engine is idle, so it is in the product stage as the pass
starts (``bdone`` shows ``BACKWARD_LATENCY`` = 3 cycles after the last
slot's products). With ``e_p``, the step of the function's output unit,
(read, or taken as the core writes it) and the pair: ``e_p * slope`` and
``e_p * f``; write the pair back (``v0 + e_p - round(f e_p)``, ``v1 +
round(f e_p)``) and sum ``e_p * slope`` over the unit's functions; after
its last, the unit's own step is that sum rounded (``round(sum /
2^slope_frac)``), as :func:`kanhw.nk_fixed.backward` forms it. Every step
mirrors :mod:`kanhw.nk_fixed`.

Three multipliers: the map's, and two the passes share (the value's and
the slope's forward, ``e * f`` and ``e * slope`` backward). A block of one
slot (one unit, one outgoing function) has a single slot in flight, so its
map never meets its products and takes the slope's multiplier: two, as in
the two-layer core's block (on the smallest boards the third was the DSP
that did not exist). Nor does such a block carry a slot's words down the
pipelines: its argument, reciprocal, coordinate, slope and step each
have one store, which holds the slot's word from the stage that writes it
to the end of the record's backward pass (a forward pass waits for the
backward pass, and the core writes the next record's argument and steps
only after this record's passes have used them), so every stage reads
the store. A stage of one output sums into its value store, which is the
``val`` port; a block of one unit keeps its step in the ``ek`` register.

The passes take turns: a forward start that comes while the backward
pass runs (in stage 1 the next record comes beside this one's backward
pass and update) waits, and the forward pass takes its first slot
:data:`~kanhw.interface.layered_cycles.BACKWARD_TO_FORWARD` cycles after
the backward pass's last products. The backward pass's saturations go to a
flag of their own (``bsat``), since they may land after the next record
has begun.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kanhw.interface.geometry import DOMAIN_HI, DOMAIN_LO, DOMAIN_RCP, ceil_log2
from kanhw.interface.layered import LayeredGeometry, Stage

from ..arith import round_shift, saturate
from ..block import Banks
from ..block.writeback import HitFlags, pair_bases, pair_written

#: Word stores this deep or shallower are registers: LUT RAM comes 16 words
#: deep (a two-word store of 30 bits took 8 LUT RAM cells a read port).
SMALL_DEPTH = 4


class OneWord:
    """A store of one word as a plain register, with a memory's port
    interface (``read_port(domain="comb")``, ``write_port()``; addresses are
    ignored: the only word is word 0). A one-slot block has ten such
    stores; as two-word memories each cost a second word and a multiplexer."""

    class _Port:
        def __init__(self, data) -> None:
            self.addr, self.data, self.en = Signal(1), data, Signal()

    def __init__(self, m: Module, name: str, shape, init: int) -> None:
        self._m = m
        self.word = Signal(shape, init=init, name=name)

    def read_port(self, domain: str = "comb") -> OneWord._Port:
        assert domain == "comb"
        return OneWord._Port(self.word)

    def write_port(self) -> OneWord._Port:
        port = OneWord._Port(Signal.like(self.word, name=f"{self.word.name}_w"))
        with self._m.If(port.en):
            self._m.d.sync += self.word.eq(port.data)
        return port


def slot_ram(m: Module, name: str, shape, depth: int, lut_ram: bool, init: int = 0):
    """A per-slot (or per-unit) word store with asynchronous reads: LUT RAM
    where the fabric has it, logic elsewhere and for a few words, a register
    for one."""
    if depth == 1:
        return OneWord(m, name, shape, init)
    style = "logic" if depth <= SMALL_DEPTH else "distributed" if lut_ram else None
    mem = Memory(shape=shape, depth=depth, init=[init] * depth,
                 attrs={"ram_style": style} if style else None)
    m.submodules[name] = mem
    return mem


class FunctionEngine(wiring.Component):
    """See the module docstring. Ports:

    * ``fstart``: the forward pass; ``arg_count`` units' values are in
      ``args`` (written through ``arg_we``/``arg_idx``/``arg_data``) or
      arrive while it runs (a unit's slots wait for its value); ``fdone``
      when every slot is done;
    * ``bstart``: the backward pass with the steps in ``e`` (written through
      ``e_we``/``e_idx``/``e_data``); ``bdone`` when done; each unit's step
      then reads at ``ek_idx`` -> ``ek``;
    * ``bsat``: the backward pass saturated (cleared by ``bclear``);
      ``bbusy`` until the pass and its last test are over;
    * ``val_idx`` -> ``val``: the block's sum for output ``p``;
    * the stretch request/grant of the core's shared unit;
    * ``tbl_*``: control access to the outgoing nodes and domains (idle only);
    * ``units`` (a ragged stage only): units this block serves.
    """

    def __init__(self, geo: LayeredGeometry, stage: Stage, lut_ram: bool = True) -> None:
        self.geo, self.stage, self.lut_ram = geo, stage, lut_ram
        c = geo.design.contract
        V, EB = c.value_bits, c.step_bits
        M, Q = stage.units_per_block, stage.outputs
        self.val_width = V + 2 + ceil_log2(M)
        super().__init__({
            "train": In(1),
            "coord_top": In(unsigned(c.coord_bits(stage.points))),
            "fstart": In(1), "fdone": Out(1),
            "bstart": In(1), "bdone": Out(1),
            "arg_we": In(1), "arg_idx": In(range(max(M, 2))), "arg_data": In(signed(V)),
            "arg_count": In(range(M + 1)),
            "e_we": In(1), "e_idx": In(range(max(Q, 2))), "e_data": In(signed(EB)),
            "val_idx": In(range(max(Q, 2))), "val": Out(signed(self.val_width)),
            "ek_idx": In(range(max(M, 2))), "ek": Out(signed(EB)),
            "sat": Out(1), "clamps": Out(range(M * Q + 1)), "stretches": Out(range(M * Q + 1)),
            "clear": In(1),
            "bsat": Out(1), "bclear": In(1), "bbusy": Out(1),
            "st_req": Out(1), "s_hidden": Out(signed(V)), "dom_lo": Out(signed(V)),
            "dom_hi": Out(signed(V)),
            "st_grant": In(1), "st_lo": In(signed(V)), "st_hi": In(signed(V)),
            "st_rcp": In(unsigned(c.rcp_bits)), "st_d": In(signed(c.mul_bits)),
            "st_sat": In(1),
            "tbl_sel": In(1), "tbl_we": In(1), "tbl_domain": In(1),
            "tbl_offset": In(max(1, stage.slot_bits + max(stage.node_bits, 2))),
            "tbl_wdata": In(32), "tbl_rdata": Out(32),
            **({"units": In(range(M + 1))} if stage.ragged else {}),
        })

    def elaborate(self, platform):
        m = Module()
        geo, st = self.geo, self.stage
        c = geo.design.contract
        V, F, G, MB, EB, RB = (c.value_bits, c.frac_bits, c.guard_bits, c.mul_bits,
                               c.step_bits, c.rcp_bits)
        SB, SF = c.slope_bits, c.slope_frac
        M, Q, P = st.units_per_block, st.outputs, st.points
        QB, UB, slots = st.out_bits, st.unit_bits, 1 << st.slot_bits
        top = self.coord_top                 # the grid in use (its register's)
        sshift = F + c.rcp_shift - SF
        lut = self.lut_ram

        # -- per-slot and per-unit state --------------------------------------------
        lo = slot_ram(m, "lo", signed(V), slots, lut)
        hi = slot_ram(m, "hi", signed(V), slots, lut)
        rcp = slot_ram(m, "rcp", unsigned(RB), slots, lut, init=1)
        tj_m = slot_ram(m, "tj", range(P), slots, lut)
        tf_m = slot_ram(m, "tf", unsigned(F), slots, lut)
        slope_m = slot_ram(m, "slope", signed(SB), slots, lut)
        args = slot_ram(m, "args", signed(V), M, lut)
        vals = slot_ram(m, "vals", signed(self.val_width), Q, lut)
        e_m = slot_ram(m, "e", signed(EB), Q, lut)
        # one unit: its step is the ``ek`` register itself
        one_unit = M == 1 and not st.ragged
        ek_m = None if one_unit else slot_ram(m, "ek", signed(EB), M, lut)
        # one slot: each word's store holds it for every stage (docstring)
        one = st.one_slot
        outer = Banks(m, "outer", V, P, slots)

        def rd(mem, addr):
            port = mem.read_port(domain="comb")
            m.d.comb += port.addr.eq(addr)
            return port.data

        def wr(mem):
            return mem.write_port()

        def slot_of(j, p):
            return Cat(*([p[:QB]] if QB else []), *([j[:UB]] if UB else [])) \
                if QB + UB else Const(0, 1)

        # writes from outside: the unit values and the steps
        w_args, w_e = wr(args), wr(e_m)
        m.d.comb += [w_args.addr.eq(self.arg_idx), w_args.data.eq(self.arg_data),
                     w_args.en.eq(self.arg_we),
                     w_e.addr.eq(self.e_idx), w_e.data.eq(self.e_data),
                     w_e.en.eq(self.e_we)]
        # reads for the core: the block's sums, registered (one output: the
        # sum's own register)
        if Q == 1:
            m.d.comb += self.val.eq(vals.word)
        else:
            m.d.sync += self.val.eq(rd(vals, self.val_idx))
        w_tj, w_tf, w_slope = wr(tj_m), wr(tf_m), wr(slope_m)
        w_lo, w_hi, w_rcp = wr(lo), wr(hi), wr(rcp)
        w_vals = wr(vals)

        # saturation tests each pass a register before the block's flag; the
        # backward pass's apart, as it may run on beside the next record
        hits, bhits = HitFlags(m, "sat"), HitFlags(m, "bsat")

        # -- the pass and the slot sequencer ------------------------------------------------
        # mode: forward pass running, backward pass running; ``issuing``: slots
        # remain to be taken
        fwd, bwd, issuing = Signal(), Signal(), Signal()
        idle = ~fwd & ~bwd
        # a control read's domain slot: it reads through the stretch unit's
        # and the take's ports (idle, neither reads), not ports of its own
        r_dslot = Signal(max(1, st.slot_bits), name="r_dslot")
        f_done, b_done = Signal(), Signal()
        j = Signal(range(max(M, 2)))
        p = Signal(range(max(Q, 2)))
        units = self.units if st.ragged else M

        # tests of a slot's unit and output, constant where there is one
        # (Yosys keeps the registers that would say so, and the logic behind)
        def last_p(pp):
            return (pp == Q - 1) if Q > 1 else Const(1, 1)

        def last_j(jj):
            return (jj == units - 1) if not one_unit else Const(1, 1)

        def is_j(jj, k):
            return (jj == k) if not one_unit else Const(1, 1)

        def is_p(pp, q):
            return (pp == q) if Q > 1 else Const(1, 1)

        last = last_p(p) & last_j(j)
        slot = slot_of(j, p)

        def advance(jj, pp):
            """(j, p) of the slot after (jj, pp)."""
            return Mux(last_p(pp), jj + 1, jj), Mux(last_p(pp), 0, pp + 1)

        # -- multipliers: the map's; X (f * dv, e * f) and Y (dv * rcp, e * slope) ---------
        z_a, z_b = Signal(signed(MB)), Signal(unsigned(RB))
        x_a, x_b = Signal(signed(max(MB, EB))), Signal(unsigned(F))
        y_a, y_b = Signal(signed(max(MB, EB))), Signal(signed(max(RB + 1, SB)))
        x_pq = Signal(signed(len(x_a) + len(x_b) + 1), reset_less=True)
        y_pq = Signal(signed(len(y_a) + len(y_b)), reset_less=True)
        m.d.sync += [x_pq.eq(x_a * x_b), y_pq.eq(y_a * y_b)]
        # one slot in flight (see the module docstring): the map takes Y
        if st.one_slot:
            z_pq = y_pq
        else:
            z_pq = Signal(signed(len(z_a) + len(z_b) + 1), reset_less=True)
            m.d.sync += z_pq.eq(z_a * z_b)

        # -- the stretch hold: a slot waiting for the shared unit --------------------------
        waiting = Signal()
        h_j, h_p = Signal.like(j), Signal.like(p)
        h_s = rd(args, 0) if one else Signal(signed(V), name="h_s")
        h_slot = slot_of(h_j, h_p)
        dom_addr = Mux(idle, r_dslot, h_slot)
        lo_d, hi_d = rd(lo, dom_addr), rd(hi, dom_addr)
        m.d.comb += [self.s_hidden.eq(h_s), self.dom_lo.eq(lo_d), self.dom_hi.eq(hi_d)]
        grant = waiting & self.st_grant

        # -- forward pipeline registers: a (taken), b (mapped), c (tested, read issued),
        #    d (pair), e (products) -------------------------------------------------------
        a_v, b_v, c_v, d_v, e_v = (Signal(name=f"{n}_v") for n in "abcde")
        a_j, b_j, c_j, d_j, e_j = (Signal.like(j, name=f"{n}_j") for n in "abcde")
        a_p, b_p, c_p, d_p, e_p = (Signal.like(p, name=f"{n}_p") for n in "abcde")
        a_d = Signal(signed(MB), name="a_d")
        a_st, b_st = Signal(name="a_st"), Signal(name="b_st")   # stretched already
        d_v0 = Signal(signed(V), name="d_v0")
        d_dv = Signal(signed(MB), name="d_dv")
        if one:
            # the stores' words (the module docstring): the argument, the
            # reciprocal (written with a_r's value at a grant), the coordinate
            # (written as c_tj/c_tf would be), v0 until its products
            a_s = b_s = h_s
            a_r = b_r = c_r = d_r = rd(rcp, 0)
            c_tj, c_tf = rd(tj_m, 0), rd(tf_m, 0)
            d_tf, e_v0 = c_tf, d_v0
        else:
            a_s, b_s = Signal(signed(V), name="a_s"), Signal(signed(V), name="b_s")
            a_r, b_r, c_r, d_r = (Signal(unsigned(RB), name=f"{n}_r") for n in "abcd")
            c_tj = Signal(range(P), name="c_tj")
            c_tf, d_tf = Signal(unsigned(F), name="c_tf"), Signal(unsigned(F), name="d_tf")
            e_v0 = Signal(signed(V), name="e_v0")

        def carry(*pairs):
            """Registers carried down the pipeline (none in a one-slot block:
            its stores hold the words)."""
            return [] if one else [dst.eq(src) for dst, src in pairs]

        # take (a): the next slot whose unit's value is here (or arrives this
        # cycle: it passes straight on), unless a slot waits
        arriving = self.arg_we & is_j(self.arg_idx, j)
        here = (self.arg_count > j) if not one_unit else self.arg_count.any()
        take = fwd & issuing & (here | arriving) & ~waiting
        s_arg = Mux(arriving, self.arg_data, rd(args, j))
        lo_t, rcp_t = rd(lo, slot), rd(rcp, Mux(idle, r_dslot, slot))

        # test (b -> c): the map's coordinate against the grid
        t_full = round_shift(z_pq, c.rcp_shift)
        below, above = t_full < 0, t_full > top
        outside = below | above
        t_use = Mux(below, 0, Mux(above, top, t_full))[:c.coord_bits(P)]
        stretch = b_v & outside & self.train & ~b_st
        # a stretching slot drops the two behind it; taking resumes after it
        resume_j, resume_p = advance(b_j, b_p)
        b_last = last_p(b_p) & last_j(b_j)

        with m.If(grant):
            # the stretched slot re-enters at the map with its new domain
            m.d.sync += [a_v.eq(1), a_j.eq(h_j), a_p.eq(h_p), a_d.eq(self.st_d),
                         a_st.eq(1), waiting.eq(0), self.st_req.eq(0),
                         *carry((a_s, h_s), (a_r, self.st_rcp))]
            m.d.comb += [w_lo.addr.eq(h_slot), w_lo.data.eq(self.st_lo), w_lo.en.eq(1),
                         w_hi.addr.eq(h_slot), w_hi.data.eq(self.st_hi), w_hi.en.eq(1),
                         w_rcp.addr.eq(h_slot), w_rcp.data.eq(self.st_rcp), w_rcp.en.eq(1)]
        with m.Elif(take & ~stretch):
            m.d.sync += [a_v.eq(1), a_j.eq(j), a_p.eq(p), a_st.eq(0),
                         a_d.eq(saturate(round_shift(s_arg - lo_t, G), MB)[0]),
                         *carry((a_s, s_arg), (a_r, rcp_t))]
            nj, np_ = advance(j, p)
            m.d.sync += [j.eq(nj), p.eq(np_)]
            with m.If(last):
                m.d.sync += issuing.eq(0)
        with m.Else():
            m.d.sync += a_v.eq(0)

        # map (a -> b)
        m.d.comb += [z_a.eq(a_d), z_b.eq(a_r)]
        m.d.sync += [b_v.eq(a_v & ~stretch), b_j.eq(a_j), b_p.eq(a_p), b_st.eq(a_st),
                     *carry((b_s, a_s), (b_r, a_r))]

        # test (b -> c): stretch, or clamp and read the segment's pair
        with m.If(stretch):
            m.d.sync += [waiting.eq(1), self.st_req.eq(1), h_j.eq(b_j), h_p.eq(b_p),
                         self.stretches.eq(self.stretches + 1),
                         j.eq(resume_j), p.eq(resume_p), issuing.eq(~b_last),
                         *carry((h_s, b_s))]
        with m.If(b_v & ~stretch):
            with m.If(outside & ~self.train):
                m.d.sync += self.clamps.eq(self.clamps + 1)
            b_slot = slot_of(b_j, b_p)
            m.d.comb += [w_tj.addr.eq(b_slot), w_tj.data.eq(t_use[F:]), w_tj.en.eq(1),
                         w_tf.addr.eq(b_slot), w_tf.data.eq(t_use[:F]), w_tf.en.eq(1)]
            a_e, a_o = outer.seg_addrs(b_slot, t_use[F:])
            m.d.comb += [outer.rd_even.addr.eq(a_e), outer.rd_odd.addr.eq(a_o)]
        m.d.sync += [c_v.eq(b_v & ~stretch), c_j.eq(b_j), c_p.eq(b_p),
                     *carry((c_r, b_r), (c_tj, t_use[F:]), (c_tf, t_use[:F]))]

        # pair (c -> d)
        ov0, ov1 = Banks.pair(c_tj[0], outer.rd_even.data, outer.rd_odd.data)
        odv, odv_over = saturate(round_shift(ov1 - ov0, G), MB)
        hits.flag(c_v & odv_over)
        m.d.sync += [d_v.eq(c_v), d_j.eq(c_j), d_p.eq(c_p), d_dv.eq(odv),
                     *carry((d_r, c_r), (d_tf, c_tf))]
        # (held in a one-slot block, where it is e_v0 too)
        with m.If(c_v if one else Const(1, 1)):
            m.d.sync += d_v0.eq(ov0)

        # products (d -> e); accumulate and keep the slope (e)
        e_slot = slot_of(e_j, e_p)
        m.d.sync += [e_v.eq(d_v), e_j.eq(d_j), e_p.eq(d_p), *carry((e_v0, d_v0))]
        value = e_v0 + round_shift(x_pq, F - G)
        slope_sat, slope_over = saturate(round_shift(y_pq, sshift), SB)
        with m.If(e_v):
            old = rd(vals, e_p)
            m.d.comb += [w_vals.addr.eq(e_p), w_vals.data.eq(Mux(is_j(e_j, 0), 0, old) + value),
                         w_vals.en.eq(1),
                         w_slope.addr.eq(e_slot), w_slope.data.eq(slope_sat), w_slope.en.eq(1)]
        hits.flag(e_v & slope_over)

        # -- backward pipeline registers: f (read), g (products) ---------------------------
        f_v, g_v = Signal(name="f_v"), Signal(name="g_v")
        f_j, g_j = Signal.like(j, name="f_j"), Signal.like(j, name="g_j")
        f_p, g_p = Signal.like(p, name="f_p"), Signal.like(p, name="g_p")
        f_last, g_last = Signal(name="f_last"), Signal(name="g_last")
        if one:
            # the stores' words (the module docstring); a one-slot block's
            # step store is a register, so no read in front of a multiplier
            f_tj = g_tj = rd(tj_m, 0)
            f_tf, f_e, f_slope = rd(tf_m, 0), rd(e_m, 0), rd(slope_m, 0)
        else:
            f_tj, g_tj = Signal(range(P), name="f_tj"), Signal(range(P), name="g_tj")
            f_tf = Signal(unsigned(F), name="f_tf")
            f_e = Signal(signed(EB), name="f_e")
            f_slope = Signal(signed(SB), name="f_slope")
        g_b0 = Signal(signed(V + F + 3), name="g_b0")
        g_b1 = Signal(signed(V + F + 3), name="g_b1")
        # the unit's sum starts at half its rounding step, so the step is its
        # top bits (one carry chain: round(sum / 2^SF) as nk_fixed forms it);
        # with one output the sum is that output's term alone
        acc = Signal(signed(EB + SB + ceil_log2(Q) + 2)) if Q > 1 else None
        half = (1 << (SF - 1)) if SF > 0 else 0

        # The first slot's reads are made while the engine is idle (j, p rest
        # at the first slot), so that slot is in the product stage as the
        # pass starts and the second slot's reads go out with the start; the
        # step written with the start (the last one the core sends) passes
        # on to both.
        one_slot = (Const(Q == 1, 1) & (units == 1)) if st.ragged else Const(st.one_slot, 1)
        b_j = Mux(self.bstart, 0 if Q > 1 else 1, j)
        b_p = Mux(self.bstart, 1 if Q > 1 else 0, p)
        b_slot = slot_of(b_j, b_p)
        b_last = last_p(b_p) & last_j(b_j)
        b_take = (bwd & issuing) | (self.bstart & ~one_slot)

        def e_now(q):
            """The step of output ``q``: as written this cycle, or as stored."""
            return Mux(self.e_we & is_p(self.e_idx, q), self.e_data, rd(e_m, q))

        # read (f): the slot's coordinate, step and pair; the slope too is
        # registered here: read from LUT RAM in front of the multiplier, it
        # was the tetra build's longest path (31 ns)
        with m.If(b_take | idle):
            tj_s = rd(tj_m, b_slot)
            m.d.sync += [f_j.eq(b_j), f_p.eq(b_p), f_last.eq(last_p(b_p)),
                         *carry((f_tj, tj_s), (f_tf, rd(tf_m, b_slot)), (f_e, e_now(b_p)),
                                (f_slope, rd(slope_m, b_slot)))]
            a_e, a_o = outer.seg_addrs(b_slot, tj_s)
            m.d.comb += [outer.rd_even.addr.eq(a_e), outer.rd_odd.addr.eq(a_o)]
        with m.If(b_take):
            nj, np_ = advance(b_j, b_p)
            m.d.sync += [j.eq(nj), p.eq(np_)]
            with m.If(b_last):
                m.d.sync += issuing.eq(0)
        m.d.sync += f_v.eq(b_take)
        # the slot in the product stage: the first as the pass starts. Its
        # step may be written as the pass starts (the last one the core
        # sends): it passes on. No step is written during a pass, and the
        # products of other cycles outside one go unused, so the start
        # (a wide fan-out) stays out of the multipliers' operand paths.
        f_now = f_v | self.bstart
        fe = Mux(self.e_we & is_p(self.e_idx, 0), self.e_data, f_e)

        # products (f -> g): e * slope, e * f; the pair arrives: the write-back's bases
        bv0, bv1 = Banks.pair(f_tj[0], outer.rd_even.data, outer.rd_odd.data)
        m.d.sync += [g_v.eq(f_now), g_j.eq(f_j), g_p.eq(f_p), g_last.eq(f_last),
                     *carry((g_tj, f_tj)),
                     *(g.eq(base) for g, base in zip((g_b0, g_b1),
                                                     pair_bases(bv0, bv1, fe, F)))]
        if st.one_slot:
            # Y serves the map too; the slot's rcp stays in a_r from its take
            # to its products (one slot in flight), so Y's b needs no choice
            fy_a, fy_b = Mux(a_v, z_a, d_dv), a_r
        else:
            fy_a, fy_b = d_dv, d_r
        with m.If(fwd):
            m.d.comb += [x_a.eq(d_dv), x_b.eq(d_tf), y_a.eq(fy_a), y_b.eq(fy_b)]
        with m.Else():
            m.d.comb += [x_a.eq(fe), x_b.eq(f_tf), y_a.eq(fe), y_b.eq(f_slope)]

        # write and sum (g): the pair written back, e * slope summed over the
        # unit; after the unit's last slot, its step
        n0, n1, pair_over = pair_written(g_b0, g_b1, x_pq, F, V)
        summed = (Mux(is_p(g_p, 0), half, acc) if Q > 1 else half) + y_pq
        ek_sat, ek_over = saturate(summed >> SF, EB)
        k_v = g_v & g_last
        with m.If(g_v):
            a_e, a_o = outer.seg_addrs(slot_of(g_j, g_p), g_tj)
            outer.write_pair(m, Const(1, 1), a_e, a_o, g_tj[0], n0, n1)
            if acc is not None:
                m.d.sync += acc.eq(summed)
        bhits.flag(g_v & pair_over)
        # the steps' read port, registered, passes a step written in the same
        # cycle straight on: stage 1's update reads a unit's step as it is
        # formed, a cycle sooner than through the memory
        if ek_m is None:
            with m.If(k_v):
                m.d.sync += self.ek.eq(ek_sat)
        else:
            w_ek = wr(ek_m)
            m.d.comb += [w_ek.addr.eq(g_j), w_ek.data.eq(ek_sat), w_ek.en.eq(k_v)]
            m.d.sync += self.ek.eq(Mux(k_v & (g_j == self.ek_idx), ek_sat,
                                       rd(ek_m, self.ek_idx)))
        bhits.flag(k_v & ek_over)
        hits.flag(grant & self.st_sat)

        # -- the passes: start, and done when every slot has left the pipeline ------------
        f_busy = issuing | waiting | a_v | b_v | c_v | d_v | e_v
        b_busy = issuing | f_v | g_v
        # a forward pass started while the backward one runs (the next record
        # beside this one's update) waits for it: the backward pass reads the
        # coordinates and slopes the forward pass writes, and they share the
        # multipliers and read ports
        f_pend = Signal()
        fwd_go = (self.fstart | f_pend) & ~bwd & ~self.bstart
        with m.If(self.fstart & (bwd | self.bstart)):
            m.d.sync += f_pend.eq(1)
        with m.If(self.fstart):
            m.d.sync += f_done.eq(0)
        with m.If(self.bstart):
            m.d.sync += [bwd.eq(1), b_done.eq(0), issuing.eq(~one_slot & ~b_last)]
        with m.Elif(fwd_go):
            m.d.sync += [fwd.eq(1), issuing.eq(1), j.eq(0), p.eq(0), f_done.eq(0),
                         f_pend.eq(0)]
        with m.Elif(fwd & ~f_busy):
            # j and p rest at the first slot (the backward pass's reads)
            m.d.sync += [fwd.eq(0), f_done.eq(1), j.eq(0), p.eq(0)]
        with m.Elif(bwd & ~b_busy):
            m.d.sync += [bwd.eq(0), b_done.eq(1), j.eq(0), p.eq(0)]
        m.d.comb += [self.fdone.eq(f_done), self.bdone.eq(b_done)]

        with m.If(hits.any):
            m.d.sync += self.sat.eq(1)
        with m.If(self.clear):
            m.d.sync += [self.sat.eq(0), self.clamps.eq(0), self.stretches.eq(0)]
        with m.If(bhits.any):
            m.d.sync += self.bsat.eq(1)
        with m.If(self.bclear):
            m.d.sync += self.bsat.eq(0)
        # busy until the backward pass's last test has landed in ``bsat``
        b_land = Signal()
        m.d.sync += b_land.eq(bwd)
        m.d.comb += self.bbusy.eq(bwd | b_land)

        # -- control access (idle only) -----------------------------------------------------
        off = self.tbl_offset
        nb = st.node_bits
        o_node = off[:max(1, nb)]
        o_slot = off[nb:nb + st.slot_bits] if st.slot_bits else Const(0, 1)
        d_slot = off[2:2 + st.slot_bits] if st.slot_bits else Const(0, 1)
        active = self.tbl_sel & idle
        r_domain, r_odd, r_which = Signal(), Signal(), Signal(2)
        r_read = Signal()
        m.d.sync += r_read.eq(active)
        with m.If(active):
            m.d.sync += [r_domain.eq(self.tbl_domain), r_odd.eq(off[0]), r_which.eq(off[:2]),
                         r_dslot.eq(d_slot)]
            with m.If(self.tbl_domain):
                with m.If(self.tbl_we):
                    with m.Switch(off[:2]):
                        for which, w in ((DOMAIN_LO, w_lo), (DOMAIN_HI, w_hi),
                                         (DOMAIN_RCP, w_rcp)):
                            with m.Case(which):
                                m.d.comb += [w.addr.eq(d_slot), w.data.eq(self.tbl_wdata),
                                             w.en.eq(1)]
            with m.Else():
                a_e, a_o = outer.node_addrs(o_slot, o_node)
                m.d.comb += [outer.rd_even.addr.eq(a_e), outer.rd_odd.addr.eq(a_o)]
                outer.write_node(m, self.tbl_we, o_slot, o_node, self.tbl_wdata)
        domain_word = Mux(r_which == DOMAIN_LO, lo_d, Mux(r_which == DOMAIN_HI, hi_d, rcp_t))
        node_word = Mux(r_odd, outer.rd_odd.data, outer.rd_even.data)
        with m.If(r_read):
            m.d.sync += self.tbl_rdata.eq(Mux(r_domain, domain_word, node_word))
        return m
