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

The round trip is exact: arrays are stored bit for bit. A file is written
atomically (a temporary file beside it, flushed and synced, then renamed
over it), so a kill at any moment leaves the old file or the new one
whole. Reading checks every field's type and every array's length: a file
that is not a whole kanhw model is one :class:`DataError` line.
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
    write_atomic(path, lambda fh: np.savez(fh, values=model.values, lo=model.lo, hi=model.hi,
                                           meta=np.array(json.dumps(meta)), **arrays))


def write_atomic(path: str, write) -> None:
    """``write(fh)`` into a temporary file beside ``path``, flushed and
    synced to disk, then renamed over ``path``: readers see the old file or
    the new one, never a part."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        try:
            with open(tmp, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        try:
            fd = os.open(folder, os.O_RDONLY)
        except OSError:     # pragma: no cover - a folder that cannot be opened
            return
        try:
            os.fsync(fd)    # the rename itself reaches the disk
        except OSError:     # pragma: no cover - file systems without directory sync
            pass
        finally:
            os.close(fd)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None


def load_fixed(path: str):
    """The fixed-point model saved in ``path`` (exact integer tables)."""
    from .contract import Contract
    from .fixed_model import FixedKAN

    arrays, meta, arch = _read(path)
    f = meta.get("fixed")
    if not f:
        raise DataError(f"{path} holds a float model, not a fixed-point one")
    if not isinstance(f, dict):
        raise DataError(f"{path}: corrupt fixed-point model (metadata 'fixed' is not a table)")
    try:
        contract = Contract.from_dict(f["contract"])
        for n, size in (("values", arch.n_parameters), ("lo", arch.n_functions),
                        ("hi", arch.n_functions)):
            _array(path, arrays, n, size)      # the float view must be whole too
        tables = [_array(path, arrays, f"fixed_{n}", size, integer=True)
                  for n, size in (("values", arch.n_parameters), ("lo", arch.n_functions),
                                  ("hi", arch.n_functions), ("rcp", arch.n_functions))]
        maps = [_vector(path, f, n, size) for n, size in
                (("in_lo", arch.n_in), ("in_hi", arch.n_in), ("t_centre", arch.n_out),
                 ("t_half", arch.n_out))]
        return FixedKAN(arch, contract, *tables, *maps, history=list(meta["history"]),
                        info=dict(meta["info"]))
    except DataError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{path}: corrupt fixed-point model ({type(exc).__name__}: {exc})") \
            from None
    except KanhwError as exc:
        raise DataError(f"{path}: corrupt fixed-point model ({exc})") from None


def load(path: str) -> KAN:
    """The float model in ``path`` (for a fixed-point file, its float view)."""
    arrays, meta, arch = _read(path)
    try:
        return KAN(arch, _array(path, arrays, "values", arch.n_parameters),
                   _array(path, arrays, "lo", arch.n_functions),
                   _array(path, arrays, "hi", arch.n_functions),
                   list(meta["history"]), dict(meta["info"]))
    except DataError:
        raise
    except KanhwError as exc:
        raise DataError(f"{path}: {exc}") from None


def _array(path: str, arrays: dict, name: str, size: int, integer: bool = False) -> np.ndarray:
    """Array ``name``: real, finite, ``size`` long (integer tables: integers)."""
    a = arrays.get(name)
    if a is None:
        raise DataError(f"{path}: corrupt model (no {name})")
    kinds = "iu" if integer else "fiu"
    if a.dtype.kind not in kinds or a.shape != (size,):
        raise DataError(f"{path}: corrupt model ({name} is {a.dtype} of shape {a.shape}; "
                        f"{size} {'integers' if integer else 'real numbers'} expected)")
    if not integer and not np.isfinite(a).all():
        raise DataError(f"{path}: corrupt model ({name} holds NaN or infinity)")
    return a.astype(np.int64 if integer else np.float64)


def _vector(path: str, table: dict, name: str, size: int) -> np.ndarray:
    """A list of ``size`` finite numbers from the metadata."""
    v = table[name]
    if not isinstance(v, list) or len(v) != size or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in v):
        raise DataError(f"{path}: corrupt fixed-point model ({name} must be {size} numbers)")
    a = np.array(v, np.float64)
    if not np.isfinite(a).all():
        raise DataError(f"{path}: corrupt fixed-point model ({name} holds NaN or infinity)")
    return a


def _read(path: str) -> tuple[dict, dict, Architecture]:
    if not os.path.exists(path):
        raise DataError(f"{path}: no such model file")
    try:
        z = np.load(path, allow_pickle=False)
        if not hasattr(z, "files"):
            raise DataError(f"{path} is not a kanhw model file (a bare array; models are "
                            ".npz files written by kanhw)")
        with z:
            arrays = {k: z[k] for k in z.files}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path} is not a kanhw model file ({exc})") from None
    missing = {"values", "lo", "hi", "meta"} - set(arrays)
    if missing:
        raise DataError(f"{path} is not a kanhw model file (missing {', '.join(sorted(missing))})")
    try:
        meta = json.loads(str(arrays["meta"]))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: corrupt metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: corrupt metadata (a {type(meta).__name__}, not a table)")
    if meta.get("format") != FORMAT:
        raise DataError(f"{path}: not a kanhw model (format {meta.get('format')!r})")
    version = meta.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise DataError(f"{path}: corrupt metadata (version {version!r} is not an integer)")
    if version > VERSION:
        raise DataError(f"{path}: model format version {meta['version']} is newer than "
                        f"this kanhw ({VERSION})")
    meta.setdefault("history", [])
    meta.setdefault("info", {})
    if not isinstance(meta["history"], list) or not all(isinstance(e, dict)
                                                        for e in meta["history"]):
        raise DataError(f"{path}: corrupt metadata (history must be a list of epochs)")
    if not isinstance(meta["info"], dict):
        raise DataError(f"{path}: corrupt metadata (info must be a table)")
    try:
        arch = Architecture.from_dict(meta.get("arch", {}))
    except KanhwError as exc:
        raise DataError(f"{path}: corrupt metadata ({exc})") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise DataError(f"{path}: corrupt metadata (arch: {exc})") from None
    return arrays, meta, arch
