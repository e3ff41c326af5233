"""Discovery by name: an NF finds its peers as ``hss``, ``scscf``, ... never as fixed IPs.

On the local platform the runtime writes a JSON name table (``{"hss": "127.0.10.1",
"scscf": ["127.0.10.3", "127.0.10.4"]}``) and points every process at it with the
``NFV_NAMES`` environment variable; it rewrites the file (atomically, by rename) when
replicas come and go, and :class:`NameTable` re-reads it whenever its modification time
changes. On Kubernetes there is no table and names are Service DNS names, resolved with
``getaddrinfo`` (a headless Service yields every pod IP: :meth:`NameTable.resolve_all`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["NameResolutionError", "NameTable"]

log = logging.getLogger("nfv.names")

ENV_VAR = "NFV_NAMES"
# Names answered from the table (and IP literals) are remembered until the table changes,
# so the per-request path is a stat and a dict lookup. Names come from requests (Route,
# Request-URI hosts), so the memo is bounded.
MEMO_LIMIT = 4096
# What an NF passes as ``recheck``: its per-message lookups stat the table at most this
# often (seconds). Replicas come and go in seconds (a process start, a readiness probe), so
# noticing a rewrite 0.2 s later changes nothing, and it saves a stat() per lookup.
NF_RECHECK_INTERVAL = 0.2


class NameResolutionError(Exception):
    """Neither the name table nor DNS knows the name."""


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _unique(addresses: list[str]) -> list[str]:
    return list(dict.fromkeys(addresses))


class NameTable:
    """Name → address resolution: the local name table first, DNS second."""

    def __init__(self, path: str | Path | None = None, *, recheck: float = 0.0) -> None:
        """``recheck``: the file is stat()ed at most this often, in seconds (0: on every
        lookup, so a rewrite is seen at once)."""
        if path is None:
            path = os.environ.get(ENV_VAR) or None
        self.path: Path | None = Path(path) if path is not None else None
        self._spath = str(self.path) if self.path is not None else ""
        self.recheck = recheck
        self._next_check = 0.0
        self._table: dict[str, list[str]] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._memo: dict[str, str] = {}  # name -> resolve(name), from the table or literal

    # -- the table ------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Re-read the table when the file changed (mtime, size, inode); keep the old one
        when the new content is unreadable (a writer that does not rename atomically)."""
        if self.path is None:
            return
        if self.recheck > 0:
            now = time.monotonic()
            if now < self._next_check:
                return
            self._next_check = now + self.recheck
        try:
            st = os.stat(self._spath)
        except FileNotFoundError:
            if self._stamp is not None:
                log.warning("name table %s disappeared; keeping the last one read", self.path)
                self._stamp = None
            return
        except OSError as exc:
            log.warning("cannot stat name table %s: %s", self.path, exc)
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return
        try:
            raw = json.loads(self.path.read_bytes())
            table = self._validate(raw)
        except (OSError, ValueError) as exc:
            log.warning("name table %s is unusable, keeping the last one read: %s", self.path, exc)
            return
        self._table = table
        self._stamp = stamp
        self._memo = {}

    @staticmethod
    def _validate(raw: object) -> dict[str, list[str]]:
        if not isinstance(raw, dict):
            raise ValueError("the table must be a JSON object of name → address(es)")
        table: dict[str, list[str]] = {}
        for name, value in raw.items():
            addresses = [value] if isinstance(value, str) else value
            if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
                raise ValueError(f"{name!r}: expected an address or a list of addresses")
            table[str(name).lower().rstrip(".")] = [a for a in addresses if a]
        return table

    def table(self) -> dict[str, list[str]]:
        """A copy of the current table (re-read if the file changed)."""
        self._refresh()
        return {k: list(v) for k, v in self._table.items()}

    def _lookup(self, name: str) -> list[str] | None:
        self._refresh()
        addresses = self._table.get(name.lower().rstrip("."))
        if addresses is not None and not addresses:
            raise NameResolutionError(
                f"cannot resolve {name!r}: the name table {self.path} lists no address for it "
                "(no replica running?)"
            )
        return addresses

    def _error(self, name: str, why: str) -> NameResolutionError:
        where = f"not in the name table {self.path}" if self.path else "no name table (NFV_NAMES)"
        return NameResolutionError(f"cannot resolve {name!r}: {where}, and DNS says: {why}")

    # -- resolution -----------------------------------------------------------------------
    def cached(self, name: str) -> str | None:
        """What :meth:`resolve` gives for ``name`` if that is known without DNS (an IP
        literal, or a name resolved from the current table before), else None."""
        self._refresh()
        return self._memo.get(name)

    def _remember(self, name: str, addresses: list[str]) -> list[str]:
        if len(self._memo) < MEMO_LIMIT:
            self._memo[name] = addresses[0]
        return list(addresses)

    def resolve(self, name: str) -> str:
        """One address for ``name`` (an IP literal is returned as is)."""
        hit = self.cached(name)
        return hit if hit is not None else self.resolve_all(name)[0]

    def resolve_all(self, name: str) -> list[str]:
        """Every address of ``name``: all table entries, or all DNS answers, in order."""
        if _is_ip(name):
            return self._remember(name, [name])
        addresses = self._lookup(name)
        if addresses is not None:
            return self._remember(name, addresses)
        try:
            infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise self._error(name, str(exc)) from None
        return self._from_infos(name, infos)

    async def resolve_async(self, name: str) -> str:
        """:meth:`resolve` without blocking the event loop on DNS."""
        hit = self.cached(name)
        return hit if hit is not None else (await self.resolve_all_async(name))[0]

    async def resolve_all_async(self, name: str) -> list[str]:
        if _is_ip(name):
            return self._remember(name, [name])
        addresses = self._lookup(name)
        if addresses is not None:
            return self._remember(name, addresses)
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise self._error(name, str(exc)) from None
        return self._from_infos(name, infos)

    def _from_infos(
        self, name: str, infos: Sequence[tuple[Any, Any, Any, Any, tuple[Any, ...]]]
    ) -> list[str]:
        addresses = _unique([str(info[4][0]) for info in infos])
        if not addresses:
            raise self._error(name, "no addresses")
        return addresses
