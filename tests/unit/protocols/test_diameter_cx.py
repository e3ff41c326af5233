"""Cx/Dx builders and answers (TS 29.229 §6.1, §6.2), base builders (RFC 6733 §5),
answer construction (§6.2), identifiers (§3) and Session-Id (§8.8)."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from network_functions.protocols.diameter import (
    APP_CX,
    AUTH_SCHEME_AKAV1_MD5,
    CMD_CER,
    CMD_DPR,
    CMD_DWR,
    CMD_LIR,
    CMD_MAR,
    CMD_SAR,
    CMD_UAR,
    VENDOR_3GPP,
    AnswerResult,
    DiameterParseError,
    DisconnectCause,
    ExperimentalResultCode,
    Grouped,
    IdGenerator,
    Message,
    ResultCode,
    ServerAssignmentType,
    SessionIdGenerator,
    UserAuthorizationType,
    answer_code,
    answer_result,
    avp_def,
    cx_answer,
    is_success,
    make_cer,
    make_dpr,
    make_dwr,
    make_lir,
    make_mar,
    make_sar,
    make_uar,
    new_session_id,
    validate,
)

pytestmark = pytest.mark.unit

SCSCF, ICSCF, HSS, REALM = (
    "scscf.ims.example",
    "icscf.ims.example",
    "hss.ims.example",
    "ims.example",
)
IMPI, IMPU = "alice@ims.example", "sip:alice@ims.example"


def rt(msg: Message) -> Message:
    """Encode, decode, validate: what a peer would see."""
    back = Message.decode(msg.encode())
    assert back == msg
    assert back.encode() == msg.encode()
    validate(back)
    return back


def assert_cx_head(msg: Message, code: int) -> None:
    assert (msg.command_code, msg.application_id) == (code, APP_CX)
    assert msg.is_request and msg.proxiable and not msg.is_error
    assert msg.avps[0].code == 263  # Session-Id first (fixed position)
    vsai = msg.get("Vendor-Specific-Application-Id")
    assert isinstance(vsai, Grouped)
    assert vsai.get("Vendor-Id") == VENDOR_3GPP and vsai.get("Auth-Application-Id") == APP_CX
    assert msg.get("Auth-Session-State") == 1  # NO_STATE_MAINTAINED


# --- definitions ---------------------------------------------------------------------------------

CX_CODES = {
    "Visited-Network-Identifier": 600,
    "Public-Identity": 601,
    "Server-Name": 602,
    "Server-Capabilities": 603,
    "Mandatory-Capability": 604,
    "Optional-Capability": 605,
    "User-Data": 606,
    "SIP-Number-Auth-Items": 607,
    "SIP-Authentication-Scheme": 608,
    "SIP-Authenticate": 609,
    "SIP-Authorization": 610,
    "SIP-Authentication-Context": 611,
    "SIP-Auth-Data-Item": 612,
    "SIP-Item-Number": 613,
    "Server-Assignment-Type": 614,
    "Deregistration-Reason": 615,
    "Reason-Code": 616,
    "Reason-Info": 617,
    "Charging-Information": 618,
    "Primary-Event-Charging-Function-Name": 619,
    "User-Authorization-Type": 623,
    "User-Data-Already-Available": 624,
    "Confidentiality-Key": 625,
    "Integrity-Key": 626,
    "Supported-Features": 628,
    "Feature-List-ID": 629,
    "Feature-List": 630,
    "Supported-Applications": 631,
    "Associated-Identities": 632,
    "Originating-Request": 633,
    "Wildcarded-Public-Identity": 634,
    "SIP-Digest-Authenticate": 635,
    "UAR-Flags": 637,
    "Loose-Route-Indication": 638,
    "SCSCF-Restoration-Info": 639,
    "Path": 640,
    "Contact": 641,
    "Subscription-Info": 642,
    "Call-ID-SIP-Header": 643,
    "Session-Priority": 650,
    "Identity-with-Emergency-Registration": 651,
    "Priviledged-Sender-Indication": 652,
    "LIA-Flags": 653,
    "SAR-Flags": 655,
}
BASE_CODES = {
    "User-Name": 1,
    "Session-Timeout": 27,
    "Proxy-State": 33,
    "Host-IP-Address": 257,
    "Auth-Application-Id": 258,
    "Acct-Application-Id": 259,
    "Vendor-Specific-Application-Id": 260,
    "Session-Id": 263,
    "Origin-Host": 264,
    "Supported-Vendor-Id": 265,
    "Vendor-Id": 266,
    "Firmware-Revision": 267,
    "Result-Code": 268,
    "Product-Name": 269,
    "Disconnect-Cause": 273,
    "Auth-Session-State": 277,
    "Origin-State-Id": 278,
    "Failed-AVP": 279,
    "Proxy-Host": 280,
    "Error-Message": 281,
    "Route-Record": 282,
    "Destination-Realm": 283,
    "Proxy-Info": 284,
    "Redirect-Host": 292,
    "Destination-Host": 293,
    "Error-Reporting-Host": 294,
    "Origin-Realm": 296,
    "Experimental-Result": 297,
    "Experimental-Result-Code": 298,
    "Inband-Security-Id": 299,
    "Digest-Realm": 104,
    "Digest-QoP": 110,
    "Digest-Algorithm": 111,
    "Digest-HA1": 121,
}


def test_dictionary_codes_and_vendor_space() -> None:
    for name, code in CX_CODES.items():
        d = avp_def(name)
        assert (d.code, d.vendor_id, d.vendor_bit) == (code, VENDOR_3GPP, True), name
        assert avp_def((code, VENDOR_3GPP)) is d
    for name, code in BASE_CODES.items():
        d = avp_def(name)
        assert (d.code, d.vendor_id, d.vendor_bit) == (code, None, False), name


def test_dictionary_m_bits_follow_the_flag_tables() -> None:
    # RFC 6733 §4.5: these are "Must not" M.
    for name in ("Error-Message", "Error-Reporting-Host", "Product-Name", "Firmware-Revision"):
        assert not avp_def(name).mandatory
    # TS 29.229 Table 6.3.1: Rel-7+ AVPs are V only; the originals M,V.
    for name in ("Supported-Features", "Feature-List", "UAR-Flags", "Wildcarded-Public-Identity"):
        assert not avp_def(name).mandatory and avp_def(name).flags == 0x80
    for name in ("Public-Identity", "Server-Name", "SIP-Auth-Data-Item", "Originating-Request"):
        assert avp_def(name).mandatory and avp_def(name).flags == 0xC0
    assert avp_def("Digest-HA1").flags == 0x40


def test_dictionary_types() -> None:
    assert avp_def("Visited-Network-Identifier").type == "OctetString"
    assert avp_def("Primary-Event-Charging-Function-Name").type == "DiameterURI"
    assert avp_def("Server-Assignment-Type").type == "Enumerated"
    assert avp_def("Host-IP-Address").type == "Address"
    assert avp_def("Origin-Host").type == "DiameterIdentity"


# --- Cx requests ---------------------------------------------------------------------------


def test_make_uar() -> None:
    msg = make_uar(
        session_id=f"{ICSCF};1;1",
        origin_host=ICSCF,
        origin_realm=REALM,
        destination_realm=REALM,
        destination_host=HSS,
        public_identity=IMPU,
        user_name=IMPI,
        visited_network_identifier="visited.example",
        user_authorization_type=UserAuthorizationType.REGISTRATION_AND_CAPABILITIES,
        uar_flags=1,
        hop_by_hop=1,
        end_to_end=2,
    )
    back = rt(msg)
    assert back.name == "UAR"
    assert_cx_head(back, CMD_UAR)
    assert back.get("Destination-Host") == HSS and back.get("Destination-Realm") == REALM
    assert back.get("User-Name") == IMPI and back.get("Public-Identity") == IMPU
    assert back.get("Visited-Network-Identifier") == b"visited.example"
    assert back.get("User-Authorization-Type") == 2 and back.get("UAR-Flags") == 1


def test_make_mar_with_resync() -> None:
    rand_auts = bytes(range(30))
    msg = make_mar(
        session_id=f"{SCSCF};1;2",
        origin_host=SCSCF,
        origin_realm=REALM,
        destination_realm=REALM,
        public_identity=IMPU,
        user_name=IMPI,
        server_name=f"sip:{SCSCF}:6060",
        sip_number_auth_items=3,
        sip_authorization=rand_auts,
        hop_by_hop=3,
        end_to_end=4,
    )
    back = rt(msg)
    assert_cx_head(back, CMD_MAR)
    assert back.find("Destination-Host") is None
    assert back.get("SIP-Number-Auth-Items") == 3
    assert back.get("Server-Name") == f"sip:{SCSCF}:6060"
    item = back.get("SIP-Auth-Data-Item")
    assert item.get("SIP-Authentication-Scheme") == AUTH_SCHEME_AKAV1_MD5
    assert item.get("SIP-Authorization") == rand_auts


def test_make_sar_multiple_identities() -> None:
    msg = make_sar(
        session_id=f"{SCSCF};1;3",
        origin_host=SCSCF,
        origin_realm=REALM,
        destination_realm=REALM,
        server_name=f"sip:{SCSCF}",
        server_assignment_type=ServerAssignmentType.REGISTRATION,
        public_identity=[IMPU, "tel:+15551234"],
        user_name=IMPI,
        multiple_registration_indication=1,
        session_priority=0,
        sar_flags=1,
        wildcarded_public_identity="sip:!.*!@ims.example",
        hop_by_hop=5,
        end_to_end=6,
    )
    back = rt(msg)
    assert_cx_head(back, CMD_SAR)
    assert back.get_all("Public-Identity") == [IMPU, "tel:+15551234"]
    assert back.get("Server-Assignment-Type") == 1
    assert back.get("User-Data-Already-Available") == 0
    assert back.get("SAR-Flags") == 1 and back.get("Session-Priority") == 0
    single = make_sar(
        session_id="s",
        origin_host=SCSCF,
        origin_realm=REALM,
        destination_realm=REALM,
        server_name="sip:s",
        server_assignment_type=3,
        public_identity=IMPU,
        hop_by_hop=1,
        end_to_end=1,
    )
    assert rt(single).get_all("Public-Identity") == [IMPU]
    assert single.find("User-Name") is None


def test_make_lir() -> None:
    msg = make_lir(
        session_id=f"{ICSCF};1;4",
        origin_host=ICSCF,
        origin_realm=REALM,
        destination_realm=REALM,
        public_identity="tel:+15551234",
        originating_request=True,
        user_authorization_type=UserAuthorizationType.REGISTRATION_AND_CAPABILITIES,
        hop_by_hop=7,
        end_to_end=8,
    )
    back = rt(msg)
    assert_cx_head(back, CMD_LIR)
    assert back.get("Originating-Request") == 0 and back.get("User-Authorization-Type") == 2
    assert back.find("User-Name") is None
    plain = make_lir(
        session_id="s",
        origin_host=ICSCF,
        origin_realm=REALM,
        destination_realm=REALM,
        public_identity=IMPU,
        hop_by_hop=1,
        end_to_end=1,
    )
    assert rt(plain).find("Originating-Request") is None


# --- Cx answers ----------------------------------------------------------------------------------


def _req(code: int) -> Message:
    common = {
        "session_id": f"{SCSCF};9;9",
        "origin_host": SCSCF,
        "origin_realm": REALM,
        "destination_realm": REALM,
        "hop_by_hop": 0xABCDEF01,
        "end_to_end": 0x12345678,
    }
    if code == CMD_UAR:
        return make_uar(
            public_identity=IMPU, user_name=IMPI, visited_network_identifier="v", **common
        )
    if code == CMD_MAR:
        return make_mar(public_identity=IMPU, user_name=IMPI, server_name="sip:s", **common)
    if code == CMD_SAR:
        return make_sar(
            public_identity=IMPU,
            user_name=IMPI,
            server_name="sip:s",
            server_assignment_type=1,
            **common,
        )
    return make_lir(public_identity=IMPU, **common)


@pytest.mark.parametrize("code", [CMD_UAR, CMD_MAR, CMD_SAR, CMD_LIR])
def test_cx_answers_round_trip(code: int) -> None:
    req = rt(_req(code))
    ans = cx_answer(
        req,
        origin_host=HSS,
        origin_realm=REALM,
        experimental_result_code=ExperimentalResultCode.DIAMETER_FIRST_REGISTRATION,
    )
    if code == CMD_UAR:
        ans.add("Server-Name", f"sip:{SCSCF}")
        ans.add("Server-Capabilities", [("Mandatory-Capability", 1), ("Optional-Capability", 2)])
    elif code == CMD_MAR:
        ans.add("User-Name", IMPI).add("Public-Identity", IMPU).add("SIP-Number-Auth-Items", 1)
        ans.add(
            "SIP-Auth-Data-Item",
            [
                ("SIP-Item-Number", 1),
                ("SIP-Authentication-Scheme", AUTH_SCHEME_AKAV1_MD5),
                ("SIP-Authenticate", bytes(32)),
                ("SIP-Authorization", bytes(16)),
                ("Confidentiality-Key", bytes(16)),
                ("Integrity-Key", bytes(16)),
            ],
        )
    elif code == CMD_SAR:
        ans.add("User-Name", IMPI).add("User-Data", b"<IMSSubscription/>")
        ans.add("Charging-Information", [("Primary-Event-Charging-Function-Name", "aaa://ecf")])
    else:
        ans.add("Server-Name", f"sip:{SCSCF}").add("LIA-Flags", 0)
    back = rt(ans)
    assert back.name == req.name[:-1] + "A"
    assert not back.is_request and back.proxiable and not back.is_error
    assert (back.hop_by_hop, back.end_to_end) == (req.hop_by_hop, req.end_to_end)
    assert back.get("Session-Id") == req.get("Session-Id") and back.avps[0].code == 263
    assert answer_code(back) == 2001
    assert answer_result(back) == AnswerResult(2001, VENDOR_3GPP)
    assert answer_result(back).experimental and answer_result(back).success
    assert back.find("Result-Code") is None


def test_cx_answer_with_result_code_and_errors() -> None:
    req = _req(CMD_UAR)
    ans = rt(cx_answer(req, origin_host=HSS, origin_realm=REALM, result_code=5003))
    assert answer_code(ans) == ResultCode.DIAMETER_AUTHORIZATION_REJECTED
    assert answer_result(ans) == AnswerResult(5003, None) and not answer_result(ans).success
    with pytest.raises(ValueError):
        cx_answer(req, origin_host=HSS, origin_realm=REALM)
    with pytest.raises(ValueError):
        cx_answer(
            req, origin_host=HSS, origin_realm=REALM, result_code=1, experimental_result_code=1
        )


def test_answer_code_missing_raises() -> None:
    ans = _req(CMD_UAR).answer(origin_host=HSS, origin_realm=REALM)
    with pytest.raises(DiameterParseError) as ei:
        answer_code(ans)
    assert ei.value.result_code == 5005
    ans.add("Experimental-Result", [("Vendor-Id", VENDOR_3GPP)])
    with pytest.raises(DiameterParseError):
        answer_code(ans)


def test_is_success() -> None:
    assert is_success(2001) and is_success(2002) and is_success(2004)
    assert not is_success(1001) and not is_success(3002) and not is_success(5001)


# --- Message.answer (RFC 6733 §6.2) --------------------------------------------------------------


def test_answer_rules() -> None:
    req = _req(CMD_SAR)
    req.retransmit = True
    req.add("Proxy-Info", [("Proxy-Host", "dra1"), ("Proxy-State", b"\x01")])
    req.add("Proxy-Info", [("Proxy-Host", "dra2"), ("Proxy-State", b"\x02")])
    ans = req.answer(ResultCode.DIAMETER_SUCCESS, origin_host=HSS, origin_realm=REALM)
    assert (ans.command_code, ans.application_id) == (CMD_SAR, APP_CX)
    assert not ans.request and ans.proxiable and not ans.retransmit and not ans.error
    assert (ans.hop_by_hop, ans.end_to_end) == (req.hop_by_hop, req.end_to_end)
    assert [a.code for a in ans.avps[:4]] == [263, 268, 264, 296]
    assert [p.get("Proxy-Host") for p in ans.get_all("Proxy-Info")] == ["dra1", "dra2"]
    assert ans.find("Destination-Realm") is None
    # Copies, not aliases.
    assert ans.avps[0] is not req.avps[0] and ans.avps[0] == req.avps[0]
    # cx_answer moves Proxy-Info to the end.
    cxa = cx_answer(req, origin_host=HSS, origin_realm=REALM, result_code=2001)
    assert [a.code for a in cxa.avps[-2:]] == [284, 284]
    rt(cxa)


def test_answer_protocol_error_sets_e_bit_and_non_proxiable_copied() -> None:
    dwr = make_dwr(origin_host=SCSCF, origin_realm=REALM, hop_by_hop=1, end_to_end=2)
    ans = dwr.answer(3010, origin_host=HSS, origin_realm=REALM)
    assert ans.is_error and not ans.proxiable
    assert dwr.answer(5012).is_error is False
    assert dwr.answer().find("Result-Code") is None
    with pytest.raises(ValueError):
        ans.answer(2001)


# --- base protocol builders --------------------------------------------------------------------


def test_make_cer() -> None:
    cer = make_cer(
        origin_host=HSS,
        origin_realm=REALM,
        host_ip_addresses=["127.0.0.1", "::1"],
        vendor_id=VENDOR_3GPP,
        product_name="nfv",
        auth_application_ids=[APP_CX],
        vendor_specific_application_ids=[(VENDOR_3GPP, APP_CX)],
        firmware_revision=1,
        origin_state_id=42,
        hop_by_hop=1,
        end_to_end=2,
    )
    back = rt(cer)
    assert back.name == "CER" and back.command_code == CMD_CER and back.application_id == 0
    assert not back.proxiable
    assert back.get_all("Host-IP-Address") == ["127.0.0.1", "::1"]
    assert back.get_all("Supported-Vendor-Id") == [VENDOR_3GPP]
    assert back.get_all("Auth-Application-Id") == [APP_CX]
    vsai = back.get("Vendor-Specific-Application-Id")
    assert (vsai.get("Vendor-Id"), vsai.get("Auth-Application-Id")) == (VENDOR_3GPP, APP_CX)
    assert back.get("Firmware-Revision") == 1 and back.get("Origin-State-Id") == 42
    cea = back.answer(2001, origin_host=SCSCF, origin_realm=REALM)
    cea.add("Host-IP-Address", "127.0.0.2").add("Vendor-Id", 0).add("Product-Name", "peer")
    assert rt(cea).name == "CEA"


def test_make_dwr_dpr() -> None:
    dwr = rt(
        make_dwr(origin_host=HSS, origin_realm=REALM, hop_by_hop=1, end_to_end=2, origin_state_id=5)
    )
    assert (dwr.command_code, dwr.name, dwr.proxiable) == (CMD_DWR, "DWR", False)
    assert dwr.get("Origin-State-Id") == 5
    dpr = rt(
        make_dpr(
            origin_host=HSS,
            origin_realm=REALM,
            hop_by_hop=1,
            end_to_end=2,
            disconnect_cause=DisconnectCause.DO_NOT_WANT_TO_TALK_TO_YOU,
        )
    )
    assert (dpr.command_code, dpr.name) == (CMD_DPR, "DPR")
    assert dpr.get("Disconnect-Cause") == 2
    dpa = dpr.answer(2001, origin_host=SCSCF, origin_realm=REALM)
    assert rt(dpa).name == "DPA"


# --- identifiers ------------------------------------------------------------------------------


def test_id_generator_layout() -> None:
    gen = IdGenerator(now=0x12345, rng=random.Random(1))
    e2e = [gen.next_end_to_end() for _ in range(5)]
    assert all(e >> 20 == 0x345 for e in e2e)  # high 12 bits: low 12 bits of the time
    assert [(b - a) & 0xFFFFF for a, b in itertools.pairwise(e2e)] == [1, 1, 1, 1]
    hbh = [gen.next_hop_by_hop() for _ in range(3)]
    assert hbh[1] == (hbh[0] + 1) & 0xFFFFFFFF and hbh[2] == (hbh[1] + 1) & 0xFFFFFFFF
    other = IdGenerator(now=0x12345, rng=random.Random(2))
    assert other.next_hop_by_hop() != hbh[0]  # random start


def test_id_generator_wraps() -> None:
    gen = IdGenerator(now=0, rng=random.Random(3))
    gen._hbh = 0xFFFFFFFF
    gen._e2e_low = 0xFFFFF
    assert gen.next_hop_by_hop() == 0
    assert gen.next_end_to_end() == 0


def test_session_ids() -> None:
    sid = new_session_id(SCSCF)
    m = re.fullmatch(r"([^;]+);(\d+);(\d+)", sid)
    assert m is not None and m.group(1) == SCSCF
    assert int(m.group(2)) < 2**32 and int(m.group(3)) < 2**32
    many = {new_session_id(SCSCF) for _ in range(1000)}
    assert len(many) == 1000
    assert new_session_id(SCSCF, "opt").endswith(";opt")
    gen = SessionIdGenerator(now=0)
    assert gen.next("h") == "h;2208988800;0"  # §8.8: high 32 bits = NTP time at start
    assert gen.next("h") == "h;2208988800;1"
