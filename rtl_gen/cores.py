"""The core a design builds: the two-layer core (:mod:`.core`) for a
two-layer, one-output KAN, the layered core (:mod:`.layered`) otherwise.
Both have the same streams and control port; their geometries
(:func:`kanhw.interface.geometry_of`) say what the payloads and addresses
are."""

from __future__ import annotations

from amaranth.lib import wiring

from kanhw.interface.geometry import Geometry
from kanhw.interface.layered import LayeredGeometry


def training_core(geo: Geometry | LayeredGeometry, shared_blocks: bool = False
                  ) -> wiring.Component:
    """The core for ``geo``. ``shared_blocks``: the two-layer core's blocks
    as instances of one emitted module (for large designs)."""
    if isinstance(geo, LayeredGeometry):
        from .layered.core import LayeredCore
        return LayeredCore(geo, shared_blocks=shared_blocks)
    from .core import TrainingCore
    return TrainingCore(geo, shared_blocks=shared_blocks)
