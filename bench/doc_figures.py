"""Figures in the docs that a command prints verbatim: each sits between
``<!-- figure: NAME -->`` and ``<!-- end figure -->`` in its page, and this
script runs the command and writes its output there. A test
(``tests/test_doc_figures.py``) runs the same commands and fails when a
page no longer shows what they print.

    python bench/doc_figures.py            # rewrite every figure
    python bench/doc_figures.py --check    # exit 1 if any is stale
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: name -> (page, command line; ``{example}`` is the example design file)
FIGURES = {
    "fit-example": ("docs/boards.md",
                    "kanhw build --board ulx3s-85f --config {example} --fit"),
}

_BLOCK = re.compile(r"(<!-- figure: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end figure -->)",
                    re.DOTALL)


def render(name: str) -> str:
    """The figure's block body: the command as a user types it, and what it
    prints on stdout."""
    _, command = FIGURES[name]
    with tempfile.TemporaryDirectory() as tmp:
        example = Path(tmp) / "det4.toml"
        example.write_text(subprocess.run([sys.executable, "-m", "kanhw", "generate",
                                           "--example"], capture_output=True, text=True,
                                          check=True).stdout)
        args = command.format(example=example).split()
        out = subprocess.run([sys.executable, "-m", "kanhw", *args[1:]], capture_output=True,
                             text=True, check=False, cwd=tmp)
    shown = command.format(example="det4.toml")
    return f"```text\n$ {shown}\n{out.stdout.rstrip()}\n```\n"


def current(name: str) -> str:
    """The figure's block body as its page shows it now."""
    page = (ROOT / FIGURES[name][0]).read_text()
    for m in _BLOCK.finditer(page):
        if m["name"] == name:
            return m["body"]
    raise KeyError(f"{FIGURES[name][0]} has no figure {name!r}")


def write(name: str, body: str) -> None:
    path = ROOT / FIGURES[name][0]
    page = path.read_text()
    new = _BLOCK.sub(lambda m: m.group(1) + body + m.group(4) if m["name"] == name
                     else m.group(0), page)
    path.write_text(new)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report stale figures")
    args = ap.parse_args()
    stale = 0
    for name in FIGURES:
        body = render(name)
        if body != current(name):
            stale += 1
            print(f"{name}: {'stale' if args.check else 'rewritten'} ({FIGURES[name][0]})")
            if not args.check:
                write(name, body)
        else:
            print(f"{name}: current")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
