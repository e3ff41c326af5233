"""Simulators of the network edge (UEs; later eNBs) built on the shared codecs."""
