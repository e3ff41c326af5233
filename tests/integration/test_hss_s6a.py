"""The HSS's S6a on real processes: AIR/ULR/PUR from MMEs (DiameterClients in this test),
Cancel-Location to the old MME, errors, and a second HSS replica serving the same UE.

The HSS runs from the chart's lab values (the same rendered config as `nfv up`); the MMEs
are DiameterClients with the Origin-Hosts real MMEs would use, one of them answering the
HSS's CLR with a request handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from network_functions.protocols import aka, kdf
from network_functions.protocols.diameter import (
    APP_S6A,
    CMD_CLR,
    VENDOR_3GPP,
    ExperimentalResultCode,
    Message,
    ResultCode,
    answer_result,
    new_session_id,
    s6a,
)

from .corelab import CoreLab, diameter_peer, lab_values, managed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreLab]:
    with managed(CoreLab(tmp_path_factory.mktemp("hss-s6a"), lab_values())) as lab:
        lab.start("hss")
        lab.start("hss", address=lab.new_address())  # a second replica, same store
        lab.wait_ready()
        yield lab


class Mme:
    """An MME's S6a side: a DiameterClient to one HSS replica that records CLRs."""

    def __init__(self, lab: CoreLab, name: str, hss_address: str) -> None:
        self.epc_realm = lab.values["network"]["epc_realm"]
        self.host = f"{name}.{self.epc_realm}"
        self.plmn = kdf.plmn_bytes(lab.values["network"]["mcc"], lab.values["network"]["mnc"])
        self.cancelled: list[Message] = []
        self.client = diameter_peer(
            lab,
            "hss",
            peer=hss_address,
            origin_host=self.host,
            origin_realm=self.epc_realm,
            vendor_applications=[(VENDOR_3GPP, APP_S6A)],
            request_handler=self.on_request,
        )

    async def on_request(self, req: Message) -> Message:
        assert req.command_code == CMD_CLR
        self.cancelled.append(req)
        return s6a.s6a_answer(
            req, origin_host=self.host, origin_realm=self.epc_realm, result_code=2001
        )

    async def __aenter__(self) -> Mme:
        self.client.start()
        assert await self.client.wait_ready(10), "no CEA from the HSS"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()

    def _common(self) -> dict[str, str]:
        return {
            "session_id": new_session_id(self.host),
            "origin_host": self.host,
            "origin_realm": self.epc_realm,
            "destination_realm": self.epc_realm,
        }

    async def air(self, imsi: str, *, resync: bytes | None = None, n: int = 1) -> Message:
        req = s6a.make_air(
            imsi=imsi,
            visited_plmn_id=self.plmn,
            number_of_vectors=n,
            resync_info=resync,
            **self._common(),
        )
        return await self.client.request(req)

    async def ulr(self, imsi: str, **kw: object) -> Message:
        args: dict[str, object] = {"imsi": imsi, "visited_plmn_id": self.plmn, **kw}
        return await self.client.request(s6a.make_ulr(**self._common(), **args))  # type: ignore[arg-type]

    async def pur(self, imsi: str) -> Message:
        return await self.client.request(s6a.make_pur(imsi=imsi, **self._common()))


def _run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_air_gives_vectors_the_usim_accepts_with_kasme(lab: CoreLab) -> None:
    sub = lab.subscriber(0)
    k, opc = bytes.fromhex(sub["k"]), bytes.fromhex(sub["opc"])

    async def run() -> None:
        async with Mme(lab, "mme-a", lab.replicas[0].address) as mme:
            aia = await mme.air(sub["imsi"], n=2)
            assert answer_result(aia) == (2001, None)
            vectors = s6a.read_vectors(aia)
            assert len(vectors) == 2
            last_sqn = -1
            for v in vectors:
                res = aka.ue_authenticate(k, opc, v.rand, v.autn)
                assert res.res == v.xres
                assert res.sqn > last_sqn
                last_sqn = res.sqn
                assert v.autn[6] & 0x80, "AMF separation bit (TS 33.401 §6.1.1)"
                assert v.kasme == kdf.kasme(res.ck, res.ik, mme.plmn, v.autn[:6])
            # The USIM is ahead (it saw a higher SQN elsewhere): AUTS re-synchronises.
            v = vectors[-1]
            with pytest.raises(aka.SyncFailure) as sync:
                aka.ue_authenticate(k, opc, v.rand, v.autn, sqn_ms=last_sqn + 32 * 100)
            aia = await mme.air(sub["imsi"], resync=v.rand + sync.value.auts)
            assert answer_result(aia) == (2001, None)
            (fresh,) = s6a.read_vectors(aia)
            res = aka.ue_authenticate(k, opc, fresh.rand, fresh.autn, sqn_ms=last_sqn + 32 * 100)
            assert res.res == fresh.xres
            # A forged AUTS (MAC-S wrong) gives no vectors.
            aia = await mme.air(sub["imsi"], resync=v.rand + bytes(14))
            assert answer_result(aia) == (
                ExperimentalResultCode.DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE,
                VENDOR_3GPP,
            )

    _run(run())


def test_unknown_imsi_and_malformed_air(lab: CoreLab) -> None:
    async def run() -> None:
        async with Mme(lab, "mme-a", lab.replicas[0].address) as mme:
            aia = await mme.air("001019999999999")
            assert answer_result(aia) == (5001, VENDOR_3GPP)  # DIAMETER_ERROR_USER_UNKNOWN
            ula = await mme.ulr("001019999999999")
            assert answer_result(ula) == (5001, VENDOR_3GPP)
            # Re-Synchronization-Info that is not RAND||AUTS: 5004 with the AVP.
            aia = await mme.air(lab.subscriber(0)["imsi"], resync=b"short")
            assert answer_result(aia) == (ResultCode.DIAMETER_INVALID_AVP_VALUE, None)
            assert aia.find("Failed-AVP") is not None
            # No Visited-PLMN-Id: validate() answers DIAMETER_MISSING_AVP.
            req = s6a.make_air(
                imsi=lab.subscriber(0)["imsi"], visited_plmn_id=mme.plmn, **mme._common()
            )
            req.avps = [a for a in req.avps if a.code != 1407]
            aia = await mme.client.request(req)
            assert answer_result(aia) == (ResultCode.DIAMETER_MISSING_AVP, None)
            assert aia.get("Vendor-Specific-Application-Id") is not None
            # User-Name that is not an IMSI.
            aia = await mme.air("alice@example.org")
            assert answer_result(aia) == (ResultCode.DIAMETER_INVALID_AVP_VALUE, None)

    _run(run())


def test_ulr_returns_the_subscription_and_rejects_roaming_and_rat(lab: CoreLab) -> None:
    sub = lab.subscriber(1)
    apns = lab.values["network"]["apns"]

    async def run() -> None:
        async with Mme(lab, "mme-a", lab.replicas[0].address) as mme:
            ula = await mme.ulr(sub["imsi"])
            assert answer_result(ula) == (2001, None)
            data = s6a.read_subscription_data(ula)
            assert data is not None
            assert data.msisdn == sub["msisdn"]
            assert [a.service_selection for a in data.apns] == [a["name"] for a in apns]
            for got, want in zip(data.apns, apns, strict=True):
                assert (got.qci, got.arp.priority_level) == (want["qci"], want["arp"])
                assert got.ambr_ul == want["ambr_ul_kbps"] * 1000
                assert got.ambr_dl == want["ambr_dl_kbps"] * 1000
            assert data.default_apn is not None
            assert data.default_apn.service_selection == apns[0]["name"]
            assert data.ambr_ul >= max(a["ambr_ul_kbps"] for a in apns) * 1000
            # Skip-Subscriber-Data: no Subscription-Data.
            ula = await mme.ulr(
                sub["imsi"], ulr_flags=s6a.ULR_S6A_S6D_INDICATOR | s6a.ULR_SKIP_SUBSCRIBER_DATA
            )
            assert answer_result(ula) == (2001, None)
            assert ula.find("Subscription-Data") is None
            ula = await mme.ulr(sub["imsi"], visited_plmn_id=kdf.plmn_bytes("999", "99"))
            assert answer_result(ula) == (5004, VENDOR_3GPP)  # roaming not allowed
            ula = await mme.ulr(sub["imsi"], rat_type=1000)  # UTRAN
            assert answer_result(ula) == (5421, VENDOR_3GPP)  # RAT not allowed

    _run(run())


def test_new_mme_cancels_the_old_one_across_replicas_and_purge(lab: CoreLab) -> None:
    sub = lab.subscriber(2)
    first, second = lab.replicas[0].address, lab.replicas[1].address

    async def run() -> None:
        async with (
            Mme(lab, "mme-old", first) as old,
            Mme(lab, "mme-new", second) as new,
        ):
            assert answer_result(await old.ulr(sub["imsi"])) == (2001, None)
            # The second HSS replica (same store) registers the new MME; the old MME is
            # connected to replica 0 only, so the CLR goes from there... and from replica 1
            # only when the old MME is connected to it: attach the old MME there too.
            async with Mme(lab, "mme-old", second) as old_on_second:
                assert answer_result(await new.ulr(sub["imsi"])) == (2001, None)
                for _ in range(100):
                    if old_on_second.cancelled:
                        break
                    await asyncio.sleep(0.02)
                (clr,) = old_on_second.cancelled
                assert clr.get("User-Name") == sub["imsi"]
                assert clr.get("Cancellation-Type") == (
                    s6a.CancellationType.INITIAL_ATTACH_PROCEDURE
                )
                assert clr.get("Destination-Host") == old.host
            assert old.cancelled == []
            # The old MME purging now is not the registered one: no freeze.
            pua = await old.pur(sub["imsi"])
            assert answer_result(pua) == (2001, None)
            assert pua.get("PUA-Flags") == 0
            pua = await new.pur(sub["imsi"])
            assert pua.get("PUA-Flags") == s6a.PUA_FREEZE_M_TMSI
            # After the purge a ULR from another MME needs no CLR.
            assert answer_result(await old.ulr(sub["imsi"])) == (2001, None)
            await asyncio.sleep(0.2)
            assert new.cancelled == []

    _run(run())


def test_cx_still_served_next_to_s6a(lab: CoreLab) -> None:
    """The IMS side is untouched: a UAR for the same subscriber still works on the HSS."""
    from network_functions.protocols.diameter import APP_CX, make_uar

    sub = lab.subscriber(0)
    domain = lab.values["network"]["ims_domain"]

    async def run() -> None:
        client = diameter_peer(
            lab,
            "hss",
            peer=lab.replicas[0].address,
            origin_host=f"icscf.{domain}",
            origin_realm=domain,
            vendor_applications=[(VENDOR_3GPP, APP_CX)],
        )
        client.start()
        try:
            assert await client.wait_ready(10)
            uaa = await client.request(
                make_uar(
                    session_id=new_session_id(f"icscf.{domain}"),
                    origin_host=f"icscf.{domain}",
                    origin_realm=domain,
                    destination_realm=domain,
                    public_identity=f"sip:{sub['msisdn']}@{domain}",
                    user_name=f"{sub['imsi']}@{domain}",
                    visited_network_identifier=domain,
                    hop_by_hop=0,
                    end_to_end=0,
                )
            )
            assert answer_result(uaa).success
        finally:
            await client.close()

    _run(run())


def test_metrics_count_vectors(lab: CoreLab) -> None:
    text = lab.replicas[0].metrics()
    assert "hss_eps_vectors_total" in text
    assert "hss_update_locations_total" in text
