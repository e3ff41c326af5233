"""Base-protocol message builders and identifier generators (RFC 6733 §3, §5, §8.8).

Builders for the peer-connection messages CER, DWR and DPR, the hop-by-hop / end-to-end
identifier generator of §3, and Session-Id generation per §8.8. Time and randomness can be
injected, so everything here stays deterministic under test.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Sequence
from enum import IntEnum

from .codec import Message
from .constants import APP_BASE_COMMON, CMD_CER, CMD_DPR, CMD_DWR


class DisconnectCause(IntEnum):
    """RFC 6733 §5.4.3."""

    REBOOTING = 0
    BUSY = 1
    DO_NOT_WANT_TO_TALK_TO_YOU = 2


class AuthSessionState(IntEnum):
    """RFC 6733 §8.11."""

    STATE_MAINTAINED = 0
    NO_STATE_MAINTAINED = 1


class InbandSecurityId(IntEnum):
    """RFC 6733 §6.10."""

    NO_INBAND_SECURITY = 0
    TLS = 1


def make_cer(
    *,
    origin_host: str,
    origin_realm: str,
    host_ip_addresses: Sequence[str],
    vendor_id: int,
    product_name: str,
    auth_application_ids: Sequence[int] = (),
    vendor_specific_application_ids: Sequence[tuple[int, int]] = (),
    acct_application_ids: Sequence[int] = (),
    supported_vendor_ids: Sequence[int] | None = None,
    origin_state_id: int | None = None,
    firmware_revision: int | None = None,
    hop_by_hop: int,
    end_to_end: int,
) -> Message:
    """Capabilities-Exchange-Request (RFC 6733 §5.3.1); not proxiable, application 0.

    ``vendor_specific_application_ids`` are (vendor-id, auth-application-id) pairs.
    ``supported_vendor_ids`` defaults to the vendors of those pairs (§5.3.6).
    """
    msg = Message(
        CMD_CER,
        APP_BASE_COMMON,
        request=True,
        proxiable=False,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    for ip in host_ip_addresses:
        msg.add("Host-IP-Address", ip)
    msg.add("Vendor-Id", vendor_id).add("Product-Name", product_name)
    if origin_state_id is not None:
        msg.add("Origin-State-Id", origin_state_id)
    if supported_vendor_ids is None:
        supported_vendor_ids = sorted({v for v, _ in vendor_specific_application_ids})
    for v in supported_vendor_ids:
        msg.add("Supported-Vendor-Id", v)
    for app in auth_application_ids:
        msg.add("Auth-Application-Id", app)
    for app in acct_application_ids:
        msg.add("Acct-Application-Id", app)
    for v, app in vendor_specific_application_ids:
        msg.add("Vendor-Specific-Application-Id", [("Vendor-Id", v), ("Auth-Application-Id", app)])
    if firmware_revision is not None:
        msg.add("Firmware-Revision", firmware_revision)
    return msg


def make_dwr(
    *,
    origin_host: str,
    origin_realm: str,
    hop_by_hop: int,
    end_to_end: int,
    origin_state_id: int | None = None,
) -> Message:
    """Device-Watchdog-Request (RFC 6733 §5.5.1)."""
    msg = Message(
        CMD_DWR,
        APP_BASE_COMMON,
        request=True,
        proxiable=False,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    if origin_state_id is not None:
        msg.add("Origin-State-Id", origin_state_id)
    return msg


def make_dpr(
    *,
    origin_host: str,
    origin_realm: str,
    disconnect_cause: int,
    hop_by_hop: int,
    end_to_end: int,
) -> Message:
    """Disconnect-Peer-Request (RFC 6733 §5.4.1)."""
    msg = Message(
        CMD_DPR,
        APP_BASE_COMMON,
        request=True,
        proxiable=False,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    msg.add("Disconnect-Cause", int(disconnect_cause))
    return msg


class IdGenerator:
    """Hop-by-Hop and End-to-End identifiers (RFC 6733 §3).

    Hop-by-hop: a monotonically increasing 32-bit number with a random start value.
    End-to-end: high 12 bits = low 12 bits of the current time (seconds) at creation, low
    20 bits = a counter with a random start, so ids stay unique across restarts for well
    over the 4 minutes §3 requires. Thread-safe.
    """

    def __init__(self, *, now: float | None = None, rng: random.Random | None = None) -> None:
        r = rng if rng is not None else random.SystemRandom()
        t = int(time.time() if now is None else now)
        self._e2e_high = (t & 0xFFF) << 20
        self._e2e_low = r.getrandbits(20)
        self._hbh = r.getrandbits(32)
        self._lock = threading.Lock()

    def next_hop_by_hop(self) -> int:
        with self._lock:
            self._hbh = (self._hbh + 1) & 0xFFFFFFFF
            return self._hbh

    def next_end_to_end(self) -> int:
        with self._lock:
            self._e2e_low = (self._e2e_low + 1) & 0xFFFFF
            return self._e2e_high | self._e2e_low


class SessionIdGenerator:
    """Session-Id values per RFC 6733 §8.8: ``<DiameterIdentity>;<high 32>;<low 32>[;<opt>]``.

    The 64-bit counter starts with the high half set to the NTP time at creation and the
    low half at zero, as §8.8 suggests, and increments per id.
    """

    def __init__(self, *, now: float | None = None) -> None:
        t = time.time() if now is None else now
        high = (int(t) + 2208988800) & 0xFFFFFFFF  # Unix epoch -> NTP epoch (1900)
        self._counter = itertools.count(high << 32)
        self._lock = threading.Lock()

    def next(self, origin_host: str, optional: str | None = None) -> str:
        with self._lock:
            value = next(self._counter) & 0xFFFFFFFFFFFFFFFF
        sid = f"{origin_host};{value >> 32};{value & 0xFFFFFFFF}"
        return sid if optional is None else f"{sid};{optional}"


_SESSION_IDS: SessionIdGenerator | None = None
_SESSION_IDS_LOCK = threading.Lock()


def new_session_id(origin_host: str, optional: str | None = None) -> str:
    """A fresh Session-Id from a process-wide ``SessionIdGenerator``."""
    global _SESSION_IDS
    gen = _SESSION_IDS
    if gen is None:
        with _SESSION_IDS_LOCK:
            if _SESSION_IDS is None:
                _SESSION_IDS = SessionIdGenerator()
            gen = _SESSION_IDS
    return gen.next(origin_host, optional)
