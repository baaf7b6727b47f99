"""cocotb benches and simulation runners (installed as ``kanhw.sim``)."""
