"""SGW-C: the Serving Gateway's control plane (S11 from the MME, S5 to the PGW-C)."""
