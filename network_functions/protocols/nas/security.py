"""EPS NAS security: EIA0/EIA2 integrity, EEA0/EEA2 ciphering and the NAS security context.

* :func:`eia2` - 128-EIA2, AES-CMAC truncated to 32 bits (TS 33.401 Annex B.2.3), over
  ``COUNT (32) || BEARER (5) || DIRECTION (1) || 0^26 || MESSAGE``.
* :func:`eea2` - 128-EEA2, AES-128 in counter mode (TS 33.401 Annex B.1.3), initial counter
  block ``COUNT || BEARER || DIRECTION || 0^26 || 0^64``.
* EIA0 / EEA0 - the null algorithms (MAC of 32 zero bits; identity).
* :class:`NasSecurityContext` - one UE's EPS security context (TS 24.301 §4.4.2, TS 33.401
  §7.2): K_ASME, eKSI, the selected algorithms and the derived K_NASenc / K_NASint, and the
  uplink and downlink NAS COUNTs (TS 24.301 §4.4.3.1: 16-bit overflow counter || 8-bit
  sequence number). :meth:`~NasSecurityContext.protect` builds a security-protected NAS
  message (TS 24.301 §9.1, security header types 1-4); :meth:`~NasSecurityContext.unprotect`
  checks and strips one, estimating the full NAS COUNT from the 8-bit sequence number.

The same class serves both ends: ``network=True`` on the MME (sends downlink, receives
uplink), ``network=False`` in the UE simulator. Both sides use BEARER = 0 for NAS
(TS 33.401 §8.1.1 / TS 24.301 §4.4.3.3). A MAC that does not verify raises
:class:`~network_functions.protocols.nas.errors.NasMacFailure` and leaves the context
unchanged; a malformed message raises :class:`~network_functions.protocols.nas.errors.NasError`.
Everything is sans-IO.

Typical use on the MME after authentication (the UE mirrors it with ``network=False``)::

    ctx = NasSecurityContext(kasme=k, ksi=0, enc_alg=EEA0, int_alg=EIA2, network=True)
    smc = ctx.protect(security_mode_command_bytes, SEC_HDR_INTEGRITY_NEW_CTX)
    plain = ctx.unprotect(uplink_bytes).message  # Security Mode Complete, header type 4
    k_enb = kdf.kenb(ctx.kasme, ctx.last_ul_count)
    accept = ctx.protect(attach_accept_bytes)  # header type 2 by default
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from network_functions.protocols import kdf
from network_functions.protocols.nas.errors import (
    CAUSE_INVALID_MANDATORY_INFO,
    CAUSE_MSG_TYPE_NON_EXISTENT,
    NasError,
    NasMacFailure,
)

__all__ = [
    "DOWNLINK",
    "EEA0",
    "EEA1",
    "EEA2",
    "EIA0",
    "EIA1",
    "EIA2",
    "MAX_NAS_COUNT",
    "NAS_BEARER",
    "PD_EMM",
    "PD_ESM",
    "SEC_HDR_INTEGRITY",
    "SEC_HDR_INTEGRITY_CIPHERED",
    "SEC_HDR_INTEGRITY_CIPHERED_NEW_CTX",
    "SEC_HDR_INTEGRITY_NEW_CTX",
    "SEC_HDR_PLAIN",
    "SUPPORTED_ENC",
    "SUPPORTED_INT",
    "UPLINK",
    "NasSecurityContext",
    "SecurityHeader",
    "Unprotected",
    "eea",
    "eea2",
    "eia",
    "eia2",
    "split_security_header",
]

# DIRECTION bit, TS 33.401 B.1.1 / B.2.1: 0 uplink, 1 downlink.
UPLINK = 0
DOWNLINK = 1
# NAS uses the constant bearer identity 0 (TS 33.401 §8.1.1).
NAS_BEARER = 0

# Algorithm identities, TS 33.401 §5.1.3.2 / §5.1.4.2 (as coded in TS 24.301 §9.9.3.23).
EEA0, EEA1, EEA2 = 0, 1, 2
EIA0, EIA1, EIA2 = 0, 1, 2
# What this module implements: the null algorithms and the AES-based ones. SNOW 3G (EEA1/
# EIA1) and ZUC (EEA3/EIA3) have no implementation in the ``cryptography`` package.
SUPPORTED_ENC = frozenset({EEA0, EEA2})
SUPPORTED_INT = frozenset({EIA0, EIA2})

# Protocol discriminators, TS 24.007 §11.2.3.1.1.
PD_EMM = 0x7
PD_ESM = 0x2

# Security header types, TS 24.301 §9.3.1 (table 9.3.1).
SEC_HDR_PLAIN = 0
SEC_HDR_INTEGRITY = 1
SEC_HDR_INTEGRITY_CIPHERED = 2
SEC_HDR_INTEGRITY_NEW_CTX = 3
SEC_HDR_INTEGRITY_CIPHERED_NEW_CTX = 4
_CIPHERED = frozenset({SEC_HDR_INTEGRITY_CIPHERED, SEC_HDR_INTEGRITY_CIPHERED_NEW_CTX})
_PROTECTED = frozenset({1, 2, 3, 4})

# NAS COUNT is 24 bits (16-bit overflow || 8-bit SN), TS 24.301 §4.4.3.1. It must never wrap
# under one K_ASME (TS 33.401 §7.2.4.4): past this value a new AKA is needed.
MAX_NAS_COUNT = 0xFFFFFF
# Security header (1) + MAC (4) + SN (1) + at least PD/type of the inner message (2).
_MIN_PROTECTED_LEN = 8
_MAC_LEN = 4
_KEY_LEN = 16


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != _KEY_LEN:
        raise ValueError("NAS keys are 16 octets")
    return bytes(key)


def _iv(count: int, bearer: int, direction: int) -> bytes:
    # COUNT (32) || BEARER (5) || DIRECTION (1) || 26 zero bits, TS 33.401 B.1.3 / B.2.3.
    word = ((bearer & 0x1F) << 27) | ((direction & 0x1) << 26)
    return count.to_bytes(4, "big") + word.to_bytes(4, "big")


def eia2(key: bytes, count: int, bearer: int, direction: int, message: bytes) -> bytes:
    """128-EIA2 (TS 33.401 B.2.3): the 32 most significant bits of AES-CMAC(K, M).

    Whole octets only: NAS messages are octet aligned (the non-aligned test sets of C.2 are
    not needed here).
    """
    mac = CMAC(algorithms.AES(_check_key(key)))
    mac.update(_iv(count, bearer, direction))
    mac.update(message)
    return mac.finalize()[:_MAC_LEN]


def eea2(key: bytes, count: int, bearer: int, direction: int, data: bytes) -> bytes:
    """128-EEA2 (TS 33.401 B.1.3): AES-128-CTR keystream XOR data (same call deciphers)."""
    t1 = _iv(count, bearer, direction) + bytes(8)
    enc = Cipher(algorithms.AES(_check_key(key)), modes.CTR(t1)).encryptor()
    return enc.update(data) + enc.finalize()


def eia(alg: int, key: bytes, count: int, direction: int, message: bytes) -> bytes:
    """The NAS MAC with integrity algorithm ``alg`` (EIA0 or EIA2), BEARER = 0."""
    if alg == EIA2:
        return eia2(key, count, NAS_BEARER, direction, message)
    if alg == EIA0:
        return bytes(_MAC_LEN)  # TS 33.401 §5.1.4.1: EIA0 gives a 32-bit all-zero MAC
    raise ValueError(f"integrity algorithm EIA{alg} not supported")


def eea(alg: int, key: bytes, count: int, direction: int, data: bytes) -> bytes:
    """Cipher or decipher with algorithm ``alg`` (EEA0 or EEA2), BEARER = 0."""
    if alg == EEA2:
        return eea2(key, count, NAS_BEARER, direction, data)
    if alg == EEA0:
        return bytes(data)
    raise ValueError(f"ciphering algorithm EEA{alg} not supported")


class SecurityHeader(NamedTuple):
    """The parts of a security-protected NAS message, TS 24.301 §9.1 (figure 9.1.1)."""

    header_type: int
    mac: bytes
    sequence_number: int
    payload: bytes  # the inner NAS message, ciphered if the header type says so


class Unprotected(NamedTuple):
    """Result of :meth:`NasSecurityContext.unprotect`."""

    header_type: int  # SEC_HDR_* of the received message (0 for a plain message)
    message: bytes  # the plain NAS message
    nas_count: int | None  # the NAS COUNT the message was verified with (None if plain)


def split_security_header(data: bytes) -> SecurityHeader | None:
    """Split a security-protected EMM message; ``None`` when the message is plain NAS.

    Plain means an EMM message with security header type 0 or any non-EMM message (for ESM
    the first half-octet is the EPS bearer identity, TS 24.301 §9.3.2). Raises
    :class:`NasError` when the message is too short or carries an unsupported header type.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise NasError("NAS message must be bytes", CAUSE_INVALID_MANDATORY_INFO)
    data = bytes(data)
    if len(data) < 2:
        raise NasError("NAS message shorter than 2 octets", CAUSE_INVALID_MANDATORY_INFO)
    pd, sht = data[0] & 0x0F, data[0] >> 4
    if pd != PD_EMM or sht == SEC_HDR_PLAIN:
        return None
    if sht not in _PROTECTED:
        # 12 = security header for the SERVICE REQUEST message, others reserved.
        raise NasError(f"unsupported security header type {sht}", CAUSE_MSG_TYPE_NON_EXISTENT)
    if len(data) < _MIN_PROTECTED_LEN:
        raise NasError("security protected NAS message too short", CAUSE_INVALID_MANDATORY_INFO)
    return SecurityHeader(sht, data[1:5], data[5], data[6:])


def _count_arg(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int")
    if not 0 <= value <= MAX_NAS_COUNT + 1:
        raise ValueError(f"{name} out of range")
    return value


@dataclass(slots=True)
class NasSecurityContext:
    """A native EPS NAS security context, TS 24.301 §4.4.2 / TS 33.401 §7.2.

    ``ul_count`` / ``dl_count`` are the NEXT NAS COUNT to use (sender) or to expect
    (receiver) in each direction; both start at 0 after a new K_ASME (TS 33.401 §7.2.6.3).
    ``last_ul_count`` is the NAS COUNT of the last uplink message sent or accepted: the
    input of K_eNB (TS 33.401 §7.2.8.1, :func:`network_functions.protocols.kdf.kenb`).
    """

    kasme: bytes
    ksi: int
    enc_alg: int
    int_alg: int
    network: bool
    ul_count: int = 0
    dl_count: int = 0
    k_nas_enc: bytes = field(init=False, repr=False)
    k_nas_int: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.enc_alg not in SUPPORTED_ENC:
            raise ValueError(f"ciphering algorithm EEA{self.enc_alg} not supported")
        if self.int_alg not in SUPPORTED_INT:
            raise ValueError(f"integrity algorithm EIA{self.int_alg} not supported")
        if isinstance(self.ksi, bool) or not 0 <= self.ksi <= 6:
            raise ValueError("eKSI must be 0..6 (7 means no key, TS 24.301 §9.9.3.21)")
        _count_arg("ul_count", self.ul_count)
        _count_arg("dl_count", self.dl_count)
        self.k_nas_enc, self.k_nas_int = kdf.nas_keys(self.kasme, self.enc_alg, self.int_alg)

    @property
    def last_ul_count(self) -> int:
        """NAS COUNT of the last uplink NAS message (0 before any)."""
        return max(self.ul_count - 1, 0)

    # --- sending ----------------------------------------------------------------------

    def protect(self, message: bytes, header_type: int = SEC_HDR_INTEGRITY_CIPHERED) -> bytes:
        """Wrap a plain NAS message in a security header (TS 24.301 §4.4.4, §9.1).

        Uses and then advances this side's sending NAS COUNT (downlink on the network).
        ``header_type`` is 1-4: Security Mode Command uses 3 (integrity protected with new
        EPS security context, never ciphered), Security Mode Complete 4, everything after
        2. Raises ``ValueError`` for a bad header type or when the NAS COUNT is exhausted.
        """
        if header_type not in _PROTECTED:
            raise ValueError(f"security header type must be 1..4, not {header_type}")
        direction = DOWNLINK if self.network else UPLINK
        count = self.dl_count if self.network else self.ul_count
        if count > MAX_NAS_COUNT:
            raise ValueError("NAS COUNT exhausted: a new authentication is needed")
        payload = bytes(message)
        if header_type in _CIPHERED:
            payload = eea(self.enc_alg, self.k_nas_enc, count, direction, payload)
        signed = bytes((count & 0xFF,)) + payload
        mac = eia(self.int_alg, self.k_nas_int, count, direction, signed)
        if self.network:
            self.dl_count = count + 1
        else:
            self.ul_count = count + 1
        return bytes(((header_type << 4) | PD_EMM,)) + mac + signed

    # --- receiving --------------------------------------------------------------------

    def estimate_count(self, sequence_number: int) -> int:
        """The receiver's NAS COUNT estimate from an 8-bit SN, TS 24.301 §4.4.3.1.

        The overflow counter is incremented when the SN is lower than the next expected
        one; a replayed or old message thus maps to a higher COUNT and fails the MAC check.
        """
        expected = self.ul_count if self.network else self.dl_count
        overflow = expected >> 8
        if sequence_number < (expected & 0xFF):
            overflow += 1
        return (overflow << 8) | sequence_number

    def unprotect(self, data: bytes, *, allow_plain: bool = True) -> Unprotected:
        """Check and strip the security header of a received NAS message.

        A plain message is returned unchanged (``header_type`` 0) if ``allow_plain``, else
        :class:`NasError`. For header types 1-4 the NAS COUNT is estimated from the SN, the
        MAC checked (:class:`NasMacFailure` on mismatch, context unchanged), the payload
        deciphered for types 2 and 4, and the receiving NAS COUNT advanced.
        """
        hdr = split_security_header(data)
        if hdr is None:
            if not allow_plain:
                raise NasError("plain NAS message where protection is required")
            return Unprotected(SEC_HDR_PLAIN, bytes(data), None)
        direction = UPLINK if self.network else DOWNLINK
        count = self.estimate_count(hdr.sequence_number)
        if count > MAX_NAS_COUNT:
            raise NasMacFailure("NAS COUNT would wrap: message rejected")
        signed = bytes(data)[5:]
        expected = eia(self.int_alg, self.k_nas_int, count, direction, signed)
        if not hmac.compare_digest(expected, hdr.mac):
            raise NasMacFailure()
        payload = hdr.payload
        if hdr.header_type in _CIPHERED:
            payload = eea(self.enc_alg, self.k_nas_enc, count, direction, payload)
        if self.network:
            self.ul_count = count + 1
        else:
            self.dl_count = count + 1
        return Unprotected(hdr.header_type, payload, count)

    # --- persistence (the MME keeps UE contexts in the state store) -------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (keys hex-encoded); :meth:`from_dict` restores it."""
        return {
            "kasme": self.kasme.hex(),
            "ksi": self.ksi,
            "enc_alg": self.enc_alg,
            "int_alg": self.int_alg,
            "network": self.network,
            "ul_count": self.ul_count,
            "dl_count": self.dl_count,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NasSecurityContext:
        """Rebuild a context saved by :meth:`to_dict` (``ValueError``/``KeyError`` if bad)."""
        return cls(
            kasme=bytes.fromhex(d["kasme"]),
            ksi=int(d["ksi"]),
            enc_alg=int(d["enc_alg"]),
            int_alg=int(d["int_alg"]),
            network=bool(d["network"]),
            ul_count=int(d["ul_count"]),
            dl_count=int(d["dl_count"]),
        )
