"""pykan, the spline KAN most users run, as a baseline of the training study
and of the NK accuracy benchmark.

The package is used as it is (the optional ``pykan`` extra): its ``KAN``
(cubic B-splines on a grid of 5 intervals, SiLU base, the package's
defaults) and its own ``fit`` with the two trainings its documentation
uses: full-batch LBFGS (lr 1, strong-Wolfe line search, grid updates from
the data in the first 50 steps) and Adam. Nothing of pykan is copied here:
this module prepares the data, calls ``fit`` and records scores.

Inputs are mapped to pykan's grid range [-1, 1] and regression targets are
standardised (the backprop models do the same); classes train on
cross-entropy over logits. A probe passed to ``fit`` as a metric scores the
model on the training and test sets after every ``score_every`` steps; its
own time is taken out of the training seconds.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError

#: pykan's two trainings: optimiser name for ``fit``, steps, learning rate.
#: LBFGS: pykan's default lr 1 (each step runs up to 20 LBFGS iterations);
#: Adam: lr 0.01, one full-batch step per step.
OPTIMISERS = {"lbfgs": ("LBFGS", 1.0), "adam": ("Adam", 0.01)}
DEFAULT_STEPS = {"lbfgs": 20, "adam": 100}
GRID = 5
ORDER = 3


def require_pykan():
    """Import pykan or fail in one line."""
    try:
        import kan  # noqa: F401
    except ImportError:
        raise ConfigError("the pykan baseline needs pykan: pip install -e '.[pykan]'") from None
    from .backprop import require_torch
    return require_torch()


@dataclass
class PykanResult:
    """Scores after every scored step (mean Pearson or accuracy), the
    training seconds up to each, and the trainable spline parameters."""

    steps: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    parameters: int = 0
    diverged: bool = False
    test_rmse: float = math.nan


def spline_parameters(model) -> int:
    """Trainable parameters of the spline activations (coefficients, base and
    spline scales); pykan's symbolic branch is off and not counted."""
    return int(sum(p.numel() for n, p in model.named_parameters()
                   if n.startswith("act_fun") and p.requires_grad))


def train_pykan(sizes: list[int], X: np.ndarray, y: np.ndarray, X_test: np.ndarray,
                y_test: np.ndarray, optimiser: str = "lbfgs", steps: int | None = None,
                classes: int = 0, seed: int = 0, score_every: int = 1,
                float64: bool = False) -> PykanResult:
    """Train pykan's KAN of widths ``sizes`` with ``optimiser`` (``lbfgs`` or
    ``adam``) for ``steps`` steps of its ``fit``; one thread."""
    if optimiser not in OPTIMISERS:
        raise ConfigError(f"unknown pykan optimiser {optimiser!r}; use lbfgs or adam")
    steps = DEFAULT_STEPS[optimiser] if steps is None else int(steps)
    if steps < 1 or score_every < 1:
        raise ConfigError("pykan steps and score_every must be at least 1")
    torch = require_pykan()
    from kan import KAN

    from .backprop import Scaler, score

    torch.set_num_threads(1)
    dtype = torch.float64 if float64 else torch.float32
    old_dtype = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # pykan builds its grids in the default dtype
    try:
        lo, hi = X.min(axis=0), X.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)

        def inputs(A: np.ndarray):
            return torch.as_tensor(2.0 * (A - lo) / span - 1.0, dtype=dtype)

        scaler = Scaler(y, classes)
        if classes:
            labels = {"train_label": torch.as_tensor(np.argmax(y, axis=1)),
                      "test_label": torch.as_tensor(np.argmax(y_test, axis=1))}
            loss_fn = torch.nn.CrossEntropyLoss()
        else:
            labels = {"train_label": torch.as_tensor(scaler.forward(y), dtype=dtype),
                      "test_label": torch.as_tensor(scaler.forward(y_test), dtype=dtype)}
            loss_fn = None  # pykan's default: mean squared error
        data = {"train_input": inputs(X), "test_input": inputs(X_test), **labels}
        np.random.seed(seed)  # fit draws its batch order from numpy's global generator
        model = KAN(width=list(sizes), grid=GRID, k=ORDER, seed=seed, auto_save=False,
                    symbolic_enabled=False, device="cpu")
        res = PykanResult(parameters=spline_parameters(model))

        def predict(A) -> np.ndarray:
            with torch.no_grad():
                out = model(A).double().numpy()
            return out if classes else scaler.inverse(out)

        probe_seconds = 0.0
        count = 0
        t0 = time.perf_counter()

        def probe():
            # called by fit after every step; scoring time is not training time
            nonlocal probe_seconds, count
            t = time.perf_counter()
            count += 1
            if count % score_every == 0 or count == steps:
                res.steps.append(count)
                res.seconds.append(t - t0 - probe_seconds)
                res.train.append(score(predict(data["train_input"]), y, classes))
                res.test.append(score(predict(data["test_input"]), y_test, classes))
            probe_seconds += time.perf_counter() - t
            return torch.zeros(())

        name, lr = OPTIMISERS[optimiser]
        # fit draws a progress bar on stderr at every step; keep it off the study's output
        with contextlib.redirect_stderr(io.StringIO()):
            model.fit(data, opt=name, steps=steps, lr=lr, loss_fn=loss_fn, metrics=[probe],
                      log=steps)
        res.diverged = not all(math.isfinite(v) for v in res.test)
        if not classes:
            res.test_rmse = float(np.sqrt(np.mean((predict(data["test_input"]) - y_test) ** 2)))
        return res
    finally:
        torch.set_default_dtype(old_dtype)
