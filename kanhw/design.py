"""A hardware design: the KAN architecture, the generator's parameters and the
fixed-point contract, read from one TOML file that users edit.

``kanhw generate --example`` prints a commented example. The same
:class:`Design` object configures the fixed-point reference
(:class:`kanhw.fixed_model.FixedKAN`), the generator (``kanhw.rtl_gen``) and
the simulation checks.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass

from .arch import Architecture
from .contract import Contract, fit_rcp_shift
from .errors import ConfigError
from .model import DOMAIN_MARGIN

EXAMPLE = """\
# kanhw design file: a two-layer KAN training core.
# kanhw generate --config THIS.toml -o build/   writes Verilog + manifest
# kanhw sim --config THIS.toml --records 1000    checks it bit for bit

[arch]
inputs = 16          # n: features per record (det4: the 16 matrix entries)
addends = 64         # K: a processing block per addends_per_block addends
points = [5, 22]     # grid points of the inner and the outer functions
outputs = 1          # one output: the two-layer core; more outputs, or
                     # layers = [...] for a deeper KAN, make a layered core

[hardware]
lanes = 16           # inner functions each block evaluates per cycle (1..inputs):
                     # lanes = inputs is fastest, lanes = 1 smallest
tree_levels_per_cycle = 3   # adder-tree levels between pipeline registers
table_ram = "auto"   # inner tables in "block" RAM, "lut" RAM, or the tool's choice
addends_per_block = 1  # addends one block serves in turn (a divisor of addends, <= 16):
                     # fewer, larger blocks; addends_per_block * steps cycles of lane work
lane_stages = 3      # 4 registers the table data before the lane multiplier,
                     # 5 also as they leave the RAM: shorter clock paths for
                     # one (two) more cycles per record
core = "auto"        # "layered" builds this design on the layered core (as any
                     # deeper or multi-output design), "two-layer" insists on
                     # the two-layer core (the default for one output)

[training]
alpha = 0.2          # constant step mu = alpha / addends, realised as
                     # step_mult / 2^step_shift (a shift-add multiplier)
seed = 0             # initial tables (the float heuristic, quantised)

[contract]           # fixed-point formats; omitted fields take these defaults
frac_bits = 10       # offset bits of every grid coordinate
value_bits = 24      # node values, sums, targets, residuals
value_frac = 20      # fraction bits of values; targets are scaled to [-1, 1]
mul_bits = 18        # widest multiplier operand (18x18 DSPs on ECP5)
guard_bits = 4       # value bits below the multiplier precision (fine updates)
rcp_bits = 17        # reciprocal of an outer domain width
slope_bits = 18      # outer segment slope ...
slope_frac = 12      # ... and its fraction bits
margin_mult = 41     # stretch margin = width * 41 / 2^12 (about 1 %)
margin_shift = 12
# rcp_shift, step_mult and step_shift are derived unless given here
"""

TETRA_EXAMPLE = """\
# kanhw design file: a layered training core, three layers and four outputs
# (tetrahedron face areas: 12 vertex coordinates -> 4 areas).
# kanhw generate --config THIS.toml -o build/   writes Verilog + manifest
# kanhw sim --config THIS.toml --records 1000    checks it bit for bit
# kanhw stream tetra --transport soft --config THIS.toml   trains it

[arch]
inputs = 12
layers = [64, 16, 4]     # every hidden width, then the outputs
points = [2, 12, 22]     # grid points of each layer's functions (2: linear first layer)

[hardware]
lanes = 4                # first-layer functions each stage-1 block evaluates per cycle
units_per_block = [8, 4] # units a block of each hidden layer serves in turn
tree_levels_per_cycle = 3
table_ram = "auto"       # the first-layer tables in "block" RAM, "lut" RAM or the tool's
lane_update = "overlapped"  # stage 1's backward pass and update beside the next
                         # record (a cache and a second multiplier per lane), or
                         # "sequential": both inside the record (fewer LUTs, more cycles)

[training]
alpha = 0.3
seed = 0

[contract]               # the deep contract: hidden values grow beyond the
value_bits = 30          # target range and the steps pushed down are tiny
value_frac = 20
mul_bits = 32
guard_bits = 0
rcp_bits = 20
slope_bits = 24
slope_frac = 16
"""



def _det4_85f(text: str) -> str:
    """The example at the shape that routes on the ULX3S-85F: blocks of 8
    addends with 4 lanes (8 blocks instead of 64)."""
    edits = (("# kanhw design file: a two-layer KAN training core.",
              ("# kanhw design file: a two-layer KAN training core, the det4 shape that\n"
               "# places and routes on the ULX3S-85F (8 blocks of 8 addends, 4 lanes).")),
             ("lanes = 16           #", "lanes = 4            #"),
             ("addends_per_block = 1  #", "addends_per_block = 8  #"))
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    return text


#: ``kanhw generate --example NAME``.
EXAMPLES = {"det4": EXAMPLE, "det4-85f": _det4_85f(EXAMPLE), "tetra": TETRA_EXAMPLE}

_SECTIONS = {"arch", "hardware", "training", "contract"}
#: Where the inner node tables live: the synthesis tool's choice, block RAM
#: (saves logic on ECP5, where a det4 block's tables would take ~300 LUTs)
#: or LUT RAM.
TABLE_RAMS = ("auto", "block", "lut")
#: When a layered core's stage-1 backward pass and first-layer update run:
#: beside the next record (the two-layer core's way) or inside the record.
LANE_UPDATES = ("overlapped", "sequential")
#: Which core a design builds: the two-layer core for a two-layer, one-output
#: KAN and the layered core for the rest ("auto"), or the one named (a
#: two-layer one-output design builds either; the others only the layered).
CORES = ("auto", "two-layer", "layered")

#: Lane pipeline depths: address, data + multiply, accumulate/write (3);
#: with the table data and their difference registered before the
#: multiplier (4); and with the data registered at the RAM's output too (5).
LANE_STAGES = (3, 4, 5)

#: The core's shape register holds ``addends_per_block - 1`` in four bits.
MAX_ADDENDS_PER_BLOCK = 16

#: Widest layer the cores address (unit indices in 12 bits).
MAX_WIDTH = 4096


@dataclass(frozen=True)
class Design:
    """Architecture + generator parameters + resolved fixed-point contract."""

    arch: Architecture
    lanes: int
    contract: Contract
    alpha: float = 0.2
    seed: int = 0
    tree_levels_per_cycle: int = 3
    table_ram: str = "auto"
    #: units each block of a hidden layer serves in turn, one value per
    #: hidden layer (a two-layer KAN's hidden units are its addends, so
    #: there it is ``addends_per_block``)
    units_per_block: tuple[int, ...] = (1,)
    lane_stages: int = 3
    lane_update: str = "overlapped"
    core: str = "auto"

    def __post_init__(self) -> None:
        a = self.arch
        if self.core not in CORES:
            raise ConfigError(f"core must be one of {', '.join(CORES)}, got {self.core!r}")
        if self.core == "two-layer" and self.needs_layered:
            raise ConfigError(f"core = \"two-layer\" builds two-layer, one-output KANs; this "
                              f"design has widths {list(a.sizes)} (use \"layered\")")
        object.__setattr__(self, "units_per_block",
                           tuple(int(m) for m in self.units_per_block))
        if len(a.sizes) < 3:
            raise ConfigError("the hardware generator builds KANs with at least one hidden "
                              f"layer; got widths {list(a.sizes)}")
        if any(s > MAX_WIDTH for s in a.sizes):
            raise ConfigError(f"layer widths above {MAX_WIDTH} do not fit the core's address "
                              f"map; got {list(a.sizes)}")
        if len(self.units_per_block) != a.n_layers - 1:
            raise ConfigError(f"units_per_block needs one value per hidden layer "
                              f"({a.n_layers - 1}), got {list(self.units_per_block)}")
        if not 1 <= self.lanes <= a.n_in:
            raise ConfigError(f"lanes must lie in 1..{a.n_in} (the number of inputs), "
                              f"got {self.lanes}")
        if not 1 <= self.tree_levels_per_cycle <= 8:
            raise ConfigError("tree_levels_per_cycle must lie in 1..8")
        if self.table_ram not in TABLE_RAMS:
            raise ConfigError(f"table_ram must be one of {', '.join(TABLE_RAMS)}, "
                              f"got {self.table_ram!r}")
        name = "units_per_block" if self.layered else "addends_per_block"
        for h, (width, M) in enumerate(zip(a.sizes[1:-1], self.units_per_block), 1):
            what = f"hidden layer {h}'s width" if self.layered else "addends"
            if self.layered:
                # a layered stage's last block may serve fewer units (53 = 3 x 16 + 5)
                if not 1 <= M <= min(MAX_ADDENDS_PER_BLOCK, width):
                    raise ConfigError(f"{name} must lie in 1..{min(MAX_ADDENDS_PER_BLOCK, width)}"
                                      f" ({what} is {width}), got {M}")
            elif not 1 <= M <= MAX_ADDENDS_PER_BLOCK or width % M:
                raise ConfigError(f"{name} must divide {what} ({width}) and lie in "
                                  f"1..{MAX_ADDENDS_PER_BLOCK}, got {M}")
        if self.units_per_block[0] > 1 and self.steps < 2:
            raise ConfigError(f"{name} > 1 needs at least two steps per lane "
                              f"(lanes below the {a.n_in} inputs), got lanes {self.lanes}")
        if self.lane_update not in LANE_UPDATES:
            raise ConfigError(f"lane_update must be one of {', '.join(LANE_UPDATES)}, "
                              f"got {self.lane_update!r}")
        if self.lane_update != "overlapped" and not self.layered:
            raise ConfigError("lane_update = \"sequential\" applies to layered designs; the "
                              "two-layer core always runs the update beside the next record")
        if self.lane_stages not in LANE_STAGES:
            raise ConfigError(f"lane_stages must be one of {', '.join(map(str, LANE_STAGES))}, "
                              f"got {self.lane_stages}")
        if self.contract.rcp_shift == 0:
            raise ConfigError("internal: contract not resolved")

    @property
    def n(self) -> int:
        return self.arch.n_in

    @property
    def layered(self) -> bool:
        """Built on the layered core (:mod:`kanhw.rtl_gen.layered`): deeper
        than two layers, more than one output, or ``core = "layered"``;
        otherwise on the two-layer core."""
        if self.core != "auto":
            return self.core == "layered"
        return self.needs_layered

    @property
    def needs_layered(self) -> bool:
        """Deeper than two layers or more than one output: only the layered
        core builds it."""
        return self.arch.n_layers > 2 or self.arch.n_out > 1

    @property
    def addends_per_block(self) -> int:
        """Units per block of the last hidden layer (a two-layer KAN's addends)."""
        return self.units_per_block[-1]

    @property
    def addends(self) -> int:
        return self.arch.addends

    @property
    def blocks(self) -> int:
        """Processing blocks: each serves ``addends_per_block`` addends in turn."""
        return self.addends // self.addends_per_block

    @property
    def steps(self) -> int:
        """Inner functions each lane evaluates one after another."""
        return math.ceil(self.n / self.lanes)

    def to_dict(self) -> dict:
        hw = {"lanes": self.lanes, "tree_levels_per_cycle": self.tree_levels_per_cycle,
              "table_ram": self.table_ram, "lane_stages": self.lane_stages}
        if self.layered:
            hw["lane_update"] = self.lane_update
            arch = {"inputs": self.n, "layers": list(self.arch.sizes[1:]),
                    "points": list(self.arch.points)}
            hw["units_per_block"] = list(self.units_per_block)
        else:
            arch = {"inputs": self.n, "addends": self.addends,
                    "points": list(self.arch.points), "outputs": self.arch.n_out}
            hw["addends_per_block"] = self.addends_per_block
        if self.core != "auto":
            hw["core"] = self.core
        return {"arch": arch, "hardware": hw,
                "training": {"alpha": self.alpha, "seed": self.seed},
                "contract": self.contract.to_dict()}


def resolve_contract(contract: Contract, arch: Architecture, alpha: float | None) -> Contract:
    """Fill the derived contract fields: the step from ``alpha / K`` and the
    reciprocal shift from the initial outer-domain width (targets scaled to
    [-1, 1] make it ``2/K`` plus margins, whatever the data)."""
    if alpha is not None:
        contract = contract.with_step(alpha, arch.addends)
    if contract.rcp_shift == 0:
        width = 2.0 / arch.addends * (1 + 2 * DOMAIN_MARGIN) * 2.0 ** contract.value_frac
        contract = contract.replace(rcp_shift=fit_rcp_shift(contract, max(arch.points[1:]),
                                                            width))
    return contract


def _table(doc: dict, name: str) -> dict:
    t = doc.get(name, {})
    if not isinstance(t, dict):
        raise ConfigError(f"[{name}] must be a table")
    return t


def _int(t: dict, key: str, section: str, default: int | None = None) -> int:
    v = t.get(key, default)
    if v is None:
        raise ConfigError(f"[{section}] {key} is required")
    if not isinstance(v, int) or isinstance(v, bool):
        raise ConfigError(f"[{section}] {key} must be an integer, got {v!r}")
    return v


def _ints(v, what: str) -> list[int]:
    if not isinstance(v, list) or not v or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in v):
        raise ConfigError(f"{what} must be a list of integers, got {v!r}")
    return list(v)


def design_from_dict(doc: dict) -> Design:
    unknown = set(doc) - _SECTIONS
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(sorted(unknown))}; "
                          f"expected {', '.join(sorted(_SECTIONS))}")
    a, h, tr, c = (_table(doc, s) for s in ("arch", "hardware", "training", "contract"))
    for name, t, keys in (("arch", a, {"inputs", "addends", "points", "outputs", "layers"}),
                          ("hardware", h, {"lanes", "tree_levels_per_cycle", "table_ram",
                                           "addends_per_block", "units_per_block",
                                           "lane_stages", "lane_update", "core"}),
                          ("training", tr, {"alpha", "seed"})):
        extra = set(t) - keys
        if extra:
            raise ConfigError(f"[{name}] unknown key(s) {', '.join(sorted(extra))}")
    n = _int(a, "inputs", "arch")
    if "layers" in a:
        # widths after the inputs: every hidden layer, then the outputs
        if "addends" in a or "outputs" in a:
            raise ConfigError("[arch] gives either layers or addends/outputs, not both")
        widths = _ints(a["layers"], "[arch] layers")
        if len(widths) < 2:
            raise ConfigError("[arch] layers lists every hidden width and then the outputs "
                              f"(at least two values), got {widths}")
    else:
        widths = [_int(a, "addends", "arch"), _int(a, "outputs", "arch", 1)]
    points = _ints(a.get("points", [5] * (len(widths) - 1) + [22]), "[arch] points")
    if len(points) != len(widths):
        raise ConfigError(f"[arch] points needs one value per layer ({len(widths)}), "
                          f"got {points}")
    arch = Architecture((n, *widths), tuple(points))
    if "addends_per_block" in h and "units_per_block" in h:
        raise ConfigError("[hardware] gives either units_per_block or addends_per_block "
                          "(its two-layer name), not both")
    per_block = h.get("units_per_block", h.get("addends_per_block", 1))
    per_block = _ints(per_block if isinstance(per_block, list)
                      else [per_block] * (len(widths) - 1), "[hardware] units_per_block")
    alpha = tr.get("alpha", 0.2)
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not alpha > 0:
        raise ConfigError(f"[training] alpha must be a positive number, got {alpha!r}")
    contract = Contract.from_dict(c) if c else Contract()
    derived_step = "step_mult" not in c and "step_shift" not in c
    contract = resolve_contract(contract, arch, float(alpha) if derived_step else None)
    return Design(arch, _int(h, "lanes", "hardware", n), contract, float(alpha),
                  _int(tr, "seed", "training", 0),
                  _int(h, "tree_levels_per_cycle", "hardware", 3),
                  str(h.get("table_ram", "auto")),
                  tuple(per_block),
                  _int(h, "lane_stages", "hardware", 3),
                  str(h.get("lane_update", "overlapped")),
                  str(h.get("core", "auto")))


def load_design(path: str) -> Design:
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a design file (not text: a TOML file is "
                          "expected)") from None
    try:
        return design_from_dict(doc)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_contract(spec: str) -> Contract:
    """A named contract (``hw``, ``deep``) or the ``[contract]`` table of a TOML
    file (a design file or a file holding only that table)."""
    from .contract import PRESETS
    if spec in PRESETS:
        return PRESETS[spec]
    try:
        with open(spec, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"no contract {spec!r}: name one of {', '.join(PRESETS)} or a TOML "
                          "file with a [contract] table") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {spec}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{spec}: malformed TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{spec} is not a TOML file (not text)") from None
    if "contract" in doc:
        table = doc["contract"]
    elif set(doc) & _SECTIONS:
        table = {}  # a design file without a [contract] table: the defaults
    else:
        table = doc
    if not isinstance(table, dict):
        raise ConfigError(f"{spec}: [contract] must be a table")
    try:
        return Contract.from_dict(table)
    except ConfigError as exc:
        raise ConfigError(f"{spec}: {exc}") from None


def example_design() -> Design:
    return design_from_dict(tomllib.loads(EXAMPLE))
