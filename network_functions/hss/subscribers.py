"""The HSS's subscriber repository, kept in the shared state store.

Keys (every HSS replica reads and writes the same store, so any replica serves anyone):

* ``hss:sub:<imsi>``    the subscription: identities, keys, optional digest password
* ``hss:impi:<impi>``   → imsi;  ``hss:impu:<impu>`` → imsi   (identity indexes)
* ``hss:sqn:<imsi>``    the AKA sequence number, advanced atomically (incr)
* ``hss:scscf:<imsi>``  the S-CSCF assigned to the user and its registration state
* ``hss:mme:<imsi>``    the MME serving the UE (S6a ULR, TS 29.272 §5.2.1.1) and whether it
  purged the UE (PUR, §5.2.1.3)

K and OPc never leave the HSS except through the provisioning API's single-subscriber GET.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from network_functions.protocols.ims import normalise_impu
from network_functions.runtime.store import Store

IMSI_RE = re.compile(r"^[0-9]{6,15}$")
MSISDN_RE = re.compile(r"^\+?[0-9]{3,15}$")
HEX128_RE = re.compile(r"^[0-9a-fA-F]{32}$")
# Each new authentication vector advances SQN by 32: IND lives in the 5 low bits
# (TS 33.102 Annex C.3.2 with a single IND value used by this HSS).
SQN_STEP = 32


class SubscriberError(ValueError):
    """A subscriber record that fails validation; the message names the field."""


@dataclass
class Subscriber:
    imsi: str
    msisdn: str
    k: str
    opc: str
    impi: str = ""
    impus: list[str] = field(default_factory=list)
    password: str | None = None
    amf: str = "8000"

    @classmethod
    def from_dict(cls, data: Any, *, domain: str) -> Subscriber:
        """Validate a provisioning record; fill IMPI/IMPUs from the IMSI/MSISDN (TS 23.003)."""
        if not isinstance(data, dict):
            raise SubscriberError("a subscriber must be a JSON object")
        unknown = set(data) - {"imsi", "msisdn", "k", "opc", "impi", "impus", "password", "amf"}
        if unknown:
            raise SubscriberError(f"unknown field(s): {', '.join(sorted(unknown))}")
        imsi = str(data.get("imsi", ""))
        if not IMSI_RE.match(imsi):
            raise SubscriberError(f"imsi must be 6-15 digits, got {imsi!r}")
        msisdn = str(data.get("msisdn", "")).lstrip("+")
        if not MSISDN_RE.match(msisdn):
            raise SubscriberError(f"msisdn must be 3-15 digits, got {data.get('msisdn')!r}")
        for key in ("k", "opc"):
            if not HEX128_RE.match(str(data.get(key, ""))):
                raise SubscriberError(f"{key} must be 32 hex digits (128 bits)")
        amf = str(data.get("amf", "8000"))
        if not re.match(r"^[0-9a-fA-F]{4}$", amf):
            raise SubscriberError("amf must be 4 hex digits")
        impi = str(data.get("impi") or f"{imsi}@{domain}")
        impus = data.get("impus") or [f"sip:{msisdn}@{domain}", f"tel:+{msisdn}"]
        if not isinstance(impus, list) or not all(
            isinstance(u, str) and (u.startswith(("sip:", "tel:"))) for u in impus
        ):
            raise SubscriberError("impus must be a list of sip: or tel: URIs")
        password = data.get("password")
        if password is not None and not isinstance(password, str):
            raise SubscriberError("password must be a string")
        return cls(
            imsi=imsi,
            msisdn=msisdn,
            k=str(data["k"]).lower(),
            opc=str(data["opc"]).lower(),
            impi=impi,
            impus=list(impus),
            password=password,
            amf=amf.lower(),
        )

    def to_dict(self, *, secrets: bool = True) -> dict[str, Any]:
        out = asdict(self)
        if not secrets:
            for key in ("k", "opc", "password"):
                out.pop(key)
            out["has_password"] = self.password is not None
        return out


@dataclass
class Assignment:
    """The S-CSCF serving a user (TS 29.228 §6.1.2) and whether the user is registered."""

    server_name: str
    registered: bool

    def encode(self) -> bytes:
        # As json.dumps(asdict(self)), without asdict's recursive copy.
        return json.dumps({"server_name": self.server_name, "registered": self.registered}).encode()


class SubscriberRepository:
    def __init__(self, store: Store, *, domain: str) -> None:
        self.store = store
        self.domain = domain

    async def put(self, sub: Subscriber, *, only_if_new: bool = False) -> bool:
        """Store a subscriber and its indexes. With only_if_new, leave an existing one."""
        body = json.dumps(sub.to_dict()).encode()
        key = f"hss:sub:{sub.imsi}"
        if only_if_new:
            if not await self.store.set_if_absent(key, body):
                return False
        else:
            old = await self.get(sub.imsi)
            await self.store.set(key, body)
            if old is not None:
                for impu in set(old.impus) - set(sub.impus):
                    await self.store.delete(f"hss:impu:{impu}")
                if old.impi != sub.impi:
                    await self.store.delete(f"hss:impi:{old.impi}")
        await self.store.set(f"hss:impi:{sub.impi}", sub.imsi.encode())
        for impu in sub.impus:
            await self.store.set(f"hss:impu:{impu}", sub.imsi.encode())
        return True

    async def get(self, imsi: str) -> Subscriber | None:
        raw = await self.store.get(f"hss:sub:{imsi}")
        if raw is None:
            return None
        data = json.loads(raw)
        return Subscriber(**data)

    async def by_impi(self, impi: str) -> Subscriber | None:
        imsi = await self.store.get(f"hss:impi:{impi}")
        return await self.get(imsi.decode()) if imsi else None

    async def by_impu(self, impu: str) -> Subscriber | None:
        imsi = await self.store.get(f"hss:impu:{normalise_impu(impu)}")
        return await self.get(imsi.decode()) if imsi else None

    async def delete(self, imsi: str) -> bool:
        sub = await self.get(imsi)
        if sub is None:
            return False
        for impu in sub.impus:
            await self.store.delete(f"hss:impu:{impu}")
        await self.store.delete(f"hss:impi:{sub.impi}")
        await self.store.delete(f"hss:sqn:{imsi}")
        await self.store.delete(f"hss:scscf:{imsi}")
        await self.store.delete(f"hss:mme:{imsi}")
        return await self.store.delete(f"hss:sub:{imsi}")

    async def list(self) -> list[Subscriber]:
        keys = sorted(await self.store.keys("hss:sub:"))
        values = await self.store.get_many(keys)
        return [Subscriber(**json.loads(v)) for v in values if v is not None]

    async def next_sqn(self, imsi: str) -> int:
        return await self.store.incr(f"hss:sqn:{imsi}", SQN_STEP) & (2**48 - 1)

    async def resync_sqn(self, imsi: str, sqn_ms: int) -> None:
        await self.store.set(f"hss:sqn:{imsi}", str(sqn_ms).encode())

    async def assignment(self, imsi: str) -> Assignment | None:
        raw = await self.store.get(f"hss:scscf:{imsi}")
        return Assignment(**json.loads(raw)) if raw else None

    async def assign(self, imsi: str, assignment: Assignment | None) -> None:
        if assignment is None:
            await self.store.delete(f"hss:scscf:{imsi}")
        else:
            await self.store.set(f"hss:scscf:{imsi}", assignment.encode())

    async def serving_mme(self, imsi: str) -> dict[str, Any] | None:
        """{"host", "realm", "purged"} of the MME registered for the UE, or None."""
        raw = await self.store.get(f"hss:mme:{imsi}")
        return dict(json.loads(raw)) if raw else None

    async def set_serving_mme(self, imsi: str, host: str, realm: str) -> tuple[str, str] | None:
        """Register the MME (ULR); returns the previous (host, realm) unless it had purged
        the UE, i.e. the MME that must get a Cancel-Location."""
        old = await self.serving_mme(imsi)
        body = json.dumps({"host": host, "realm": realm, "purged": False}).encode()
        await self.store.set(f"hss:mme:{imsi}", body)
        if old is None or old.get("purged"):
            return None
        return str(old.get("host", "")), str(old.get("realm", ""))

    async def purge(self, imsi: str, host: str) -> bool:
        """Mark the UE purged if ``host`` is its registered MME (PUR); True if so."""
        old = await self.serving_mme(imsi)
        if old is None or old.get("host") != host:
            return False
        old["purged"] = True
        await self.store.set(f"hss:mme:{imsi}", json.dumps(old).encode())
        return True
