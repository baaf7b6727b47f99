"""The docs' command-output figures (``bench/doc_figures.py``) are what the
commands print today: each figure is run again and compared with its page.
Slow: the resource model's proposal for the example design synthesises a
block at every lane count it tries (tens of minutes with a cold cache)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import doc_figures


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(doc_figures.FIGURES))
def test_doc_figure_matches_its_command(name):
    assert doc_figures.current(name) == doc_figures.render(name), (
        f"{doc_figures.FIGURES[name][0]}: figure {name} is stale; "
        "python bench/doc_figures.py rewrites it")
