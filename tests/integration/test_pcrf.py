"""The PCRF on real processes: Gx CCR-I/U/T from a PGW and Rx AAR/STR from a P-CSCF, across
two PCRF replicas sharing the state store, with the Re-Auth-Requests the PCRF sends to the PGW.

The PGW and the P-CSCF are DiameterClients here with the Origin-Hosts the real NFs use; the
PGW answers RARs with a request handler and records them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from network_functions.protocols.diameter import (
    APP_GX,
    APP_RX,
    CMD_RAR,
    ExperimentalResultCode,
    Message,
    ResultCode,
    answer_result,
    gx,
    new_session_id,
    rx,
    validate,
)
from network_functions.runtime.diameter import DiameterClient

from .corelab import CoreLab, diameter_peer, lab_values, managed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreLab]:
    with managed(CoreLab(tmp_path_factory.mktemp("pcrf"), lab_values())) as lab:
        lab.start("pcrf")
        lab.start("pcrf", address=lab.new_address())
        lab.wait_ready()
        yield lab


def _client(
    lab: CoreLab, address: str, host: str, realm: str, app: int, **kw: Any
) -> DiameterClient:
    return diameter_peer(
        lab,
        "pcrf",
        peer=address,
        origin_host=host,
        origin_realm=realm,
        auth_applications=[app],
        **kw,
    )


class Pgw:
    """A PGW's Gx side with one connection to each PCRF replica; records the RARs."""

    def __init__(self, lab: CoreLab, *, accept: bool = True) -> None:
        self.realm = lab.values["network"]["epc_realm"]
        self.host = f"pgw-0.{self.realm}"
        self.accept = accept
        self.rars: list[Message] = []
        self.clients = [
            _client(lab, r.address, self.host, self.realm, APP_GX, request_handler=self.on_rar)
            for r in lab.replicas
        ]

    async def on_rar(self, req: Message) -> Message:
        assert req.command_code == CMD_RAR and req.application_id == APP_GX
        validate(req)
        self.rars.append(req)
        return gx.raa(
            req,
            origin_host=self.host,
            origin_realm=self.realm,
            result_code=ResultCode.DIAMETER_SUCCESS if self.accept else 5012,
            failed_rules=[] if self.accept else [(n, 1) for n in _names(req)],
        )

    async def __aenter__(self) -> Pgw:
        for c in self.clients:
            c.start()
        for c in self.clients:
            assert await c.wait_ready(10), "no CEA from a PCRF replica"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for c in self.clients:
            await c.close()

    async def ccr(self, replica: int, **kw: Any) -> Message:
        args: dict[str, Any] = {
            "origin_host": self.host,
            "origin_realm": self.realm,
            "destination_realm": self.realm,
            **kw,
        }
        return await self.clients[replica].request(gx.make_ccr(**args))


def _names(rar: Message) -> list[str]:
    return [r.name for r in gx.installed_rules(rar)] + gx.removed_rule_names(rar)


def _run(coro: Any) -> None:
    asyncio.run(coro)


def _ccr_i(sid: str, ue: str, apn: str = "internet", **kw: Any) -> dict[str, Any]:
    return {
        "session_id": sid,
        "request_type": gx.CcRequestType.INITIAL_REQUEST,
        "request_number": 0,
        "imsi": "001010000000001",
        "msisdn": "15550000001",
        "ue_ipv4": ue,
        "apn": apn,
        "default_bearer_qos": gx.BearerQos(9, gx.Arp(15)),
        **kw,
    }


def test_gx_session_lives_across_replicas(lab: CoreLab) -> None:
    apn = lab.values["network"]["apns"][0]

    async def run() -> None:
        async with Pgw(lab) as pgw:
            sid = new_session_id(pgw.host)
            cca = await pgw.ccr(0, **_ccr_i(sid, "10.45.0.2"))
            validate(cca)
            assert answer_result(cca) == (2001, None)
            assert cca.get("CC-Request-Type") == 1 and cca.get("CC-Request-Number") == 0
            dq = gx.BearerQos.from_avp(cca.find("Default-EPS-Bearer-QoS"))  # type: ignore[arg-type]
            assert (dq.qci, dq.arp.priority_level) == (apn["qci"], apn["arp"])
            qi = gx.QosInformation.from_avp(cca.find("QoS-Information"))  # type: ignore[arg-type]
            assert qi.apn_ambr_ul == apn["ambr_ul_kbps"] * 1000
            assert qi.apn_ambr_dl == apn["ambr_dl_kbps"] * 1000
            # The other replica knows the session (shared store): update, then terminate.
            cca = await pgw.ccr(
                1, session_id=sid, request_type=gx.CcRequestType.UPDATE_REQUEST, request_number=1
            )
            assert answer_result(cca) == (2001, None)
            assert cca.get("CC-Request-Number") == 1
            cca = await pgw.ccr(
                1,
                session_id=sid,
                request_type=gx.CcRequestType.TERMINATION_REQUEST,
                request_number=2,
            )
            assert answer_result(cca) == (2001, None)
            cca = await pgw.ccr(
                0,
                session_id=sid,
                request_type=gx.CcRequestType.TERMINATION_REQUEST,
                request_number=3,
            )
            assert answer_result(cca) == (ResultCode.DIAMETER_UNKNOWN_SESSION_ID, None)

    _run(run())


def test_gx_bad_input_gets_the_right_result_codes(lab: CoreLab) -> None:
    async def run() -> None:
        async with Pgw(lab) as pgw:
            cca = await pgw.ccr(0, **_ccr_i(new_session_id(pgw.host), "10.45.0.3", apn="nope"))
            assert answer_result(cca) == (
                ExperimentalResultCode.DIAMETER_ERROR_INITIAL_PARAMETERS,
                10415,
            )
            # CCR-I without the subscriber: DIAMETER_MISSING_AVP, still a well-formed CCA.
            args = _ccr_i(new_session_id(pgw.host), "10.45.0.4")
            args.pop("imsi")
            args.pop("msisdn")
            cca = await pgw.ccr(0, **args)
            assert answer_result(cca) == (ResultCode.DIAMETER_MISSING_AVP, None)
            validate(cca)
            assert cca.get("Auth-Application-Id") == APP_GX
            assert cca.get("CC-Request-Type") == 1
            assert cca.find("Failed-AVP") is not None
            # An unknown CC-Request-Type: DIAMETER_INVALID_AVP_VALUE.
            cca = await pgw.ccr(
                1, session_id=new_session_id(pgw.host), request_type=9, request_number=0
            )
            assert answer_result(cca) == (ResultCode.DIAMETER_INVALID_AVP_VALUE, None)
            # No CC-Request-Number at all: caught by the ABNF check (5005).
            req = gx.make_ccr(
                session_id=new_session_id(pgw.host),
                origin_host=pgw.host,
                origin_realm=pgw.realm,
                destination_realm=pgw.realm,
                request_type=1,
                request_number=0,
            )
            req.avps = [a for a in req.avps if a.code != 415]
            cca = await pgw.clients[0].request(req)
            assert answer_result(cca) == (ResultCode.DIAMETER_MISSING_AVP, None)
            validate(cca)

    _run(run())


def _audio(ue: str, remote: str) -> rx.MediaComponent:
    return rx.MediaComponent(
        number=1,
        media_type=rx.MediaType.AUDIO,
        max_ul=49_000,
        max_dl=49_000,
        flows=(
            rx.MediaFlow(
                1,
                (
                    f"permit out 17 from {remote} 50000 to {ue} 49152",
                    f"permit in 17 from {ue} 49152 to {remote} 50000",
                ),
            ),
        ),
    )


def test_rx_call_installs_and_removes_a_qci1_rule_on_the_pgw(lab: CoreLab) -> None:
    ims = lab.values["network"]["ims_domain"]
    pcscf_host = f"pcscf.{ims}"

    async def run() -> None:
        async with Pgw(lab) as pgw:
            gx_sid = new_session_id(pgw.host)
            cca = await pgw.ccr(0, **_ccr_i(gx_sid, "10.46.0.2", apn="ims"))
            assert answer_result(cca) == (2001, None)
            pcscf = [_client(lab, r.address, pcscf_host, ims, APP_RX) for r in lab.replicas]
            for c in pcscf:
                c.start()
                assert await c.wait_ready(10)
            try:
                common = {"origin_host": pcscf_host, "origin_realm": ims}
                rx_sid = new_session_id(pcscf_host)
                # AAR on replica 1 for the session created through replica 0.
                aaa = await pcscf[1].request(
                    rx.make_aar(
                        session_id=rx_sid,
                        destination_realm=pgw.realm,
                        ue_ipv4="10.46.0.2",
                        media=[_audio("10.46.0.2", "10.46.0.3")],
                        af_charging_identifier=b"icid-42",
                        subscriber="sip:15550000001@" + ims,
                        **common,
                    )
                )
                validate(aaa)
                assert answer_result(aaa) == (2001, None)
                (rar,) = pgw.rars
                assert rar.get("Session-Id") == gx_sid
                assert rar.get("Destination-Host") == pgw.host
                (rule,) = gx.installed_rules(rar)
                assert rule.qos.qci == 1
                assert rule.qos.gbr_ul == rule.qos.mbr_ul == 49_000
                assert rule.qos.arp is not None and rule.qos.arp.priority_level == 2
                assert rule.af_charging_identifier == b"icid-42"
                assert [f.direction for f in rule.flows] == [
                    gx.FlowDirection.DOWNLINK,
                    gx.FlowDirection.UPLINK,
                ]
                # STR on replica 0 removes it.
                sta = await pcscf[0].request(
                    rx.make_str(session_id=rx_sid, destination_realm=pgw.realm, **common)
                )
                assert answer_result(sta) == (2001, None)
                assert len(pgw.rars) == 2
                assert gx.removed_rule_names(pgw.rars[1]) == [rule.name]
                sta = await pcscf[0].request(
                    rx.make_str(session_id=rx_sid, destination_realm=pgw.realm, **common)
                )
                assert answer_result(sta) == (ResultCode.DIAMETER_UNKNOWN_SESSION_ID, None)
                # A UE without an IP-CAN session.
                aaa = await pcscf[0].request(
                    rx.make_aar(
                        session_id=new_session_id(pcscf_host),
                        destination_realm=pgw.realm,
                        ue_ipv4="10.46.9.9",
                        media=[_audio("10.46.9.9", "10.46.0.3")],
                        **common,
                    )
                )
                assert answer_result(aaa) == (
                    ExperimentalResultCode.IP_CAN_SESSION_NOT_AVAILABLE,
                    10415,
                )
                # The PGW refuses the rule: the AF is told the service is not authorised.
                pgw.accept = False
                aaa = await pcscf[0].request(
                    rx.make_aar(
                        session_id=new_session_id(pcscf_host),
                        destination_realm=pgw.realm,
                        ue_ipv4="10.46.0.2",
                        media=[_audio("10.46.0.2", "10.46.0.3")],
                        **common,
                    )
                )
                assert answer_result(aaa) == (
                    ExperimentalResultCode.REQUESTED_SERVICE_NOT_AUTHORIZED,
                    10415,
                )
            finally:
                for c in pcscf:
                    await c.close()
            cca = await pgw.ccr(
                1,
                session_id=gx_sid,
                request_type=gx.CcRequestType.TERMINATION_REQUEST,
                request_number=1,
            )
            assert answer_result(cca) == (2001, None)

    _run(run())


def test_metrics(lab: CoreLab) -> None:
    text = lab.replicas[0].metrics() + lab.replicas[1].metrics()
    assert 'pcrf_ccr_total{type="initial",result="2001"}' in text
    assert "pcrf_gx_rar_total" in text
