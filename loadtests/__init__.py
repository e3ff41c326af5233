"""Locust scenarios of nfv (run by `nfv loadtest` / `nfv experiment`, never imported by nfv)."""
