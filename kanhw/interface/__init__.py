"""The hardware/software interface: everything the host, the generator, the
testbenches and the boards must agree on, in pure Python (no Amaranth).

* :mod:`.geometry`: a design's hardware sizes and the control address map;
* :mod:`.cycles`: the cycle model and the latencies the generator builds in;
* :mod:`.layouts`: the stream payloads' bit layouts and the link's sizes;
* :mod:`.packing`: those payloads as bytes and harness words, over arrays;
* :mod:`.image`: the control words that load and read a model's tables;
* :mod:`.protocol`: the link's framing, commands and constants.
"""
