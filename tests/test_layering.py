"""The package layering, held by reading every module's imports (function
level included): the hardware/software interface (``kanhw.interface``) and
the host need no Amaranth; the host reaches simulators and boards only
through its transport registry; no package imports a package above it; and
no two modules import each other, directly or round a circle."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> package it installs as (pyproject.toml's package-dir)
FOLDERS = {"kanhw": "kanhw", "rtl_gen": "kanhw.rtl_gen", "sim": "kanhw.sim",
           "host": "kanhw.host", "boards": "kanhw.boards"}

#: What each layer may import of the product: the core (kanhw's own
#: modules: reference model, contract, design, data), the interface, and
#: the layers named. The CLI (kanhw.commands, kanhw.cli) may import all.
ALLOWED = {
    "core": {"core"},
    "interface": {"core", "interface"},
    "rtl_gen": {"core", "interface", "rtl_gen"},
    "host": {"core", "interface", "host"},
    "boards": {"core", "interface", "rtl_gen", "boards"},
    "sim": {"core", "interface", "rtl_gen", "boards", "sim"},
}
NO_AMARANTH = {"core", "interface", "host"}


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("rtl_gen", "sim", "host", "boards", "interface"):
        return parts[1]
    if len(parts) > 1 and parts[1] in ("commands", "cli", "__main__"):
        return "cli"
    return "core"


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if folder == "kanhw" and parts and parts[0] in ("rtl_gen", "sim", "host", "boards"):
                continue
            out[name] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """Product modules and ``amaranth`` imported anywhere in the module."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = base[:len(base) - node.level + 1]
                mod = ".".join(pkg + ([node.module] if node.module else []))
            else:
                mod = node.module
            found.add(mod)
            found |= {f"{mod}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith(("kanhw", "amaranth"))}


MODULES = modules()
GRAPH = {}
for _name, _path in MODULES.items():
    deps = imports(_name, _path)
    # a module of a package reaching its siblings through the package
    # (``from . import x``) depends on the sibling, not on the package
    GRAPH[_name] = ({d for d in deps if d in MODULES and d != _name
                     and not _name.startswith(d + ".")},
                    any(d.startswith("amaranth") for d in deps))


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) != "cli"))
def test_module_imports_only_the_layers_below(name):
    deps, amaranth = GRAPH[name]
    mine = layer(name)
    wrong = sorted(d for d in deps if layer(d) not in ALLOWED[mine])
    assert not wrong, f"{name} ({mine}) imports {wrong}"
    assert not (amaranth and mine in NO_AMARANTH), f"{name} ({mine}) imports amaranth"


def test_no_import_circles():
    """Tarjan's strongly connected components over the module graph."""
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(GRAPH[v][0]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert circles == []



def test_soft_device_and_host_client_run_without_amaranth(tmp_path):
    """The host side (client, soft device, transports) with Amaranth made
    unimportable: a soft device is opened, loaded, streamed and read back."""
    code = """
import sys
class NoAmaranth:
    def find_spec(self, name, path=None, target=None):
        if name == "amaranth" or name.startswith("amaranth."):
            raise ImportError("amaranth is not available")
        return None
sys.meta_path.insert(0, NoAmaranth())
import numpy as np
from kanhw.design import design_from_dict
from kanhw.fixed_model import FixedKAN
from kanhw.host.client import Device
from kanhw.host.transport import open_transport
d = design_from_dict({"arch": {"inputs": 3, "addends": 2, "points": [4, 6]}})
rng = np.random.default_rng(0)
X = rng.uniform(size=(200, 3)); y = X.sum(1, keepdims=True)
m = FixedKAN.initialise(d.arch, d.contract, X.min(0), X.max(0), y.min(0), y.max(0))
dev = Device(open_transport("soft", d), d)
dev.reset(); dev.load_model(m)
U, _ = m.map_inputs(X)
pred, resid = dev.stream(U, m.map_targets(y)[:, 0])
back = dev.read_model(m)
assert not any(k.startswith("amaranth") for k in sys.modules), "amaranth was imported"
print(len(pred), int(np.abs(back.values - m.values).sum() > 0))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=tmp_path, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["200", "1"]        # streamed, and the tables trained
