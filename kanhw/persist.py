"""Saving and loading models: one ``.npz`` file, arrays plus JSON metadata.

Layout (format ``kanhw-model``, version 1):

* ``values``: float64, every node value, layer after layer; function ``(o, i)``
  of layer ``l`` owns ``points[l]`` consecutive nodes starting at
  ``node_base[l] + (o * sizes[l] + i) * points[l]``;
* ``lo``, ``hi``: float64, the domain of every function, in the same order;
* ``meta``: a JSON string: ``format``, ``version``, ``arch``
  (``sizes``, ``points``), ``history`` (one entry per epoch) and ``info``
  (free-form: dataset, step rule, seed...).

A fixed-point model also stores ``fixed_values``, ``fixed_lo``, ``fixed_hi``
and ``fixed_rcp`` (int64, same layout) and, in ``meta["fixed"]``, its
contract and host mappings (first-layer input domains, target centre and
half-range); ``values``/``lo``/``hi`` then hold its float view.

The round trip is exact: arrays are stored bit for bit.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from .arch import Architecture
from .errors import DataError, KanhwError
from .model import KAN

FORMAT = "kanhw-model"
VERSION = 1


def save(model, path: str) -> None:
    """Save a float :class:`KAN`, or a fixed-point model (its float view plus
    the exact integer tables, contract and host mappings)."""
    arrays = {}
    extra = {}
    if not isinstance(model, KAN):  # a FixedKAN
        fixed = model
        model = fixed.to_float()
        arrays = {f"fixed_{n}": getattr(fixed, n) for n in ("values", "lo", "hi", "rcp")}
        extra = {"fixed": {"contract": fixed.contract.to_dict(),
                           "in_lo": fixed.in_lo.tolist(), "in_hi": fixed.in_hi.tolist(),
                           "t_centre": fixed.t_centre.tolist(),
                           "t_half": fixed.t_half.tolist()}}
    meta = {"format": FORMAT, "version": VERSION, "arch": model.arch.to_dict(),
            "history": model.history, "info": model.info, **extra}
    try:
        with open(path, "wb") as fh:
            np.savez(fh, values=model.values, lo=model.lo, hi=model.hi,
                     meta=np.array(json.dumps(meta)), **arrays)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror}") from None


def load_fixed(path: str):
    """The fixed-point model saved in ``path`` (exact integer tables)."""
    from .contract import Contract
    from .fixed_model import FixedKAN

    arrays, meta = _read(path)
    f = meta.get("fixed")
    if not f:
        raise DataError(f"{path} holds a float model, not a fixed-point one")
    arch = Architecture.from_dict(meta.get("arch", {}))
    try:
        return FixedKAN(arch, Contract.from_dict(f["contract"]),
                        *(arrays[f"fixed_{n}"].astype(np.int64)
                          for n in ("values", "lo", "hi", "rcp")),
                        np.array(f["in_lo"]), np.array(f["in_hi"]), np.array(f["t_centre"]),
                        np.array(f["t_half"]), history=list(meta.get("history", [])),
                        info=dict(meta.get("info", {})))
    except (KeyError, KanhwError) as exc:
        raise DataError(f"{path}: corrupt fixed-point model ({exc})") from None


def load(path: str) -> KAN:
    """The float model in ``path`` (for a fixed-point file, its float view)."""
    arrays, meta = _read(path)
    arch = Architecture.from_dict(meta.get("arch", {}))
    try:
        return KAN(arch, arrays["values"], arrays["lo"], arrays["hi"],
                   list(meta.get("history", [])), dict(meta.get("info", {})))
    except KanhwError as exc:
        raise DataError(f"{path}: {exc}") from None


def _read(path: str) -> tuple[dict, dict]:
    if not os.path.exists(path):
        raise DataError(f"{path}: no such model file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path} is not a kanhw model file ({exc})") from None
    missing = {"values", "lo", "hi", "meta"} - set(arrays)
    if missing:
        raise DataError(f"{path} is not a kanhw model file (missing {', '.join(sorted(missing))})")
    try:
        meta = json.loads(str(arrays["meta"]))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: corrupt metadata ({exc})") from None
    if meta.get("format") != FORMAT:
        raise DataError(f"{path}: not a kanhw model (format {meta.get('format')!r})")
    if meta.get("version", 0) > VERSION:
        raise DataError(f"{path}: model format version {meta['version']} is newer than "
                        f"this kanhw ({VERSION})")
    return arrays, meta
