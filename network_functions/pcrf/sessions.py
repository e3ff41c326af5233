"""The PCRF's sessions, kept in the shared state store so any replica serves any session.

Keys:

* ``pcrf:gx:<Gx Session-Id>``  the IP-CAN session (TS 29.212 §4.5.1): subscriber, UE address,
  APN, the PGW that owns it (Origin-Host/Realm, where Re-Auth-Requests go), the authorised
  QoS and the PCC rules installed for AF sessions;
* ``pcrf:ue:<UE IPv4>``        → Gx Session-Id: the session binding of TS 29.213 §4.2 (an Rx
  AAR names the UE by Framed-IP-Address);
* ``pcrf:rx:<Rx Session-Id>``  the AF session (TS 29.214 §4.4.1): its Gx session and rules.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from network_functions.runtime.store import Store


@dataclass
class GxSession:
    session_id: str
    pgw_host: str
    pgw_realm: str
    imsi: str | None
    msisdn: str | None
    ue_ipv4: str | None
    apn: str
    qci: int
    arp: int
    ambr_ul: int
    ambr_dl: int
    request_number: int = 0
    rules: list[str] = field(default_factory=list)

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, raw: bytes) -> GxSession:
        data: dict[str, Any] = json.loads(raw)
        return cls(**data)


@dataclass
class RxSession:
    session_id: str
    gx_session_id: str
    af_host: str
    rules: list[str] = field(default_factory=list)

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, raw: bytes) -> RxSession:
        data: dict[str, Any] = json.loads(raw)
        return cls(**data)


class SessionRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def put_gx(self, session: GxSession) -> None:
        await self.store.set(f"pcrf:gx:{session.session_id}", session.encode())
        if session.ue_ipv4:
            await self.store.set(f"pcrf:ue:{session.ue_ipv4}", session.session_id.encode())

    async def gx(self, session_id: str) -> GxSession | None:
        raw = await self.store.get(f"pcrf:gx:{session_id}")
        return GxSession.decode(raw) if raw else None

    async def gx_for_ue(self, ue_ipv4: str) -> GxSession | None:
        sid = await self.store.get(f"pcrf:ue:{ue_ipv4}")
        return await self.gx(sid.decode()) if sid else None

    async def delete_gx(self, session: GxSession) -> None:
        await self.store.delete(f"pcrf:gx:{session.session_id}")
        if session.ue_ipv4:
            # Only if the binding is still ours (the address may be re-used already).
            await self.store.compare_and_set(
                f"pcrf:ue:{session.ue_ipv4}", session.session_id.encode(), None
            )

    async def put_rx(self, session: RxSession) -> None:
        await self.store.set(f"pcrf:rx:{session.session_id}", session.encode())

    async def rx(self, session_id: str) -> RxSession | None:
        raw = await self.store.get(f"pcrf:rx:{session_id}")
        return RxSession.decode(raw) if raw else None

    async def delete_rx(self, session_id: str) -> bool:
        return await self.store.delete(f"pcrf:rx:{session_id}")
