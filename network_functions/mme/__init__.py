"""The MME: S1-MME (S1AP + NAS) towards eNBs, S6a to the HSS, S11 to the SGW-C."""
