"""NAS EMM/ESM codec (TS 24.301 §8) against pycrate's independent implementation.

Every message we encode is parsed by a *fresh* pycrate object (``parse_NASLTE_MO`` /
``parse_NASLTE_MT``, which builds new objects per call) and its fields are compared with what
we meant to encode; messages built by pycrate (as another implementation would send them,
including optional IEs we do not model) must decode with our codec. Round trips, IE codings
(TAI list types, GPRS timer, APN-AMBR) and robustness (only NasError on any input) too.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_functions.protocols import nas
from network_functions.protocols.nas import ies
from network_functions.protocols.nas.errors import NasError

logging.getLogger("pycrate_mobile").setLevel(logging.ERROR)
from pycrate_mobile.NASLTE import parse_NASLTE_MO, parse_NASLTE_MT  # noqa: E402
from pycrate_mobile.TS24301_EMM import EMMAttachRequest  # noqa: E402
from pycrate_mobile.TS24301_ESM import ESMPDNConnectivityRequest  # noqa: E402

pytestmark = pytest.mark.unit

IMSI = nas.Imsi("001010123456789")
GUTI = nas.Guti("001", "01", 0x0102, 0x03, 0xDEADBEEF)
TAI = nas.Tai("001", "01", 1)
PDN_REQ = nas.PdnConnectivityRequest(pti=7, apn="internet")
DEFAULT_BEARER = nas.ActivateDefaultBearerRequest(
    ebi=5,
    pti=7,
    qci=9,
    apn="internet",
    pdn_address="10.45.0.2",
    apn_ambr_ul_kbps=100000,
    apn_ambr_dl_kbps=100000,
)
RAND = bytes(range(16))
AUTN = bytes(range(16, 32))

UPLINK: list[nas.NasMessage] = [
    nas.AttachRequest(IMSI, PDN_REQ),
    nas.AttachRequest(GUTI, nas.PdnConnectivityRequest(pti=1), b"\xf0\x70\xc0\x40\x19", 2, 3, TAI),
    nas.AuthenticationResponse(bytes(range(8))),
    nas.AuthenticationFailure(nas.EMM_CAUSE_MAC_FAILURE),
    nas.AuthenticationFailure(nas.EMM_CAUSE_SYNCH_FAILURE, bytes(range(14))),
    nas.SecurityModeComplete(),
    nas.SecurityModeComplete(nas.Imeisv("3534900698733190")),
    nas.SecurityModeReject(nas.EMM_CAUSE_UE_SECURITY_CAPABILITIES_MISMATCH),
    nas.AttachComplete(nas.ActivateDefaultBearerAccept(ebi=5)),
    nas.DetachRequest(GUTI, switch_off=True, ksi=1),
    nas.DetachRequest(IMSI),
    nas.IdentityResponse(IMSI),
    nas.EmmStatus(96),
]
DOWNLINK: list[nas.NasMessage] = [
    nas.AuthenticationRequest(1, RAND, AUTN),
    nas.AuthenticationReject(),
    nas.SecurityModeCommand(nas.EEA0, nas.EIA2, 1, b"\xe0\xe0"),
    nas.SecurityModeCommand(nas.EEA2, nas.EIA2, 6, b"\xe0\xe0\x00\x00\x00", imeisv_request=True),
    nas.AttachAccept((TAI, nas.Tai("001", "01", 0x1234)), DEFAULT_BEARER, GUTI, 3240),
    nas.AttachAccept(
        (TAI,),
        nas.ActivateDefaultBearerRequest(6, 1, 5, "ims.mnc001.mcc001.gprs", "10.46.0.9"),
        None,
        None,
    ),
    nas.AttachReject(nas.EMM_CAUSE_IMSI_UNKNOWN_IN_HSS),
    nas.AttachReject(nas.EMM_CAUSE_ESM_FAILURE, nas.PdnConnectivityReject(7, 27)),
    nas.DetachAccept(),
    nas.IdentityRequest(1),
    nas.EmmStatus(111),
]


def _pycrate(data: bytes, *, uplink: bool) -> Any:
    msg, err = (parse_NASLTE_MO if uplink else parse_NASLTE_MT)(data)
    assert err == 0 and msg is not None, f"pycrate refused {data.hex()}: {err}"
    assert msg.to_bytes() == data  # pycrate re-encodes the same octets: nothing left over
    return msg


def _v(elem: Any, *path: str) -> Any:
    for p in path:
        elem = elem[p]
    return elem.get_val()


def _ie(msg: Any, name: str) -> Any:
    """The decoded inner IE structure of an L3 IE (the last element of T/L/V)."""
    return msg[name][-1]


def _identity(ie: Any) -> nas.MobileIdentity:
    decoded = ie.decode()
    if decoded[0] == 6:
        plmn = decoded[1]
        return nas.Guti(plmn[:3], plmn[3:], decoded[2], decoded[3], decoded[4])
    if decoded[0] == 1:
        return nas.Imsi(decoded[1])
    return nas.Imeisv(decoded[1])


@pytest.mark.parametrize("msg", UPLINK, ids=lambda m: type(m).__name__)
def test_uplink_round_trip(msg: nas.NasMessage) -> None:
    assert nas.decode(msg.encode()) == msg
    _pycrate(msg.encode(), uplink=True)


@pytest.mark.parametrize("msg", DOWNLINK, ids=lambda m: type(m).__name__)
def test_downlink_round_trip(msg: nas.NasMessage) -> None:
    assert nas.decode(msg.encode()) == msg
    _pycrate(msg.encode(), uplink=False)


def test_attach_request_fields_per_pycrate() -> None:
    msg = nas.AttachRequest(GUTI, PDN_REQ, b"\xe0\xe0\x00\x00", 2, 3, nas.Tai("001", "01", 9))
    p = _pycrate(msg.encode(), uplink=True)
    assert _v(p, "EMMHeader", "Type") == 65
    assert _v(_ie(p, "NAS_KSI"), "Value") == 3
    assert _v(p, "EPSAttachType", "V") == 2
    assert _identity(_ie(p, "EPSID")) == GUTI
    assert _ie(p, "UENetCap").to_bytes() == b"\xe0\xe0\x00\x00"
    esm = _ie(p, "ESMContainer")
    assert _v(esm, "ESMHeader", "PTI") == 7 and _v(esm, "ESMHeader", "Type") == 0xD0
    assert _v(esm, "PDNType", "V") == 1 and _v(esm, "RequestType", "V") == 1
    assert esm["APN"][-1].decode() == "internet"
    assert _ie(p, "OldTAI").decode() == ("00101", 9)
    p = _pycrate(nas.AttachRequest(IMSI, PDN_REQ).encode(), uplink=True)
    assert _identity(_ie(p, "EPSID")) == IMSI


def test_attach_accept_fields_per_pycrate() -> None:
    msg = nas.AttachAccept((TAI, nas.Tai("001", "01", 0x1234)), DEFAULT_BEARER, GUTI, 3240)
    p = _pycrate(msg.encode(), uplink=False)
    assert _v(p, "EMMHeader", "Type") == 66 and _v(p, "EPSAttachResult", "V") == 1
    timer = _ie(p, "T3412")
    assert _v(timer, "Unit") == 2 and _v(timer, "Value") == 9  # 9 x 6 min = 54 min
    ptai = _ie(p, "TAIList")[0]
    assert _v(ptai, "Type") == 0
    assert [t.get_val() for t in ptai["PTAI"]["TACs"]] == [1, 0x1234]
    assert _identity(_ie(p, "GUTI")) == GUTI
    esm = _ie(p, "ESMContainer")
    assert _v(esm, "ESMHeader", "EPSBearerId") == 5 and _v(esm, "ESMHeader", "PTI") == 7
    assert _v(esm, "ESMHeader", "Type") == 0xC1
    assert esm["EPSQoS"][-1]["QCI"].get_val() == 9
    assert esm["APN"][-1].decode() == "internet"
    pdn = esm["PDNAddr"][-1]
    assert _v(pdn, "Type") == 1 and pdn["Addr"].get_val() == bytes((10, 45, 0, 2))
    ambr = esm["APN_AMBR"][-1]
    # 100 Mbit/s: base octet 0xFE (8640 kbit/s) then extended octet 158 (16 + 84 Mbit/s).
    assert [ambr[k].get_val() for k in ("DL", "UL", "DLExt", "ULExt")] == [254, 254, 158, 158]


def test_security_messages_fields_per_pycrate() -> None:
    p = _pycrate(nas.AuthenticationRequest(3, RAND, AUTN).encode(), uplink=False)
    assert _v(_ie(p, "NAS_KSI"), "Value") == 3
    assert _v(p, "RAND", "V") == RAND and _ie(p, "AUTN").to_bytes() == AUTN
    p = _pycrate(nas.AuthenticationFailure(21, bytes(range(14))).encode(), uplink=True)
    assert _v(_ie(p, "EMMCause")) == 21 and _v(p, "AUTS", "V") == bytes(range(14))
    smc = nas.SecurityModeCommand(nas.EEA2, nas.EIA2, 2, b"\xe0\xe0", imeisv_request=True)
    p = _pycrate(smc.encode(), uplink=False)
    algs = _ie(p, "NASSecAlgo")
    assert _v(algs, "CiphAlgo") == 2 and _v(algs, "IntegAlgo") == 2
    assert _v(_ie(p, "NAS_KSI"), "Value") == 2
    assert _ie(p, "UESecCap").to_bytes() == b"\xe0\xe0"
    assert _v(_ie(p, "IMEISVReq"), "Value") == 1
    p = _pycrate(nas.SecurityModeComplete(nas.Imeisv("3534900698733190")).encode(), uplink=True)
    assert _ie(p, "IMEISV").decode() == (3, "3534900698733190")


def test_detach_fields_per_pycrate() -> None:
    p = _pycrate(nas.DetachRequest(IMSI, switch_off=True, ksi=2).encode(), uplink=True)
    dt = _ie(p, "EPSDetachType")
    assert _v(dt, "SwitchOff") == 1 and _v(dt, "Type") == 1
    assert _v(_ie(p, "NAS_KSI"), "Value") == 2
    assert _identity(_ie(p, "EPSID")) == IMSI


def test_pycrate_built_attach_request_with_extra_ies_decodes() -> None:
    # What a real UE sends: MS network capability, DRX parameter, voice domain preference...
    esm = ESMPDNConnectivityRequest(val={"ESMHeader": {"PTI": 4}, "PDNType": 1, "RequestType": 1})
    ident = ies.encode_eps_identity(IMSI)
    p = EMMAttachRequest(
        val={
            "NAS_KSI": {"TSC": 0, "Value": 7},
            "EPSAttachType": 1,
            "UENetCap": b"\xf0\xf0\xc0\x40",
            "ESMContainer": esm.to_bytes(),
            "DRXParam": b"\x00\x0a",
            "MSNetCap": b"\xe5\xe0\x34",
            "TMSIStatus": 0,
            "VoiceDomPref": b"\x01",
        }
    )
    p["EPSID"].set_val({"V": ident})
    got = nas.decode(p.to_bytes())
    assert isinstance(got, nas.AttachRequest)
    assert got.identity == IMSI and got.esm == nas.PdnConnectivityRequest(pti=4)
    assert got.ue_network_capability == b"\xf0\xf0\xc0\x40" and got.ksi == 7


# --- information elements ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kbps", "decoded"),
    [(0, 0), (1, 1), (63, 63), (64, 64), (100, 96), (568, 568), (2000, 1984), (8640, 8640),
     (8700, 8700), (16000, 16000), (100000, 100000), (128000, 128000), (200000, 200000),
     (256000, 256000), (1_000_000, 768000 + 0)],
)  # fmt: skip
def test_apn_ambr_coding(kbps: int, decoded: int) -> None:
    ul, dl = ies.decode_apn_ambr(ies.encode_apn_ambr(kbps, kbps))
    assert ul == dl == decoded
    assert decoded <= kbps  # rounded down to the coding step, never up


@pytest.mark.parametrize(
    ("seconds", "octet"),
    [(None, 0xE0), (0, 0), (10, 5), (3240, 0x49), (62, 31), (120, 0x22), (360 * 31, 0x5F)],
)
def test_gprs_timer(seconds: int | None, octet: int) -> None:
    assert ies.encode_gprs_timer(seconds) == octet
    assert ies.decode_gprs_timer(octet) == seconds


def test_gprs_timer_rejects_uncodable() -> None:
    with pytest.raises(ValueError):
        ies.encode_gprs_timer(7)


def test_tai_list_types() -> None:
    plmn = ies.encode_plmn("001", "01")
    # type 01: consecutive TACs from 5, three elements
    assert ies.decode_tai_list(bytes((0x22,)) + plmn + b"\x00\x05") == tuple(
        nas.Tai("001", "01", t) for t in (5, 6, 7)
    )
    # type 10: two (PLMN, TAC) pairs
    other = ies.encode_plmn("310", "260")
    assert ies.decode_tai_list(bytes((0x41,)) + plmn + b"\x00\x01" + other + b"\x00\x02") == (
        nas.Tai("001", "01", 1),
        nas.Tai("310", "260", 2),
    )
    for bad in (b"", b"\x60" + plmn + b"\0\1", b"\x01" + plmn + b"\0\1", b"\x00\xff\xff\xff\0\1"):
        with pytest.raises(NasError):
            ies.decode_tai_list(bad)


def test_apn_coding() -> None:
    assert ies.encode_apn("ims.mnc001") == b"\x03ims\x06mnc001"
    assert ies.decode_apn(b"\x03ims\x06mnc001") == "ims.mnc001"
    for bad in (b"", b"\x05ims", b"\x00", b"\x01\xff"):
        with pytest.raises(NasError):
            ies.decode_apn(bad)


def test_identity_edge_cases() -> None:
    assert ies.decode_mobile_identity(ies.encode_mobile_identity(nas.Imsi("123456"))) == nas.Imsi(
        "123456"
    )
    with pytest.raises(NasError):
        ies.decode_mobile_identity(b"\x01\x21\x43")  # even count but no 0xF filler
    with pytest.raises(NasError):
        ies.decode_eps_identity(b"\xf6\x00")  # truncated GUTI
    with pytest.raises(ValueError):
        nas.Imsi("12a456")


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "cause"),
    [
        (b"", 96),
        (b"\x07", 96),
        (b"\x07\x41", 96),  # Attach Request with nothing after the header
        (b"\x07\x99", 97),  # unknown EMM message type
        (b"\x27\x00\x00\x00\x00\x00\x07\x60", 111),  # protected: unprotect first
        (b"\x05\x01", 97),  # unknown protocol discriminator
        (b"\x07\x5c\x15", 100),  # synch failure without AUTS
        (b"\x07\x44\x11\x01\x01\x00", 96),  # unknown comprehension-required IEI 0x01
    ],
)
def test_malformed_messages(data: bytes, cause: int) -> None:
    with pytest.raises(NasError) as exc:
        nas.decode(data)
    assert exc.value.cause == cause


@settings(max_examples=300)
@given(data=st.binary(max_size=80))
def test_decode_raises_only_nas_error(data: bytes) -> None:
    try:
        nas.decode(data)
    except NasError:
        pass


@settings(max_examples=300)
@given(
    index=st.integers(min_value=0, max_value=len(UPLINK) + len(DOWNLINK) - 1),
    pos=st.integers(min_value=0, max_value=200),
    value=st.integers(min_value=0, max_value=255),
    cut=st.integers(min_value=0, max_value=200),
)
def test_mutated_messages_raise_only_nas_error(index: int, pos: int, value: int, cut: int) -> None:
    wire = bytearray((UPLINK + DOWNLINK)[index].encode())
    wire[pos % len(wire)] = value
    try:
        nas.decode(bytes(wire[: max(cut, 2)]))
    except NasError:
        pass
