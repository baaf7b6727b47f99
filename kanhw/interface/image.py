"""Table images: the control writes that load a fixed-point model into a core
and the reads that bring it back. Used by the host link, the simulation
benches and the tests alike."""

from __future__ import annotations

import functools

import numpy as np

from kanhw.arch import Architecture
from kanhw.errors import ConfigError
from kanhw.fixed_model import FixedKAN
from kanhw.interface.geometry import DOMAIN_HI, DOMAIN_LO, DOMAIN_RCP, Geometry
from kanhw.interface.layered import LayeredGeometry


def grid_of(geo: Geometry | LayeredGeometry, a: Architecture) -> tuple[int, ...]:
    """The grids a model of ``a`` runs on in the core (points per layer):
    the design's, or coarser ones on the core's grid registers (the
    two-layer core's ``outer_points``, the layered core's per stage) with
    the same first-layer grid; an error for a model the core's tables
    cannot hold."""
    d = geo.design.arch
    if isinstance(geo, LayeredGeometry):
        return geo.grid_of(a)
    if a.sizes != d.sizes or a.points[0] != d.points[0] or not 2 <= a.points[1] <= d.points[1]:
        raise ConfigError(f"a {a.describe()} KAN does not fit the core's tables "
                          f"({d.describe()}): a coarser outer grid is the only difference "
                          "a core takes")
    return (int(a.points[0]), int(a.points[1]))


def grid_writes(geo: Geometry | LayeredGeometry, grid: tuple[int, ...]
                ) -> tuple[list[int], list[int]]:
    """(addresses, words) of the grid registers that run ``grid``."""
    if isinstance(geo, LayeredGeometry):
        return ([geo.grid_addr(st) for st in geo.grid_stages],
                [grid[st.index] for st in geo.grid_stages])
    return [geo.global_addr("outer_points")], [grid[1]]


def table_addresses(geo: Geometry | LayeredGeometry, grid: tuple[int, ...] | None = None
                    ) -> list[tuple[int, str, int]]:
    """Every table word of the core: ``(address, kind, index)`` where ``kind``
    is ``values``, ``lo``, ``hi`` or ``rcp`` and ``index`` the position in the
    fixed model's flat array of that name. With ``grid`` (:func:`grid_of`)
    coarser than the design's, the words of a model on those grids (the
    first nodes of each table)."""
    return list(_table_addresses(geo, tuple(grid or geo.design.arch.points)))


@functools.lru_cache(maxsize=16)
def _table_addresses(geo: Geometry | LayeredGeometry, grid: tuple[int, ...]
                     ) -> tuple[tuple[int, str, int], ...]:
    # cached: a stream loads and reads the tables every epoch, and the
    # address arithmetic per word is most of that time on the host
    if isinstance(geo, LayeredGeometry):
        return geo.table_words(grid)
    a = geo.design.arch
    n, K, P0 = geo.n, geo.K, geo.p_inner
    P1 = grid[1]
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
def _columns(geo: Geometry | LayeredGeometry, grid: tuple[int, ...]
             ) -> tuple[np.ndarray, np.ndarray, list]:
    """:func:`table_addresses` as arrays: addresses, the model's indices, and
    per kind the positions that hold it."""
    words = _table_addresses(geo, grid)
    addrs = np.array([a for a, _, _ in words], np.int64)
    index = np.array([i for _, _, i in words], np.int64)
    kinds = np.array([k for _, k, _ in words])
    groups = [(kind, np.flatnonzero(kinds == kind)) for kind in ("values", "lo", "hi", "rcp")]
    return addrs, index, groups


def table_writes(geo: Geometry | LayeredGeometry, model: FixedKAN
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(addresses, 32-bit words) that load ``model`` into the core; the grid
    registers first."""
    grid = grid_of(geo, model.arch)
    addrs, index, groups = _columns(geo, grid)
    words = np.empty(len(addrs), np.int64)
    for kind, pos in groups:
        words[pos] = getattr(model, kind)[index[pos]] & 0xFFFFFFFF
    ga, gw = grid_writes(geo, grid)
    return np.concatenate([ga, addrs]).astype(np.int64), \
        np.concatenate([gw, words]).astype(np.int64)


def tables_from_words(geo: Geometry | LayeredGeometry, template: FixedKAN, words) -> FixedKAN:
    """A copy of ``template`` holding the tables read back as ``words``
    (in :func:`table_addresses` order for the template's grids)."""
    V = geo.design.contract.value_bits
    model = template.copy()
    _, index, groups = _columns(geo, grid_of(geo, template.arch))
    words = np.asarray(words, np.int64) & 0xFFFFFFFF
    values = words & ((1 << V) - 1)
    values = np.where(values >> (V - 1), values - (1 << V), values)   # sign-extended
    for kind, pos in groups:
        getattr(model, kind)[index[pos]] = words[pos] if kind == "rcp" else values[pos]
    return model
