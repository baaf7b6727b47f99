"""Table images: the control writes that load a fixed-point model into a core
and the reads that bring it back. Used by the host link, the simulation
benches and the tests alike."""

from __future__ import annotations

import functools

import numpy as np

from kanhw.errors import ConfigError
from kanhw.fixed_model import FixedKAN
from kanhw.interface.geometry import DOMAIN_HI, DOMAIN_LO, DOMAIN_RCP, Geometry
from kanhw.interface.layered import LayeredGeometry


def outer_points_of(geo: Geometry, model: FixedKAN) -> int:
    """The outer grid ``model`` runs on in the core: the design's, or a
    coarser one (the core's ``outer_points`` register) with the same
    inner grid. A layered core runs its design's grids only."""
    a, d = model.arch, geo.design.arch
    if isinstance(geo, LayeredGeometry):
        if a != d:
            raise ConfigError(f"a {a.describe()} KAN does not fit the core's tables "
                              f"({d.describe()})")
        return int(a.points[-1])
    if a.sizes != d.sizes or a.points[0] != d.points[0] or not 2 <= a.points[1] <= d.points[1]:
        raise ConfigError(f"a {a.describe()} KAN does not fit the core's tables "
                          f"({d.describe()}): a coarser outer grid is the only difference "
                          "a core takes")
    return int(a.points[1])


def table_addresses(geo: Geometry, outer_points: int | None = None
                    ) -> list[tuple[int, str, int]]:
    """Every table word of the core: ``(address, kind, index)`` where ``kind``
    is ``values``, ``lo``, ``hi`` or ``rcp`` and ``index`` the position in the
    fixed model's flat array of that name. With ``outer_points`` below the
    design's, the words of a model on that coarser outer grid (the first
    nodes of each outer table)."""
    return list(_table_addresses(geo, outer_points or geo.p_outer))


@functools.lru_cache(maxsize=16)
def _table_addresses(geo: Geometry, outer_points: int) -> tuple[tuple[int, str, int], ...]:
    # cached: a stream loads and reads the tables every epoch, and the
    # address arithmetic per word is most of that time on the host
    if isinstance(geo, LayeredGeometry):
        return geo.table_words()
    a = geo.design.arch
    n, K, P0 = geo.n, geo.K, geo.p_inner
    P1 = outer_points
    nb1 = int(a.node_base[1])
    fb1 = int(a.func_base[1])
    out: list[tuple[int, str, int]] = []
    for k in range(K):
        for i in range(n):
            for p in range(P0):
                out.append((geo.inner_addr(k, i, p), "values", (k * n + i) * P0 + p))
        for p in range(P1):
            out.append((geo.outer_addr(k, p), "values", nb1 + k * P1 + p))
        out.append((geo.domain_addr(k, DOMAIN_LO), "lo", fb1 + k))
        out.append((geo.domain_addr(k, DOMAIN_HI), "hi", fb1 + k))
        out.append((geo.domain_addr(k, DOMAIN_RCP), "rcp", fb1 + k))
    return tuple(out)


@functools.lru_cache(maxsize=16)
def _columns(geo: Geometry, outer_points: int) -> tuple[np.ndarray, np.ndarray, list]:
    """:func:`table_addresses` as arrays: addresses, the model's indices, and
    per kind the positions that hold it."""
    words = _table_addresses(geo, outer_points)
    addrs = np.array([a for a, _, _ in words], np.int64)
    index = np.array([i for _, _, i in words], np.int64)
    kinds = np.array([k for _, k, _ in words])
    groups = [(kind, np.flatnonzero(kinds == kind)) for kind in ("values", "lo", "hi", "rcp")]
    return addrs, index, groups


def table_writes(geo: Geometry, model: FixedKAN) -> tuple[np.ndarray, np.ndarray]:
    """(addresses, 32-bit words) that load ``model`` into the core; the
    ``outer_points`` register first."""
    P1 = outer_points_of(geo, model)
    addrs, index, groups = _columns(geo, P1)
    words = np.empty(len(addrs), np.int64)
    for kind, pos in groups:
        words[pos] = getattr(model, kind)[index[pos]] & 0xFFFFFFFF
    if isinstance(geo, LayeredGeometry):
        return addrs, words
    return (np.concatenate([[geo.global_addr("outer_points")], addrs]),
            np.concatenate([[P1], words]))


def tables_from_words(geo: Geometry, template: FixedKAN, words) -> FixedKAN:
    """A copy of ``template`` holding the tables read back as ``words``
    (in :func:`table_addresses` order for the template's outer grid)."""
    V = geo.design.contract.value_bits
    model = template.copy()
    _, index, groups = _columns(geo, outer_points_of(geo, template))
    words = np.asarray(words, np.int64) & 0xFFFFFFFF
    values = words & ((1 << V) - 1)
    values = np.where(values >> (V - 1), values - (1 << V), values)   # sign-extended
    for kind, pos in groups:
        getattr(model, kind)[index[pos]] = words[pos] if kind == "rcp" else values[pos]
    return model
