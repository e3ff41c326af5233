"""Exception types of the SIP codec and transaction layer.

``SipParseError`` is the single "the peer broke the protocol" error of the codec (RFC 3261
§8.2, §16.3, §18): it names the problem in ``reason`` and carries the status code to answer a
request with (400, 413, 416, 505 ...). ``TransactionError`` means the local code drove a
transaction against RFC 3261 §17 (e.g. a response on a terminated transaction): a programming
error, never caused by a peer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .message import SipRequest, SipResponse


class SipError(Exception):
    """Base class of every error raised by the SIP package."""


class SipParseError(SipError):
    """Input from a peer violates RFC 3261 (or an extension's ABNF).

    Attributes:
        reason: what is wrong, fit for a Reason-Phrase or a log line ("Missing Call-ID header").
        status: the SIP status to answer a request with (400 by default; 413 too large,
            416 unsupported URI scheme, 505 unsupported SIP version).
        messages: only set by ``StreamParser.feed``: the messages decoded by the same call
            before the faulty one, so that they are not lost (the stream itself is dead).
    """

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.messages: list[SipRequest | SipResponse] = []

    def __str__(self) -> str:
        return f"{self.status} {self.reason}"


class TransactionError(SipError):
    """A transaction was driven against RFC 3261 §17 by local code ("asked to break it")."""
