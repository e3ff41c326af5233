"""NameTable: the local name table (re-read on change), DNS fallback, clear errors."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from network_functions.runtime import names as names_mod
from network_functions.runtime.names import NameResolutionError, NameTable

pytestmark = pytest.mark.unit


def write_table(path: Path, table: dict[str, Any]) -> None:
    """Atomic replace, as the local platform writes it."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(table))
    os.replace(tmp, path)


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_a: object, **_k: object) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)


def test_table_lookup(tmp_path: Path) -> None:
    path = tmp_path / "names.json"
    write_table(
        path,
        {
            "hss": "127.0.10.1",
            "scscf": ["127.0.10.3", "127.0.10.4"],
            "HSS.ims.Example.NET": "127.0.10.1",
        },
    )
    nt = NameTable(path)
    assert nt.resolve("hss") == "127.0.10.1"
    assert nt.resolve("HSS") == "127.0.10.1"
    assert nt.resolve("hss.ims.example.net.") == "127.0.10.1"
    assert nt.resolve("scscf") == "127.0.10.3"
    assert nt.resolve_all("scscf") == ["127.0.10.3", "127.0.10.4"]
    assert nt.resolve_all("hss") == ["127.0.10.1"]
    assert asyncio.run(nt.resolve_async("scscf")) == "127.0.10.3"
    assert nt.table()["scscf"] == ["127.0.10.3", "127.0.10.4"]


def test_reload_when_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "names.json"
    write_table(path, {"hss": "127.0.10.1"})
    nt = NameTable(path)
    assert nt.resolve("hss") == "127.0.10.1"
    write_table(path, {"hss": "127.0.10.9", "pcscf": "127.0.10.5"})
    assert nt.resolve("hss") == "127.0.10.9"
    assert nt.resolve("pcscf") == "127.0.10.5"
    # in-place rewrite of the same size: the mtime change alone triggers the reload
    path.write_text(json.dumps({"hss": "127.0.10.8", "pcscf": "127.0.10.5"}))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert nt.resolve("hss") == "127.0.10.8"


def test_env_var_selects_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "names.json"
    write_table(path, {"icscf": "127.0.10.2"})
    monkeypatch.setenv("NFV_NAMES", str(path))
    assert NameTable().resolve("icscf") == "127.0.10.2"
    assert NameTable().path == path


def test_unknown_name_error_is_clear(tmp_path: Path, no_dns: None) -> None:
    path = tmp_path / "names.json"
    write_table(path, {"hss": "127.0.10.1"})
    nt = NameTable(path)
    with pytest.raises(NameResolutionError) as info:
        nt.resolve("pcrf")
    msg = str(info.value)
    assert "'pcrf'" in msg and str(path) in msg and "DNS" in msg
    with pytest.raises(NameResolutionError):
        nt.resolve_all("pcrf")


def test_unknown_name_async(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def fail(*_a: object, **_k: object) -> list[Any]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        loop.getaddrinfo = fail  # type: ignore[method-assign]
        with pytest.raises(NameResolutionError, match="no name table"):
            await NameTable(None).resolve_async("pcrf")

    monkeypatch.delenv("NFV_NAMES", raising=False)
    asyncio.run(main())


def test_name_without_addresses(tmp_path: Path, no_dns: None) -> None:
    path = tmp_path / "names.json"
    write_table(path, {"scscf": []})
    with pytest.raises(NameResolutionError, match="no address"):
        NameTable(path).resolve("scscf")


def test_dns_fallback_and_ip_literals(tmp_path: Path) -> None:
    nt = NameTable(tmp_path / "missing.json")  # no table yet: DNS only
    assert nt.resolve("localhost") in ("127.0.0.1", "::1")
    assert asyncio.run(nt.resolve_async("localhost")) in ("127.0.0.1", "::1")
    assert nt.resolve("10.1.2.3") == "10.1.2.3"
    assert nt.resolve_all("::1") == ["::1"]


def test_dns_returns_every_address(monkeypatch: pytest.MonkeyPatch) -> None:
    infos = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.2", 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", 0)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: infos)
    monkeypatch.delenv("NFV_NAMES", raising=False)
    assert NameTable().resolve_all("scscf-headless.nfv.svc") == ["10.0.0.1", "10.0.0.2"]


def test_broken_table_keeps_the_last_good_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "names.json"
    write_table(path, {"hss": "127.0.10.1"})
    nt = NameTable(path)
    assert nt.resolve("hss") == "127.0.10.1"
    with caplog.at_level(logging.WARNING, logger="nfv.names"):
        path.write_text('{"hss": "127.0.10.2"')  # half-written
        assert nt.resolve("hss") == "127.0.10.1"
        path.write_text('["not", "a", "mapping"]')
        assert nt.resolve("hss") == "127.0.10.1"
        path.write_text('{"hss": 7}')
        assert nt.resolve("hss") == "127.0.10.1"
        path.unlink()
        assert nt.resolve("hss") == "127.0.10.1"
    assert len(caplog.records) >= 3
    write_table(path, {"hss": "127.0.10.3"})
    assert nt.resolve("hss") == "127.0.10.3"


def test_recheck_interval_bounds_the_stat_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``recheck`` the file is looked at no more often than that; a rewrite is seen
    once the interval has passed."""
    path = tmp_path / "names.json"
    write_table(path, {"hss": "127.0.10.1"})
    clock = [100.0]
    monkeypatch.setattr(names_mod, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    nt = NameTable(path, recheck=0.2)
    assert nt.resolve("hss") == "127.0.10.1"
    write_table(path, {"hss": "127.0.10.9", "pad": "x"})
    clock[0] += 0.1
    assert nt.resolve("hss") == "127.0.10.1"  # within the interval: not looked at yet
    clock[0] += 0.15
    assert nt.resolve("hss") == "127.0.10.9"
