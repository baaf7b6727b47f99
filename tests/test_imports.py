"""kanhw's modules import each other without circles (imports at module
level; the ones inside functions and ``if TYPE_CHECKING:`` are deferred)."""

import ast
from pathlib import Path

import kanhw

ROOT = Path(kanhw.__file__).parent


def module_imports(path: Path, name: str) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:      # module level only
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found |= {f"{base}.{a.name}" for a in node.names}
            found.add(base)
    return found


def edges(name: str, imports: set[str], modules: set[str]) -> set[str]:
    """Imported kanhw modules, but not the packages ``name`` lies in (they
    are initialised before any of their modules)."""
    return {i for i in imports if i in modules and i != name
            and not name.startswith(i + ".")}


def test_no_import_circles():
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(("kanhw", *rel.parts))
        modules[name.removesuffix(".__init__")] = path
    graph = {m: edges(m, module_imports(p, m), set(modules)) for m, p in modules.items()}
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            assert state.get(n) != 1, " -> ".join([*trail, m, n])
            if n not in state:
                visit(n, [*trail, m])
        state[m] = 2

    for m in modules:
        if m not in state:
            visit(m, [])
    # the circle issue 21 named, once closed by an import inside a function
    assert "kanhw.train" not in graph["kanhw.fixed_model"]
    assert "fixed_model" not in (ROOT / "train.py").read_text()
