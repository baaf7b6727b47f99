"""Training defaults: one recipe per built-in dataset, one rule for user tables.

``kanhw train``, ``kanhw stream`` and the scikit-learn estimators fill every
option the user leaves out from here, so the same data gets the same model
whichever way it is trained. The module imports nothing numeric: the CLI
lists the datasets in its help without loading numpy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """Hidden widths, grid points per layer, step factor and epochs."""

    hidden: tuple[int, ...]
    points: tuple[int, ...]
    alpha: float
    epochs: int
    #: the last this many epochs halve the step each epoch (0: constant step)
    anneal: int = 0

    def to_dict(self) -> dict:
        return {"hidden": list(self.hidden), "points": list(self.points), "alpha": self.alpha,
                "epochs": self.epochs, "anneal": self.anneal}


#: The recipe of every built-in dataset (generated ones and ``digits``).
RECIPES: dict[str, Recipe] = {
    "det4": Recipe((64,), (5, 22), 0.2, 15),
    "det5": Recipe((128,), (5, 22), 0.1, 10),
    # A linear first layer (2 points) lets the KAN form the coordinate
    # differences the areas are built from.
    "tetra": Recipe((64, 16), (2, 12, 22), 0.3, 10),
    "triangle": Recipe((32, 8), (2, 12, 22), 0.3, 40),
    "medians": Recipe((32, 8), (2, 12, 22), 0.3, 30),
    "feynman-I.6.2": Recipe((7,), (12, 22), 0.3, 30),
    "feynman-I.12.11": Recipe((11,), (12, 22), 0.3, 30),
    "feynman-I.27.6": Recipe((7,), (12, 22), 0.3, 30),
    "feynman-I.29.16": Recipe((9,), (12, 22), 0.3, 30),
    # A product of powers: the outer functions must bend hard; a large step
    # finds the shape, the anneal settles it.
    "feynman-I.34.8": Recipe((9,), (5, 22), 2.0, 100, anneal=10),
    "digits": Recipe((32,), (2, 12), 0.1, 30),
}

#: The rule for user tables (a classical KAN with Kolmogorov's 2n + 1 addends).
TABLE_POINTS = (5, 22)
TABLE_ALPHA = 0.2
TABLE_EPOCHS = 15


def names() -> list[str]:
    """Every built-in dataset name."""
    return sorted(RECIPES)


def for_table(n_in: int) -> Recipe:
    """The rule for user data: a classical KAN with Kolmogorov's ``2n + 1``
    addends, 5 inner and 22 outer points, alpha 0.2, 15 epochs. (Measured
    with 5-fold cross-validation on iris, wine, breast cancer and diabetes,
    more epochs did not score better on such small tables.)"""
    return Recipe((2 * n_in + 1,), TABLE_POINTS, TABLE_ALPHA, TABLE_EPOCHS)


def recipe(name: str | None, n_in: int) -> Recipe:
    """The recipe of built-in dataset ``name``, or the table rule."""
    if name in RECIPES:
        return RECIPES[name]
    return for_table(n_in)
