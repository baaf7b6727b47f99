"""Built-in synthetic datasets and user data loading.

Every built-in dataset is generated from a seed, and its validation set is
drawn from an independent random stream: validation rows are never training
rows. Targets are always 2-D, ``(records, outputs)``. A classification
table's label column becomes indicator targets (:mod:`kanhw.classes`).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import recipes
from .classes import encode as encode_labels
from .classes import targets as indicator_targets
from .errors import DataError
from .model import writable


@dataclass
class Dataset:
    """Training and validation arrays with names for reporting."""

    name: str
    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    classes: int = 0  # > 0 for classification (indicator targets, kanhw.classes)
    class_names: list[str] = field(default_factory=list)
    builtin: bool = False  # a built-in dataset (its recipe applies), not a user table

    def __post_init__(self) -> None:
        self.X = as_matrix(self.X, "training inputs")
        self.y = as_matrix(self.y, "training targets")
        check_pair(self.X, self.y, "training")
        if self.X_val is None or np.size(self.X_val) == 0:
            # No validation set: allowed (training-only runs), reported as such.
            self.X_val = np.empty((0, self.X.shape[1]))
            self.y_val = np.empty((0, self.y.shape[1]))
        else:
            self.X_val = as_matrix(self.X_val, "validation inputs")
            self.y_val = as_matrix(self.y_val, "validation targets")
            check_pair(self.X_val, self.y_val, "validation")
        if self.X_val.shape[1] != self.X.shape[1] or self.y_val.shape[1] != self.y.shape[1]:
            raise DataError("validation and training sets have different columns")
        if not self.feature_names:
            self.feature_names = [f"x{i}" for i in range(self.X.shape[1])]
        if not self.target_names:
            self.target_names = [f"y{i}" for i in range(self.y.shape[1])]
        if self.classes and not self.class_names:
            self.class_names = [str(c) for c in range(self.classes)]


#: The largest magnitude a value may have: sums of squares over millions of
#: records (Pearson, RMSE) and ranges of domains stay finite below it.
MAX_MAGNITUDE = 1e100


def as_matrix(a: np.ndarray, what: str) -> np.ndarray:
    """Return ``a`` as a contiguous 2-D float64 array, checking it is real,
    finite and not so large that float computations on it overflow."""
    if np.iscomplexobj(a):
        raise DataError(f"{what} are complex numbers; give real numbers (the imaginary part "
                        "would be dropped)")
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what} are not numeric") from None
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise DataError(f"{what} must be a 2-D table, got shape {a.shape}")
    bad = ~np.isfinite(a)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{what}: row {r} column {c} is {a[r, c]} (NaN/inf are not allowed)")
    big = np.abs(a) > MAX_MAGNITUDE
    if big.any():
        r, c = np.argwhere(big)[0]
        raise DataError(f"{what}: row {r} column {c} is {a[r, c]:g}, beyond +-{MAX_MAGNITUDE:g}, "
                        "where the float computations overflow; rescale the column")
    return writable(np.ascontiguousarray(a))


def check_pair(X: np.ndarray, y: np.ndarray, what: str) -> None:
    if X.shape[0] != y.shape[0]:
        raise DataError(f"{what} inputs have {X.shape[0]} rows but targets have {y.shape[0]}")
    if X.shape[0] == 0:
        raise DataError(f"{what} set is empty")


# -- synthetic generators ----------------------------------------------------

def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    train, val = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(train), np.random.default_rng(val)


def determinants(n: int, records: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Entries U(0, 10) of n x n matrices, row-major; target det(A)."""
    X = rng.uniform(0.0, 10.0, size=(records, n * n))
    return X, np.linalg.det(X.reshape(records, n, n))[:, None]


def _triangle_area(p1: np.ndarray, p2: np.ndarray, p3: np.ndarray) -> np.ndarray:
    """Area of triangles with vertices p1, p2, p3 (2-D or 3-D, last axis)."""
    u, v = p2 - p1, p3 - p1
    if p1.shape[-1] == 2:
        return 0.5 * np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    return 0.5 * np.linalg.norm(np.cross(u, v), axis=-1)


def tetrahedra(records: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of random tetrahedra in the unit cube (12 inputs); the four
    face areas (4 targets)."""
    X = rng.uniform(0.0, 1.0, size=(records, 12))
    P = X.reshape(records, 4, 3)
    faces = [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]
    y = np.stack([_triangle_area(P[:, a], P[:, b], P[:, c]) for a, b, c in faces], axis=1)
    return X, y


def triangles(records: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of random triangles in the unit square (6 inputs); area."""
    X = rng.uniform(0.0, 1.0, size=(records, 6))
    P = X.reshape(records, 3, 2)
    return X, _triangle_area(P[:, 0], P[:, 1], P[:, 2])[:, None]


def medians(records: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of random triangles in the unit square; the three median lengths."""
    X = rng.uniform(0.0, 1.0, size=(records, 6))
    P = X.reshape(records, 3, 2)
    y = np.stack([np.linalg.norm(P[:, k] - (P[:, (k + 1) % 3] + P[:, (k + 2) % 3]) / 2, axis=1)
                  for k in range(3)], axis=1)
    return X, y


# -- Feynman-style formulas (AI Feynman equations, variables U(1, 5)) ---------

def _uniform(rng: np.random.Generator, records: int, k: int,
             low: float = 1.0, high: float = 5.0) -> np.ndarray:
    return rng.uniform(low, high, size=(records, k))


def feynman_gauss(records: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Feynman I.6.2: f = exp(-((theta - theta1)/sigma)^2 / 2) / (sqrt(2 pi) sigma),
    theta, theta1, sigma U(1, 3)."""
    X = _uniform(rng, records, 3, 1.0, 3.0)
    th, th1, s = X.T
    return X, (np.exp(-((th - th1) / s) ** 2 / 2) / (np.sqrt(2 * np.pi) * s))[:, None]


def feynman_lorentz(records: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Feynman I.12.11: F = q (E + B v sin theta), all U(1, 5)."""
    X = _uniform(rng, records, 5)
    q, E, B, v, th = X.T
    return X, (q * (E + B * v * np.sin(th)))[:, None]


def feynman_lens(records: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Feynman I.27.6: f = 1 / (1/d1 + n/d2), all U(1, 5)."""
    X = _uniform(rng, records, 3)
    d1, d2, n = X.T
    return X, (1.0 / (1.0 / d1 + n / d2))[:, None]


def feynman_waves(records: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Feynman I.29.16: x = sqrt(x1^2 + x2^2 - 2 x1 x2 cos(theta1 - theta2)), all U(1, 5)."""
    X = _uniform(rng, records, 4)
    x1, x2, t1, t2 = X.T
    return X, np.sqrt(x1 ** 2 + x2 ** 2 - 2 * x1 * x2 * np.cos(t1 - t2))[:, None]


def feynman_cyclotron(records: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Feynman I.34.8: omega = q v B / p, all U(1, 5)."""
    X = _uniform(rng, records, 4)
    q, v, B, p = X.T
    return X, (q * v * B / p)[:, None]


# -- digits (scikit-learn's bundled copy of the UCI optical digits, 8x8) -----

#: Share of the 1,797 digits held out for testing, and the split's seed offset.
DIGITS_TEST_SHARE = 0.2


def digits(seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits: 64 pixel inputs scaled to [0, 1],
    one-hot targets over 10 classes, a seeded stratified 80/20 split (the
    same split scikit-learn's ``train_test_split(..., stratify=y)`` makes)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise DataError("the digits dataset comes with scikit-learn: "
                        "pip install scikit-learn") from None
    d = load_digits()
    X = d.data / 16.0
    Xt, Xv, lt, lv = train_test_split(X, d.target, test_size=DIGITS_TEST_SHARE,
                                      random_state=seed, stratify=d.target)
    eye = np.eye(10)
    return Dataset("digits", Xt, eye[lt], Xv, eye[lv],
                   [f"p{r}{c}" for r in range(8) for c in range(8)],
                   [f"is_{k}" for k in range(10)], classes=10,
                   class_names=[str(k) for k in range(10)], builtin=True)


@dataclass(frozen=True)
class Builtin:
    """A generated dataset: generator, default sizes and a suggested model."""

    make: Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]
    train: int
    val: int
    description: str
    features: Callable[[], list[str]]
    targets: list[str]


def _det_names(n: int) -> Callable[[], list[str]]:
    return lambda: [f"a{r}{c}" for r in range(n) for c in range(n)]


BUILTINS: dict[str, Builtin] = {
    "det4": Builtin(lambda N, g: determinants(4, N, g), 100_000, 20_000,
                    "determinant of a 4x4 matrix, entries U(0,10)", _det_names(4), ["det"]),
    "det5": Builtin(lambda N, g: determinants(5, N, g), 1_000_000, 100_000,
                    "determinant of a 5x5 matrix, entries U(0,10)", _det_names(5), ["det"]),
    "tetra": Builtin(tetrahedra, 200_000, 20_000,
                     "face areas of a random tetrahedron in the unit cube (12 -> 4)",
                     lambda: [f"{v}{c}" for v in "ABCD" for c in "xyz"],
                     ["area_ABC", "area_ABD", "area_ACD", "area_BCD"]),
    "triangle": Builtin(triangles, 10_000, 2_000,
                        "area of a random triangle in the unit square (6 -> 1)",
                        lambda: [f"{v}{c}" for v in "ABC" for c in "xy"], ["area"]),
    "medians": Builtin(medians, 10_000, 2_000,
                       "median lengths of a random triangle in the unit square (6 -> 3)",
                       lambda: [f"{v}{c}" for v in "ABC" for c in "xy"],
                       ["median_A", "median_B", "median_C"]),
    "feynman-I.6.2": Builtin(feynman_gauss, 10_000, 2_000,
                             "Feynman I.6.2, Gaussian density exp(-((t-t1)/s)^2/2)/(sqrt(2pi)s)",
                             lambda: ["theta", "theta1", "sigma"], ["f"]),
    "feynman-I.12.11": Builtin(feynman_lorentz, 10_000, 2_000,
                               "Feynman I.12.11, Lorentz force q(E + B v sin theta)",
                               lambda: ["q", "E", "B", "v", "theta"], ["F"]),
    "feynman-I.27.6": Builtin(feynman_lens, 10_000, 2_000,
                              "Feynman I.27.6, thin lens 1/(1/d1 + n/d2)",
                              lambda: ["d1", "d2", "n"], ["f"]),
    "feynman-I.29.16": Builtin(feynman_waves, 10_000, 2_000,
                               "Feynman I.29.16, wave sum sqrt(x1^2+x2^2-2x1x2cos(t1-t2))",
                               lambda: ["x1", "x2", "theta1", "theta2"], ["x"]),
    "feynman-I.34.8": Builtin(feynman_cyclotron, 16_000, 4_000,
                              "Feynman I.34.8, cyclotron frequency q v B / p",
                              lambda: ["q", "v", "B", "p"], ["omega"]),
}

#: Datasets that are read, not generated (no record-count options).
FIXED_DATASETS = {"digits": "scikit-learn's 8x8 handwritten digits, 64 -> 10 classes"}


def names() -> list[str]:
    """Every built-in dataset name, generated and read."""
    return sorted([*BUILTINS, *FIXED_DATASETS])


def recipe_of(data: Dataset, name: str | None = None) -> recipes.Recipe:
    """The recipe for ``data`` (:mod:`kanhw.recipes`): that of built-in
    dataset ``name``, of ``data`` itself if it is built in, or the rule for
    user tables."""
    return recipes.recipe(name or (data.name if data.builtin else None), data.X.shape[1])


def recipe(data: Dataset) -> dict:
    """:func:`recipe_of` as a dict (hidden, points, alpha, epochs)."""
    return recipe_of(data).to_dict()


def builtin(name: str, seed: int = 0, train: int | None = None,
            val: int | None = None) -> Dataset:
    """Generate built-in dataset ``name`` with independent validation records
    (``digits`` is read, and split by ``seed``)."""
    if name == "digits":
        if train is not None or val is not None:
            raise DataError("digits has a fixed size (1,437 training / 360 test records); "
                            "drop the record counts")
        return digits(seed)
    try:
        b = BUILTINS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; built-in datasets are "
                        f"{', '.join(names())}, or give a .csv/.npy/.npz path") from None
    n_train = b.train if train is None else int(train)
    n_val = b.val if val is None else int(val)
    if n_train < 1 or n_val < 1:
        raise DataError("training and validation sets need at least one record each")
    g_train, g_val = _streams(seed)
    X, y = b.make(n_train, g_train)
    Xv, yv = b.make(n_val, g_val)
    return Dataset(name, X, y, Xv, yv, b.features(), list(b.targets), builtin=True)


# -- user data -----------------------------------------------------------------

def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(path: str) -> tuple[np.ndarray, list[str], int]:
    """The cells of a CSV file as text ``(rows, columns)``, the column
    names and the line number of the first data row. The first row is a
    header when its fields are not numbers (a text field over a number in
    the next row, or only text fields)."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}") from None
    rows = [[c.strip() for c in r] for r in rows if r and any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"{path} holds no data")
    first = [_is_number(c) for c in rows[0]]
    below = [_is_number(c) for c in rows[1]] if len(rows) > 1 else [True] * len(first)
    header: list[str] = []
    if not any(first) or any(not f and b for f, b in zip(first, below)):
        header = rows[0]
        rows = rows[1:]
    if not rows:
        raise DataError(f"{path} holds a header and no data")
    width = len(header) if header else len(rows[0])
    start = 2 if header else 1
    for n, row in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{path}:{n + start}: {len(row)} fields, expected {width}")
    return np.array(rows, dtype=str), header or [f"c{i}" for i in range(width)], start


def _numbers(cells: np.ndarray, path: str, start: int) -> np.ndarray:
    """Text cells as float64, or a one-line error naming the first bad field."""
    try:
        return cells.astype(np.float64)
    except ValueError:
        for n, row in enumerate(cells):
            bad = [c for c in row if not _is_number(c)]
            if bad:
                raise DataError(f"{path}:{n + start}: non-numeric field {bad[0]!r} in "
                                f"{list(row)!r}") from None
        raise


def _resolve_columns(spec: Sequence[str] | None, names: list[str], path: str) -> list[int]:
    if not spec:
        return [len(names) - 1]
    cols = []
    for s in spec:
        if s in names:
            cols.append(names.index(s))
            continue
        try:
            c = int(s)
        except ValueError:
            raise DataError(f"{path}: no column named {s!r} (columns: {', '.join(names)})") \
                from None
        if not -len(names) <= c < len(names):
            raise DataError(f"{path}: column {c} out of range (it has {len(names)} columns)")
        cols.append(c % len(names))
    return cols


@dataclass
class Labels:
    """A label column encoded for classification."""

    names: list[str]
    index: np.ndarray   # class index of every record

    @classmethod
    def of(cls, labels: np.ndarray, path: str, column: str) -> Labels:
        found, index = encode_labels(labels)
        if found.size > max(2, labels.size // 2):
            raise DataError(f"{path}: column {column} has {found.size:,} distinct values in "
                            f"{labels.size:,} records; classification expects class labels")
        return cls([str(c) for c in found], index)

    def targets(self) -> np.ndarray:
        return indicator_targets(self.index, len(self.names))

    def target_names(self) -> list[str]:
        names = self.names[1:] if len(self.names) == 2 else self.names
        return [f"is_{n}" for n in names]


def load_table(path: str, target: Sequence[str] | None = None,
               val_split: float | None = None, seed: int = 0, train: int | None = None,
               val: int | None = None, classify: bool = False) -> Dataset:
    """Load a CSV, .npy or .npz table; split off a random validation set.

    * CSV: an optional header row; targets by column name or index.
    * .npy: a 2-D array; targets by index (default: the last column).
    * .npz: arrays ``X`` and ``y`` (and optionally ``X_val``, ``y_val``, which
      then replace the random split), or a single 2-D array as for .npy.

    The validation set is ``val`` records, or the ``val_split`` share (0.2
    by default), drawn at random (per class when classifying); training
    takes the rest, or ``train`` of it. ``classify``: the one target column
    holds class labels (text or integers), trained as one output per class.
    """
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    name = os.path.splitext(os.path.basename(path))[0]
    ext = os.path.splitext(path)[1].lower()
    start = 1
    if ext == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise DataError(f"{path} is not a readable .npz file: {exc}") from None
        if "X" in arrays and "y" in arrays:
            return _xy_arrays(name, path, arrays, val_split, seed, train, val, classify)
        if len(arrays) != 1:
            raise DataError(f"{path}: expected arrays 'X' and 'y' or a single table, "
                            f"found {sorted(arrays)}")
        cells = np.asarray(next(iter(arrays.values())))
        names = [f"c{i}" for i in range(cells.shape[1] if cells.ndim == 2 else 0)]
    elif ext == ".npy":
        try:
            cells = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path} is not a readable .npy file: {exc}") from None
        names = [f"c{i}" for i in range(cells.shape[1] if cells.ndim == 2 else 0)]
    elif ext in (".csv", ".txt", ".tsv"):
        cells, names, start = _read_csv(path)
    else:
        raise DataError(f"{path}: unsupported file type {ext!r} (use .csv, .npy or .npz)")
    if cells.ndim != 2:
        raise DataError(f"{path} must hold a 2-D table, got shape {cells.shape}")
    if cells.shape[1] < 2:
        raise DataError(f"{path}: need at least one input and one target column")
    cols = _resolve_columns(target, names, path)
    inputs = [c for c in range(cells.shape[1]) if c not in cols]
    if not inputs:
        raise DataError(f"{path}: every column is a target; no inputs left")
    number = (lambda a: _numbers(a, path, start)) if cells.dtype.kind in "US" else \
        (lambda a: a)
    X = as_matrix(number(cells[:, inputs]), path)
    fnames = [names[c] for c in inputs]
    if classify:
        if len(cols) != 1:
            raise DataError(f"{path}: classification takes one label column, got {len(cols)}")
        labels = Labels.of(cells[:, cols[0]], path, names[cols[0]])
        return _split(name, X, labels.targets(), val_split, seed, train, val, fnames,
                      labels.target_names(), labels)
    y = as_matrix(number(cells[:, cols]), path)
    return _split(name, X, y, val_split, seed, train, val, fnames, [names[c] for c in cols])


def _xy_arrays(name: str, path: str, arrays: dict, val_split: float | None, seed: int,
               train: int | None, val: int | None, classify: bool) -> Dataset:
    """An .npz file's ``X``, ``y`` (and ``X_val``, ``y_val``)."""
    X = as_matrix(arrays["X"], "inputs")
    has_val = "X_val" in arrays and "y_val" in arrays
    labels = None
    if classify:
        y_all = np.concatenate([np.ravel(arrays["y"]), np.ravel(arrays["y_val"])]) if has_val \
            else np.ravel(arrays["y"])
        if np.ndim(arrays["y"]) > 1 and np.shape(arrays["y"])[1] != 1:
            raise DataError(f"{path}: classification takes one label column, y has "
                            f"{np.shape(arrays['y'])[1]}")
        labels = Labels.of(y_all, path, "y")
        y = labels.targets()
    else:
        y = as_matrix(arrays["y"], "targets")
    n = X.shape[0]
    check_pair(X, y[:n], path)
    if not has_val:
        if labels is not None and y.shape[0] != n:
            raise DataError(f"{path}: X has {n} rows but y has {y.shape[0]}")
        return _split(name, X, y, val_split, seed, train, val, [], labels.target_names()
                      if labels else [], labels)
    if val_split is not None:
        raise DataError(f"{path} holds its validation set (X_val, y_val); a validation "
                        "split does not apply")
    Xv = as_matrix(arrays["X_val"], "validation inputs")
    yv = y[n:] if labels is not None else as_matrix(arrays["y_val"], "validation targets")
    y = y[:n]
    take_t = _count(train, n, "training", path)
    take_v = _count(val, Xv.shape[0], "validation", path)
    return Dataset(name, X[:take_t], y[:take_t], Xv[:take_v], yv[:take_v],
                   target_names=labels.target_names() if labels else [],
                   classes=len(labels.names) if labels else 0,
                   class_names=labels.names if labels else [])


def _count(asked: int | None, have: int, what: str, path: str) -> int:
    if asked is None:
        return have
    if not 1 <= asked <= have:
        raise DataError(f"{path} has {have:,} {what} records; {asked:,} asked for")
    return asked


def _split(name: str, X: np.ndarray, y: np.ndarray, val_split: float | None, seed: int,
           train: int | None, val: int | None, fnames: list[str], tnames: list[str],
           labels: Labels | None = None) -> Dataset:
    """Hold out ``val`` records (or the ``val_split`` share, 0.2 by default)
    at random, per class when ``labels`` are given; train on the rest, or on
    ``train`` records of it."""
    n = X.shape[0]
    if val is not None and val_split is not None:
        raise DataError("give a validation record count or a validation split, not both")
    if val is None:
        share = 0.2 if val_split is None else val_split
        if not 0.0 < share < 1.0:
            raise DataError(f"validation split must be between 0 and 1, got {share}")
        n_val = round(n * share)
        if n_val < 1 or n_val >= n:
            raise DataError(f"{n} records cannot be split {1 - share:.2f}/{share:.2f}")
    else:
        n_val = val
        if n_val < 1:
            raise DataError("validation needs at least one record")
        if n_val >= n:
            raise DataError(f"{name} has {n:,} records; {n_val:,} for validation leave none "
                            "for training")
    perm = np.random.default_rng(seed).permutation(n)
    if labels is None:
        v, t = perm[:n_val], perm[n_val:]
    else:
        v, t = _stratified(perm, labels.index, n_val)
    if train is not None:
        if not 1 <= train <= t.size:
            raise DataError(f"{name} has {t.size:,} training records after holding out "
                            f"{n_val:,} for validation; {train:,} asked for")
        t = t[:train]
    return Dataset(name, X[t], y[t], X[v], y[v], fnames, tnames,
                   classes=len(labels.names) if labels else 0,
                   class_names=labels.names if labels else [])


def holdout(X: np.ndarray, y: np.ndarray, fraction: float, seed: int = 0,
            labels: Labels | None = None, feature_names: list[str] | None = None) -> Dataset:
    """The estimators' split of ``(X, y)``: ``fraction`` of the records held
    out for validation at random (per class with ``labels``); none when that
    rounds to no record, so a handful of records still trains."""
    n_val = round(fraction * X.shape[0])
    classes_ = len(labels.names) if labels else 0
    names = labels.names if labels else []
    if n_val < 1:
        return Dataset("fit", X, y, None, None, list(feature_names or []), classes=classes_,
                       class_names=names)
    if n_val >= X.shape[0]:
        raise DataError(f"{X.shape[0]} records leave none for training after holding out "
                        f"a validation fraction of {fraction}")
    d = _split("fit", X, y, None, seed, None, n_val, list(feature_names or []), [], labels)
    return d


def _stratified(perm: np.ndarray, index: np.ndarray, n_val: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Validation and training positions from the shuffled ``perm``, each
    class giving its share of ``n_val`` (largest remainders round)."""
    counts = np.bincount(index)
    exact = n_val * counts / counts.sum()
    quota = np.floor(exact).astype(np.int64)
    short = n_val - quota.sum()
    quota[np.argsort(-(exact - quota), kind="stable")[:short]] += 1
    cls_of = index[perm]
    # rank of each shuffled record within its class
    order = np.argsort(cls_of, kind="stable")
    rank = np.empty(perm.size, np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank[order] = np.arange(perm.size) - np.repeat(starts, counts)
    in_val = rank < quota[cls_of]
    return perm[in_val], perm[~in_val]


def load(spec: str, seed: int = 0, train: int | None = None, val: int | None = None,
         target: Sequence[str] | None = None, val_split: float | None = None,
         classify: bool = False) -> Dataset:
    """A built-in dataset by name, or a user table by path (see
    :func:`load_table` for the options)."""
    if spec in BUILTINS or spec in FIXED_DATASETS:
        if target:
            raise DataError(f"{spec} is a built-in dataset with its own target; a target "
                            "column applies to a table")
        if val_split is not None:
            raise DataError(f"{spec} draws independent validation records; give their "
                            "number instead of a split")
        if classify and spec not in FIXED_DATASETS:
            raise DataError(f"{spec} is a regression dataset; classification needs a label "
                            "column (a table) or digits")
        return builtin(spec, seed, train, val)
    if os.sep in spec or os.path.splitext(spec)[1] or os.path.exists(spec):
        return load_table(spec, target, val_split, seed, train, val, classify)
    return builtin(spec, seed, train, val)  # raises the unknown-dataset error
