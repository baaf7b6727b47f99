"""Saving and loading models: one ``.npz`` file, arrays plus JSON metadata.

Layout (format ``kanhw-model``, version 1):

* ``values``: float64, every node value, layer after layer; function ``(o, i)``
  of layer ``l`` owns ``points[l]`` consecutive nodes starting at
  ``node_base[l] + (o * sizes[l] + i) * points[l]``;
* ``lo``, ``hi``: float64, the domain of every function, in the same order;
* ``meta``: a JSON string: ``format``, ``version``, ``arch``
  (``sizes``, ``points``), ``history`` (one entry per epoch) and ``info``
  (free-form: dataset, step rule, seed...).

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


def save(model: KAN, path: str) -> None:
    meta = {"format": FORMAT, "version": VERSION, "arch": model.arch.to_dict(),
            "history": model.history, "info": model.info}
    try:
        with open(path, "wb") as fh:
            np.savez(fh, values=model.values, lo=model.lo, hi=model.hi,
                     meta=np.array(json.dumps(meta)))
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror}") from None


def load(path: str) -> KAN:
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
    arch = Architecture.from_dict(meta.get("arch", {}))
    try:
        return KAN(arch, arrays["values"], arrays["lo"], arrays["hi"],
                   list(meta.get("history", [])), dict(meta.get("info", {})))
    except KanhwError as exc:
        raise DataError(f"{path}: {exc}") from None
