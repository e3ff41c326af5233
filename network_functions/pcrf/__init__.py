"""The PCRF: Gx policy for the PGW, Rx for the P-CSCF (TS 23.203, TS 29.212, TS 29.214)."""
