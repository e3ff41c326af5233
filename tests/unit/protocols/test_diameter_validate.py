"""validate() against the command ABNF (RFC 6733 §3.2, §7.1.5, §7.5; TS 29.229 §6.1) and
error_answer() (RFC 6733 §7.2)."""

from __future__ import annotations

import pytest

from network_functions.protocols.diameter import (
    APP_S6A,
    CMD_UAR,
    VENDOR_3GPP,
    Avp,
    DiameterParseError,
    Grouped,
    Message,
    ResultCode,
    cx_answer,
    error_answer,
    make_avp,
    make_cer,
    make_dpr,
    make_dwr,
    make_lir,
    make_mar,
    make_sar,
    make_uar,
    validate,
)
from network_functions.protocols.diameter.dictionary import parse_format
from network_functions.protocols.diameter.validate import _check, _identity

pytestmark = pytest.mark.unit

HOST, REALM = "icscf.ims.example", "ims.example"


def uar() -> Message:
    return make_uar(
        session_id=f"{HOST};1;1",
        origin_host=HOST,
        origin_realm=REALM,
        destination_realm=REALM,
        public_identity="sip:alice@ims.example",
        user_name="alice@ims.example",
        visited_network_identifier="ims.example",
        hop_by_hop=11,
        end_to_end=22,
    )


def fails(msg: Message) -> DiameterParseError:
    with pytest.raises(DiameterParseError) as ei:
        validate(Message.decode(msg.encode()))
    assert not ei.value.fatal
    return ei.value


def without(msg: Message, name: str) -> Message:
    victim = msg.find(name)
    msg.avps = [a for a in msg.avps if a is not victim]
    return msg


def test_valid_messages_pass() -> None:
    common = {"origin_host": HOST, "origin_realm": REALM, "hop_by_hop": 1, "end_to_end": 2}
    cx = {**common, "session_id": "s;1", "destination_realm": REALM}
    for msg in (
        make_cer(host_ip_addresses=["127.0.0.1"], vendor_id=1, product_name="p", **common),
        make_dwr(**common),
        make_dpr(disconnect_cause=0, **common),
        uar(),
        make_mar(public_identity="sip:a@x", user_name="a@x", server_name="sip:s", **cx),
        make_sar(server_name="sip:s", server_assignment_type=1, **cx),
        make_lir(public_identity="sip:a@x", **cx),
    ):
        validate(Message.decode(msg.encode()))


def test_unknown_command_is_not_checked() -> None:
    validate(Message(319, APP_S6A, request=True))  # S6a IDR: no ABNF registered
    validate(Message(CMD_UAR, 4, request=True))  # UAR code under another application


def test_3008_p_bit_inconsistent_with_command() -> None:
    msg = uar()
    msg.proxiable = False
    assert fails(msg).result_code == ResultCode.DIAMETER_INVALID_HDR_BITS
    cer = make_cer(
        origin_host=HOST,
        origin_realm=REALM,
        host_ip_addresses=["::1"],
        vendor_id=1,
        product_name="p",
        hop_by_hop=1,
        end_to_end=1,
    )
    cer.proxiable = True
    assert fails(cer).result_code == 3008


def test_3009_reserved_avp_flag_bits() -> None:
    msg = uar()
    msg.avps[4].flags |= 0x01
    err = fails(msg)
    assert err.result_code == ResultCode.DIAMETER_INVALID_AVP_BITS
    assert err.failed_avp is not None and err.failed_avp.code == msg.avps[4].code


def test_5001_unknown_avp_with_m_bit() -> None:
    msg = uar()
    alien = Avp(4242, b"x", flags=0x40, vendor_id=VENDOR_3GPP)
    msg.avps.append(alien)
    err = fails(msg)
    assert err.result_code == ResultCode.DIAMETER_AVP_UNSUPPORTED
    assert err.failed_avp == alien


def test_unknown_avp_without_m_bit_is_ignored() -> None:
    msg = uar()
    msg.avps.append(Avp(4242, b"x", flags=0x00, vendor_id=VENDOR_3GPP))
    validate(Message.decode(msg.encode()))


def test_5001_inside_grouped_reports_the_grouped_wrapper() -> None:
    msg = uar()
    alien = Avp(4242, b"xyz", flags=0x40)
    msg.add(
        "Supported-Features",
        [("Vendor-Id", VENDOR_3GPP), ("Feature-List-ID", 1), ("Feature-List", 1), alien],
    )
    err = fails(msg)
    assert err.result_code == 5001
    # RFC 6733 §7.5: Failed-AVP MAY hold the Grouped AVP containing only the offender.
    outer = err.failed_avp
    assert outer is not None and (outer.code, outer.vendor_id) == (628, VENDOR_3GPP)
    assert Grouped.decode(outer.data).avps == [alien]


def test_5004_invalid_utf8_and_address_family() -> None:
    msg = uar()
    msg.find("Public-Identity").data = b"sip:\xff"  # type: ignore[union-attr]
    err = fails(msg)
    assert err.result_code == ResultCode.DIAMETER_INVALID_AVP_VALUE
    assert err.failed_avp is not None and err.failed_avp.code == 601
    cer = make_cer(
        origin_host=HOST,
        origin_realm=REALM,
        host_ip_addresses=["127.0.0.1"],
        vendor_id=1,
        product_name="p",
        hop_by_hop=1,
        end_to_end=1,
    )
    cer.find("Host-IP-Address").data = b"\x00\x08" + b"+123"  # type: ignore[union-attr]
    assert fails(cer).result_code == 5004


def test_5005_missing_required_avp_with_zero_filled_example() -> None:
    err = fails(without(uar(), "Public-Identity"))
    assert err.result_code == ResultCode.DIAMETER_MISSING_AVP
    f = err.failed_avp
    assert f is not None and (f.code, f.vendor_id, f.flags, f.data) == (601, 10415, 0xC0, b"")
    mar = make_mar(
        session_id="s",
        origin_host=HOST,
        origin_realm=REALM,
        destination_realm=REALM,
        public_identity="sip:a@x",
        user_name="a@x",
        server_name="sip:s",
        hop_by_hop=1,
        end_to_end=2,
    )
    err = fails(without(mar, "SIP-Number-Auth-Items"))
    assert err.failed_avp is not None and err.failed_avp.data == b"\0\0\0\0"  # Unsigned32
    err = fails(without(uar(), "Session-Id"))
    assert err.failed_avp is not None and err.failed_avp.code == 263


def test_5005_inside_grouped() -> None:
    ans = cx_answer(uar(), origin_host="hss", origin_realm=REALM, result_code=2001)
    without(ans, "Result-Code")
    ans.add("Experimental-Result", [("Vendor-Id", VENDOR_3GPP)])  # no Experimental-Result-Code
    err = fails(ans)
    assert err.result_code == 5005
    outer = err.failed_avp
    assert outer is not None and outer.code == 297
    assert Grouped.decode(outer.data).avps == [Avp(298, b"\0\0\0\0", flags=0x40)]


def test_5009_too_many_occurrences_reports_first_excess_instance() -> None:
    msg = uar()
    msg.add("Public-Identity", "sip:second@ims.example")
    err = fails(msg)
    assert err.result_code == ResultCode.DIAMETER_AVP_OCCURS_TOO_MANY_TIMES
    assert err.failed_avp is not None and err.failed_avp.data == b"sip:second@ims.example"


def test_5014_bad_fixed_length_value() -> None:
    msg = uar()
    msg.find("Auth-Session-State").data = b"\0\0\0\0\1"  # type: ignore[union-attr]
    err = fails(msg)
    assert err.result_code == ResultCode.DIAMETER_INVALID_AVP_LENGTH
    assert err.failed_avp is not None and err.failed_avp.code == 277


def test_5014_inside_grouped_framing() -> None:
    msg = uar()
    msg.find("Vendor-Specific-Application-Id").data = bytes.fromhex(  # type: ignore[union-attr]
        "0000010a4000ff0c000028af"
    )
    err = fails(msg)
    assert err.result_code == 5014
    outer = err.failed_avp
    assert outer is not None and outer.code == 260
    inner = Grouped.decode(outer.data).avps
    assert len(inner) == 1 and inner[0].code == 266 and inner[0].data == b"\0\0\0\0"


def test_5008_avp_not_allowed_by_closed_format() -> None:
    closed = parse_format("closed", "{ Vendor-Id }\n[ Auth-Application-Id ]")
    _check([make_avp("Vendor-Id", 1)], closed, 0, _identity)
    with pytest.raises(DiameterParseError) as ei:
        _check([make_avp("Vendor-Id", 1), make_avp("Origin-Host", "x")], closed, 0, _identity)
    assert ei.value.result_code == ResultCode.DIAMETER_AVP_NOT_ALLOWED


def test_grouped_nesting_depth_limit() -> None:
    value: list[tuple[str, object]] = [("Auth-Application-Id", 1)]
    for _ in range(30):
        value = [("Supported-Applications", value)]
    msg = uar()
    msg.add("Supported-Applications", value)
    err = fails(msg)
    assert err.result_code == 5004


def test_failed_avp_content_is_not_validated() -> None:
    ans = cx_answer(uar(), origin_host="hss", origin_realm=REALM, result_code=5001)
    ans.add("Failed-AVP", [Avp(4242, b"x", flags=0x40, vendor_id=VENDOR_3GPP)])
    validate(Message.decode(ans.encode()))


def test_error_bit_answer_uses_generic_answer_format() -> None:
    ans = uar().answer(3002, origin_host="dra", origin_realm=REALM)
    assert ans.is_error
    validate(Message.decode(ans.encode()))  # no Vendor-Specific-Application-Id needed
    without(ans, "Result-Code")
    assert fails(ans).result_code == 5005


def test_fixed_position_is_not_enforced_but_presence_is() -> None:
    msg = uar()
    msg.avps.append(msg.avps.pop(0))  # Session-Id last: tolerated
    validate(Message.decode(msg.encode()))


# --- error_answer ------------------------------------------------------------------------------


def test_error_answer_for_application_error_keeps_cx_answer_format() -> None:
    req = Message.decode(without(uar(), "Visited-Network-Identifier").encode())
    with pytest.raises(DiameterParseError) as ei:
        validate(req)
    ans = error_answer(req, ei.value, origin_host="hss.ims.example", origin_realm=REALM)
    assert not ans.is_request and not ans.is_error and ans.proxiable
    assert (ans.hop_by_hop, ans.end_to_end) == (11, 22)
    assert ans.avps[0].code == 263 and ans.get("Session-Id") == req.get("Session-Id")
    assert ans.get("Result-Code") == 5005
    assert ans.get("Vendor-Specific-Application-Id") is not None
    assert ans.get("Auth-Session-State") == 1
    assert "Visited-Network-Identifier" in ans.get("Error-Message")
    failed = ans.get("Failed-AVP")
    assert isinstance(failed, Grouped) and failed.avps[0].code == 600
    validate(Message.decode(ans.encode()))  # a well-formed UAA


def test_error_answer_for_protocol_error_sets_e_bit() -> None:
    msg = uar()
    msg.proxiable = False
    req = Message.decode(msg.encode())
    with pytest.raises(DiameterParseError) as ei:
        validate(req)
    ans = error_answer(req, ei.value, origin_host="hss", origin_realm=REALM)
    assert ans.is_error and ans.get("Result-Code") == 3008
    assert ans.find("Vendor-Specific-Application-Id") is None
    assert ans.find("Failed-AVP") is None
    validate(Message.decode(ans.encode()))


def test_error_answer_from_decode_error_uses_partial() -> None:
    wire = bytearray(uar().encode())
    wire[4] |= 0x20  # E bit in a request
    with pytest.raises(DiameterParseError) as ei:
        Message.decode(bytes(wire))
    err = ei.value
    assert err.partial is not None
    ans = error_answer(err.partial, err, origin_host="hss", origin_realm=REALM)
    assert ans.is_error and ans.get("Result-Code") == 3008 and ans.hop_by_hop == 11
