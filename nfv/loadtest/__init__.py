"""Load tests and elasticity experiments: `nfv loadtest` and `nfv experiment`.

Locust runs only in subprocesses; nothing here imports it.
"""
