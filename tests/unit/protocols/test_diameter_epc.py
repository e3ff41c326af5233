"""S6a (TS 29.272), Gx (TS 29.212) and Rx (TS 29.214): builders, readers, the dictionary's
AVP layouts, validate() on bad input and property tests (only DiameterParseError escapes)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network_functions.protocols.diameter import (
    APP_GX,
    APP_RX,
    APP_S6A,
    CMD_AAR,
    CMD_AIR,
    CMD_CCR,
    CMD_CLR,
    CMD_PUR,
    CMD_RAR,
    CMD_STR,
    CMD_ULR,
    VENDOR_3GPP,
    Avp,
    DiameterParseError,
    ExperimentalResultCode,
    Grouped,
    Message,
    ResultCode,
    answer_result,
    avp_def,
    error_answer,
    gx,
    make_avp,
    rx,
    s6a,
    validate,
)
from network_functions.protocols.kdf import plmn_bytes

pytestmark = pytest.mark.unit

MME = {"origin_host": "mme.epc.example", "origin_realm": "epc.example"}
HSS = {"origin_host": "hss.epc.example", "origin_realm": "epc.example"}
PGW = {"origin_host": "pgw.epc.example", "origin_realm": "epc.example"}
PCRF = {"origin_host": "pcrf.epc.example", "origin_realm": "epc.example"}
PCSCF = {"origin_host": "pcscf.ims.example", "origin_realm": "ims.example"}
REALM = {"destination_realm": "epc.example"}
IMSI = "001010123456789"
PLMN = plmn_bytes("001", "01")
VOICE = gx.ChargingRule(
    name="volte",
    qos=gx.QosInformation(qci=1, arp=gx.Arp(2, 0, 1), mbr_ul=49_000, mbr_dl=49_000),
    flows=(gx.Flow("permit out 17 from 10.0.0.2 to 10.0.0.1 4000", gx.FlowDirection.DOWNLINK),),
)


def _roundtrip(msg: Message) -> Message:
    wire = msg.encode()
    back = Message.decode(wire)
    assert back == msg
    assert back.encode() == wire
    validate(back)
    return back


def _fails(msg: Message) -> DiameterParseError:
    with pytest.raises(DiameterParseError) as exc:
        validate(Message.decode(msg.encode()))
    return exc.value


# --- the dictionary: AVP layouts (RFC 6733 §4.1 header with the spec's codes and flags) ---------


@pytest.mark.parametrize(
    ("name", "code", "flags"),
    [
        ("KASME", 1450, 0xC0),  # TS 29.272 Table 7.3.1: M, V
        ("Visited-PLMN-Id", 1407, 0xC0),
        ("Re-Synchronization-Info", 1411, 0xC0),
        ("Subscription-Data", 1400, 0xC0),
        ("PUR-Flags", 1635, 0x80),  # Rel-9+: V only
        ("CC-Request-Type", 416, 0x40),  # RFC 8506: M, IETF space
        ("QoS-Class-Identifier", 1028, 0xC0),  # TS 29.212 Table 5.3.1
        ("Priority-Level", 1046, 0x80),
        ("Charging-Rule-Install", 1001, 0xC0),
        ("Media-Component-Description", 517, 0xC0),  # TS 29.214 Table 5.3.1
        ("Max-Requested-Bandwidth-UL", 516, 0xC0),
    ],
)
def test_avp_codes_and_flags(name: str, code: int, flags: int) -> None:
    d = avp_def(name)
    assert (d.code, d.flags) == (code, flags)


def test_kasme_avp_bytes() -> None:
    # RFC 6733 §4.1: code (4) | flags (1) | length (3) | vendor (4) | data, padded to 4.
    wire = make_avp("KASME", bytes(range(32))).encode()
    assert wire[:12] == bytes.fromhex("000005aac000002c000028af")
    assert wire[12:] == bytes(range(32))
    plmn = make_avp("Visited-PLMN-Id", PLMN).encode()
    assert plmn == bytes.fromhex("0000057fc000000f000028af00f11000")


def test_encodings() -> None:
    assert s6a.plmn_id("001", "01") == bytes.fromhex("00f110")
    assert s6a.plmn_id("310", "410") == bytes.fromhex("130014")
    assert s6a.read_plmn(bytes.fromhex("130014")) == ("310", "410")
    assert s6a.read_plmn(bytes.fromhex("00f110")) == ("001", "01")
    with pytest.raises(ValueError):
        s6a.read_plmn(bytes.fromhex("a0f110"))
    # TS 29.329 §6.3.2: MSISDN as TBCD, filler F after an odd count.
    assert s6a.tbcd("15550000001") == bytes.fromhex("5155000000f1")
    assert s6a.read_tbcd(bytes.fromhex("5155000000f1")) == "15550000001"
    assert s6a.read_tbcd(s6a.tbcd("1234")) == "1234"
    with pytest.raises(ValueError):
        s6a.read_tbcd(bytes.fromhex("ab"))
    with pytest.raises(ValueError):
        s6a.tbcd("12a")


# --- S6a ----------------------------------------------------------------------------------------


def _air(**kw: object) -> Message:
    args: dict[str, object] = {
        "session_id": "mme;1;1",
        "imsi": IMSI,
        "visited_plmn_id": PLMN,
        **MME,
        **REALM,
        **kw,
    }
    return s6a.make_air(**args)  # type: ignore[arg-type]


def _ulr(**kw: object) -> Message:
    args: dict[str, object] = {
        "session_id": "mme;1;2",
        "imsi": IMSI,
        "visited_plmn_id": PLMN,
        **MME,
        **REALM,
        **kw,
    }
    return s6a.make_ulr(**args)  # type: ignore[arg-type]


SUBSCRIPTION = s6a.SubscriptionData(
    msisdn="15550000001",
    ambr_ul=200_000_000,
    ambr_dl=300_000_000,
    apns=(
        s6a.ApnProfile(1, "internet", 9, gx.Arp(8), 100_000_000, 100_000_000),
        s6a.ApnProfile(2, "ims", 5, gx.Arp(1, 0, 1), 2_000_000, 2_000_000),
    ),
    default_context=2,
)


def test_s6a_requests_and_answers_roundtrip() -> None:
    air = _roundtrip(_air(number_of_vectors=3, resync_info=bytes(range(30))))
    assert (air.command_code, air.application_id, air.proxiable) == (CMD_AIR, APP_S6A, True)
    assert air.get("Vendor-Specific-Application-Id").get("Auth-Application-Id") == APP_S6A
    assert air.get("Auth-Session-State") == 1
    asked = s6a.read_auth_request(air)
    assert asked == s6a.AuthRequest(3, bytes(range(30)))
    assert s6a.read_auth_request(_air(number_of_vectors=50)).number_of_vectors == 5
    assert s6a.read_imsi(air) == IMSI
    assert s6a.read_visited_plmn(air) == PLMN

    vectors = [
        s6a.EutranVector(bytes([i]) * 16, bytes([i]) * 8, bytes([i + 1]) * 16, bytes([i]) * 32)
        for i in range(2)
    ]
    aia = _roundtrip(s6a.add_vectors(s6a.s6a_answer(air, result_code=2001, **HSS), vectors))
    assert s6a.read_vectors(aia) == vectors
    items = [v.get("Item-Number") for v in aia.get("Authentication-Info").get_all("E-UTRAN-Vector")]
    assert items == [1, 2]

    ulr = _roundtrip(_ulr(imei="3569380356438091", software_version="01"))
    assert (ulr.command_code, ulr.get("RAT-Type")) == (CMD_ULR, gx.RatType.EUTRAN)
    assert ulr.get("ULR-Flags") == s6a.ULR_S6A_S6D_INDICATOR | s6a.ULR_INITIAL_ATTACH_INDICATOR
    assert ulr.get("Terminal-Information").get("IMEI") == "3569380356438091"
    ula = s6a.s6a_answer(ulr, result_code=2001, **HSS).add("ULA-Flags", 1)
    ula.add("Subscription-Data", SUBSCRIPTION.avps())
    data = s6a.read_subscription_data(_roundtrip(ula))
    assert data == SUBSCRIPTION
    assert data is not None and data.default_apn == SUBSCRIPTION.apns[1]

    pur = _roundtrip(s6a.make_pur(session_id="mme;1;3", imsi=IMSI, **MME, **REALM))
    assert (pur.command_code, pur.get("PUR-Flags")) == (CMD_PUR, s6a.PUR_UE_PURGED_IN_MME)
    _roundtrip(s6a.s6a_answer(pur, result_code=2001, **HSS).add("PUA-Flags", 1))
    clr = _roundtrip(
        s6a.make_clr(
            session_id="hss;1;4",
            imsi=IMSI,
            destination_host="mme.epc.example",
            cancellation_type=s6a.CancellationType.INITIAL_ATTACH_PROCEDURE,
            **HSS,
            **REALM,
        )
    )
    assert (clr.command_code, clr.get("Cancellation-Type")) == (CMD_CLR, 4)
    _roundtrip(s6a.s6a_answer(clr, result_code=2001, **MME))
    unknown = _roundtrip(
        s6a.s6a_answer(
            air,
            experimental_result_code=ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN,
            **HSS,
        )
    )
    assert answer_result(unknown) == (5001, VENDOR_3GPP)
    with pytest.raises(ValueError):
        s6a.s6a_answer(air, **HSS)


def test_s6a_result_code_values() -> None:
    e = ExperimentalResultCode
    assert e.DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION == 5420
    assert e.DIAMETER_ERROR_RAT_NOT_ALLOWED == 5421
    assert e.DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE == 4181
    assert e.DIAMETER_ERROR_ROAMING_NOT_ALLOWED == 5004
    assert e.DIAMETER_ERROR_INITIAL_PARAMETERS == 5140
    assert e.IP_CAN_SESSION_NOT_AVAILABLE == 5065


def test_s6a_validate_bad_input() -> None:
    ulr = _ulr()
    ulr.avps = [a for a in ulr.avps if a.code != 1032]  # RAT-Type
    err = _fails(ulr)
    assert err.result_code == ResultCode.DIAMETER_MISSING_AVP
    assert err.failed_avp is not None and err.failed_avp.code == 1032
    assert err.failed_avp.data == bytes(4)  # §7.1.5: zero-filled example
    answer = error_answer(ulr, err, **HSS)
    assert answer.get("Vendor-Specific-Application-Id") is not None
    assert answer.get("Auth-Session-State") == 1
    validate(Message.decode(answer.encode()))

    twice = _ulr().add("Visited-PLMN-Id", PLMN)
    assert _fails(twice).result_code == ResultCode.DIAMETER_AVP_OCCURS_TOO_MANY_TIMES
    unknown = _air()
    unknown.avps.append(Avp(9999, b"x", flags=0x40, vendor_id=VENDOR_3GPP))
    assert _fails(unknown).result_code == ResultCode.DIAMETER_AVP_UNSUPPORTED
    short = _air()
    short.avps.append(Avp(1405, b"\0\0", flags=0xC0, vendor_id=VENDOR_3GPP))  # ULR-Flags, 2 B
    assert _fails(short).result_code == ResultCode.DIAMETER_INVALID_AVP_LENGTH
    # A broken APN-Configuration deep inside Subscription-Data: Failed-AVP keeps the nesting.
    ula = s6a.s6a_answer(_ulr(), result_code=2001, **HSS)
    ula.add(
        "Subscription-Data",
        [
            (
                "APN-Configuration-Profile",
                [
                    ("Context-Identifier", 1),
                    ("All-APN-Configurations-Included-Indicator", 0),
                    ("APN-Configuration", [("PDN-Type", 0), ("Service-Selection", "x")]),
                ],
            )
        ],
    )
    err = _fails(ula)
    assert err.result_code == ResultCode.DIAMETER_MISSING_AVP
    assert err.failed_avp is not None and err.failed_avp.code == 1400
    inner = Grouped.decode(err.failed_avp.data).avps[0]
    assert inner.code == 1429


def test_s6a_readers_reject_bad_values() -> None:
    with pytest.raises(DiameterParseError) as exc:
        s6a.read_auth_request(_air(resync_info=b"short"))
    assert exc.value.result_code == ResultCode.DIAMETER_INVALID_AVP_VALUE
    with pytest.raises(DiameterParseError) as exc:
        s6a.read_imsi(_air(imsi="alice"))
    assert exc.value.result_code == ResultCode.DIAMETER_INVALID_AVP_VALUE
    with pytest.raises(DiameterParseError) as exc:
        s6a.read_visited_plmn(_air(visited_plmn_id=b"\xff\xff\xff"))
    assert exc.value.result_code == ResultCode.DIAMETER_INVALID_AVP_VALUE
    aia = s6a.s6a_answer(_air(), result_code=2001, **HSS)
    aia.add(
        "Authentication-Info",
        [("E-UTRAN-Vector", [("RAND", b"1"), ("XRES", b"2"), ("AUTN", b"3"), ("KASME", b"4")])],
    )
    with pytest.raises(DiameterParseError) as exc:
        s6a.read_vectors(aia)
    assert exc.value.result_code == ResultCode.DIAMETER_INVALID_AVP_VALUE
    assert s6a.read_auth_request(Message(CMD_AIR, APP_S6A, request=True)).number_of_vectors == 0


# --- Gx ---------------------------------------------------------------------------------------


def _ccr(**kw: object) -> Message:
    args: dict[str, object] = {
        "session_id": "pgw;1;1",
        "request_type": gx.CcRequestType.INITIAL_REQUEST,
        "request_number": 0,
        "imsi": IMSI,
        "msisdn": "15550000001",
        "ue_ipv4": "10.45.0.7",
        "apn": "internet",
        "default_bearer_qos": gx.BearerQos(9, gx.Arp(8)),
        "qos_information": gx.QosInformation(apn_ambr_ul=1_000_000, apn_ambr_dl=2_000_000),
        **PGW,
        **REALM,
        **kw,
    }
    return gx.make_ccr(**args)  # type: ignore[arg-type]


def test_gx_ccr_cca_roundtrip_and_read() -> None:
    ccr = _roundtrip(_ccr())
    assert (ccr.command_code, ccr.application_id) == (CMD_CCR, APP_GX)
    assert ccr.get("Auth-Application-Id") == APP_GX
    info = gx.read_ccr(ccr)
    assert (info.imsi, info.msisdn, info.ue_ipv4, info.apn) == (
        IMSI,
        "15550000001",
        "10.45.0.7",
        "internet",
    )
    assert info.default_bearer_qos == gx.BearerQos(9, gx.Arp(8))
    assert info.qos_information is not None and info.qos_information.apn_ambr_dl == 2_000_000
    assert info.ip_can_type == gx.IpCanType.THREEGPP_EPS and info.rat_type == gx.RatType.EUTRAN
    cca = _roundtrip(
        gx.cca(
            ccr,
            result_code=2001,
            default_bearer_qos=gx.BearerQos(5, gx.Arp(1)),
            qos_information=gx.QosInformation(apn_ambr_ul=8_000_000_000, apn_ambr_dl=1),
            install=[VOICE],
            remove=["old"],
            **PCRF,
        )
    )
    assert (cca.get("CC-Request-Type"), cca.get("CC-Request-Number")) == (1, 0)
    assert gx.installed_rules(cca) == [VOICE]
    assert gx.removed_rule_names(cca) == ["old"]
    qi = gx.QosInformation.from_avp(cca.find("QoS-Information"))  # type: ignore[arg-type]
    # Above 2^32-1 bit/s: the Unsigned32 AVP saturates, Extended-APN-AMBR-UL carries kbit/s.
    assert qi.apn_ambr_ul == 8_000_000_000
    assert cca.get("QoS-Information").get("APN-Aggregate-Max-Bitrate-UL") == 0xFFFFFFFF
    ccr_t = _roundtrip(
        gx.make_ccr(
            session_id="pgw;1;1",
            request_type=gx.CcRequestType.TERMINATION_REQUEST,
            request_number=1,
            **PGW,
            **REALM,
        )
    )
    assert ccr_t.get("Termination-Cause") == gx.TerminationCause.DIAMETER_LOGOUT
    assert gx.read_ccr(ccr_t).request_type == 3


def test_gx_rar_raa_roundtrip() -> None:
    rar = _roundtrip(
        gx.make_rar(
            session_id="pgw;1;1",
            destination_host="pgw.epc.example",
            install=[VOICE],
            **PCRF,
            **REALM,
        )
    )
    assert (rar.command_code, rar.application_id) == (CMD_RAR, APP_GX)
    assert rar.get("Re-Auth-Request-Type") == gx.ReAuthRequestType.AUTHORIZE_ONLY
    (rule,) = gx.installed_rules(rar)
    assert rule == VOICE and rule.qos.qci == 1
    raa = _roundtrip(gx.raa(rar, result_code=5012, failed_rules=[("volte", 3)], **PGW))
    report = raa.get("Charging-Rule-Report")
    assert report.get("PCC-Rule-Status") == gx.PccRuleStatus.INACTIVE
    assert report.get("Rule-Failure-Code") == 3


def test_gx_bad_input() -> None:
    ccr = _ccr()
    ccr.avps = [a for a in ccr.avps if a.code != 416]
    err = _fails(ccr)
    assert err.result_code == ResultCode.DIAMETER_MISSING_AVP
    ans = error_answer(ccr, err, **PCRF)
    assert ans.get("Auth-Application-Id") == APP_GX
    assert ans.get("CC-Request-Number") == 0
    validate(Message.decode(ans.encode()))
    with pytest.raises(DiameterParseError) as exc:
        gx.read_ccr(_ccr(request_type=7))
    assert exc.value.result_code == ResultCode.DIAMETER_INVALID_AVP_VALUE
    with pytest.raises(DiameterParseError) as exc:
        gx.read_ccr(_ccr(imsi=None, msisdn=None))
    assert exc.value.result_code == ResultCode.DIAMETER_MISSING_AVP
    bad_ip = _ccr(ue_ipv4=None).add("Framed-IP-Address", b"\x01\x02")
    with pytest.raises(DiameterParseError) as exc:
        gx.read_ccr(bad_ip)
    assert exc.value.result_code == ResultCode.DIAMETER_INVALID_AVP_VALUE
    bad_arp = _ccr(default_bearer_qos=None)
    bad_arp.add(
        "Default-EPS-Bearer-QoS",
        [("QoS-Class-Identifier", 9), ("Allocation-Retention-Priority", [("Priority-Level", 0)])],
    )
    with pytest.raises(DiameterParseError) as exc:
        gx.read_ccr(bad_arp)
    assert exc.value.result_code == ResultCode.DIAMETER_INVALID_AVP_VALUE
    # Allocation-Retention-Priority's ABNF (TS 29.212 §5.3.32) has no *[ AVP ].
    extra = _ccr(default_bearer_qos=None)
    extra.add(
        "Default-EPS-Bearer-QoS",
        [
            ("QoS-Class-Identifier", 9),
            ("Allocation-Retention-Priority", [("Priority-Level", 8), ("Precedence", 1)]),
        ],
    )
    err = _fails(extra)
    assert err.result_code == ResultCode.DIAMETER_AVP_NOT_ALLOWED
    assert err.failed_avp is not None and err.failed_avp.code == 1049
    many = gx.cca(_ccr(), result_code=2001, install=[VOICE] * 65, **PCRF)
    with pytest.raises(DiameterParseError) as exc:
        gx.installed_rules(many)
    assert exc.value.result_code == ResultCode.DIAMETER_RESOURCES_EXCEEDED
    with pytest.raises(ValueError):
        gx.Arp(0)
    with pytest.raises(ValueError):
        gx.BearerQos(300, gx.Arp(1))


# --- Rx ---------------------------------------------------------------------------------------

AUDIO = rx.MediaComponent(
    number=1,
    max_ul=41_000,
    max_dl=41_000,
    flows=(
        rx.MediaFlow(1, ("permit out 17 from 10.0.0.2 5000 to 10.46.0.2 4000",)),
        rx.MediaFlow(2, ("permit in 17 from 10.46.0.2 4001 to 10.0.0.2 5001",), rx.FlowUsage.RTCP),
    ),
    codec_data=(b"uplink\noffer\n",),
)


def _aar(**kw: object) -> Message:
    args: dict[str, object] = {
        "session_id": "pcscf;1;1",
        "ue_ipv4": "10.46.0.2",
        "media": [AUDIO],
        **PCSCF,
        **REALM,
        **kw,
    }
    return rx.make_aar(**args)  # type: ignore[arg-type]


def test_rx_roundtrip_and_read() -> None:
    aar = _roundtrip(_aar(af_charging_identifier=b"icid", subscriber="tel:+15550000001"))
    assert (aar.command_code, aar.application_id) == (CMD_AAR, APP_RX)
    info = rx.read_aar(aar)
    assert info.media == (AUDIO,)
    assert (info.ue_ipv4, info.af_charging_identifier, info.subscriber) == (
        "10.46.0.2",
        b"icid",
        "15550000001",
    )
    assert aar.get("Subscription-Id").get("Subscription-Id-Type") == 0  # E.164
    _roundtrip(rx.aaa(aar, result_code=2001, **PCRF))
    _roundtrip(rx.aaa(aar, experimental_result_code=5065, **PCRF))
    str_ = _roundtrip(rx.make_str(session_id="pcscf;1;1", **PCSCF, **REALM))
    assert (str_.command_code, str_.get("Termination-Cause")) == (CMD_STR, 1)
    sta = _roundtrip(rx.sta(str_, **PCRF))
    assert sta.get("Auth-Application-Id") is None  # STA has none (§5.6.6)


def test_rx_bad_input() -> None:
    aar = _aar()
    aar.avps = [a for a in aar.avps if a.code != 258]
    assert _fails(aar).result_code == ResultCode.DIAMETER_MISSING_AVP
    no_number = _aar(media=[])
    no_number.add("Media-Component-Description", [("Media-Type", 0)])
    err = _fails(no_number)
    assert err.result_code == ResultCode.DIAMETER_MISSING_AVP
    assert err.failed_avp is not None and err.failed_avp.code == 517
    too_many = _aar(media=[AUDIO] * (rx.MAX_MEDIA_COMPONENTS + 1))
    with pytest.raises(DiameterParseError) as exc:
        rx.read_aar(too_many)
    assert exc.value.result_code == ResultCode.DIAMETER_RESOURCES_EXCEEDED
    bad_type = _aar(media=[])
    bad_type.add("Media-Component-Description", [("Media-Component-Number", 1), ("Media-Type", 99)])
    with pytest.raises(DiameterParseError) as exc:
        rx.read_aar(bad_type)
    assert exc.value.result_code == ResultCode.DIAMETER_INVALID_AVP_VALUE
    three_flows = _aar(media=[])
    three_flows.add(
        "Media-Component-Description",
        [
            ("Media-Component-Number", 1),
            ("Media-Sub-Component", [("Flow-Number", 1)] + [("Flow-Description", "x")] * 3),
        ],
    )
    assert _fails(three_flows).result_code == ResultCode.DIAMETER_AVP_OCCURS_TOO_MANY_TIMES


# --- property tests ---------------------------------------------------------------------------

FUZZ = settings(
    max_examples=300,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _seeds() -> list[bytes]:
    ula = s6a.s6a_answer(_ulr(), result_code=2001, **HSS)
    ula.add("Subscription-Data", SUBSCRIPTION.avps())
    aia = s6a.add_vectors(
        s6a.s6a_answer(_air(), result_code=2001, **HSS),
        [s6a.EutranVector(bytes(16), bytes(8), bytes(16), bytes(32))],
    )
    cca = gx.cca(_ccr(), result_code=2001, install=[VOICE], **PCRF)
    return [
        m.encode() for m in (_air(resync_info=bytes(30)), aia, _ulr(), ula, _ccr(), cca, _aar())
    ]


def _answer_result(msg: Message) -> None:
    if not msg.request:
        answer_result(msg)


def _read_ccr(msg: Message) -> None:
    if msg.find("CC-Request-Type") is not None and msg.find("CC-Request-Number") is not None:
        gx.read_ccr(msg)


READERS = (
    validate,
    s6a.read_auth_request,
    s6a.read_vectors,
    s6a.read_subscription_data,
    _read_ccr,
    gx.installed_rules,
    gx.removed_rule_names,
    rx.read_aar,
    _answer_result,
)


@FUZZ
@given(
    seed=st.sampled_from(_seeds()),
    edits=st.lists(st.tuples(st.integers(20, 2000), st.integers(0, 255)), max_size=6),
)
def test_readers_raise_only_parse_errors(seed: bytes, edits: list[tuple[int, int]]) -> None:
    data = bytearray(seed)
    for pos, value in edits:
        data[pos % len(data)] = value
    try:
        msg = Message.decode(bytes(data))
    except DiameterParseError:
        return
    # Each reader on its own: one failing must not hide another's crash.
    for reader in READERS:
        try:
            reader(msg)
        except DiameterParseError:
            pass
