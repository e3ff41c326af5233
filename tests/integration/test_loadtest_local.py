"""`nfv loadtest` for real: Locust (a master and two workers, in subprocesses) against a
local core; every procedure succeeds, the summary and the stats CSVs are written, and the
workers' subscribers never collide."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nfv.cli import main
from nfv.platforms.local.platform import LocalPlatform

pytestmark = pytest.mark.integration


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "core"
    subnet = f"127.{200 + os.getpid() % 50}.{(os.getpid() + 7) % 250}.0/24"
    platform = LocalPlatform(state)
    try:
        platform.up(profile="lab", subnet=subnet, timeout=90)
        yield state
    finally:
        platform.down()


def test_distributed_loadtest_against_the_local_core(
    core: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lt"
    code = main(
        [
            "loadtest",
            "ims",
            "--state-dir",
            str(core),
            "--users",
            "6",
            "--spawn-rate",
            "6",
            "--duration",
            "12",
            "--workers",
            "2",
            "--reregister-interval",
            "4",
            "--bhca",
            "720",
            "--holding-time",
            "0.5",
            "--auth",
            "mixed",
            "-o",
            str(out),
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "offered" in printed.out and "REGISTER/s" in printed.out

    summary = json.loads((out / "summary.json").read_text())
    m = summary["measured"]
    assert m["failures"] == 0, m["by_procedure"]
    by = m["by_procedure"]
    # 6 users = 12 subscribers: each registered once and de-registered at the end.
    assert by["register"]["count"] == 12
    assert by["de-register"]["count"] == 12
    assert by["re-register"]["count"] >= 12
    assert by["call-setup"]["count"] >= 5
    assert by["hangup"]["count"] >= by["call-setup"]["count"] - 6
    assert summary["workers"] == 2
    assert summary["offered_at_peak"]["register_per_s"] == pytest.approx(3.0)
    assert summary["offered_at_peak"]["calls_per_s"] == pytest.approx(2.4)

    # Locust's own stats CSV has a row per procedure, with the same counts.
    with open(out / "locust_stats.csv") as fh:
        stats = {r["Name"]: r for r in csv.DictReader(fh)}
    for name in ("register", "re-register", "call-setup", "hangup", "de-register"):
        assert int(stats[name]["Request Count"]) == by[name]["count"], name
        assert int(stats[name]["Failure Count"]) == 0

    # Two workers wrote event logs; users ran on both.
    logs = sorted((out / "events").glob("events-*.csv"))
    assert len(logs) == 2
    for log in logs:
        assert any(line.startswith("R,") for line in log.read_text().splitlines())

    # Users on different workers (or in different slots) never shared a subscriber.
    from nfv.loadtest.events import read_events

    data = read_events(out / "events")
    assert {w for _, w, _, _ in data.users} == {0, 1}
    owner: dict[str, tuple[int, int]] = {}
    for _, worker, slot, imsis in data.users:
        for imsi in imsis.split():
            assert owner.setdefault(imsi, (worker, slot)) == (worker, slot), imsi


EPC_VALUES = {
    "nfs": {
        "sgw": {"enabled": True},
        "pgw": {"enabled": True},
        "mme": {"enabled": True},
        "pcrf": {"enabled": True},
    }
}


def test_epc_scenario_attaches_and_detaches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    values = tmp_path / "epc.yaml"
    values.write_text(yaml.safe_dump(EPC_VALUES))
    state = tmp_path / "epc-core"
    platform = LocalPlatform(state)
    subnet = f"127.{200 + os.getpid() % 50}.{(os.getpid() + 13) % 250}.0/24"
    out = tmp_path / "lt"
    try:
        platform.up(profile="lab", files=[values], subnet=subnet, timeout=120)
        code = main(
            [
                "loadtest",
                "epc",
                "--state-dir",
                str(state),
                "--users",
                "4",
                "--spawn-rate",
                "4",
                "--duration",
                "10",
                "--reregister-interval",
                "4",
                "-o",
                str(out),
            ]
        )
    finally:
        platform.down()
    printed = capsys.readouterr()
    assert code == 0, printed.err
    summary = json.loads((out / "summary.json").read_text())
    by = summary["measured"]["by_procedure"]
    assert summary["measured"]["failures"] == 0, by
    assert by["s1-setup"]["count"] == 4  # one eNB per user
    assert by["attach"]["count"] >= 8 + 4  # 8 UEs, then re-attaches every 4 s
    assert by["detach"]["count"] >= 8  # the re-attach cycles and the stop
