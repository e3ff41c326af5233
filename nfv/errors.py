"""The nfv exception tree; third-party errors are translated into it at each boundary.

NfvError
├── CatalogError      a descriptor is missing or invalid, an unknown NF was named
├── ValuesError       values/profile files fail to load or fail the schema
├── RenderError       a chart or config template fails to render
└── PlatformError     a platform could not do what was asked
    └── NotReadyError the core did not become ready in time
"""

from __future__ import annotations


class NfvError(Exception):
    """Base of every error nfv reports to its user (the CLI prints the message, exits 1)."""


class CatalogError(NfvError):
    pass


class ValuesError(NfvError):
    pass


class RenderError(NfvError):
    pass


class PlatformError(NfvError):
    pass


class NotReadyError(PlatformError):
    pass
