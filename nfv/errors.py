"""The nfv exception tree; third-party errors are translated into it at each boundary.

NfvError
├── CatalogError      a descriptor is missing or invalid, an unknown NF was named
├── ValuesError       values/profile files fail to load or fail the schema
├── RenderError       a chart or config template fails to render
├── BuildError        an image build step failed (the message ends with its log tail)
└── PlatformError     a platform could not do what was asked
    ├── NotReadyError the core did not become ready in time
    ├── EngineError   no container engine answers, or it refused a request
    └── RegistryError a registry cannot be reached or refused a push or pull
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


class BuildError(NfvError):
    """A build step failed; ``log_tail`` holds the step's last output lines."""

    def __init__(self, message: str, *, log_tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.log_tail = list(log_tail or [])


class PlatformError(NfvError):
    pass


class EngineError(PlatformError):
    pass


class RegistryError(PlatformError):
    pass


class NotReadyError(PlatformError):
    pass
