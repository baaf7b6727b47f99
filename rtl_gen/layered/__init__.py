"""The layered training core: KANs of any depth and any number of outputs."""
