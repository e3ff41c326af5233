"""Diameter codec: golden bytes from the RFC 6733 §3/§4 layouts, type round trips, Grouped
nesting, header/AVP decode errors, and the Message/Grouped/Avp API."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_functions.protocols.diameter import (
    APP_BASE_COMMON,
    APP_CX,
    APP_GX,
    APP_RX,
    APP_S6A,
    CMD_CER,
    CMD_DPR,
    CMD_DWR,
    CMD_LIR,
    CMD_MAR,
    CMD_SAR,
    CMD_UAR,
    VENDOR_3GPP,
    Avp,
    AvpDef,
    DiameterEncodeError,
    DiameterError,
    DiameterParseError,
    ExperimentalResultCode,
    Grouped,
    Message,
    ResultCode,
    avp_def,
    decode_value,
    encode_value,
    make_avp,
)

pytestmark = pytest.mark.unit

H = bytes.fromhex


# --- constants ---------------------------------------------------------------------------------


def test_constants() -> None:
    assert (VENDOR_3GPP, APP_CX, APP_BASE_COMMON) == (10415, 16777216, 0)
    assert (APP_S6A, APP_GX, APP_RX) == (16777251, 16777238, 16777236)
    assert (CMD_CER, CMD_DWR, CMD_DPR) == (257, 280, 282)
    assert (CMD_UAR, CMD_SAR, CMD_LIR, CMD_MAR) == (300, 301, 302, 303)


def test_result_codes_and_aliases() -> None:
    expected = {
        "DIAMETER_SUCCESS": 2001,
        "DIAMETER_COMMAND_UNSUPPORTED": 3001,
        "DIAMETER_UNABLE_TO_DELIVER": 3002,
        "DIAMETER_REALM_NOT_SERVED": 3003,
        "DIAMETER_INVALID_HDR_BITS": 3008,
        "DIAMETER_INVALID_AVP_BITS": 3009,
        "DIAMETER_UNKNOWN_PEER": 3010,
        "DIAMETER_AUTHENTICATION_REJECTED": 4001,
        "DIAMETER_AVP_UNSUPPORTED": 5001,
        "DIAMETER_UNKNOWN_SESSION_ID": 5002,
        "DIAMETER_AUTHORIZATION_REJECTED": 5003,
        "DIAMETER_INVALID_AVP_VALUE": 5004,
        "DIAMETER_MISSING_AVP": 5005,
        "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES": 5009,
        "DIAMETER_NO_COMMON_APPLICATION": 5010,
        "DIAMETER_UNSUPPORTED_VERSION": 5011,
        "DIAMETER_UNABLE_TO_COMPLY": 5012,
        "DIAMETER_INVALID_AVP_LENGTH": 5014,
        "DIAMETER_INVALID_MESSAGE_LENGTH": 5015,
        "DIAMETER_INVALID_AVP_BIT_COMBO": 5016,
    }
    for name, value in expected.items():
        assert ResultCode[name] == value
        assert ResultCode[name.removeprefix("DIAMETER_")] is ResultCode[name]
    assert ResultCode(3002).name == "DIAMETER_UNABLE_TO_DELIVER"  # canonical name wins


def test_experimental_result_codes() -> None:
    e = ExperimentalResultCode
    assert e.DIAMETER_FIRST_REGISTRATION == 2001
    assert e.SUBSEQUENT_REGISTRATION == e.DIAMETER_SUBSEQUENT_REGISTRATION == 2002
    assert e.UNREGISTERED_SERVICE == 2003
    assert e.SERVER_NAME_NOT_STORED == e.DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED == 2004
    codes = [
        ("ERROR_USER_UNKNOWN", 5001),
        ("ERROR_IDENTITIES_DONT_MATCH", 5002),
        ("ERROR_IDENTITY_NOT_REGISTERED", 5003),
        ("ERROR_ROAMING_NOT_ALLOWED", 5004),
        ("ERROR_IDENTITY_ALREADY_REGISTERED", 5005),
        ("ERROR_AUTH_SCHEME_NOT_SUPPORTED", 5006),
        ("ERROR_IN_ASSIGNMENT_TYPE", 5007),
        ("ERROR_TOO_MUCH_DATA", 5008),
        ("ERROR_NOT_SUPPORTED_USER_DATA", 5009),
    ]
    for name, value in codes:
        assert e[name] == e["DIAMETER_" + name] == value


# --- golden bytes, RFC 6733 §4.1 AVP layout ------------------------------------------------------


def test_golden_avp_without_vendor_no_padding() -> None:
    # Origin-Host (264 = 0x108), flags M (0x40), length 8 + 12 = 20, data "host.example".
    wire = H("0000010840000014") + b"host.example"
    assert make_avp("Origin-Host", "host.example").encode() == wire
    assert Avp.decode(wire) == Avp(264, b"host.example", flags=0x40)


def test_golden_avp_with_padding() -> None:
    # Session-Id (263 = 0x107), length 8 + 3 = 11, one zero octet of padding not counted.
    wire = H("000001074000000b61626300")
    avp = make_avp("Session-Id", "abc")
    assert avp.encode() == wire
    assert len(wire) % 4 == 0
    assert Avp.decode(wire).data == b"abc"


def test_golden_avp_with_vendor() -> None:
    # Public-Identity (601 = 0x259), flags V|M (0xc0), length 12 + 7 = 19, Vendor-Id 10415
    # (0x28af), then "sip:a@b" and one octet of padding.
    wire = H("00000259c0000013000028af") + b"sip:a@b" + b"\0"
    avp = make_avp("Public-Identity", "sip:a@b")
    assert (avp.vendor_id, avp.flags, avp.mandatory) == (10415, 0xC0, True)
    assert avp.encode() == wire
    back = Avp.decode(wire)
    assert back.vendor_id == 10415 and back.data == b"sip:a@b"


def test_golden_vendor_avp_without_m_bit() -> None:
    # UAR-Flags (637 = 0x27d) is V only per TS 29.229 Table 6.3.1.
    assert make_avp("UAR-Flags", 1).encode() == H("0000027d80000010000028af00000001")


@pytest.mark.parametrize(
    ("name", "value", "data"),
    [
        ("Result-Code", 2001, "000007d1"),  # Unsigned32
        ("Accounting-Sub-Session-Id", 2**64 - 1, "ffffffffffffffff"),  # Unsigned64
        ("Disconnect-Cause", 2, "00000002"),  # Enumerated
        ("Host-IP-Address", "127.0.0.1", "00017f000001"),  # Address, family 1
        ("Host-IP-Address", "::1", "0002" + "00" * 15 + "01"),  # Address, family 2
        ("Event-Timestamp", datetime(2000, 1, 1, tzinfo=UTC), "bc17c200"),  # NTP 3155673600
        ("Event-Timestamp", datetime(2040, 1, 1, tzinfo=UTC), "0754fd00"),  # era 1, RFC 4330
        ("Visited-Network-Identifier", b"\x01\xff", "01ff"),  # OctetString
        ("Product-Name", "é", "c3a9"),  # UTF8String
    ],
)
def test_golden_values(name: str, value: object, data: str) -> None:
    d = avp_def(name)
    assert encode_value(d, value).hex() == data
    assert decode_value(d, H(data)) == value


def test_golden_signed_and_float_formats() -> None:
    i32 = AvpDef("T-I32", 1, 99, "Integer32")
    i64 = AvpDef("T-I64", 2, 99, "Integer64")
    f32 = AvpDef("T-F32", 3, 99, "Float32")
    f64 = AvpDef("T-F64", 4, 99, "Float64")
    assert encode_value(i32, -1) == H("ffffffff")
    assert encode_value(i64, -2) == H("fffffffffffffffe")
    assert encode_value(f32, 1.5) == H("3fc00000")
    assert encode_value(f64, 1.5) == H("3ff8000000000000")
    assert decode_value(i32, H("80000000")) == -(2**31)
    assert decode_value(f64, H("3ff8000000000000")) == 1.5


def test_golden_grouped() -> None:
    # Vendor-Specific-Application-Id (260) { Vendor-Id 10415, Auth-Application-Id 16777216 }:
    # two 12-octet inner AVPs, outer length 8 + 24 = 32.
    inner = H("0000010a4000000c000028af") + H("000001024000000c01000000")
    wire = H("0000010440000020") + inner
    avp = make_avp(
        "Vendor-Specific-Application-Id", [("Vendor-Id", 10415), ("Auth-Application-Id", APP_CX)]
    )
    assert avp.encode() == wire
    g = Avp.decode(wire).value
    assert isinstance(g, Grouped)
    assert g.get("Vendor-Id") == 10415 and g.get("Auth-Application-Id") == APP_CX


def test_golden_message_dwr() -> None:
    # RFC 6733 §3 header: version 1, length 56, flags R (DWR is not proxiable), code 280
    # (0x118), application 0, hop-by-hop, end-to-end; then Origin-Host "a.example" (length
    # 17, 3 octets padding) and Origin-Realm "example" (length 15, 1 octet padding).
    wire = (
        H("0100003880000118000000001122334455667788")
        + H("0000010840000011")
        + b"a.example\0\0\0"
        + H("000001284000000f")
        + b"example\0"
    )
    msg = Message(
        CMD_DWR, 0, request=True, proxiable=False, hop_by_hop=0x11223344, end_to_end=0x55667788
    )
    msg.add("Origin-Host", "a.example").add("Origin-Realm", "example")
    assert msg.encode() == wire
    back = Message.decode(wire)
    assert back == msg
    assert back.name == "DWR" and back.flags == 0x80 and back.is_request and not back.is_error
    assert back.hop_by_hop == 0x11223344 and back.end_to_end == 0x55667788


def test_header_flag_bits() -> None:
    m = Message(CMD_UAR, APP_CX, request=False, proxiable=True, error=True, retransmit=True)
    assert m.flags == 0x40 | 0x20 | 0x10
    wire = m.encode()
    assert wire[4] == 0x70
    back = Message.decode(wire)
    assert (back.request, back.proxiable, back.error, back.retransmit) == (False, True, True, True)
    # Reserved header bits are ignored by the receiver (RFC 6733 §3).
    assert Message.decode(wire[:4] + b"\x7f" + wire[5:]).flags == 0x70


# --- round trips per type ---------------------------------------------------------------------

_TYPE_SAMPLES: dict[str, st.SearchStrategy[object]] = {
    "OctetString": st.binary(max_size=64),
    "UTF8String": st.text(max_size=32),
    "DiameterIdentity": st.from_regex(r"[a-z0-9.-]{0,40}", fullmatch=True),
    "DiameterURI": st.from_regex(r"aaa://[a-z0-9.]{1,20}:[0-9]{1,5}", fullmatch=True),
    "Integer32": st.integers(-(2**31), 2**31 - 1),
    "Integer64": st.integers(-(2**63), 2**63 - 1),
    "Unsigned32": st.integers(0, 2**32 - 1),
    "Unsigned64": st.integers(0, 2**64 - 1),
    "Enumerated": st.integers(-(2**31), 2**31 - 1),
    "Float32": st.floats(width=32, allow_nan=False),
    "Float64": st.floats(allow_nan=False),
    "Address": st.one_of(st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(lambda a: str(a))),
    "Time": st.datetimes(min_value=datetime(1968, 1, 21), max_value=datetime(2104, 2, 6)).map(
        lambda d: d.replace(microsecond=0, tzinfo=UTC)
    ),
}


@pytest.mark.parametrize("typ", sorted(_TYPE_SAMPLES))
def test_round_trip_every_type(typ: str) -> None:
    defn = AvpDef("T", 1, 99, typ)

    @settings(max_examples=60, database=None, deadline=None)
    @given(_TYPE_SAMPLES[typ])
    def check(value: object) -> None:
        data = encode_value(defn, value)
        assert decode_value(defn, data) == value
        avp = Avp(defn.code, data, flags=defn.flags, vendor_id=defn.vendor_id)
        assert Avp.decode(avp.encode()) == avp

    check()


def test_encode_conversions() -> None:
    assert encode_value(avp_def("User-Data"), "x") == b"x"  # str -> UTF-8 for OctetString
    assert encode_value(avp_def("Host-IP-Address"), ipaddress.ip_address("10.0.0.1"))[2:] == H(
        "0a000001"
    )
    assert encode_value(avp_def("Host-IP-Address"), (8, b"123")) == H("0008") + b"123"
    assert encode_value(avp_def("Event-Timestamp"), 3155673600) == H("bc17c200")
    naive = datetime(2000, 1, 1)
    assert encode_value(avp_def("Event-Timestamp"), naive) == H("bc17c200")  # naive = UTC


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Result-Code", -1),
        ("Result-Code", 2**32),
        ("Result-Code", "2001"),
        ("Result-Code", 1.0),
        ("Origin-Host", "hôst"),  # DiameterIdentity is ASCII
        ("Origin-Host", 5),
        ("Session-Id", b"\xff"),
        ("Host-IP-Address", "not-an-ip"),
        ("Event-Timestamp", datetime(1950, 1, 1, tzinfo=UTC)),
        ("Event-Timestamp", datetime(2200, 1, 1, tzinfo=UTC)),
        ("Vendor-Specific-Application-Id", 5),
        ("Vendor-Specific-Application-Id", [("Vendor-Id",)]),
        ("Vendor-Specific-Application-Id", [("Vendor-Id", "x")]),
    ],
)
def test_encode_errors_are_local_errors(name: str, value: object) -> None:
    with pytest.raises(DiameterEncodeError) as ei:
        make_avp(name, value)
    assert isinstance(ei.value, ValueError) and isinstance(ei.value, DiameterError)


def test_unknown_avp_name_is_keyerror() -> None:
    with pytest.raises(KeyError):
        avp_def("No-Such-AVP")
    with pytest.raises(KeyError):
        Message(1, 0, request=True).add("No-Such-AVP", 1)
    with pytest.raises(KeyError):
        avp_def((601, None))  # 601 exists only in the 3GPP vendor space


def test_decode_value_errors() -> None:
    with pytest.raises(DiameterParseError) as ei:
        decode_value(avp_def("Result-Code"), b"\0\0\0")
    assert ei.value.result_code == 5014
    with pytest.raises(DiameterParseError) as ei:
        decode_value(avp_def("Session-Id"), b"\xc3\x28")
    assert ei.value.result_code == 5004
    with pytest.raises(DiameterParseError) as ei:
        decode_value(avp_def("Host-IP-Address"), H("0008") + b"1234")
    assert ei.value.result_code == 5004  # unsupported address family
    with pytest.raises(DiameterParseError) as ei:
        decode_value(avp_def("Host-IP-Address"), H("000101020304ff"))
    assert ei.value.result_code == 5014
    with pytest.raises(DiameterParseError) as ei:
        decode_value(avp_def("Host-IP-Address"), b"\0")
    assert ei.value.result_code == 5014


# --- Grouped ---------------------------------------------------------------------------------


def test_grouped_nesting_three_levels() -> None:
    msg = Message(CMD_MAR, APP_CX, request=False)
    msg.add(
        "SIP-Auth-Data-Item",
        [
            ("SIP-Item-Number", 1),
            ("SIP-Authentication-Scheme", "SIP Digest"),
            (
                "SIP-Digest-Authenticate",
                [
                    ("Digest-Realm", "ims.example"),
                    ("Digest-QoP", "auth"),
                    ("Digest-HA1", "0123456789abcdef0123456789abcdef"),
                ],
            ),
        ],
    )
    back = Message.decode(msg.encode())
    item = back.get("SIP-Auth-Data-Item")
    assert isinstance(item, Grouped)
    sda = item.get("SIP-Digest-Authenticate")
    assert isinstance(sda, Grouped)
    assert sda.get("Digest-Realm") == "ims.example"
    assert sda.get("Digest-HA1") == "0123456789abcdef0123456789abcdef"
    assert sda.find("Digest-HA1") is not None and sda.find("Digest-Algorithm") is None
    assert item.get_all("SIP-Item-Number") == [1]


def test_grouped_accepts_grouped_and_avp_items() -> None:
    inner = Grouped().add("Vendor-Id", VENDOR_3GPP).add("Experimental-Result-Code", 2001)
    a = make_avp("Experimental-Result", inner)
    b = make_avp(
        "Experimental-Result",
        [make_avp("Vendor-Id", VENDOR_3GPP), ("Experimental-Result-Code", 2001)],
    )
    assert a == b
    assert Grouped.decode(a.data) == inner
    failed = make_avp("Failed-AVP", [Avp(9999, b"raw", flags=0x40, vendor_id=7)])
    assert failed.value.avps == [Avp(9999, b"raw", flags=0x40, vendor_id=7)]


def test_grouped_padding_of_last_inner_avp_may_be_missing() -> None:
    # Inner Session-Id "abc" (length 11) without its padding octet: tolerated in Grouped data.
    data = H("000001074000000b") + b"abc"
    assert Grouped.decode(data).get("Session-Id") == "abc"


def test_malformed_grouped_read_raises_parse_error_with_failed_avp() -> None:
    bad = Avp(297, H("0000010a4000ffff"), flags=0x40)  # inner length runs past the data
    msg = Message(CMD_UAR, APP_CX, request=False, avps=[bad])
    with pytest.raises(DiameterParseError) as ei:
        msg.get("Experimental-Result")
    assert ei.value.result_code == 5014


# --- Message API -------------------------------------------------------------------------------


def test_get_get_all_find_default() -> None:
    msg = Message(CMD_SAR, APP_CX, request=True)
    msg.add("Public-Identity", "sip:a@x").add("Public-Identity", "tel:+1")
    assert msg.get("Public-Identity") == "sip:a@x"
    assert msg.get_all("Public-Identity") == ["sip:a@x", "tel:+1"]
    assert msg.get("User-Name") is None
    assert msg.get("User-Name", "dflt") == "dflt"
    assert msg.get_all("User-Name") == []
    found = msg.find("Public-Identity")
    assert found is not None and found.vendor_id == VENDOR_3GPP
    assert len(msg.find_all("Public-Identity")) == 2


def test_lookup_distinguishes_vendor_space() -> None:
    # Code 1 without vendor is User-Name; code 1 with vendor 10415 is some other AVP.
    msg = Message(CMD_SAR, APP_CX, request=True, avps=[Avp(1, b"x", vendor_id=VENDOR_3GPP)])
    assert msg.get("User-Name") is None
    msg.add("User-Name", "u")
    assert msg.get("User-Name") == "u"


def test_message_names() -> None:
    assert Message(CMD_CER, 0, request=True).name == "CER"
    assert Message(CMD_CER, 0, request=False).name == "CEA"
    assert Message(CMD_UAR, APP_CX, request=True).name == "UAR"
    assert Message(CMD_MAR, APP_CX, request=False).name == "MAA"
    assert Message(CMD_LIR, APP_CX, request=False).name == "LIA"
    assert Message(99999, 0, request=True).name == "Command-99999-Request"


def test_add_returns_self_for_chaining_and_keeps_order() -> None:
    msg = Message(CMD_DWR, 0, request=True)
    assert msg.add("Origin-Host", "h") is msg
    msg.add("Origin-Realm", "r").add("Origin-State-Id", 7)
    assert [a.code for a in msg.avps] == [264, 296, 278]
    g = Grouped()
    assert g.add("Vendor-Id", 1) is g


def test_avp_vendor_bit_invariant() -> None:
    assert Avp(1, b"", flags=0xC0).flags == 0x40  # no vendor -> V cleared
    assert Avp(1, b"", flags=0x00, vendor_id=5).flags == 0x80  # vendor -> V set
    a = Avp(1, b"", vendor_id=5)
    a.vendor_id = None  # even if mutated, encode keeps the header consistent
    assert a.encode()[4] & 0x80 == 0


def test_unknown_avp_survives_round_trip() -> None:
    unknown = Avp(123456, b"\x01\x02\x03", flags=0x00, vendor_id=999)
    msg = Message(CMD_UAR, APP_CX, request=True, avps=[unknown])
    back = Message.decode(msg.encode())
    assert back.avps == [unknown]
    assert back.avps[0].value == b"\x01\x02\x03"  # unknown -> raw bytes
    assert back.avps[0].name == "AVP-123456/999"


def test_dump_is_readable() -> None:
    msg = Message(CMD_MAR, APP_CX, request=True, hop_by_hop=1, end_to_end=2)
    msg.add("Session-Id", "s").add("SIP-Auth-Data-Item", [("SIP-Item-Number", 1)])
    msg.avps.append(Avp(268, b"\0", flags=0x40))  # malformed Result-Code
    text = msg.dump()
    assert text.splitlines()[0].startswith("MAR code=303 app=16777216 flags=RP")
    assert "Session-Id(263) -M = 's'" in text
    assert "    SIP-Item-Number(613) VM = 1" in text
    assert "<malformed>" in text
    assert repr(msg).startswith("<Message MAR")


def test_dump_of_hostile_nesting_is_bounded() -> None:
    data = make_avp("Proxy-State", b"x").encode()
    for _ in range(3000):  # far beyond the interpreter's recursion limit
        data = Avp(284, data, flags=0x40).encode()
    msg = Message(CMD_DWR, 0, request=True, avps=[Avp.decode(data)])
    assert "<nested too deep>" in Message.decode(msg.encode()).dump()


def test_encode_rejects_out_of_range_header() -> None:
    with pytest.raises(DiameterEncodeError):
        Message(1 << 24, 0, request=True).encode()
    with pytest.raises(DiameterEncodeError):
        Message(1, 0, request=True, hop_by_hop=1 << 32).encode()
    with pytest.raises(DiameterEncodeError):
        Avp(1 << 32, b"").encode()


# --- decode errors (RFC 6733 §7.1) -------------------------------------------------------------


def _dwr() -> bytes:
    msg = Message(CMD_DWR, 0, request=True, proxiable=False, hop_by_hop=7, end_to_end=9)
    return msg.add("Origin-Host", "h.example").add("Origin-Realm", "example").encode()


def _raises(data: bytes) -> DiameterParseError:
    with pytest.raises(DiameterParseError) as ei:
        Message.decode(data)
    return ei.value


def test_decode_short_is_fatal_5015() -> None:
    err = _raises(_dwr()[:19])
    assert (err.result_code, err.fatal, err.partial) == (5015, True, None)


def test_decode_bad_version_5011() -> None:
    err = _raises(b"\x02" + _dwr()[1:])
    assert err.result_code == 5011 and not err.fatal
    assert err.partial is not None and err.partial.hop_by_hop == 7


def test_decode_length_mismatch_5015() -> None:
    wire = _dwr()
    assert _raises(wire + b"\0\0\0\0").result_code == 5015
    assert _raises(wire[:-4]).result_code == 5015
    odd = wire[:1] + (len(wire) + 1).to_bytes(3, "big") + wire[4:] + b"\0"
    assert _raises(odd).result_code == 5015  # not a multiple of 4


def test_decode_e_bit_in_request_3008() -> None:
    wire = _dwr()
    err = _raises(wire[:4] + bytes([wire[4] | 0x20]) + wire[5:])
    assert err.result_code == 3008 and err.partial is not None and err.partial.request


def test_decode_avp_length_errors_5014() -> None:
    wire = bytearray(_dwr())
    # Origin-Host AVP length field (offset 20+5) set beyond the message.
    wire[25:28] = (200).to_bytes(3, "big")
    err = _raises(bytes(wire))
    assert err.result_code == 5014
    # Failed-AVP: the offending header with a zero payload of the type's minimum length.
    assert err.failed_avp is not None and err.failed_avp.code == 264
    assert err.failed_avp.data == b""
    # AVP length smaller than its header.
    wire[25:28] = (4).to_bytes(3, "big")
    assert _raises(bytes(wire)).result_code == 5014


def test_decode_avp_error_keeps_avps_before_it() -> None:
    msg = Message(CMD_UAR, APP_CX, request=True, hop_by_hop=5)
    msg.add("Session-Id", "sess;1").add("Origin-Host", "h")
    wire = bytearray(msg.encode() + H("000001284000ff00"))  # truncated Origin-Realm
    wire[1:4] = len(wire).to_bytes(3, "big")
    err = _raises(bytes(wire))
    assert err.result_code == 5014
    assert err.partial is not None and err.partial.get("Session-Id") == "sess;1"
    assert err.failed_avp is not None and err.failed_avp.code == 296


def test_decode_truncated_vendor_header_5014() -> None:
    msg = Message(CMD_UAR, APP_CX, request=True)
    wire = bytearray(msg.encode() + H("00000259c0000008"))  # V bit, no room for vendor
    wire[1:4] = len(wire).to_bytes(3, "big")
    err = _raises(bytes(wire))
    assert err.result_code == 5014 and err.failed_avp is not None
    assert err.failed_avp.code == 601


def test_decode_accepts_bytearray_and_memoryview() -> None:
    wire = _dwr()
    assert Message.decode(bytearray(wire)) == Message.decode(memoryview(wire))
