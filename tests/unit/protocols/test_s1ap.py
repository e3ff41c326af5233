"""S1AP codec (TS 36.413): builders, round trips, decoding with a fresh pycrate object,
errors that carry the Error Indication cause, and the TCP framing."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_functions.protocols import s1ap
from network_functions.protocols.s1ap import S1apError, S1apMessage

pytestmark = pytest.mark.unit

LOC = {"mcc": "001", "mnc": "01", "tac": 1, "cell_id": 0x1234567}
IDS = {"mme_ue_s1ap_id": 0x10001, "enb_ue_s1ap_id": 0xABCDE}
NAS = b"\x07\x41" + bytes(range(40))


def _all_messages() -> list[S1apMessage]:
    return [
        s1ap.s1_setup_request(mcc="001", mnc="01", enb_id=0xABCDE, tacs=[1, 2], enb_name="enb-1"),
        s1ap.s1_setup_response(mcc="001", mnc="01", mme_group_id=1, mme_code=1, mme_name="mme"),
        s1ap.s1_setup_failure(("misc", "unknown-PLMN"), time_to_wait="v10s"),
        s1ap.initial_ue_message(enb_ue_s1ap_id=5, nas_pdu=NAS, **LOC),
        s1ap.initial_ue_message(enb_ue_s1ap_id=5, nas_pdu=NAS, s_tmsi=(1, 0xC0000001), **LOC),
        s1ap.downlink_nas_transport(nas_pdu=NAS, **IDS),
        s1ap.uplink_nas_transport(nas_pdu=NAS, **IDS, **LOC),
        s1ap.initial_context_setup_request(
            ue_ambr_ul_bps=50_000_000,
            ue_ambr_dl_bps=100_000_000,
            ebi=5,
            qci=9,
            arp=8,
            sgw_address="127.0.0.30",
            sgw_teid=0xDEADBEEF,
            nas_pdu=NAS,
            ue_network_capability=b"\xe0\xe0",
            kenb=bytes(range(32)),
            **IDS,
        ),
        s1ap.initial_context_setup_response(
            e_rabs=[(5, "127.0.0.10", 1), (6, "2001:db8::1", 2)], **IDS
        ),
        s1ap.ue_context_release_request(cause_value=("radioNetwork", "user-inactivity"), **IDS),
        s1ap.ue_context_release_command(cause_value=("nas", "detach"), **IDS),
        s1ap.ue_context_release_command(
            mme_ue_s1ap_id=3, enb_ue_s1ap_id=None, cause_value=("nas", "normal-release")
        ),
        s1ap.ue_context_release_complete(**IDS),
        s1ap.error_indication(cause_value=("protocol", "transfer-syntax-error"), **IDS),
        s1ap.error_indication(),
    ]


@pytest.mark.parametrize("msg", _all_messages(), ids=lambda m: m.name)
def test_round_trip(msg: S1apMessage) -> None:
    wire = msg.encode()
    assert s1ap.decode(wire) == msg
    assert msg.kind in (s1ap.KIND_INITIATING, s1ap.KIND_SUCCESSFUL, s1ap.KIND_UNSUCCESSFUL)


def _fresh_pycrate_decode(wire: bytes) -> Any:
    # pycrate's generic APER decoder, independent of the codec's hand-written fast path;
    # from_aper replaces whatever value the object held before.
    pdu = importlib.import_module("pycrate_asn1dir.S1AP").S1AP_PDU_Descriptions.S1AP_PDU
    pdu.reset_val()
    pdu.from_aper(wire)
    return pdu.get_val()


@pytest.mark.parametrize("msg", _all_messages(), ids=lambda m: m.name)
def test_fresh_pycrate_object_reads_what_we_wrote(msg: S1apMessage) -> None:
    kind, body = _fresh_pycrate_decode(msg.encode())
    assert kind == msg.kind and body["procedureCode"] == msg.procedure_code
    name, content = body["value"]
    assert name == msg.name
    got = {item["id"]: item["value"][1] for item in content["protocolIEs"]}
    assert len(got) == len(msg.ies)
    for ie_name, value in msg.ies.items():
        assert got[s1ap._IE_IDS[ie_name]] == value, ie_name


def test_known_ie_values() -> None:
    msg = s1ap.decode(s1ap.initial_ue_message(enb_ue_s1ap_id=9, nas_pdu=NAS, **LOC).encode())
    assert msg.name == "InitialUEMessage" and msg.procedure_code == 12
    assert msg.ies["eNB-UE-S1AP-ID"] == 9 and msg.ies["NAS-PDU"] == NAS
    assert msg.ies["TAI"] == {"pLMNidentity": b"\x00\xf1\x10", "tAC": b"\x00\x01"}
    assert msg.ies["EUTRAN-CGI"]["cell-ID"] == (0x1234567, 28)
    ics = s1ap.decode(_all_messages()[7].encode())
    assert s1ap.e_rab_setup_items(ics) == [
        {"ebi": 5, "address": "127.0.0.30", "teid": 0xDEADBEEF, "qci": 9, "arp": 8, "nas_pdu": NAS}
    ]
    assert ics.ies["SecurityKey"] == (int.from_bytes(bytes(range(32)), "big"), 256)
    caps = ics.ies["UESecurityCapabilities"]
    assert caps["encryptionAlgorithms"] == (0xC000, 16)  # 128-EEA1, 128-EEA2
    resp = s1ap.decode(_all_messages()[8].encode())
    assert [(e["ebi"], e["address"], e["teid"]) for e in s1ap.e_rab_setup_items(resp)] == [
        (5, "127.0.0.10", 1),
        (6, "2001:db8::1", 2),
    ]


def test_encode_refuses_invalid_messages() -> None:
    with pytest.raises(ValueError):
        S1apMessage("NoSuchMessage", {})
    with pytest.raises(ValueError):
        S1apMessage("DownlinkNASTransport", {"TAI": {}})  # IE not in this message
    with pytest.raises(ValueError):
        S1apMessage("DownlinkNASTransport", {"MME-UE-S1AP-ID": 1}).encode()  # mandatory missing
    with pytest.raises(ValueError):
        s1ap.downlink_nas_transport(mme_ue_s1ap_id=-1, enb_ue_s1ap_id=1, nas_pdu=b"x").encode()


# --- errors for the peer --------------------------------------------------------------------


def test_garbage_gives_transfer_syntax_error() -> None:
    for data in (b"", b"\x00", b"\xff" * 10, _all_messages()[5].encode()[:-3]):
        with pytest.raises(S1apError) as exc:
            s1ap.decode(data)
        assert exc.value.cause == ("protocol", "transfer-syntax-error")


def test_missing_mandatory_ie_gives_abstract_syntax_error_with_ids() -> None:
    # Build a Downlink NAS Transport without its NAS-PDU by writing the pycrate value directly.
    pdu = s1ap._PDU
    pdu.set_val(
        (
            "initiatingMessage",
            {
                "procedureCode": 11,
                "criticality": "ignore",
                "value": (
                    "DownlinkNASTransport",
                    {
                        "protocolIEs": [
                            {"id": 0, "criticality": "reject", "value": ("MME-UE-S1AP-ID", 4)},
                            {"id": 8, "criticality": "reject", "value": ("ENB-UE-S1AP-ID", 6)},
                        ]
                    },
                ),
            },
        )
    )
    wire = pdu.to_aper()
    with pytest.raises(S1apError) as exc:
        s1ap.decode(wire)
    err = exc.value
    assert err.cause == ("protocol", "abstract-syntax-error-reject")
    assert (err.mme_ue_s1ap_id, err.enb_ue_s1ap_id, err.procedure_code) == (4, 6, 11)
    ind = s1ap.decode(s1ap.error_indication(err).encode())
    assert ind.ies == {
        "MME-UE-S1AP-ID": 4,
        "eNB-UE-S1AP-ID": 6,
        "Cause": ("protocol", "abstract-syntax-error-reject"),
    }


def test_unknown_procedure_code() -> None:
    wire = bytearray(_all_messages()[5].encode())
    wire[1] = 250  # procedure code no S1AP release defines
    with pytest.raises(S1apError) as exc:
        s1ap.decode(bytes(wire))
    assert exc.value.cause[0] == "protocol"


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=120))
def test_decode_raises_only_s1ap_error(data: bytes) -> None:
    try:
        s1ap.decode(data)
    except S1apError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=len(_all_messages()) - 1),
    pos=st.integers(min_value=0, max_value=300),
    value=st.integers(min_value=0, max_value=255),
)
def test_mutated_pdus_raise_only_s1ap_error(index: int, pos: int, value: int) -> None:
    wire = bytearray(_all_messages()[index].encode())
    wire[pos % len(wire)] = value
    try:
        s1ap.decode(bytes(wire))
    except S1apError:
        pass


# --- framing ------------------------------------------------------------------------------------


def test_framing_round_trip_any_split() -> None:
    pdus = [m.encode() for m in _all_messages()]
    stream = b"".join(s1ap.frame(p) for p in pdus)
    for chunk in (1, 3, 7, 64, len(stream)):
        d = s1ap.S1apDeframer()
        got: list[bytes] = []
        for i in range(0, len(stream), chunk):
            got += d.feed(stream[i : i + chunk])
        assert got == pdus and d.buffered == 0


def test_framing_limits() -> None:
    with pytest.raises(S1apError):
        s1ap.S1apDeframer().feed((s1ap.MAX_PDU_SIZE + 1).to_bytes(4, "big"))
    with pytest.raises(S1apError):
        s1ap.S1apDeframer().feed(b"\0\0\0\0")
    with pytest.raises(ValueError):
        s1ap.frame(bytes(s1ap.MAX_PDU_SIZE + 1))
    d = s1ap.S1apDeframer()
    assert d.feed(b"\0\0\0\x05abc") == [] and d.buffered == 7
    assert d.feed(b"de\0") == [b"abcde"] and d.buffered == 1


# --- the fast path equals pycrate's generic APER ------------------------------------------------


@pytest.mark.parametrize("msg", _all_messages(), ids=lambda m: m.name)
def test_fast_path_matches_generic_codec(msg: S1apMessage) -> None:
    fast = msg.encode()
    assert fast == msg.encode_generic()
    assert s1ap.decode(fast) == s1ap.decode_generic(fast) == msg


@settings(max_examples=150, deadline=None)
@given(
    mme_id=st.integers(min_value=0, max_value=2**32 - 1),
    enb_id=st.integers(min_value=0, max_value=2**24 - 1),
    nas_pdu=st.binary(min_size=0, max_size=20000),
    tac=st.integers(min_value=0, max_value=0xFFFF),
    cell=st.integers(min_value=0, max_value=2**28 - 1),
)
def test_fast_path_matches_generic_on_random_values(
    mme_id: int, enb_id: int, nas_pdu: bytes, tac: int, cell: int
) -> None:
    for msg in (
        s1ap.downlink_nas_transport(mme_ue_s1ap_id=mme_id, enb_ue_s1ap_id=enb_id, nas_pdu=nas_pdu),
        s1ap.uplink_nas_transport(
            mme_ue_s1ap_id=mme_id,
            enb_ue_s1ap_id=enb_id,
            nas_pdu=nas_pdu,
            mcc="310",
            mnc="260",
            tac=tac,
            cell_id=cell,
        ),
        s1ap.ue_context_release_complete(mme_ue_s1ap_id=mme_id, enb_ue_s1ap_id=enb_id),
    ):
        wire = msg.encode()
        assert wire == msg.encode_generic()
        assert s1ap.decode(wire) == s1ap.decode_generic(wire) == msg


def _all_causes() -> list[tuple[str, str]]:
    return [(g, v) for g, (names, _) in s1ap._CAUSE_ENUMS.items() for v in names]


def test_every_cause_value_matches_generic_codec() -> None:
    causes = _all_causes()
    assert len(causes) > 50
    for c in causes:
        msg = s1ap.error_indication(cause_value=c, mme_ue_s1ap_id=1)
        wire = msg.encode()
        assert wire == msg.encode_generic(), c
        assert s1ap.decode(wire) == s1ap.decode_generic(wire) == msg


@settings(max_examples=150, deadline=None)
@given(
    ids=st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**24 - 1)),
    ambr=st.tuples(st.integers(0, 10_000_000_000), st.integers(0, 10_000_000_000)),
    ebi=st.integers(0, 15),
    qci=st.integers(0, 255),
    arp=st.integers(0, 15),
    pre=st.tuples(st.booleans(), st.booleans()),
    address=st.sampled_from(["127.0.0.1", "10.0.0.255", "2001:db8::7", "255.255.255.255"]),
    teid=st.integers(0, 2**32 - 1),
    nas_pdu=st.one_of(st.none(), st.binary(max_size=300)),
    caps=st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)),
    key=st.integers(0, 2**256 - 1),
    pair=st.booleans(),
)
def test_context_setup_and_release_fast_path_match_generic(
    ids: tuple[int, int],
    ambr: tuple[int, int],
    ebi: int,
    qci: int,
    arp: int,
    pre: tuple[bool, bool],
    address: str,
    teid: int,
    nas_pdu: bytes | None,
    caps: tuple[int, int],
    key: int,
    pair: bool,
) -> None:
    ics = s1ap.initial_context_setup_request(
        mme_ue_s1ap_id=ids[0],
        enb_ue_s1ap_id=ids[1],
        ue_ambr_ul_bps=ambr[0],
        ue_ambr_dl_bps=ambr[1],
        ebi=ebi,
        qci=qci,
        arp=arp,
        sgw_address=address,
        sgw_teid=teid,
        nas_pdu=nas_pdu,
        ue_network_capability=b"\xe0\xe0",
        kenb=key.to_bytes(32, "big"),
    )
    item = ics.ies["E-RABToBeSetupListCtxtSUReq"][0]["value"][1]
    item["e-RABlevelQoSParameters"]["allocationRetentionPriority"].update(
        {
            "pre-emptionCapability": s1ap._PRE_CAP[pre[0]],
            "pre-emptionVulnerability": s1ap._PRE_VUL[pre[1]],
        }
    )
    ics.ies["UESecurityCapabilities"] = {
        "encryptionAlgorithms": (caps[0], 16),
        "integrityProtectionAlgorithms": (caps[1], 16),
    }
    msgs = [
        ics,
        s1ap.initial_context_setup_response(
            mme_ue_s1ap_id=ids[0],
            enb_ue_s1ap_id=ids[1],
            e_rabs=[(ebi, address, teid), (15 - ebi, "127.0.0.2", 1)],
        ),
        s1ap.ue_context_release_command(
            mme_ue_s1ap_id=ids[0],
            enb_ue_s1ap_id=ids[1] if pair else None,
            cause_value=("nas", "detach"),
        ),
    ]
    for msg in msgs:
        wire = msg.encode()
        assert wire == msg.encode_generic(), msg.name
        assert s1ap.decode(wire) == s1ap.decode_generic(wire) == msg, msg.name


@pytest.mark.parametrize("msg", _all_messages(), ids=lambda m: m.name)
def test_attach_pdus_take_the_fast_path(msg: S1apMessage) -> None:
    # No _Fallback: the hot PDUs never pay for pycrate's whole-PDU APER codec.
    wire = s1ap._fast_encode(s1ap._MSGS[msg.name], msg.ies)
    assert s1ap._fast_decode(wire)[1]["procedureCode"] == msg.procedure_code


def test_unusual_input_falls_back_to_generic_codec() -> None:
    # A GBR bearer (gbrQosInformation) is not on the fast path; the generic codec encodes it.
    ics = _all_messages()[7]
    item = ics.ies["E-RABToBeSetupListCtxtSUReq"][0]["value"][1]
    item["e-RABlevelQoSParameters"]["qCI"] = 1
    item["e-RABlevelQoSParameters"]["gbrQosInformation"] = {
        "e-RAB-MaximumBitrateDL": 128000,
        "e-RAB-MaximumBitrateUL": 128000,
        "e-RAB-GuaranteedBitrateDL": 64000,
        "e-RAB-GuaranteedBitrateUL": 64000,
    }
    with pytest.raises(s1ap._Fallback):
        s1ap._fast_encode(s1ap._MSGS[ics.name], ics.ies)
    wire = ics.encode()
    assert wire == ics.encode_generic()
    assert s1ap.decode(wire) == ics


@pytest.mark.parametrize(
    "hex_pdu",
    [
        # S1 Setup Request whose eNBname has a corrupted length (found by fuzzing): pycrate
        # decodes the IE alone leniently; the open type must hold exactly one valid value.
        "00110030000004003b00080000f11000abcde0003c40079300656e622d310040000d01000040"
        "00f11000008000f1100089400140",
        # S1 Setup Response with a corrupted MMEname length.
        "20110020000003003d400599006d6d650069000b000000f1100000008e000100574001ff",
    ],
)
def test_malformed_ie_inside_valid_open_type_is_rejected(hex_pdu: str) -> None:
    with pytest.raises(S1apError):
        s1ap.decode(bytes.fromhex(hex_pdu))
