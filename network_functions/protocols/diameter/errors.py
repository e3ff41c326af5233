"""Exception types of the Diameter codec.

``DiameterParseError`` is the single "the peer broke the protocol" error: it carries the
Result-Code to answer with (RFC 6733 §7.1), the offending AVP for Failed-AVP (§7.5), and
whether the connection must be closed instead of answered. ``DiameterEncodeError`` signals a
local programming error (a value that cannot be encoded as the AVP's type).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .codec import Avp, Message


class DiameterError(Exception):
    """Base class of every error raised by this package."""


class DiameterParseError(DiameterError):
    """Input from a peer violates RFC 6733 or an application's ABNF.

    Attributes:
        result_code: the Result-Code to answer with (RFC 6733 §7.1).
        failed_avp: the AVP to put in Failed-AVP (§7.5), or None.
        fatal: True when the byte stream cannot be trusted any more (broken framing, see
            RFC 6733 §3): the transport connection must be closed, no answer can be sent.
            False: answer the request with ``error_answer()``.
        partial: the message as far as it could be decoded (header and the AVPs before the
            fault) when the error is raised by ``Message.decode``/``StreamParser``; enough to
            build the answer (hop-by-hop, end-to-end, Session-Id). None otherwise.
    """

    def __init__(
        self,
        result_code: int,
        message: str,
        *,
        failed_avp: Avp | None = None,
        fatal: bool = False,
        partial: Message | None = None,
    ) -> None:
        super().__init__(message)
        self.result_code = result_code
        self.failed_avp = failed_avp
        self.fatal = fatal
        self.partial = partial

    @property
    def error_message(self) -> str:
        """Human readable text for the Error-Message AVP (RFC 6733 §7.3)."""
        return str(self)

    def __repr__(self) -> str:
        return (
            f"DiameterParseError({self.result_code}, {str(self)!r}, "
            f"fatal={self.fatal}, failed_avp={self.failed_avp!r})"
        )


class DiameterEncodeError(DiameterError, ValueError):
    """A value given to the encoder does not fit the AVP's data type (local bug, not peer)."""
