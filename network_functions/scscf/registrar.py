"""The S-CSCF's registration and challenge records in the shared state store.

Keys (any S-CSCF replica serves any user):

* ``scscf:reg:<impi>``   the registration: implicitly registered IMPUs and contact bindings
* ``scscf:impu:<impu>``  → impi, for terminating lookups
* ``scscf:auth:<nonce>`` an authentication challenge in flight (short TTL, used once)
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from network_functions.runtime.store import Store

# A challenge must be answered within this many seconds (TS 24.229 §5.4.1.2.1: the S-CSCF
# keeps the vector for a limited time; 30 s is the usual reg-await-auth timer).
CHALLENGE_TTL = 30.0


@dataclass
class Binding:
    """One contact of a registered user (RFC 3261 §10.3), with its Path (RFC 3327)."""

    uri: str
    expires_at: float
    path: list[str] = field(default_factory=list)
    call_id: str = ""
    cseq: int = 0
    received: str = ""

    def remaining(self, now: float) -> int:
        return max(0, int(self.expires_at - now))

    def to_dict(self) -> dict[str, object]:
        """``dataclasses.asdict`` of the binding, written out (asdict is slow)."""
        return {
            "uri": self.uri,
            "expires_at": self.expires_at,
            "path": list(self.path),
            "call_id": self.call_id,
            "cseq": self.cseq,
            "received": self.received,
        }


@dataclass
class Registration:
    impi: str
    impus: list[str]
    bindings: list[Binding] = field(default_factory=list)

    def active(self, now: float | None = None) -> list[Binding]:
        now = time.time() if now is None else now
        return [b for b in self.bindings if b.expires_at > now]

    def encode(self) -> bytes:
        data = {
            "impi": self.impi,
            "impus": list(self.impus),
            "bindings": [b.to_dict() for b in self.bindings],
        }
        return json.dumps(data).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Registration:
        data = json.loads(raw)
        return cls(
            impi=data["impi"],
            impus=data["impus"],
            bindings=[Binding(**b) for b in data["bindings"]],
        )


@dataclass
class Challenge:
    impi: str
    impu: str
    scheme: str
    ha1: str
    rand: str = ""  # hex, AKA only (for re-synchronisation)


class RegistrarStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, impi: str) -> Registration | None:
        raw = await self.store.get(f"scscf:reg:{impi}")
        return Registration.decode(raw) if raw else None

    async def by_impu(self, impu: str) -> Registration | None:
        impi = await self.store.get(f"scscf:impu:{impu}")
        return await self.get(impi.decode()) if impi else None

    async def save(self, reg: Registration) -> None:
        ttl = max((b.expires_at for b in reg.bindings), default=time.time()) - time.time()
        ttl = max(ttl, 1.0) + 60.0  # kept a little after expiry for diagnostics
        items = {f"scscf:reg:{reg.impi}": reg.encode()}
        impi = reg.impi.encode()
        for impu in reg.impus:
            items[f"scscf:impu:{impu}"] = impi
        await self.store.set_many(items, ttl=ttl)  # one round trip (one SQLite commit)

    async def all(self) -> list[Registration]:
        keys = await self.store.keys("scscf:reg:")
        return [Registration.decode(raw) for raw in await self.store.get_many(keys) if raw]

    async def delete(self, reg: Registration) -> None:
        for impu in reg.impus:
            await self.store.delete(f"scscf:impu:{impu}")
        await self.store.delete(f"scscf:reg:{reg.impi}")

    async def put_challenge(self, nonce: str, challenge: Challenge) -> None:
        await self.store.set(
            f"scscf:auth:{nonce}", json.dumps(asdict(challenge)).encode(), ttl=CHALLENGE_TTL
        )

    async def take_challenge(self, nonce: str) -> Challenge | None:
        """Fetch and delete a challenge: each nonce authenticates one REGISTER."""
        raw = await self.store.take(f"scscf:auth:{nonce}")  # atomic: one replica gets it
        return None if raw is None else Challenge(**json.loads(raw))
