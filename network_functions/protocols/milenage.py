"""MILENAGE, the 3GPP example authentication and key generation algorithm set.

This module implements the functions f1, f1*, f2, f3, f4, f5 and f5* of 3GPP TS 35.206 and the
OPc derivation, using AES-128 (through the ``cryptography`` package) as the kernel function E_K
(TS 35.206 §4). The HSS uses it to build authentication vectors and the test UEs use it to
answer them (see ``network_functions.protocols.aka``). All outputs are checked against the
conformance test data of TS 35.208 §4.3 in ``tests/unit/protocols/test_milenage.py``.

Performance: the AES key schedule is the costly part of a call, so the ECB encryptor for each
subscriber key K is kept in a small LRU cache (``CIPHER_CACHE_SIZE``). The five output blocks
OUT1..OUT5 depend on RAND only through TEMP, so :func:`compute` encrypts all five in a single
ECB call: a full vector costs two calls into OpenSSL. ECB keeps no state between blocks, so a
cached encryptor is never finalised and can serve any caller; the cache keeps expanded keys in
memory, which an HSS holding K in memory anyway accepts, and is bounded.

The module is pure computation: no I/O, no threads, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "AK_LEN",
    "AMF_LEN",
    "CIPHER_CACHE_SIZE",
    "KEY_LEN",
    "MAC_LEN",
    "RAND_LEN",
    "RES_LEN",
    "SQN_LEN",
    "MilenageError",
    "MilenageOutput",
    "compute",
    "compute_opc",
    "f1",
    "f1_star",
    "f5_star",
    "f2345",
]

# Field sizes in octets, from the input and output parameter tables of TS 35.206.
KEY_LEN = 16  # K, OP, OPc, CK, IK: 128 bits
RAND_LEN = 16  # RAND: 128 bits
SQN_LEN = 6  # SQN: 48 bits
AMF_LEN = 2  # AMF: 16 bits
MAC_LEN = 8  # MAC-A, MAC-S: 64 bits
RES_LEN = 8  # RES: 64 bits (MILENAGE always produces the full 64)
AK_LEN = 6  # AK, AK*: 48 bits

# Number of per-K AES encryptors kept. An HSS front end handles bursts for many subscribers;
# 4096 cached key schedules cost well under 2 MiB and cover a burst, while bounding how many
# subscriber keys stay expanded in memory at once.
CIPHER_CACHE_SIZE = 4096

_BLOCK = 16
_MASK128 = (1 << 128) - 1

# TS 35.206 §4: the constants c1..c5 (128-bit) and the rotations r1..r5 (in bits). All the
# r_i are multiples of 8, so rotation is done on whole octets.
_C1 = 0x00000000000000000000000000000000
_C2 = 0x00000000000000000000000000000001
_C3 = 0x00000000000000000000000000000002
_C4 = 0x00000000000000000000000000000004
_C5 = 0x00000000000000000000000000000008
_R1 = 64
_R2 = 0
_R3 = 32
_R4 = 64
_R5 = 96


class MilenageError(ValueError):
    """An input to a MILENAGE function has the wrong type or length."""


class MilenageOutput(NamedTuple):
    """Every MILENAGE output for one (K, OPc, RAND, SQN, AMF), TS 35.206 §4."""

    mac_a: bytes  # f1, 8 octets
    mac_s: bytes  # f1*, 8 octets
    res: bytes  # f2, 8 octets
    ck: bytes  # f3, 16 octets
    ik: bytes  # f4, 16 octets
    ak: bytes  # f5, 6 octets
    ak_star: bytes  # f5*, 6 octets


def _check(name: str, value: object, length: int) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise MilenageError(f"{name} must be bytes, not {type(value).__name__}")
    data = bytes(value)
    if len(data) != length:
        raise MilenageError(f"{name} must be {length} octets, got {len(data)}")
    return data


@lru_cache(maxsize=CIPHER_CACHE_SIZE)
def _kernel(k: bytes) -> Callable[[bytes], bytes]:
    """E_K for one K: an AES-128 ECB encryptor's ``update`` (TS 35.206 §4, kernel function).

    ECB has no chaining state, so one encryptor object can encrypt any number of whole blocks
    and is never finalised. The key schedule is computed once per K and cached.
    """
    return Cipher(algorithms.AES(k), modes.ECB()).encryptor().update


def _rot(x: int, r: int) -> int:
    """Cyclic left rotation of a 128-bit value by r bits (TS 35.206 §4, rot(x, r))."""
    if r == 0:
        return x
    return ((x << r) | (x >> (128 - r))) & _MASK128


def _int(b: bytes) -> int:
    return int.from_bytes(b, "big")


def _bytes16(x: int) -> bytes:
    return x.to_bytes(_BLOCK, "big")


def compute_opc(k: bytes, op: bytes) -> bytes:
    """OPc = OP XOR E_K(OP), TS 35.206 §4."""
    k = _check("K", k, KEY_LEN)
    op = _check("OP", op, KEY_LEN)
    return _bytes16(_int(_kernel(k)(op)) ^ _int(op))


def _temp(k: bytes, opc_i: int, rand: bytes) -> int:
    # TEMP = E_K(RAND XOR OPc), TS 35.206 §4.
    return _int(_kernel(k)(_bytes16(_int(rand) ^ opc_i)))


def _out1(k: bytes, opc_i: int, temp: int, sqn: bytes, amf: bytes) -> int:
    # IN1 = SQN || AMF || SQN || AMF; OUT1 = E_K(TEMP XOR rot(IN1 XOR OPc, r1) XOR c1) XOR OPc.
    in1 = _int(sqn + amf + sqn + amf)
    block = temp ^ _rot(in1 ^ opc_i, _R1) ^ _C1
    return _int(_kernel(k)(_bytes16(block))) ^ opc_i


def compute(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> MilenageOutput:
    """All of f1, f1*, f2, f3, f4, f5 and f5* at once (TS 35.206 §4), in two AES calls.

    This is what an HSS needs for one authentication vector; the single-function helpers
    below are thin wrappers around the same arithmetic.
    """
    k = _check("K", k, KEY_LEN)
    opc = _check("OPc", opc, KEY_LEN)
    rand = _check("RAND", rand, RAND_LEN)
    sqn = _check("SQN", sqn, SQN_LEN)
    amf = _check("AMF", amf, AMF_LEN)
    opc_i = _int(opc)
    e_k = _kernel(k)
    temp = _int(e_k(_bytes16(_int(rand) ^ opc_i)))
    in1 = _int(sqn + amf + sqn + amf)
    t = temp ^ opc_i
    # OUT1..OUT5 inputs, TS 35.206 §4; encrypted together (ECB: block by block).
    blocks = b"".join(
        (
            _bytes16(temp ^ _rot(in1 ^ opc_i, _R1) ^ _C1),
            _bytes16(_rot(t, _R2) ^ _C2),
            _bytes16(_rot(t, _R3) ^ _C3),
            _bytes16(_rot(t, _R4) ^ _C4),
            _bytes16(_rot(t, _R5) ^ _C5),
        )
    )
    enc = e_k(blocks)
    out1 = _bytes16(_int(enc[0:16]) ^ opc_i)
    out2 = _bytes16(_int(enc[16:32]) ^ opc_i)
    out3 = _bytes16(_int(enc[32:48]) ^ opc_i)
    out4 = _bytes16(_int(enc[48:64]) ^ opc_i)
    out5 = _bytes16(_int(enc[64:80]) ^ opc_i)
    return MilenageOutput(
        mac_a=out1[:8],  # f1 = OUT1[0..63]
        mac_s=out1[8:],  # f1* = OUT1[64..127]
        res=out2[8:],  # f2 = OUT2[64..127]
        ck=out3,  # f3 = OUT3[0..127]
        ik=out4,  # f4 = OUT4[0..127]
        ak=out2[:6],  # f5 = OUT2[0..47]
        ak_star=out5[:6],  # f5* = OUT5[0..47]
    )


def _out1_checked(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
    k = _check("K", k, KEY_LEN)
    opc = _check("OPc", opc, KEY_LEN)
    rand = _check("RAND", rand, RAND_LEN)
    sqn = _check("SQN", sqn, SQN_LEN)
    amf = _check("AMF", amf, AMF_LEN)
    opc_i = _int(opc)
    return _bytes16(_out1(k, opc_i, _temp(k, opc_i, rand), sqn, amf))


def f1(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
    """f1: the network authentication code MAC-A (8 octets), TS 35.206 §4."""
    return _out1_checked(k, opc, rand, sqn, amf)[:8]


def f1_star(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
    """f1*: the resynchronisation code MAC-S (8 octets), TS 35.206 §4."""
    return _out1_checked(k, opc, rand, sqn, amf)[8:]


def f2345(k: bytes, opc: bytes, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """f2..f5: (RES 8, CK 16, IK 16, AK 6) octets, TS 35.206 §4."""
    k = _check("K", k, KEY_LEN)
    opc = _check("OPc", opc, KEY_LEN)
    rand = _check("RAND", rand, RAND_LEN)
    opc_i = _int(opc)
    t = _temp(k, opc_i, rand) ^ opc_i
    enc = _kernel(k)(
        _bytes16(_rot(t, _R2) ^ _C2) + _bytes16(_rot(t, _R3) ^ _C3) + _bytes16(_rot(t, _R4) ^ _C4)
    )
    out2 = _bytes16(_int(enc[0:16]) ^ opc_i)
    out3 = _bytes16(_int(enc[16:32]) ^ opc_i)
    out4 = _bytes16(_int(enc[32:48]) ^ opc_i)
    return out2[8:], out3, out4, out2[:6]


def f5_star(k: bytes, opc: bytes, rand: bytes) -> bytes:
    """f5*: the resynchronisation anonymity key AK* (6 octets), TS 35.206 §4."""
    k = _check("K", k, KEY_LEN)
    opc = _check("OPc", opc, KEY_LEN)
    rand = _check("RAND", rand, RAND_LEN)
    opc_i = _int(opc)
    t = _temp(k, opc_i, rand) ^ opc_i
    out5 = _int(_kernel(k)(_bytes16(_rot(t, _R5) ^ _C5))) ^ opc_i
    return _bytes16(out5)[:6]
