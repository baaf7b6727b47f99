"""The hardware/software interface: everything the host, the generator, the
testbenches and the boards must agree on, in pure Python (no Amaranth).

* :mod:`.geometry`: the two-layer core's sizes and control address map;
* :mod:`.layered`: a layered core's stages, blocks and address map;
* :mod:`.cycles`: the cycle model and the latencies the generator builds in;
* :mod:`.layouts`: the stream payloads' bit layouts and the link's sizes;
* :mod:`.packing`: those payloads as bytes and harness words, over arrays;
* :mod:`.image`: the control words that load and read a model's tables;
* :mod:`.protocol`: the link's framing, commands and constants.
"""


def geometry_of(design):
    """The geometry of the core ``design`` builds: the two-layer core's
    (:class:`.geometry.Geometry`) or a layered core's
    (:class:`.layered.LayeredGeometry`)."""
    from .geometry import Geometry
    from .layered import LayeredGeometry
    return LayeredGeometry(design) if design.layered else Geometry(design)
