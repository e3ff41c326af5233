"""Serving-CSCF: registrar with digest/AKA authentication, and session routing."""
