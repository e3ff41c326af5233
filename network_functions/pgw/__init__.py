"""PGW-C: the PDN Gateway's control plane (S5 from the SGW-C, UE IP pools, Gx to the PCRF)."""
