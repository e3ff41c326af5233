"""Interop of our EPC Diameter servers with freeDiameter (Debian ``freeDiameterd``) as the
client-side peer: the old MME for the HSS's S6a Cancel-Location, the PGW for the PCRF's Gx
Re-Auth.

freeDiameter connects (CER/CEA: our CEA advertises S6a resp. Gx and Rx), our server sends it
a request on that connection (RFC 6733 §6.1), freeDiameter frames it (its trace lists each
AVP header it read: code, vendor, length), routes it to itself by Destination-Host and, having
no S6a/Gx application among the Debian extensions, answers with the E bit and
DIAMETER_APPLICATION_UNSUPPORTED (3007). Our side must match that answer to its request and
act on it: the HSS counts the CLR as failed (not unreachable), the PCRF refuses the Rx
service (REQUESTED_SERVICE_NOT_AUTHORIZED, 5063). freeDiameter checks the application before
its dictionary, so AVP contents are cross-checked by tshark instead
(tests/unit/protocols/test_diameter_epc_tshark.py).
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from network_functions.protocols import kdf
from network_functions.protocols.diameter import (
    APP_GX,
    APP_RX,
    APP_S6A,
    VENDOR_3GPP,
    ExperimentalResultCode,
    answer_result,
    gx,
    new_session_id,
    rx,
    s6a,
)
from network_functions.runtime.diameter import DiameterClient
from network_functions.runtime.metrics import Registry
from network_functions.runtime.names import NameTable

from .corelab import CoreLab, lab_values
from .test_interop_freediameter import start_fd, stop, unused_port, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("freeDiameterd") is None,
        reason="freeDiameterd not installed (Debian package freediameterd)",
    ),
]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[CoreLab]:
    lab = CoreLab(tmp_path / "core", lab_values())
    try:
        yield lab
    except BaseException:
        print(lab.logs())
        raise
    finally:
        lab.stop_all()


def _fd_conf(path: Path, identity: str, realm: str, peer: str, address: str) -> Path:
    path.write_text(
        f"""# freeDiameter as an EPC client for the interop test (freeDiameter 1.2 syntax).
Identity = "{identity}";
Realm = "{realm}";
Port = {unused_port()};
SecPort = 0;
No_SCTP;
No_IPv6;
ListenOn = "127.0.0.1";
TwTimer = 6;
TcTimer = 5;
ConnectPeer = "{peer}" {{ ConnectTo = "{address}"; Port = 3868; No_TLS; No_SCTP; }};
"""
    )
    return path


def _client(lab: CoreLab, nf: str, host: str, realm: str, **apps: list[object]) -> DiameterClient:
    return DiameterClient(
        peer=lab.address(nf),
        port=lab.catalog[nf].port("diameter"),
        names=NameTable(lab.root / "names.json"),
        origin_host=host,
        origin_realm=realm,
        advertise="127.0.0.1",
        auth_applications=apps.get("auth", []),  # type: ignore[arg-type]
        vendor_applications=apps.get("vendor", []),  # type: ignore[arg-type]
        metrics=Registry(),
        connections=1,
    )


def _received(trace: str, app: int, command: int) -> str:
    """freeDiameter's trace line for a request it received (AVP headers it framed)."""
    pattern = re.compile(rf"RCV from '[^']+': \(no model\){app}/{command} f:RP-- .*")
    match = pattern.search(trace)
    assert match is not None, trace[-4000:]
    return match.group(0)


def _answered_3007(log: Path, app: int, command: int) -> None:
    """freeDiameter answered the request 3007 (it logs the answer just after the request)."""
    wanted = f"'(generic error format)'{app}/{command} f:--E-"
    wait_for(lambda: wanted in log.read_text(), 10, f"freeDiameter's 3007 to {app}/{command}")
    assert "Application unsupported" in log.read_text()


def test_freediameter_gets_our_cancel_location(lab: CoreLab, tmp_path: Path) -> None:
    hss = lab.start("hss")
    lab.wait_ready()
    realm = lab.values["network"]["epc_realm"]
    hss_identity = f"hss.{lab.values['network']['diameter_realm']}"
    fd_identity = f"fd-mme.{realm}"
    conf = _fd_conf(tmp_path / "fd.conf", fd_identity, realm, hss_identity, lab.address("hss"))
    fd_log = tmp_path / "freeDiameterd.log"
    fd = start_fd(conf, fd_log)
    plmn = kdf.plmn_bytes(lab.values["network"]["mcc"], lab.values["network"]["mnc"])
    imsi = lab.subscriber(3)["imsi"]

    async def ulr(host: str) -> int:
        client = _client(lab, "hss", host, realm, vendor=[(VENDOR_3GPP, APP_S6A)])
        client.start()
        try:
            assert await client.wait_ready(10)
            ula = await client.request(
                s6a.make_ulr(
                    session_id=new_session_id(host),
                    origin_host=host,
                    origin_realm=realm,
                    destination_realm=realm,
                    imsi=imsi,
                    visited_plmn_id=plmn,
                )
            )
            return answer_result(ula).code
        finally:
            await client.close()

    try:
        wait_for(lambda: f"'STATE_OPEN'\t'{hss_identity}'" in fd_log.read_text(), 15, "CER")
        assert "Auth-Application-Id(258)[-M]=16777251" in fd_log.read_text()
        # The UE registers with Origin-Host fd-mme (a ULR we send on a connection closed right
        # after), then through another MME: the HSS cancels fd-mme on its one connection left,
        # freeDiameter's.
        assert asyncio.run(ulr(fd_identity)) == 2001
        assert asyncio.run(ulr(f"mme-new.{realm}")) == 2001
        wait_for(lambda: "16777251/317" in fd_log.read_text(), 10, "the CLR at freeDiameter")
        line = _received(fd_log.read_text(), 16777251, 317)
        # Session-Id, Vendor-Specific-Application-Id, Auth-Session-State, Origin-Host/-Realm,
        # Destination-Host/-Realm, User-Name, Cancellation-Type, CLR-Flags: as we encode them.
        codes = re.findall(r"(?:V:(\d+)/)?C:(\d+)/l:(\d+)", line)
        assert [(v, c) for v, c, _ in codes] == [
            ("", "263"),
            ("", "260"),
            ("", "277"),
            ("", "264"),
            ("", "296"),
            ("", "293"),
            ("", "283"),
            ("", "1"),
            ("10415", "1420"),
            ("10415", "1638"),
        ]
        assert ("", "1", str(8 + len(imsi))) in codes
        _answered_3007(fd_log, 16777251, 317)

        def outcome() -> str:
            lines = [
                ln
                for ln in hss.metrics().splitlines()
                if ln.startswith("hss_cancel_locations_total{")
            ]
            return "\n".join(lines)

        wait_for(lambda: 'outcome="failed"' in outcome(), 10, "the HSS to read the CLA")
        assert 'outcome="unreachable"' not in outcome()
        assert fd.poll() is None
    except BaseException:
        print("--- freeDiameterd:\n" + fd_log.read_text(errors="replace")[-8000:])
        raise
    finally:
        stop(fd)


def test_freediameter_gets_our_gx_reauth(lab: CoreLab, tmp_path: Path) -> None:
    lab.start("pcrf")
    lab.wait_ready()
    realm = lab.values["network"]["epc_realm"]
    ims = lab.values["network"]["ims_domain"]
    fd_identity = f"fd-pgw.{realm}"
    conf = _fd_conf(tmp_path / "fd.conf", fd_identity, realm, f"pcrf.{realm}", lab.address("pcrf"))
    fd_log = tmp_path / "freeDiameterd.log"
    fd = start_fd(conf, fd_log)

    async def run() -> tuple[int, int | None, int]:
        pgw = _client(lab, "pcrf", fd_identity, realm, auth=[APP_GX])
        pgw.start()
        try:
            assert await pgw.wait_ready(10)
            cca = await pgw.request(
                gx.make_ccr(
                    session_id=new_session_id(fd_identity),
                    origin_host=fd_identity,
                    origin_realm=realm,
                    destination_realm=realm,
                    request_type=gx.CcRequestType.INITIAL_REQUEST,
                    request_number=0,
                    imsi=lab.subscriber(0)["imsi"],
                    ue_ipv4="10.46.0.2",
                    apn="ims",
                )
            )
        finally:
            await pgw.close()
        pcscf = _client(lab, "pcrf", f"pcscf.{ims}", ims, auth=[APP_RX])
        pcscf.start()
        try:
            assert await pcscf.wait_ready(10)
            media = rx.MediaComponent(
                1,
                flows=(rx.MediaFlow(1, ("permit out 17 from 10.46.0.3 5000 to 10.46.0.2 4000",)),),
                max_ul=41_000,
                max_dl=41_000,
            )
            aaa = await pcscf.request(
                rx.make_aar(
                    session_id=new_session_id(f"pcscf.{ims}"),
                    origin_host=f"pcscf.{ims}",
                    origin_realm=ims,
                    destination_realm=realm,
                    ue_ipv4="10.46.0.2",
                    media=[media],
                )
            )
        finally:
            await pcscf.close()
        result = answer_result(aaa)
        return answer_result(cca).code, result.vendor_id, result.code

    try:
        wait_for(lambda: f"'STATE_OPEN'\t'pcrf.{realm}'" in fd_log.read_text(), 15, "CER")
        assert "Auth-Application-Id(258)[-M]=16777238" in fd_log.read_text()
        cca_code, vendor, aaa_code = asyncio.run(run())
        assert cca_code == 2001
        line = _received(fd_log.read_text(), 16777238, 258)
        codes = re.findall(r"(?:V:(\d+)/)?C:(\d+)/l:(\d+)", line)
        # Session-Id, Auth-Application-Id, Origin-Host/-Realm, Destination-Realm/-Host,
        # Re-Auth-Request-Type, Charging-Rule-Install (grouped, framed as one AVP).
        assert [(v, c) for v, c, _ in codes] == [
            ("", "263"),
            ("", "258"),
            ("", "264"),
            ("", "296"),
            ("", "283"),
            ("", "293"),
            ("", "285"),
            ("10415", "1001"),
        ]
        _answered_3007(fd_log, 16777238, 258)
        # The PGW could not install the rule: the P-CSCF is told so.
        assert (vendor, aaa_code) == (
            VENDOR_3GPP,
            ExperimentalResultCode.REQUESTED_SERVICE_NOT_AUTHORIZED,
        )
        assert fd.poll() is None
    except BaseException:
        print("--- freeDiameterd:\n" + fd_log.read_text(errors="replace")[-8000:])
        raise
    finally:
        stop(fd)
