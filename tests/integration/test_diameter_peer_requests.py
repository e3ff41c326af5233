"""Requests from a Diameter server to a connected client (RFC 6733 §6.1: either peer may send
requests on a connection): ``DiameterServer.request`` and the client's ``request_handler``,
in one process over loopback TCP — the path of the HSS's CLR and the PCRF's RAR."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from network_functions.protocols.diameter import (
    APP_GX,
    CMD_RAR,
    Message,
    ResultCode,
    answer_result,
    gx,
)
from network_functions.runtime.diameter import DiameterClient, DiameterServer, DiameterUnavailable
from network_functions.runtime.metrics import Registry
from network_functions.runtime.names import NameTable

pytestmark = pytest.mark.integration

REALM = "epc.example.org"
SERVER = f"pcrf.{REALM}"
CLIENT = f"pgw-0.{REALM}"


async def _unexpected(req: Message) -> Message:
    raise AssertionError(f"the server got {req.name}")


async def _pair(tmp_path: Path, handler: object | None) -> tuple[DiameterServer, DiameterClient]:
    server = DiameterServer(
        host="127.0.0.1",
        port=0,
        origin_host=SERVER,
        origin_realm=REALM,
        advertise="127.0.0.1",
        auth_applications=[APP_GX],
        vendor_applications=[],
        handler=_unexpected,
        metrics=Registry(),
    )
    await server.start()
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"pcrf": "127.0.0.1"}))
    client = DiameterClient(
        peer="pcrf",
        port=server.port,
        names=NameTable(names),
        origin_host=CLIENT,
        origin_realm=REALM,
        advertise="127.0.0.1",
        auth_applications=[APP_GX],
        vendor_applications=[],
        metrics=Registry(),
        connections=1,
        request_handler=handler,  # type: ignore[arg-type]
    )
    client.start()
    assert await client.wait_ready(5)
    for _ in range(100):
        if CLIENT in server.connected_peers():
            break
        await asyncio.sleep(0.01)
    return server, client


def _rar(**kw: object) -> Message:
    args: dict[str, object] = {
        "session_id": f"{CLIENT};1;1",
        "origin_host": SERVER,
        "origin_realm": REALM,
        "destination_host": CLIENT,
        "destination_realm": REALM,
        "remove": ["r1"],
        **kw,
    }
    return gx.make_rar(**args)  # type: ignore[arg-type]


def test_server_request_reaches_the_client_handler(tmp_path: Path) -> None:
    seen: list[Message] = []

    async def handler(req: Message) -> Message:
        seen.append(req)
        return gx.raa(req, origin_host=CLIENT, origin_realm=REALM, result_code=2001)

    async def run() -> None:
        server, client = await _pair(tmp_path, handler)
        try:
            assert server.connected_peers() == {CLIENT}
            answers = await asyncio.gather(*(server.request(CLIENT, _rar()) for _ in range(20)))
            assert all(answer_result(a) == (2001, None) for a in answers)
            assert len({a.hop_by_hop for a in answers}) == 20
            assert [r.command_code for r in seen] == [CMD_RAR] * 20
            with pytest.raises(DiameterUnavailable, match="no open Diameter connection"):
                await server.request("nobody.example.org", _rar())
        finally:
            await client.close()
            await server.close()

    asyncio.run(run())


def test_client_validates_requests_and_answers_errors(tmp_path: Path) -> None:
    async def handler(req: Message) -> Message:
        return gx.raa(req, origin_host=CLIENT, origin_realm=REALM, result_code=2001)

    async def run() -> None:
        server, client = await _pair(tmp_path, handler)
        try:
            bad = _rar()
            bad.avps = [a for a in bad.avps if a.code != 285]  # Re-Auth-Request-Type
            answer = await server.request(CLIENT, bad)
            assert answer_result(answer) == (ResultCode.DIAMETER_MISSING_AVP, None)
            assert answer.find("Failed-AVP") is not None
        finally:
            await client.close()
            await server.close()

    asyncio.run(run())


def test_without_handler_unsupported_and_slow_handler_times_out(tmp_path: Path) -> None:
    async def run() -> None:
        server, client = await _pair(tmp_path, None)
        try:
            answer = await server.request(CLIENT, _rar())
            assert answer_result(answer) == (ResultCode.DIAMETER_COMMAND_UNSUPPORTED, None)
            assert answer.error
        finally:
            await client.close()
            await server.close()

        async def slow(req: Message) -> Message:
            await asyncio.sleep(5)
            raise AssertionError("not reached")

        server, client = await _pair(tmp_path, slow)
        try:
            with pytest.raises(DiameterUnavailable, match="did not answer"):
                await server.request(CLIENT, _rar(), timeout=0.3)
            # A request in flight when the connection goes fails at once.
            pending = asyncio.ensure_future(server.request(CLIENT, _rar(), timeout=5))
            await asyncio.sleep(0.1)
            for slot in client._slots:
                if slot.conn is not None:
                    slot.conn.close()
            with pytest.raises(DiameterUnavailable):
                await asyncio.wait_for(pending, 2)
        finally:
            await client.close()
            await server.close()

    asyncio.run(run())
