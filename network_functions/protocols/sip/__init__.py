"""Sans-IO SIP (RFC 3261): message codec, URI/header value parsing and transactions.

The public API of the package is re-exported here: ``parse_message``/``StreamParser`` and the
message classes (``message``), the header collection (``headers``), URI, name-addr and Via
values (``uri``), the RFC 3261 §17 transaction machines (``transaction``) and the error types
(``errors``). ``digest`` (HTTP Digest / IMS AKA) is a standalone sibling module.
"""

from __future__ import annotations

from .errors import SipError, SipParseError, TransactionError
from .headers import Headers
from .message import (
    MAX_MESSAGE_SIZE,
    REASON_PHRASES,
    SipMessage,
    SipRequest,
    SipResponse,
    StreamParser,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
    parse_message,
)
from .transaction import (
    T1,
    T2,
    T4,
    TIMER_A,
    TIMER_B,
    TIMER_D,
    TIMER_E,
    TIMER_F,
    TIMER_G,
    TIMER_H,
    TIMER_I,
    TIMER_J,
    TIMER_K,
    Action,
    CancelTimer,
    ClientTransaction,
    DeliverAck,
    DeliverResponse,
    SendMessage,
    ServerTransaction,
    StartTimer,
    Terminated,
    Timeout,
    client_key,
    server_key,
)
from .uri import NameAddr, SipUri, Via, parse_params

__all__ = [
    "MAX_MESSAGE_SIZE",
    "REASON_PHRASES",
    "T1",
    "T2",
    "T4",
    "TIMER_A",
    "TIMER_B",
    "TIMER_D",
    "TIMER_E",
    "TIMER_F",
    "TIMER_G",
    "TIMER_H",
    "TIMER_I",
    "TIMER_J",
    "TIMER_K",
    "Action",
    "CancelTimer",
    "ClientTransaction",
    "DeliverAck",
    "DeliverResponse",
    "Headers",
    "NameAddr",
    "SendMessage",
    "ServerTransaction",
    "SipError",
    "SipMessage",
    "SipParseError",
    "SipRequest",
    "SipResponse",
    "SipUri",
    "StartTimer",
    "StreamParser",
    "Terminated",
    "Timeout",
    "TransactionError",
    "Via",
    "client_key",
    "make_response",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse_message",
    "parse_params",
    "server_key",
]
