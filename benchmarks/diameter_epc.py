"""Throughput of the EPC's Diameter servers, each one process: the HSS's S6a (AIR + ULR, what
one attach costs the HSS) and the PCRF's Gx (CCR-I + CCR-T, one PDN connection's life).

The HSS and the PCRF run as real processes from the lab values (tests/integration/corelab.py,
the same config rendering as ``nfv up``; SQLite store); one MME and one PGW are asyncio
DiameterClients in this process with two connections each and ``--concurrency`` requests in
flight. Every answer is checked (2001). Run from the repository root:
``python benchmarks/diameter_epc.py [--count 2000] [--concurrency 64]``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from network_functions.protocols import kdf
from network_functions.protocols.diameter import (
    APP_GX,
    APP_S6A,
    VENDOR_3GPP,
    answer_result,
    gx,
    new_session_id,
    s6a,
)
from network_functions.runtime.diameter import DiameterClient
from network_functions.runtime.metrics import Registry
from network_functions.runtime.names import NameTable
from tests.integration.corelab import CoreLab, lab_values

K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OPC = "cd63cb71954a9f4e48a5994e37a02baf"


async def run(lab: CoreLab, count: int, concurrency: int) -> None:
    net = lab.values["network"]
    realm = net["epc_realm"]
    plmn = kdf.plmn_bytes(net["mcc"], net["mnc"])

    def client(
        nf: str, host: str, *, auth: list[int], vendor: list[tuple[int, int]]
    ) -> DiameterClient:
        return DiameterClient(
            peer=lab.address(nf),
            port=lab.catalog[nf].port("diameter"),
            names=NameTable(lab.root / "names.json"),
            origin_host=host,
            origin_realm=realm,
            advertise="127.0.0.1",
            auth_applications=auth,
            vendor_applications=vendor,
            metrics=Registry(),
            connections=2,
        )

    mme = client("hss", f"mme-0.{realm}", auth=[], vendor=[(VENDOR_3GPP, APP_S6A)])
    pgw = client("pcrf", f"pgw-0.{realm}", auth=[APP_GX], vendor=[])
    for c in (mme, pgw):
        c.start()
        if not await c.wait_ready(10):
            raise SystemExit(f"no Diameter connection to {c.peer}")
    subs = lab.subscribers
    gate = asyncio.Semaphore(concurrency)
    head = {"origin_host": f"mme-0.{realm}", "origin_realm": realm, "destination_realm": realm}

    async def attach(i: int) -> None:
        imsi = subs[i % len(subs)]["imsi"]
        async with gate:
            for build in (s6a.make_air, s6a.make_ulr):
                answer = await mme.request(
                    build(session_id=new_session_id("mme"), imsi=imsi, visited_plmn_id=plmn, **head)
                )
                if answer_result(answer).code != 2001:
                    raise SystemExit(f"{answer.name} for {imsi}: {answer_result(answer)}")

    gxhead = {"origin_host": f"pgw-0.{realm}", "origin_realm": realm, "destination_realm": realm}

    async def session(i: int) -> None:
        sid = new_session_id("pgw")
        async with gate:
            cca = await pgw.request(
                gx.make_ccr(
                    session_id=sid,
                    request_type=gx.CcRequestType.INITIAL_REQUEST,
                    request_number=0,
                    imsi=subs[i % len(subs)]["imsi"],
                    ue_ipv4=f"10.45.{i // 250 % 250}.{i % 250 + 1}",
                    apn=net["apns"][0]["name"],
                    **gxhead,
                )
            )
            ccr_t = gx.make_ccr(
                session_id=sid,
                request_type=gx.CcRequestType.TERMINATION_REQUEST,
                request_number=1,
                **gxhead,
            )
            ccat = await pgw.request(ccr_t)
            if answer_result(cca).code != 2001 or answer_result(ccat).code != 2001:
                raise SystemExit(f"Gx session {i}: {answer_result(cca)} / {answer_result(ccat)}")

    for name, unit, job in (
        ("HSS S6a AIR+ULR", "attach/s", attach),
        ("PCRF Gx CCR-I+CCR-T", "sessions/s", session),
    ):
        t0 = time.monotonic()
        await asyncio.gather(*(job(i) for i in range(count)))
        elapsed = time.monotonic() - t0
        print(f"{name}: {count} in {elapsed:.2f} s = {count / elapsed:.0f} {unit}")
    for c in (mme, pgw):
        await c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="nfv-diameter-epc-"))
    values = lab_values(
        subscribers=[
            {
                "imsi_start": "001010000000001",
                "msisdn_start": "15550000001",
                "count": 1000,
                "k": K,
                "opc": OPC,
            }
        ]
    )
    lab = CoreLab(root, values)
    try:
        lab.start("hss")
        lab.start("pcrf")
        lab.wait_ready()
        asyncio.run(run(lab, args.count, args.concurrency))
    finally:
        lab.stop_all()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
