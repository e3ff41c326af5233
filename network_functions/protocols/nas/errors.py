"""The one error type of the NAS codec: the peer broke TS 24.301.

:class:`NasError` carries the EMM cause (TS 24.301 §9.9.3.9) to answer with, in an EMM STATUS
or a reject: #96 invalid mandatory information, #97 message type non-existent,
#99 information element non-existent, #100 conditional IE error, #111 protocol error
unspecified. Decoding and unprotecting raise nothing else on any input.
"""

from __future__ import annotations

__all__ = [
    "CAUSE_CONDITIONAL_IE_ERROR",
    "CAUSE_IE_NON_EXISTENT",
    "CAUSE_INVALID_MANDATORY_INFO",
    "CAUSE_MSG_TYPE_NON_EXISTENT",
    "CAUSE_PROTOCOL_ERROR",
    "NasError",
    "NasMacFailure",
]

# EMM causes for protocol errors, TS 24.301 §9.9.3.9 / Annex A.
CAUSE_INVALID_MANDATORY_INFO = 96
CAUSE_MSG_TYPE_NON_EXISTENT = 97
CAUSE_IE_NON_EXISTENT = 99
CAUSE_CONDITIONAL_IE_ERROR = 100
CAUSE_PROTOCOL_ERROR = 111


class NasError(Exception):
    """A NAS message from the peer is unacceptable; ``cause`` is the EMM cause to report."""

    def __init__(self, message: str, cause: int = CAUSE_PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.cause = cause


class NasMacFailure(NasError):
    """The integrity check of a security-protected NAS message failed (TS 24.301 §4.4.4.3).

    The receiver discards the message (no answer is sent); the NAS COUNT is not advanced.
    """

    def __init__(self, message: str = "NAS MAC verification failed") -> None:
        super().__init__(message, CAUSE_PROTOCOL_ERROR)
