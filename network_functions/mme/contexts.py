"""UE contexts of the MME in the state store, so that any MME replica can serve any UE.

An EMM context (TS 23.401 §5.7.2: IMSI, GUTI, the EPS security context with its NAS
COUNTs, the default bearer and the S11 tunnel endpoints) is one JSON record under
``mme:ue:<imsi>``; ``mme:tmsi:<m-tmsi>`` indexes it by the M-TMSI of the GUTI the UE was
given (TS 23.003 §2.8), so a replica that never saw the UE finds it from the S-TMSI or GUTI
in an Initial UE Message. While the UE is ECM-CONNECTED the record also names the replica and
the MME-UE-S1AP-ID it holds there (the S1AP id is scoped per replica: every replica numbers
its own S1 UE associations, TS 36.413 §9.2.3.3).

Identifiers that must be unique across replicas are drawn from store counters in blocks
(:class:`BlockAllocator`): M-TMSIs and S11 TEIDs. A replica takes a block of
``BLOCK_SIZE`` numbers with one atomic ``incr`` and hands them out locally.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from network_functions.runtime.store import Store, StoreError

__all__ = [
    "BLOCK_SIZE",
    "BearerContext",
    "BlockAllocator",
    "ContextError",
    "UeContext",
    "UeContextRepository",
]

# Numbers per store round trip when allocating M-TMSIs / TEIDs: 1024 attaches per incr.
BLOCK_SIZE = 1024
# M-TMSI and TEID are 32-bit (TS 23.003 §2.4, TS 29.274 §8.22); 0 is reserved for TEIDs.
ID_SPACE = 1 << 32

EMM_DEREGISTERED = "deregistered"
EMM_REGISTERED = "registered"


class ContextError(Exception):
    """A stored UE context cannot be used (corrupt record, store failure)."""


class BlockAllocator:
    """Unique 32-bit numbers across replicas: blocks from a store counter (``incr``)."""

    def __init__(self, store: Store, key: str, *, block: int = BLOCK_SIZE) -> None:
        self.store, self.key, self.block = store, key, block
        self._next = 0
        self._end = 0

    async def next(self) -> int:
        if self._next >= self._end:
            top = await self.store.incr(self.key, self.block)
            self._next, self._end = top - self.block, top
        value = self._next
        self._next += 1
        # Skip 0 (reserved TEID, TS 29.274 §5.5.2) and wrap after 2^32 - 1.
        value = value % (ID_SPACE - 1) + 1
        return value


@dataclass
class BearerContext:
    """The default EPS bearer of a PDN connection (TS 23.401 §5.7.2)."""

    ebi: int = 5
    apn: str = ""
    pdn_type: int = 1  # IPv4 (TS 24.301 §9.9.4.9)
    ue_ip: str = ""
    qci: int = 9
    arp: int = 8
    ambr_ul_kbps: int = 0
    ambr_dl_kbps: int = 0
    sgw_s11_ip: str = ""
    sgw_s11_teid: int = 0
    mme_s11_teid: int = 0
    sgw_s1u_ip: str = ""
    sgw_s1u_teid: int = 0
    enb_s1u_ip: str = ""
    enb_s1u_teid: int = 0
    pgw_s5_ip: str = ""
    pgw_s5_teid: int = 0


@dataclass
class UeContext:
    """The MME's EMM/ESM context of one UE (what survives between procedures)."""

    imsi: str
    state: str = EMM_DEREGISTERED
    msisdn: str = ""
    m_tmsi: int = 0
    # EPS security context (TS 33.401 §7.2): KASME, its key set identifier and algorithms.
    kasme: bytes = b""
    ksi: int = 0
    eea: int = 0
    eia: int = 2
    ul_count: int = 0
    dl_count: int = 0
    ue_network_capability: bytes = b""
    # ECM-CONNECTED: which replica holds the S1 UE association and its ids.
    replica: str = ""
    mme_ue_s1ap_id: int = 0
    enb_ue_s1ap_id: int = 0
    tai_tac: int = 0
    ecgi: bytes = b""
    bearer: BearerContext = field(default_factory=BearerContext)
    ambr_ul_kbps: int = 0
    ambr_dl_kbps: int = 0

    def to_json(self) -> bytes:
        # Flat copies (the record is written on every attach: cheaper than asdict()).
        data: dict[str, Any] = dict(self.__dict__)
        data["bearer"] = dict(self.bearer.__dict__)
        for name in _BYTES_FIELDS:
            data[name] = data[name].hex()
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> UeContext:
        try:
            data: dict[str, Any] = json.loads(raw)
            bearer = BearerContext(**data.pop("bearer"))
            for name in _BYTES_FIELDS:
                if name in data:
                    data[name] = bytes.fromhex(data[name])
            return cls(bearer=bearer, **data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ContextError(f"corrupt UE context record: {exc}") from exc


_BYTES_FIELDS = tuple(f.name for f in fields(UeContext) if f.type in ("bytes", bytes))


class UeContextRepository:
    """UE contexts by IMSI and by M-TMSI in the shared store."""

    PREFIX = "mme:ue:"
    TMSI_PREFIX = "mme:tmsi:"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.tmsis = BlockAllocator(store, "mme:next-m-tmsi")

    async def get(self, imsi: str) -> UeContext | None:
        try:
            raw = await self.store.get(self.PREFIX + imsi)
        except StoreError as exc:
            raise ContextError(str(exc)) from exc
        return None if raw is None else UeContext.from_json(raw)

    async def by_m_tmsi(self, m_tmsi: int) -> UeContext | None:
        try:
            imsi = await self.store.get(f"{self.TMSI_PREFIX}{m_tmsi}")
        except StoreError as exc:
            raise ContextError(str(exc)) from exc
        if imsi is None:
            return None
        ctx = await self.get(imsi.decode())
        if ctx is None or ctx.m_tmsi != m_tmsi:
            return None  # a stale index entry: the UE got another GUTI since
        return ctx

    async def new_m_tmsi(self) -> int:
        try:
            return await self.tmsis.next()
        except StoreError as exc:
            raise ContextError(str(exc)) from exc

    async def save(self, ctx: UeContext, *, index_tmsi: bool = False) -> None:
        """Write the context (and, when its GUTI is new, the M-TMSI index)."""
        try:
            await self.store.set(self.PREFIX + ctx.imsi, ctx.to_json())
            if index_tmsi and ctx.m_tmsi:
                await self.store.set(f"{self.TMSI_PREFIX}{ctx.m_tmsi}", ctx.imsi.encode())
        except StoreError as exc:
            raise ContextError(str(exc)) from exc

    async def _current(self, ctx: UeContext) -> bytes | None:
        """The stored record of ``ctx``'s IMSI if it is still ``ctx``'s registration (same
        GUTI), else None: a newer attach (on any replica) owns the record now."""
        raw = await self.store.get(self.PREFIX + ctx.imsi)
        if raw is None:
            return None
        try:
            current = UeContext.from_json(raw)
        except ContextError:
            return raw  # a corrupt record is replaced
        return raw if current.m_tmsi == ctx.m_tmsi else None

    async def save_if_current(self, ctx: UeContext) -> bool:
        """Update the record only if no newer registration replaced it (compare-and-set);
        False when it was replaced or deleted meanwhile."""
        try:
            raw = await self._current(ctx)
            if raw is None:
                return False
            return await self.store.compare_and_set(self.PREFIX + ctx.imsi, raw, ctx.to_json())
        except StoreError as exc:
            raise ContextError(str(exc)) from exc

    async def delete_if_current(self, ctx: UeContext) -> bool:
        """Delete the record (and its M-TMSI index) unless a newer registration owns it."""
        try:
            raw = await self._current(ctx)
            if ctx.m_tmsi:
                await self.store.compare_and_set(
                    f"{self.TMSI_PREFIX}{ctx.m_tmsi}", ctx.imsi.encode(), None
                )
            if raw is None:
                return False
            return await self.store.compare_and_set(self.PREFIX + ctx.imsi, raw, None)
        except StoreError as exc:
            raise ContextError(str(exc)) from exc

    async def drop_index(self, ctx: UeContext) -> None:
        """Remove the M-TMSI index entry of ``ctx``'s GUTI if it still points at its IMSI."""
        try:
            await self.store.compare_and_set(
                f"{self.TMSI_PREFIX}{ctx.m_tmsi}", ctx.imsi.encode(), None
            )
        except StoreError as exc:
            raise ContextError(str(exc)) from exc

    async def delete(self, ctx: UeContext) -> None:
        try:
            if ctx.m_tmsi:
                await self.store.delete(f"{self.TMSI_PREFIX}{ctx.m_tmsi}")
            await self.store.delete(self.PREFIX + ctx.imsi)
        except StoreError as exc:
            raise ContextError(str(exc)) from exc
