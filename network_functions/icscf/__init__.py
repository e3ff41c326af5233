"""Interrogating-CSCF: the home network entry point, routes by asking the HSS (UAR/LIR)."""
