"""A processing block: the inner function tables, outer function table and
domain of one KAN addend (or of ``addends_per_block`` addends served in
turn), the forward datapath and the update logic.

Every arithmetic step mirrors :mod:`kanhw.nk_fixed` exactly. Node tables are
split into even and odd banks so that the two nodes of a segment (``j`` and
``j + 1``, always of opposite parity) are read, and written, in one cycle
through one port per bank.

What the core broadcasts to every block (``start``, ``update``, the step
``e``, the coordinates, the mode) and the reset reach the datapath through
registers of the block's own (:class:`BlockEdge`), a cycle later.

Lane pipelines. Forward (record t + 1):

* A: drive the forward port's bank addresses of step ``s`` (input
  ``s * lanes + lane``);
* B: bank data arrive; the lane's first multiplier forms ``f * (v1 - v0)``;
* C: accumulate ``v0 + round(product)``.

The forward pass keeps each slot's coordinate and pair in a small cache
(a word per addend and step; LUT RAM on ECP5), since the update of the
same record needs them again while the tables' read port already serves
the next record. Update (record t, at the same time): A reads the cache;
B forms ``f * e_k`` on the lane's second multiplier and the write
addresses; C writes back ``v0 + e_k - up`` and ``v1 + up`` through the
tables' write port. The forward pass of record t + 1 starts
``UPDATE_LEAD`` cycles after the update of record t, so it reads each slot
the cycle after the update wrote it: the arithmetic is that of sequential
NK, record after record, but the update costs no time of its own.

With ``lane_stages = 4`` the forward stage B is split: the pair and its
saturated difference are registered, and the multiply takes the next cycle
(the path from block RAM through the subtraction into the multiplier was
the longest in one-addend builds). ``lane_stages = 5`` also registers the
table data as they leave the block RAM, before the pair and difference.

After the lanes: adder tree, saturation, ``d = s - lo``, the map multiply
``d * rcp``, the outer coordinate and read, the outer value and slope. An
outer argument outside the domain stretches it (training) or is clamped
(frozen). Stretches are rare, so the block does not compute one itself: it
raises ``st_req`` and waits for the core's shared stretch unit
(:mod:`kanhw.rtl_gen.stretch`) to hand back the new domain, reciprocal and
offset. ``done`` holds until ``update``, which applies ``e`` to the outer
nodes and ``e * slope`` to every inner function (training) or only releases
the block (frozen).

The three forward products of the outer path (map, value, slope) take
turns on one multiplier, the two update products (inner step ``e *
slope``, outer step ``e * t_f``) on another: the two passes overlap (see
above), and within a pass the products fall in different cycles.

A block serving M addends (``addends_per_block``) keeps their inner tables in
the same RAMs (slot = addend, then step) and runs the lanes over the M
addends back to back, forward and (beside the next record's forward)
update. The outer path becomes an
engine that takes one addend at a time, a new one every four cycles (its
three multiplications need the shared multiplier in cycles 2, 5 and 7 after
the take, distinct modulo four);
hidden sums that arrive while it is busy (fewer than four steps per
addend, or a stretch) wait in ``held``. Domains, reciprocals, outer
coordinates and slopes are kept per addend, in small LUT RAMs
(:class:`PerAddend`); the block's value is the sum
of its addends' values. The update loads each addend's ``e_k`` as its
first step issues (stage C keeps the ``e_k`` stage B used) and takes the
addend's outer pair, as its forward pass read it, for its write. Fewer, larger blocks: the outer path,
about two thirds of a one-addend det4 block, is paid once per M addends.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth.hdl import (
    Array,
    Cat,
    ClockDomain,
    ClockSignal,
    Const,
    DomainRenamer,
    Elaboratable,
    Instance,
    Module,
    Mux,
    ResetSignal,
    Signal,
    signed,
    unsigned,
)
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kanhw.interface.cycles import UPDATE_LEAD
from kanhw.interface.geometry import (
    DOMAIN_HI,
    DOMAIN_LO,
    DOMAIN_RCP,
    REGION_DOMAIN,
    REGION_INNER,
    REGION_OUTER,
    Geometry,
    ceil_log2,
)

from .arith import round_shift, rounded_base, saturate
from .tree import AdderTree


def control_signature(geo: Geometry) -> wiring.Signature:
    """Block-local control port: table and domain access while idle. Read
    data is valid :data:`~kanhw.interface.cycles.CONTROL_READ_LATENCY` cycles after the
    request."""
    return wiring.Signature({
        "sel": Out(1),
        "we": Out(1),
        "region": Out(2),
        "offset": Out(geo.offset_bits),
        "wdata": Out(32),
        "rdata": In(32),
    })


class Banks:
    """Even/odd node banks of one table (``slots`` functions of ``points``
    nodes), one read and one write port each."""

    def __init__(self, m: Module, name: str, width: int, points: int, slots: int,
                 init: list[list[int]] | None = None, attrs: dict | None = None) -> None:
        self.ne = 1 << ceil_log2((points + 1) // 2)
        self.no = 1 << ceil_log2(points // 2)
        self.slot_bits = ceil_log2(slots)
        even = [0] * (self.ne << self.slot_bits)
        odd = [0] * (self.no << self.slot_bits)
        for s, nodes in enumerate(init or []):
            for p, v in enumerate(nodes):
                if p % 2 == 0:
                    even[s * self.ne + p // 2] = v
                else:
                    odd[s * self.no + p // 2] = v
        shape = signed(width)
        m.submodules[f"{name}_even"] = mem_e = Memory(shape=shape, depth=len(even), init=even,
                                                      attrs=attrs)
        m.submodules[f"{name}_odd"] = mem_o = Memory(shape=shape, depth=len(odd), init=odd,
                                                     attrs=attrs)
        self.rd_even, self.rd_odd = mem_e.read_port(), mem_o.read_port()
        self.wr_even, self.wr_odd = mem_e.write_port(), mem_o.write_port()

    def _addr(self, slot, node_half, depth: int):
        bits = ceil_log2(depth)
        a = node_half[:bits] if bits else Const(0, 0)
        return Cat(a, slot[:self.slot_bits]) if self.slot_bits else a

    def seg_addrs(self, slot, j):
        """(even, odd) bank addresses of segment ``j``'s nodes ``j``, ``j+1``."""
        return self._addr(slot, (j + 1) >> 1, self.ne), self._addr(slot, j >> 1, self.no)

    def node_addrs(self, slot, p):
        """(even, odd) bank addresses of node ``p`` (only one bank holds it)."""
        return self._addr(slot, p >> 1, self.ne), self._addr(slot, p >> 1, self.no)

    @staticmethod
    def pair(odd_first, even_data, odd_data):
        """(v_j, v_j+1) from the banks' data: an odd ``j`` sits in the odd bank."""
        return Mux(odd_first, odd_data, even_data), Mux(odd_first, even_data, odd_data)

    def write_pair(self, m: Module, en, addr_even, addr_odd, odd_first, new_j, new_j1):
        with m.If(en):
            m.d.comb += [self.wr_even.addr.eq(addr_even), self.wr_odd.addr.eq(addr_odd),
                         self.wr_even.data.eq(Mux(odd_first, new_j1, new_j)),
                         self.wr_odd.data.eq(Mux(odd_first, new_j, new_j1)),
                         self.wr_even.en.eq(1), self.wr_odd.en.eq(1)]

    def write_node(self, m: Module, en, slot, p, value):
        a_even, a_odd = self.node_addrs(slot, p)
        with m.If(en & p[0]):
            m.d.comb += [self.wr_odd.addr.eq(a_odd), self.wr_odd.data.eq(value),
                         self.wr_odd.en.eq(1)]
        with m.If(en & ~p[0]):
            m.d.comb += [self.wr_even.addr.eq(a_even), self.wr_even.data.eq(value),
                         self.wr_even.en.eq(1)]


class PerAddend:
    """State kept per addend of a block (domain, reciprocal, coordinate,
    slope, held sum): a register when the block serves one addend; for
    several, a small RAM with asynchronous reads (LUT RAM on ECP5). A
    multiplexer over M registers costs about half a LUT per bit per addend at
    every place it is read; the RAM a slice per 4 bits per read, whatever M.
    Unlike registers, the RAM keeps its contents through a reset, as the node
    tables do (the host loads both after one)."""

    def __init__(self, m: Module, name: str, shape, share: int, init: int = 0,
                 lut_ram: bool = True) -> None:
        """``lut_ram``: the fabric has LUT RAM (the platform's
        ``has_lut_ram``); without it, synthesis builds the words from logic."""
        self.m, self.share = m, share
        if share == 1:
            self.reg = Signal(shape, name=name, init=init)
            return
        self.mem = Memory(shape=shape, depth=share, init=[init] * share,
                          attrs={"ram_style": "distributed"} if lut_ram else None)
        m.submodules[name] = self.mem
        self.wr = self.mem.write_port()

    def read(self, index):
        """The value of addend ``index`` (a new read port per call)."""
        if self.share == 1:
            return self.reg
        port = self.mem.read_port(domain="comb")
        self.m.d.comb += port.addr.eq(index)
        return port.data

    def write(self, m: Module, index, value) -> None:
        """Write ``value`` for addend ``index`` at the next edge, under the
        caller's conditions (callers never write in the same cycle)."""
        if self.share == 1:
            m.d.sync += self.reg.eq(value)
        else:
            m.d.comb += [self.wr.addr.eq(index), self.wr.data.eq(value), self.wr.en.eq(1)]


def block_signature(geo: Geometry) -> wiring.Signature:
    c = geo.design.contract
    return wiring.Signature({
            "start": In(1),
            "update": In(1),
            "train": In(1),
            "u": In(data.ArrayLayout(unsigned(geo.coord_width), geo.n)),
            "e": In(signed(c.step_bits)),
            # the outer coordinate's largest value, ((points - 1) << F) - 1 for
            # the outer grid in use (the core's ``outer_points``)
            "coord_top": In(unsigned(geo.outer_coord_width)),
            "val": Out(signed(c.value_bits + 2 + geo.addend_bits)),
            "done": Out(1),
            "idle": Out(1),
            # no update pass in flight (its last write has landed)
            "uidle": Out(1),
            # saturation in the forward pass / in the update pass
            "sat": Out(1),
            "usat": Out(1),
            # clamped arguments and stretched domains of this record, of up to
            # ``share`` addends
            "clamp": Out(range(geo.addends_per_block + 1)),
            "stretch": Out(range(geo.addends_per_block + 1)),
            # clear the forward flags (sat, clamp, stretch) / the update's usat
            "clear": In(1),
            "uclear": In(1),
            "ctl": In(control_signature(geo)),
            # stretch requests, served by the core's stretch unit
            "st_req": Out(1),
            "s_hidden": Out(signed(c.value_bits)),
            "dom_lo": Out(signed(c.value_bits)),
            "dom_hi": Out(signed(c.value_bits)),
            "st_grant": In(1),
            "st_lo": In(signed(c.value_bits)),
            "st_hi": In(signed(c.value_bits)),
            "st_rcp": In(unsigned(c.rcp_bits)),
            "st_d": In(signed(c.mul_bits)),
            "st_sat": In(1),
        })


#: Synthesis attributes of the inner tables per ``[hardware] table_ram``
#: (Yosys' memory mapper reads ``ram_style``).
RAM_STYLE = {"auto": None, "block": {"ram_style": "block"},
             "lut": {"ram_style": "distributed"}}

#: Module name of the shared block in emitted Verilog.
BLOCK_MODULE = "kanhw_block"


class BlockInstance(wiring.Component):
    """A block as an instance of the separately emitted ``kanhw_block``
    module: the Verilog holds one block definition, not K copies."""

    def __init__(self, geo: Geometry) -> None:
        super().__init__(block_signature(geo))

    def elaborate(self, platform):
        m = Module()
        ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
        for path, member, value in self.signature.flatten(self):
            name = "__".join(str(p) for p in path)
            prefix = "i_" if member.flow == In else "o_"
            ports[prefix + name] = value
        m.submodules.block = Instance(BLOCK_MODULE, **ports)
        return m


class BlockEdge(Elaboratable):
    """The block's edge: the reset and every signal the core broadcasts to
    all blocks (record, step, control requests) pass a register of this
    block's own. One driver per block instead of one for the device: the
    broadcast of the step into every block's update multiplier, the reset
    into every flip-flop, and the control port's write data into every
    table were in turn the ECP5-85F build's longest paths (17.6 of 23.3 ns,
    then 20.2 of 21.1 ns, of routing).

    Synthesis merges registers with the same input, so that the blocks'
    identical registers would become one driver for the device again. A
    platform that answers ``get_edge_register(q, d, domain)`` (a board's,
    through its FPGA family) builds them so that they stay apart, from
    flip-flop primitives; elsewhere (simulation) they are plain registers.

    The reset register is in the block's domain, the others in the
    datapath's (``local``, reset by that register): Amaranth's simulator
    lets a domain whose clock is assigned from another's sample that
    domain's registers after they changed (a race the Verilog, which clocks
    both from one net, and the hardware do not have), so a register must
    sit in the domain of the logic that reads it for the two to agree."""

    def __init__(self, blk: ProcessingBlock) -> None:
        self.blk = blk
        self.rst = Signal(init=1)            # the datapath's reset
        self.start, self.update, self.clear, self.uclear = (
            Signal(name=n) for n in ("start", "update", "clear", "uclear"))
        self.train = Signal(init=1)
        # data: meaningless until a start or an update, so no reset (the
        # grid's top follows the core's register every cycle)
        self.u = Signal.like(blk.u, name="u", reset_less=True)
        self.e = Signal.like(blk.e, name="e", reset_less=True)
        self.coord_top = Signal.like(blk.coord_top, name="coord_top", reset_less=True)
        # the control port's requests (its read data leaves by the datapath's
        # own register); the rest means nothing without ``sel``
        self.ctl = SimpleNamespace(sel=Signal(name="ctl_sel"), **{
            n: Signal.like(getattr(blk.ctl, n), name=f"ctl_{n}", reset_less=True)
            for n in ("we", "region", "offset", "wdata")})

    def elaborate(self, platform):
        m = Module()
        b = self.blk
        regs = [("sync", self.rst, ResetSignal()),
                *(("local", q, d) for q, d in (
                    (self.start, b.start), (self.update, b.update), (self.clear, b.clear),
                    (self.uclear, b.uclear), (self.train, b.train), (self.u, b.u),
                    (self.e, b.e), (self.coord_top, b.coord_top),
                    *((v, getattr(b.ctl, n)) for n, v in vars(self.ctl).items())))]
        edge_registers(m, platform, regs)
        return m


def edge_registers(m: Module, platform, regs) -> None:
    """``q <= d`` in ``domain`` for every ``(domain, q, d)`` of ``regs``: as
    the platform builds registers that must stay apart from identical ones
    (``get_edge_register``, a board's FPGA family), else plain registers."""
    hook = getattr(platform, "get_edge_register", None)
    for i, (domain, q, d) in enumerate(regs):
        cells = hook(q, d, domain) if hook is not None else None
        if cells is None:
            m.d[domain] += q.eq(d)
        else:
            m.submodules[f"ff{i}"] = cells


class ProcessingBlock(wiring.Component):
    """The datapath of ``share`` addends. See the module docstring for the protocol."""

    def __init__(self, geo: Geometry) -> None:
        self.geo = geo
        super().__init__(block_signature(geo))

    def elaborate(self, platform):
        top = Module()
        top.submodules.edge = edge = BlockEdge(self)
        top.domains.local = cd = ClockDomain("local", local=True)
        top.d.comb += [cd.clk.eq(ClockSignal()), cd.rst.eq(edge.rst)]
        top.submodules.datapath = DomainRenamer("local")(
            self._datapath(edge, getattr(platform, "has_lut_ram", True)))
        return top

    def _datapath(self, edge: BlockEdge, lut_ram: bool) -> Module:
        m = Module()
        geo = self.geo
        c = geo.design.contract
        # the core's broadcast as this block sees it, a cycle later
        # (cycles.BROADCAST_STAGES)
        start, update, clear, uclear = edge.start, edge.update, edge.clear, edge.uclear
        train, u, e = edge.train, edge.u, edge.e
        # ``done`` and ``uidle`` answer for the broadcast still in the edge
        # register: the core looks at the barrier the cycle after it raised
        # ``update``, before the block has seen it.
        done = Signal()
        m.d.comb += self.done.eq(done & ~update)
        V, F, L, S, M = c.value_bits, c.frac_bits, geo.lanes, geo.steps, geo.addends_per_block
        MB, EB, G = c.mul_bits, c.step_bits, c.guard_bits
        P1 = geo.p_outer
        sshift = F + c.rcp_shift - c.slope_frac
        top1 = edge.coord_top
        TB, AB = geo.step_bits, geo.addend_bits

        # Saturation tests: each passes a register of its own before the
        # block's flag (``sat`` for the forward pass, ``usat`` for the update
        # pass, another record's by then). The tests sit at the ends of carry
        # chains all over the block, and a test and the flag's OR in one cycle
        # were in turn the 85F build's longest path (a lane's difference,
        # 20.4 ns; the outer engine's, 17.9 ns; an inner write-back's,
        # 15.3 ns). The core reads ``sat`` as the update starts, cycles after
        # the last test; the update pass counts as busy until the last of its
        # tests has landed (``uc_upd``).
        sat_hits, usat_hits = [], []

        def hit_register(hits, prefix):
            def flag(cond):
                """Call it outside any ``m.If``: the register follows ``cond``
                every cycle (under an ``m.If`` it would hold a hit and count
                later records)."""
                hit = Signal(name=f"{prefix}_hit{len(hits)}")
                m.d.sync += hit.eq(cond)
                hits.append(hit)
            return flag

        flag_sat, flag_usat = hit_register(sat_hits, "sat"), hit_register(usat_hits, "usat")

        # An update writes a pair back as v0 + step - round(f step) and
        # v1 + round(f step) (lanes: f e_k; the outer pair: t_f e). The step
        # and the rounding are folded into bases formed the cycle before the
        # product p, so the write is one carry chain per node (the rounding,
        # the sum and the saturation into the block RAM's data were the
        # longest path of the ECP5 builds).
        def pair_bases(v0, v1, step):
            return rounded_base(v0 + step, F, subtract=True), rounded_base(v1, F)

        def pair_written(b0, b1, p):
            """(new v0, new v1, saturated) from the bases and the product."""
            n0, o0 = saturate((b0 - p) >> F, V)
            n1, o1 = saturate((b1 + p) >> F, V)
            return n0, n1, o0 | o1

        def slot_of(step, j):
            """Inner table slot: the addend within the block, then the step."""
            parts = ([step[:TB]] if TB else []) + ([j[:AB]] if AB else [])
            return Cat(*parts) if parts else Const(0, 1)

        def per_addend(shape, name, init=0):
            return PerAddend(m, name, shape, M, init, lut_ram)

        # -- state ---------------------------------------------------------------
        ram = RAM_STYLE[geo.design.table_ram]
        lanes = [Banks(m, f"inner{l}", V, geo.p_inner, (1 << TB) << AB, attrs=ram)
                 for l in range(L)]
        outer = Banks(m, "outer", V, P1, M)
        lo = per_addend(signed(V), "lo")
        hi = per_addend(signed(V), "hi")
        rcp = per_addend(unsigned(c.rcp_bits), "rcp", init=1)
        tj_arr = per_addend(range(P1), "tj")      # outer coordinate, forward -> update
        tf_arr = per_addend(F, "tf")
        slope_arr = per_addend(signed(c.slope_bits), "slope")
        ov0_arr = per_addend(signed(V), "ov0")    # outer pair as read, forward -> update
        ov1_arr = per_addend(signed(V), "ov1")

        # -- forward lane pipeline (record t + 1) ------------------------------------
        fwd_issue = Signal()                 # stage A flag
        step = Signal(range(max(S, 2)))
        aj = Signal(range(max(M, 2)))        # addend whose functions are issued
        a_fwd, a_first, a_last = (Signal(name=n) for n in ("a_fwd", "a_first", "a_last"))
        b_fwd, b_first, b_last = (Signal(name=n) for n in ("b_fwd", "b_first", "b_last"))
        c_last = Signal()

        def stage(name, on, values):
            """``values`` registered once more when ``on``, else as they are."""
            if not on:
                return values
            regs = [Signal.like(v, name=f"{name}{i}") for i, v in enumerate(values)]
            m.d.sync += [r.eq(v) for r, v in zip(regs, values)]
            return regs

        def from_ram(name, *values):
            """``values`` as the pair stage sees them: as they are (three or
            four lane stages), or registered at the block RAM's output (five:
            its 5.6 ns clock-to-output then leaves the pair, difference and
            saturation a cycle of their own)."""
            return stage(f"q_{name}", geo.extra_lane_stages >= 2, values)

        def to_multiply(name, *values):
            """``values`` as the multiply stage sees them: as they are (three
            lane stages), or registered once more (four or five: the table
            data and its difference get a cycle of their own before the
            multiplier)."""
            return stage(f"r_{name}", geo.extra_lane_stages >= 1, values)

        m.d.sync += [a_fwd.eq(fwd_issue), a_first.eq(step == 0), a_last.eq(step == S - 1)]
        q_fwd, q_first, q_last = from_ram("flags", a_fwd, a_first, a_last)
        m_fwd, m_first, m_last = to_multiply("flags", q_fwd, q_first, q_last)
        m.d.sync += [b_fwd.eq(m_fwd), b_first.eq(m_first), b_last.eq(m_last),
                     c_last.eq(b_fwd & b_last)]

        # -- update lane pipeline (record t, beside record t + 1's forward pass) ------
        upd_issue = Signal()                 # stage A flag
        ustep = Signal(range(max(S, 2)))
        uaj = Signal(range(max(M, 2)))
        ua_upd, ub_upd = Signal(name="ua_upd"), Signal(name="ub_upd")
        uc_upd = Signal(name="uc_upd")       # the write-backs' saturation tests land
        ek = Signal(signed(EB))              # step of the issued addend's inner functions
        m.d.sync += [ua_upd.eq(upd_issue), ub_upd.eq(ua_upd), uc_upd.eq(ub_upd)]

        lane_sums = []
        slot_f, slot_u = slot_of(step, aj), slot_of(ustep, uaj)
        pad = Const(0, geo.coord_width)
        for l, bank in enumerate(lanes):
            inputs = [s * L + l for s in range(S)]
            real = Array([Const(int(i < geo.n), 1) for i in inputs])

            # forward, stage A: drive the read ports
            u_f = Array([u[i] if i < geo.n else pad for i in inputs])[step]
            j = u_f[F:]
            addr_e, addr_o = bank.seg_addrs(slot_f, j)
            m.d.comb += [bank.rd_even.addr.eq(addr_e), bank.rd_odd.addr.eq(addr_o)]
            a_u = Signal.like(u_f, name=f"a_u{l}")
            a_slot = Signal.like(slot_f, name=f"a_slot{l}")
            a_real = Signal(name=f"a_real{l}")
            m.d.sync += [a_u.eq(u_f), a_slot.eq(slot_f), a_real.eq(real[step])]
            q_even, q_odd, q_u, q_slot, q_real = from_ram(
                f"lane{l}_", bank.rd_even.data, bank.rd_odd.data, a_u, a_slot, a_real)
            q_f, q_odd_first = q_u[:F], q_u[F]
            # stage B: the pair, its difference, f * (v1 - v0) (the multiply a
            # stage of its own with lane_stages = 4 or 5, the table data
            # registered first with 5)
            v0, v1 = Banks.pair(q_odd_first, q_even, q_odd)
            # The update of this record needs the coordinate and the pair
            # again, while the tables' read port serves the next record: keep
            # them per slot (a word per addend and step, LUT RAM on ECP5).
            cache_layout = data.StructLayout({"u": unsigned(geo.coord_width),
                                              "v0": signed(V), "v1": signed(V)})
            m.submodules[f"cache{l}"] = cache = Memory(shape=cache_layout,
                                                       depth=max(2, (1 << TB) << AB),
                                                       init=[])
            cw_port = cache.write_port()
            cr_port = cache.read_port()
            m.d.comb += [cw_port.addr.eq(q_slot), cw_port.en.eq(q_fwd),
                         cw_port.data.u.eq(q_u), cw_port.data.v0.eq(v0),
                         cw_port.data.v1.eq(v1)]
            dv, dv_over = saturate(round_shift(v1 - v0, G), MB)
            flag_sat(q_fwd & q_real & dv_over)
            x_f, x_v0, x_dv, x_real = to_multiply(f"lane{l}_", q_f, v0, dv, q_real)
            prod = x_f * x_dv
            b_p = Signal(prod.shape(), name=f"b_p{l}")
            b_v0 = Signal(signed(V), name=f"b_v0_{l}")
            b_real = Signal(name=f"b_real{l}")
            m.d.sync += [b_p.eq(prod), b_v0.eq(x_v0), b_real.eq(x_real)]
            # stage C: accumulate this lane's values
            acc = Signal(signed(V + 3 + ceil_log2(S + 1)), name=f"acc{l}")
            val = Mux(b_real, b_v0 + round_shift(b_p, F - G), 0)
            with m.If(b_fwd):
                m.d.sync += acc.eq(Mux(b_first, 0, acc) + val)
            lane_sums.append(acc)

            # update, stage A: read record t's coordinate and pair from the cache
            m.d.comb += cr_port.addr.eq(slot_u)
            ua_slot = Signal.like(slot_u, name=f"ua_slot{l}")
            ua_real = Signal(name=f"ua_real{l}")
            m.d.sync += [ua_slot.eq(slot_u), ua_real.eq(real[ustep])]
            # stage B: f * e_k on the lane's second multiplier (the first is
            # busy with the next record), the write addresses
            cu = cr_port.data
            uprod = cu.u[:F] * ek
            uae, uao = bank.seg_addrs(ua_slot, cu.u[F:])
            ub_p = Signal(uprod.shape(), name=f"ub_p{l}")
            base0, base1 = pair_bases(cu.v0, cu.v1, ek)
            ub_b0 = Signal(base0.shape(), name=f"ub_b0_{l}")
            ub_b1 = Signal(base1.shape(), name=f"ub_b1_{l}")
            ub_odd = Signal(name=f"ub_odd{l}")
            ub_real = Signal(name=f"ub_real{l}")
            ub_ae = Signal.like(uae, name=f"ub_ae{l}")
            ub_ao = Signal.like(uao, name=f"ub_ao{l}")
            m.d.sync += [ub_p.eq(uprod), ub_b0.eq(base0), ub_b1.eq(base1),
                         ub_odd.eq(cu.u[F]), ub_real.eq(ua_real), ub_ae.eq(uae),
                         ub_ao.eq(uao)]
            # stage C: write the pair back
            n0, n1, over = pair_written(ub_b0, ub_b1, ub_p)
            bank.write_pair(m, ub_upd & ub_real, ub_ae, ub_ao, ub_odd, n0, n1)
            flag_usat(ub_upd & ub_real & over)

        # -- lane reduction and saturation: one hidden sum per addend -------------------
        acc_width = lane_sums[0].shape().width
        m.submodules.lane_tree = tree = AdderTree(L, acc_width, geo.design.tree_levels_per_cycle)
        for l, acc in enumerate(lane_sums):
            m.d.comb += tree.inputs[l].eq(acc)
        m.d.comb += tree.valid_in.eq(c_last)
        s_sat, s_over = saturate(tree.output, V)
        flag_sat(tree.valid_out & s_over)

        # -- the outer engine: one addend at a time, a new one every 4 cycles -----------
        # Hidden sums that arrive while the engine is busy (a stretch, or fewer
        # than 4 steps per addend) wait in ``held``; otherwise the engine takes
        # the tree's output as it appears.
        produced = Signal(range(M + 1))      # sums out of the lane tree this record
        taken = Signal(range(M + 1))         # addends the engine has started
        held = per_addend(signed(V), "held") if M > 1 else None
        with m.If(tree.valid_out):
            m.d.sync += produced.eq(produced + 1)
            if held is not None:
                held.write(m, produced, s_sat)
        waiting = produced > taken
        avail = (waiting | tree.valid_out) & (taken < M)
        next_sum = Mux(waiting, held.read(taken), s_sat) if held is not None else s_sat
        busy = Signal()                      # an addend in the engine
        cur = Signal(range(max(M, 2)))       # ... its index
        s_reg = Signal(signed(V))            # its hidden sum, kept for a stretch
        d_reg = Signal(signed(MB))           # a - lo, clipped to a multiplier operand
        k_valid = Signal()                   # an addend taken: d_reg next
        d_valid = Signal()
        o_valid = Signal()
        h_valid = Signal()                   # o_valid a cycle later: the value's product
        # The engine takes the next addend as the current one leaves the
        # stretch test (o_valid): a new addend every four cycles. Not the
        # cycle after (h_valid): that addend's map would fall on the
        # multiplier with the current one's slope, three cycles after its
        # o_valid (a sum that arrives then, as every fifth cycle with five
        # lane steps per addend or after a stretch, waits a cycle).
        take = avail & (~busy | o_valid) & ~h_valid
        lo_cur, hi_cur, rcp_cur = lo.read(cur), hi.read(cur), rcp.read(cur)
        m.d.sync += [k_valid.eq(take), d_valid.eq(k_valid)]
        stretched = Signal()                 # this addend stretched once already
        with m.If(take):
            m.d.sync += [taken.eq(taken + 1), busy.eq(1), cur.eq(taken), stretched.eq(0),
                         s_reg.eq(next_sum)]
        with m.Elif(o_valid):
            m.d.sync += busy.eq(0)
        # d = a - lo a cycle after the take, from registers: the choice of the
        # sum (held or the tree's), the domain's read at the new index and the
        # subtraction in one cycle were the 85F build's longest path (17.3 ns)
        # the addend's reciprocal is read in the same cycle: the map multiplier
        # then starts from registers (the LUT RAM's read at ``cur`` into the
        # multiplier was 17.5 ns, 6 ns of it routing on ``cur``)
        rcp_reg = Signal(unsigned(c.rcp_bits))
        with m.If(k_valid):
            m.d.sync += [d_reg.eq(saturate(round_shift(s_reg - lo_cur, G), MB)[0]),
                         rcp_reg.eq(rcp_cur)]

        # -- the outer multiplier, shared in turn ---------------------------------
        # map d*rcp (d_valid/redo), value t_f*dv (h_valid), slope dv*rcp
        # (sl_valid); the update has its own (it overlaps the next record)
        mul_a = Signal(signed(MB))
        mul_b = Signal(signed(max(c.rcp_bits + 1, F + 1)))
        pq = Signal(signed(len(mul_a) + len(mul_b)))
        m.d.sync += pq.eq(mul_a * mul_b)

        # -- outer: map, read, value and slope ---------------------------------------
        redo = Signal()                      # re-map after a stretch
        p_valid = Signal()
        m.d.sync += p_valid.eq(d_valid | redo)
        t_full = round_shift(pq, c.rcp_shift)
        below, above = t_full < 0, t_full > top1
        t_use = Mux(below, 0, Mux(above, top1, t_full))[:geo.outer_coord_width]
        need_stretch = p_valid & (below | above) & train & ~stretched
        # the engine's own copy of the coordinate: the value multiplier reads it
        # without going through the per-addend multiplexer (identical
        # registers merge when the block serves one addend)
        t_f = Signal(F)
        t_j = Signal(range(P1))
        m.d.sync += o_valid.eq(p_valid & ~need_stretch)
        o_addr = outer.seg_addrs(cur, t_use[F:])
        # The coordinate is written whether or not the argument stretches
        # the domain: after a stretch, the re-map writes it again before
        # anything reads it (gating the writes by the stretch test was the
        # ULX3S-85F build's longest path, 15.3 ns).
        with m.If(p_valid):
            m.d.sync += [t_j.eq(t_use[F:]), t_f.eq(t_use[:F])]
            tj_arr.write(m, cur, t_use[F:])
            tf_arr.write(m, cur, t_use[:F])
            with m.If((below | above) & ~train):
                m.d.sync += self.clamp.eq(self.clamp + 1 if M > 1 else 1)
        # The outer pair's difference is registered before it reaches the
        # multiplier (block RAM, pair multiplexer, subtraction, rounding and
        # saturation filled a cycle): value t_f*dv two cycles after the read,
        # slope dv*rcp two after that, so the multiplier still serves a new
        # addend every four cycles (after the take: d in cycle 1, map 2,
        # value 5, slope 7).
        o_v0 = Signal(signed(V))
        o_dv = Signal(signed(MB))
        o_rcp = Signal(unsigned(c.rcp_bits))
        o_cur = Signal.like(cur)             # the addend whose value and slope follow
        v_valid, sl_valid, s_valid = Signal(), Signal(), Signal()
        ov0, ov1 = Banks.pair(t_j[0], outer.rd_even.data, outer.rd_odd.data)
        odv, odv_over = saturate(round_shift(ov1 - ov0, G), MB)
        m.d.sync += [h_valid.eq(o_valid), v_valid.eq(h_valid), sl_valid.eq(v_valid),
                     s_valid.eq(sl_valid)]
        with m.If(o_valid):
            m.d.sync += [o_v0.eq(ov0), o_dv.eq(odv), o_rcp.eq(rcp_reg), o_cur.eq(cur)]
            ov0_arr.write(m, cur, ov0)
            ov1_arr.write(m, cur, ov1)
        flag_sat(o_valid & odv_over)
        value = o_v0 + round_shift(pq, F - G)
        with m.If(v_valid):
            m.d.sync += self.val.eq(Mux(o_cur == 0, 0, self.val) + value if M > 1 else value)
            with m.If(o_cur == M - 1):
                m.d.sync += done.eq(1)
        # the last slope lands two cycles after done; the barrier, residual
        # and step take longer than that before ``update`` can use it
        slope_sat, slope_over = saturate(round_shift(pq, sshift), c.slope_bits)
        with m.If(s_valid):
            slope_arr.write(m, o_cur, slope_sat)
        flag_sat(s_valid & slope_over)

        # -- stretch: request the shared unit, take back domain, rcp and offset --------
        m.d.comb += [self.s_hidden.eq(s_reg), self.dom_lo.eq(lo_cur), self.dom_hi.eq(hi_cur)]
        with m.If(need_stretch):
            m.d.sync += [self.st_req.eq(1), stretched.eq(1),
                         self.stretch.eq(self.stretch + 1 if M > 1 else 1)]
        with m.If(self.st_grant):
            m.d.sync += [self.st_req.eq(0), d_reg.eq(self.st_d), rcp_reg.eq(self.st_rcp)]
            for arr, v in ((lo, self.st_lo), (hi, self.st_hi), (rcp, self.st_rcp)):
                arr.write(m, cur, v)
        flag_sat(self.st_grant & self.st_sat)
        m.d.sync += redo.eq(self.st_grant)

        # -- sequencing ------------------------------------------------------------
        training_update = update & train
        with m.If(fwd_issue):
            m.d.sync += step.eq(Mux(step == S - 1, 0, step + 1))
            with m.If(step == S - 1):
                m.d.sync += aj.eq(Mux(aj == M - 1, 0, aj + 1))
                with m.If(aj == M - 1):
                    m.d.sync += fwd_issue.eq(0)
        # the update's issue state next cycle (``training_update`` below
        # starts it), so that its multiplier operand can be read a cycle early
        n_issue, n_ustep, n_uaj = Signal(), Signal.like(ustep), Signal.like(uaj)
        m.d.comb += [n_issue.eq(upd_issue), n_ustep.eq(ustep), n_uaj.eq(uaj)]
        with m.If(training_update):
            m.d.comb += [n_issue.eq(1), n_ustep.eq(0), n_uaj.eq(0)]
        with m.Elif(upd_issue):
            m.d.comb += n_ustep.eq(Mux(ustep == S - 1, 0, ustep + 1))
            with m.If(ustep == S - 1):
                m.d.comb += n_uaj.eq(Mux(uaj == M - 1, 0, uaj + 1))
                with m.If(uaj == M - 1):
                    m.d.comb += n_issue.eq(0)
        m.d.sync += [upd_issue.eq(n_issue), ustep.eq(n_ustep), uaj.eq(n_uaj)]

        # Record t + 1's forward pass may start with record t's update (the
        # core raises ``start`` and ``update`` together). Its reads trail the
        # update's writes by UPDATE_LEAD cycles: issue, multiply, write, then
        # the forward port reads that slot; both sides issue a slot per cycle,
        # so every later read trails its slot's write too.
        hold = Signal(range(UPDATE_LEAD + 1))   # cycles until a forward pass may begin
        pending = Signal()                   # started, waiting for the lead
        fbusy = Signal()                     # from start until this record's update
        with m.If(hold != 0):
            m.d.sync += hold.eq(hold - 1)
        may_begin = (hold <= 1) & ~training_update
        with m.If(start | pending):
            with m.If(may_begin):
                m.d.sync += [step.eq(0), aj.eq(0), fwd_issue.eq(1), produced.eq(0),
                             taken.eq(0), pending.eq(0)]
            with m.Else():
                m.d.sync += pending.eq(1)
        with m.If(start):
            m.d.sync += fbusy.eq(1)
        with m.Elif(update):
            m.d.sync += fbusy.eq(0)
        with m.If(update):
            m.d.sync += done.eq(0)

        # -- update: e_k and the outer step on the block's update multiplier --------
        e_reg = Signal(signed(EB))
        umul_a = Signal(signed(EB))
        umul_b = Signal(signed(max(c.slope_bits, F + 1)))
        upq = Signal(signed(len(umul_a) + len(umul_b)))
        m.d.sync += upq.eq(umul_a * umul_b)
        # The operands come from registers, read from the per-addend LUT RAMs
        # the cycle before (the RAM's address logic, the read and the
        # multiplier in one cycle were the OrangeCrab build's longest path),
        # and the multiplier takes them every cycle: only the products of the
        # cycles below are used (choosing the operands by the update's step
        # was the ULX3S-85F build's longest path, 16.7 ns). Reading early is
        # safe: the next record's forward pass writes an addend's slope and
        # t_f only after this update has read them.
        #   - before the pass (idle): the first addend's slope, for e * slope
        #     as the update starts;
        #   - an addend's first step: its t_f, for e * t_f;
        #   - its last step: the next addend's slope, for e * slope.
        ub_issue = Signal.like(umul_b)
        with m.If(~n_issue):
            m.d.sync += ub_issue.eq(slope_arr.read(0))
        with m.Elif(n_ustep == 0):
            m.d.sync += ub_issue.eq(tf_arr.read(n_uaj))
        if M > 1:
            with m.If(n_issue & (n_ustep == S - 1)):
                m.d.sync += ub_issue.eq(slope_arr.read(Mux(n_uaj == M - 1, 0, n_uaj + 1)))
        m.d.comb += [umul_a.eq(Mux(training_update, e, e_reg)), umul_b.eq(ub_issue)]
        with m.If(training_update):
            # e * slope of the first addend, ready as its first step issues
            m.d.sync += [hold.eq(UPDATE_LEAD), e_reg.eq(e)]
        # the outer pair of the addend whose update starts, as its forward
        # pass read it: taken now, written next cycle
        outer_write = Signal()
        ow_odd = Signal()
        ow_e = Signal.like(outer.wr_even.addr)
        ow_o = Signal.like(outer.wr_odd.addr)
        ub0, ub1 = pair_bases(ov0_arr.read(uaj), ov1_arr.read(uaj), e_reg)
        uv0, uv1 = Signal(ub0.shape()), Signal(ub1.shape())
        m.d.sync += outer_write.eq(0)
        tj_u = tj_arr.read(uaj)
        u_addr = outer.seg_addrs(uaj, tj_u)
        first_step = upd_issue & (ustep == 0)
        ek_sat, ek_over = saturate(round_shift(upq, c.slope_frac), EB)
        with m.If(first_step):
            # an addend's first step: its e_k from e*slope, and e*t_f for its
            # outer pair
            m.d.sync += [ek.eq(ek_sat), outer_write.eq(1), ow_odd.eq(tj_u[0]),
                         ow_e.eq(u_addr[0]), ow_o.eq(u_addr[1]), uv0.eq(ub0), uv1.eq(ub1)]
        flag_usat(first_step & ek_over)
        n0, n1, over = pair_written(uv0, uv1, upq)
        outer.write_pair(m, outer_write, ow_e, ow_o, ow_odd, n0, n1)
        flag_usat(outer_write & over)

        # the forward engine's multiplier operands
        with m.If(d_valid | redo):
            m.d.comb += [mul_a.eq(d_reg), mul_b.eq(rcp_reg)]
        with m.Elif(h_valid):
            m.d.comb += [mul_a.eq(o_dv), mul_b.eq(t_f)]
        with m.Elif(sl_valid):
            m.d.comb += [mul_a.eq(o_dv), mul_b.eq(o_rcp)]
        m.d.comb += [outer.rd_even.addr.eq(o_addr[0]), outer.rd_odd.addr.eq(o_addr[1])]

        # the update pass is over once its last write has landed
        upd_busy = upd_issue | ua_upd | ub_upd | uc_upd
        m.d.comb += [self.uidle.eq(~upd_busy & ~training_update),
                     self.idle.eq(~fbusy & ~pending & ~upd_busy & ~start & ~update)]
        with m.If(Cat(*sat_hits).any()):
            m.d.sync += self.sat.eq(1)
        # Record flags stay readable until the core has counted them.
        with m.If(clear):
            m.d.sync += [self.sat.eq(0), self.clamp.eq(0), self.stretch.eq(0)]
        with m.If(Cat(*usat_hits).any()):
            m.d.sync += self.usat.eq(1)
        with m.If(uclear):
            m.d.sync += self.usat.eq(0)

        # -- control access (idle only) ----------------------------------------------
        ctl = edge.ctl                      # the requests, a cycle late
        off = ctl.offset
        nb0, sb, lb, nb1 = geo.node_bits_inner, geo.slot_bits, geo.lane_bits, geo.node_bits_outer
        c_node = off[:nb0]
        c_slot = off[nb0:nb0 + sb] if sb else Const(0, 1)
        c_lane = off[nb0 + sb:nb0 + sb + lb] if lb else Const(0, 1)
        o_node = off[:max(1, nb1)]
        o_slot = off[nb1:nb1 + AB] if AB else Const(0, 1)
        d_slot = off[2:2 + AB] if AB else Const(0, 1)
        r_region = Signal(2)
        r_lane = Signal(max(1, lb))
        r_odd = Signal()
        r_which = Signal(2)
        r_dslot = Signal(max(1, AB))
        active = ctl.sel & self.idle
        with m.If(active):
            m.d.sync += [r_region.eq(ctl.region), r_lane.eq(c_lane), r_odd.eq(off[0]),
                         r_which.eq(off[:2]), r_dslot.eq(d_slot)]
            with m.Switch(ctl.region):
                with m.Case(REGION_INNER):
                    for l, bank in enumerate(lanes):
                        a_e, a_o = bank.node_addrs(c_slot, c_node)
                        m.d.comb += [bank.rd_even.addr.eq(a_e), bank.rd_odd.addr.eq(a_o)]
                        bank.write_node(m, ctl.we & (c_lane == l), c_slot, c_node, ctl.wdata)
                with m.Case(REGION_OUTER):
                    a_e, a_o = outer.node_addrs(o_slot, o_node)
                    m.d.comb += [outer.rd_even.addr.eq(a_e), outer.rd_odd.addr.eq(a_o)]
                    outer.write_node(m, ctl.we, o_slot, o_node, ctl.wdata)
                with m.Case(REGION_DOMAIN):
                    with m.If(ctl.we):
                        with m.Switch(off[:2]):
                            with m.Case(DOMAIN_LO):
                                lo.write(m, d_slot, ctl.wdata)
                            with m.Case(DOMAIN_HI):
                                hi.write(m, d_slot, ctl.wdata)
                            with m.Case(DOMAIN_RCP):
                                rcp.write(m, d_slot, ctl.wdata)
        # The read data leaves through a register: the multiplexer from the
        # tables into it, and the core's choice among the blocks after it,
        # were one path across the device (the 85F build's longest).
        rdata = Signal(32)
        lane_data = Array([Mux(r_odd, b.rd_odd.data, b.rd_even.data) for b in lanes])[r_lane]
        with m.Switch(r_region):
            with m.Case(REGION_INNER):
                m.d.comb += rdata.eq(lane_data)
            with m.Case(REGION_OUTER):
                m.d.comb += rdata.eq(Mux(r_odd, outer.rd_odd.data, outer.rd_even.data))
            with m.Default():
                with m.Switch(r_which):
                    with m.Case(DOMAIN_LO):
                        m.d.comb += rdata.eq(lo.read(r_dslot))
                    with m.Case(DOMAIN_HI):
                        m.d.comb += rdata.eq(hi.read(r_dslot))
                    with m.Case(DOMAIN_RCP):
                        m.d.comb += rdata.eq(rcp.read(r_dslot))
        # Held until the next read, so that the core may take it any cycle
        # from CONTROL_READ_LATENCY on: in Amaranth's simulator the request
        # can pass the edge register a cycle early (the derived-clock race,
        # see BlockEdge), in Verilog and hardware it does not.
        r_read = Signal()                   # the table's read data is out
        m.d.sync += r_read.eq(active)
        with m.If(r_read):
            m.d.sync += self.ctl.rdata.eq(rdata)
        return m
