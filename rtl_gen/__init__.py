"""Amaranth generator of the NK training core (installed as ``kanhw.rtl_gen``)."""
