"""SGW-C + PGW-C session benchmark: GTPv2-C sessions/s through real processes.

Starts one PGW-C and ``--sgw`` SGW-C replicas (the integration lab, tests/integration/
corelab.py: the same config rendering as ``nfv up``, SQLite stores) on a private 127.X.Y.0/24
block, then a GTP-C client acting as the MME runs ``--sessions`` Create Session + Modify
Bearer pairs with ``--concurrency`` in flight, then deletes them all. Prints the rates, the
create+modify latency (p50/p95) and the CPU milliseconds each NF process spent per session
(create + modify + delete). Run: ``python benchmarks/gtp_sessions.py [--sessions N]``.
Everything started here listens on 127.0.0.0/8 and is stopped by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from network_functions.protocols import gtpv2c as g
from network_functions.runtime.gtp import GtpEndpoint
from tests.integration.corelab import CoreLab, Replica, lab_values

PLMN = g.Plmn("001", "01")


def cpu_seconds(replica: Replica) -> float:
    fields = Path(f"/proc/{replica.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(lab: CoreLab, sessions: int, concurrency: int) -> None:
    mme = GtpEndpoint(lab.new_address(), 0, t3=5.0, n3=1)
    await mme.start()
    peers = [(r.address, 2123) for r in lab.replicas if r.nf == "sgw"]
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def attach(i: int) -> tuple[tuple[str, int], int]:
        peer = peers[i % len(peers)]
        async with gate:
            t0 = time.perf_counter()
            rsp = await mme.request(
                peer,
                g.create_session_request(
                    sequence=0,
                    teid=0,
                    imsi=f"0010100{i:08d}",
                    msisdn=f"1555{i:07d}",
                    sender_fteid=g.Fteid(g.IF_S11_MME, i + 1, mme.host),
                    apn="internet",
                    ebi=5,
                    qos=g.BearerQos(9, 8),
                    serving_network=PLMN,
                    uli=g.Uli(g.Tai(PLMN, 1), g.Ecgi(PLMN, 0x101)),
                    apn_ambr=g.Ambr(100_000, 100_000),
                ),
            )
            if rsp.cause != g.CAUSE_REQUEST_ACCEPTED:
                raise RuntimeError(f"Create Session rejected: cause {rsp.cause}")
            s11 = rsp.get(g.IE_FTEID, 0).teid
            rsp = await mme.request(
                peer,
                g.modify_bearer_request(
                    sequence=0,
                    teid=s11,
                    ebi=5,
                    enb_fteid=g.Fteid(g.IF_S1U_ENB, i + 1, "127.0.0.9"),
                ),
            )
            if rsp.cause != g.CAUSE_REQUEST_ACCEPTED:
                raise RuntimeError(f"Modify Bearer rejected: cause {rsp.cause}")
            latencies.append(time.perf_counter() - t0)
        return peer, s11

    start = time.perf_counter()
    made = await asyncio.gather(*(attach(i) for i in range(sessions)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p95 = latencies[int(len(latencies) * 0.95)] * 1000
    print(
        f"create + modify: {sessions} in {elapsed:.2f} s = {sessions / elapsed:.0f}/s "
        f"(p50 {p50:.1f} ms, p95 {p95:.1f} ms, {concurrency} in flight)"
    )

    async def delete(peer: tuple[str, int], teid: int) -> None:
        async with gate:
            rsp = await mme.request(peer, g.delete_session_request(sequence=0, teid=teid, ebi=5))
            if rsp.cause != g.CAUSE_REQUEST_ACCEPTED:
                raise RuntimeError(f"Delete Session rejected: cause {rsp.cause}")

    start = time.perf_counter()
    await asyncio.gather(*(delete(p, t) for p, t in made))
    elapsed = time.perf_counter() - start
    print(f"delete: {sessions} in {elapsed:.2f} s = {sessions / elapsed:.0f}/s")
    await mme.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--sgw", type=int, default=1, help="SGW-C replicas (own addresses)")
    args = parser.parse_args()
    lab = CoreLab(Path(tempfile.mkdtemp(prefix="gtp-bench-")), lab_values())
    try:
        lab.start("pgw")
        lab.start("sgw")
        for _ in range(args.sgw - 1):
            lab.start("sgw", address=lab.new_address())
        lab.wait_ready()
        before = {r.name: cpu_seconds(r) for r in lab.replicas}
        asyncio.run(drive(lab, args.sessions, args.concurrency))
        for r in lab.replicas:
            used = (cpu_seconds(r) - before[r.name]) / args.sessions * 1000
            print(f"{r.name}: {used:.2f} ms CPU per session (create + modify + delete)")
    finally:
        lab.stop_all()


if __name__ == "__main__":
    main()
