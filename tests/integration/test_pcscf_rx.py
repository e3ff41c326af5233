"""VoLTE policy end to end on real processes: the IMS core with the PCRF enabled. A call between
two UEs makes the P-CSCF send Rx AARs (one per call leg) when the INVITE is answered, the
PCRF installs a QCI-1 PCC rule on the PGW owning the UEs' IP-CAN session (a Gx Re-Auth), and
the BYE removes it (STR → RAR). The PGW is a DiameterClient here that opened the Gx session
for the UEs' media address with a CCR-I and answers the RARs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from network_functions.protocols.diameter import (
    APP_GX,
    Message,
    answer_result,
    gx,
    new_session_id,
)
from network_functions.runtime.diameter import DiameterClient
from network_functions.runtime.metrics import Registry, parse_metrics
from network_functions.runtime.names import NameTable
from network_functions.sim.ue import place_call
from nfv.check import make_ue

from .corelab import CoreLab, lab_values, running_core

pytestmark = pytest.mark.integration

UE_MEDIA_ADDRESS = "127.0.0.1"  # the simulated UEs' SDP c= line


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreLab]:
    # The IMS and the PCRF; the test's PgwThread is the only PGW (a real one would share its
    # Origin-Host and take the PCRF's RARs).
    off = {"enabled": False}
    values = lab_values(
        nfs={"pcrf": {"enabled": True, "replicas": 1}, "mme": off, "sgw": off, "pgw": off}
    )
    with running_core(tmp_path_factory.mktemp("core-rx"), values) as lab:
        yield lab


class PgwThread:
    """A PGW's Gx side on its own event loop (the UEs are synchronous)."""

    def __init__(self, core: CoreLab) -> None:
        self.realm = core.values["network"]["epc_realm"]
        self.host = f"pgw-0.{self.realm}"
        self.rars: list[Message] = []
        self.loop = asyncio.new_event_loop()
        self.client = DiameterClient(
            peer="pcrf",
            port=core.catalog["pcrf"].port("diameter"),
            names=NameTable(core.root / "names.json"),
            origin_host=self.host,
            origin_realm=self.realm,
            advertise="127.0.0.1",
            auth_applications=[APP_GX],
            vendor_applications=[],
            metrics=Registry(),
            connections=1,
            request_handler=self.on_rar,
        )
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def on_rar(self, req: Message) -> Message:
        self.rars.append(req)
        return gx.raa(req, origin_host=self.host, origin_realm=self.realm, result_code=2001)

    def run(self, coro: object, timeout: float = 15) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def __enter__(self) -> PgwThread:
        self.thread.start()

        async def start() -> None:
            self.client.start()
            assert await self.client.wait_ready(10)

        self.run(start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def ccr(self, **kw: object) -> Message:
        args: dict[str, object] = {
            "origin_host": self.host,
            "origin_realm": self.realm,
            "destination_realm": self.realm,
            **kw,
        }
        result = self.run(self.client.request(gx.make_ccr(**args)))  # type: ignore[arg-type]
        assert isinstance(result, Message)
        return result


def _rx_metrics(core: CoreLab) -> dict[tuple[str, str], float]:
    pcscf = next(r for r in core.replicas if r.nf == "pcscf")
    metrics = parse_metrics(pcscf.metrics())
    return {
        (dict(labels)["command"], dict(labels)["result"]): value
        for (name, labels), value in metrics.items()
        if name == "pcscf_rx_requests_total"
    }


def _wait(check: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_call_gets_a_qci1_bearer_and_loses_it_on_bye(core: CoreLab) -> None:
    with PgwThread(core) as pgw:
        gx_sid = new_session_id(pgw.host)
        cca = pgw.ccr(
            session_id=gx_sid,
            request_type=gx.CcRequestType.INITIAL_REQUEST,
            request_number=0,
            imsi=core.subscriber(0)["imsi"],
            ue_ipv4=UE_MEDIA_ADDRESS,
            apn="ims",
        )
        assert answer_result(cca) == (2001, None)
        alice = make_ue(core.subscriber(0), domain=core.domain, pcscf=core.pcscf, aka=False)
        bob = make_ue(core.subscriber(1), domain=core.domain, pcscf=core.pcscf, aka=False)
        with alice, bob:
            assert alice.register().status == 200
            assert bob.register().status == 200
            place_call(alice, bob)
        # Two legs through the P-CSCF (caller and callee): two AF sessions, two rules.
        _wait(lambda: _rx_metrics(core).get(("STR", "2001"), 0) >= 2)
        assert _rx_metrics(core).get(("AAR", "2001")) == 2
        installs = [r for r in pgw.rars if gx.installed_rules(r)]
        removes = [r for r in pgw.rars if gx.removed_rule_names(r)]
        assert len(installs) == 2 and len(removes) == 2
        for rar in installs:
            assert rar.get("Session-Id") == gx_sid
            (rule,) = gx.installed_rules(rar)
            assert rule.qos.qci == 1
            assert rule.qos.gbr_ul is not None and rule.qos.gbr_ul > 0
            assert any(f.direction == gx.FlowDirection.UPLINK for f in rule.flows)
            assert any(f.direction == gx.FlowDirection.DOWNLINK for f in rule.flows)
        installed = {r.name for rar in installs for r in gx.installed_rules(rar)}
        removed = {n for rar in removes for n in gx.removed_rule_names(rar)}
        assert installed == removed
        cca = pgw.ccr(
            session_id=gx_sid,
            request_type=gx.CcRequestType.TERMINATION_REQUEST,
            request_number=1,
        )
        assert answer_result(cca) == (2001, None)


def test_call_without_ip_can_session_still_connects(core: CoreLab) -> None:
    """Rx never blocks the call: no Gx session for the UEs → the PCRF refuses (5065), the
    call goes on, and no STR is sent for the refused sessions."""
    before = _rx_metrics(core)
    alice = make_ue(core.subscriber(2), domain=core.domain, pcscf=core.pcscf, aka=False)
    bob = make_ue(core.subscriber(3), domain=core.domain, pcscf=core.pcscf, aka=False)
    with alice, bob:
        assert alice.register().status == 200
        assert bob.register().status == 200
        place_call(alice, bob)
    _wait(lambda: _rx_metrics(core).get(("AAR", "5065"), 0) - before.get(("AAR", "5065"), 0) == 2)
    time.sleep(0.3)
    assert _rx_metrics(core).get(("STR", "2001"), 0) == before.get(("STR", "2001"), 0)
