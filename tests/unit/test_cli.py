"""The `nfv` command line: argument errors, bad input, output formats, local planning.

Most tests call ``nfv.cli.main([...])`` in-process; nothing here starts a supervisor or an
NF (``nfv up`` is only driven into errors that happen before anything starts). The few
tests that run ``python -m nfv`` as a subprocess are also marked ``integration``.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nfv import cli
from nfv.catalog import load_catalog
from nfv.errors import PlatformError, ValuesError
from nfv.platforms.local.plan import build_plan, check_ports, parse_subnet, write_files
from nfv.platforms.local.platform import LocalPlatform, NFProgress, progress_lines
from nfv.platforms.local.procs import ProcessRef, listeners, port_in_use, read_stat
from nfv.platforms.local.state import StateDir, admin_port, write_json_atomic
from nfv.values import CHART_ROOT, load_values

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("NFV_"):
            monkeypatch.delenv(key)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def subnet() -> str:
    """A /24 in 127.0.0.0/8 that nothing on this host listens in."""
    for third in range(200, 250):
        second = 100 + os.getpid() % 100
        net = ipaddress.IPv4Network(f"127.{second}.{third}.0/24")
        if not listeners(net):
            return str(net)
    raise AssertionError("no free loopback /24")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# -- argument errors: exit 2 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["scale", "scscf"],
        ["scale", "scscf", "three"],
        ["scale", "scscf", "65"],
        ["scale", "scscf", "-1"],
        ["up", "--timeout", "0"],
        ["up", "--timeout", "soon"],
        ["subscribers"],
        ["subscribers", "add", "12ab", "--msisdn", "1555", "--k", "0" * 32, "--opc", "0" * 32],
        ["subscribers", "add", "001010000000001", "--msisdn", "1555", "--k", "xyz", "--opc", "0"],
        ["subscribers", "add", "001010000000001", "--k", "0" * 32, "--opc", "0" * 32],
        ["status", "--yaml"],
    ],
)
def test_argument_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage: nfv" in capsys.readouterr().err


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("up", "down", "status", "scale", "logs", "subscribers"):
        assert command in out


# -- bad input: exit 1 with a clear message --------------------------------------------------------


def test_unknown_nf_for_scale(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["scale", "smsc", "2", "--state-dir", str(state_dir)], capsys)
    assert code == 1
    assert "unknown network function 'smsc'" in err and "scscf" in err


def test_unknown_nf_for_logs(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["logs", "smsc", "--state-dir", str(state_dir)], capsys)
    assert code == 1 and "unknown network function 'smsc'" in err


def test_scale_with_nothing_running(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["scale", "scscf", "2", "--state-dir", str(state_dir)], capsys)
    assert code == 1 and "nothing is running" in err


def test_unknown_profile(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["up", "--profile", "huge", "--state-dir", str(state_dir)], capsys)
    assert code == 1
    assert "unknown profile 'huge'" in err and "lab" in err
    assert not (state_dir / "state.json").exists()


def test_profile_failing_the_schema(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(CHART_ROOT, chart)
    (chart / "profiles" / "broken.yaml").write_text("nfs:\n  scscf: {replicas: 100}\n")
    argv = ["up", "--chart", str(chart), "--profile", "broken", "--state-dir", str(state_dir)]
    code, _, err = run(argv, capsys)
    assert code == 1
    assert "values fail the schema" in err and "nfs.scscf.replicas" in err


def test_profile_with_bad_autoscaling(
    tmp_path: Path,
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(CHART_ROOT, chart)
    (chart / "profiles" / "broken.yaml").write_text(
        "autoscaling:\n  enabled: true\n  nfs:\n    scscf: {min: 4, max: 2}\n"
    )
    monkeypatch.setenv("NFV_CHART", str(chart))
    monkeypatch.setenv("NFV_PROFILE", "broken")
    code, _, err = run(["up", "--state-dir", str(state_dir)], capsys)
    assert code == 1
    assert "autoscaling.nfs.scscf" in err and "min (4) is greater than max (2)" in err


def test_values_file_failing_the_schema(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('network: {mcc: "1"}\n')
    code, _, err = run(["up", "-f", str(bad), "--state-dir", str(state_dir)], capsys)
    assert code == 1 and "network.mcc" in err


def test_missing_values_file(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        ["up", "-f", str(tmp_path / "nope.yaml"), "--state-dir", str(state_dir)], capsys
    )
    assert code == 1 and "nope.yaml" in err


def test_values_naming_an_unknown_nf(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("nfs:\n  smsc: {replicas: 1}\n")
    code, _, err = run(["up", "-f", str(extra), "--state-dir", str(state_dir)], capsys)
    assert code == 1 and "unknown network function 'smsc'" in err


def test_disabled_peer_is_refused(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("nfs:\n  hss: {enabled: false}\n")
    code, _, err = run(["up", "-f", str(extra), "--state-dir", str(state_dir)], capsys)
    assert code == 1 and "needs peer hss" in err


@pytest.mark.parametrize(
    ("subnet_arg", "needle"),
    [
        ("10.0.0.0/24", "not inside 127.0.0.0/8"),
        ("banana", "not an IPv4 subnet"),
        ("127.0.0.0/30", "needs"),
    ],
)
def test_bad_subnet(
    subnet_arg: str, needle: str, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["up", "--subnet", subnet_arg, "--state-dir", str(state_dir)], capsys)
    assert code == 1 and needle in err


@pytest.mark.parametrize(
    ("transport", "port", "nf"), [("tcp", 3868, "hss"), ("udp", 5060, "pcscf")]
)
def test_port_in_use(
    transport: str,
    port: int,
    nf: str,
    subnet: str,
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    net = ipaddress.IPv4Network(subnet)
    # the local platform gives every catalog NF an address, in catalog order
    address = str(list(net.hosts())[list(load_catalog()).index(nf)])
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as squatter:
        squatter.bind((address, port))
        if transport == "tcp":
            squatter.listen(1)
        code, _, err = run(["up", "--subnet", subnet, "--state-dir", str(state_dir)], capsys)
    assert code == 1
    assert f"{nf}: cannot bind {address}:{port}/{transport}" in err
    assert "in use" in err.lower()
    assert not (state_dir / "state.json").exists()


def test_admin_port_in_use(
    subnet: str, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = str(next(ipaddress.IPv4Network(subnet).hosts()))
    with socket.socket() as squatter:
        squatter.bind((address, 8080))
        squatter.listen(1)
        code, _, err = run(["up", "--subnet", subnet, "--state-dir", str(state_dir)], capsys)
    assert code == 1 and f"hss: cannot bind {address}:8080/tcp (admin (hss-0))" in err


# -- nothing running -------------------------------------------------------------------------------


def test_down_with_nothing_running_is_fine(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        code, out, _ = run(["down", "--state-dir", str(state_dir)], capsys)
        assert code == 0 and "nothing is running" in out


def test_status_with_nothing_running(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["status", "--state-dir", str(state_dir)], capsys)
    assert code == 0 and "nothing is running" in out
    code, out, _ = run(["status", "--json", "--state-dir", str(state_dir)], capsys)
    data = json.loads(out)
    assert code == 0 and data["running"] is False and data["state_dir"] == str(state_dir)


def test_state_dir_from_environment(
    state_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NFV_STATE_DIR", str(state_dir))
    _, out, _ = run(["status", "--json"], capsys)
    assert json.loads(out)["state_dir"] == str(state_dir)


def test_down_cleans_a_stale_state_file(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A state file whose processes are long gone (PID 1 never has start time 1).
    StateDir(state_dir).create()
    stale = {
        "supervisor": {"pid": 1, "start_time": 1, "session": 1, "control": "/nonexistent"},
        "nfs": {"hss": {"replicas": [{"name": "hss-0", "pid": 1, "start_time": 1}]}},
        "waves": [["hss"]],
    }
    write_json_atomic(state_dir / "state.json", stale)
    code, out, _ = run(["status", "--state-dir", str(state_dir)], capsys)
    assert code == 0 and "NOT running" in out and "gone" in out
    code, out, _ = run(["down", "--state-dir", str(state_dir)], capsys)
    assert code == 0
    assert not (state_dir / "state.json").exists()
    _, out, _ = run(["down", "--state-dir", str(state_dir)], capsys)
    assert "nothing is running" in out


def test_down_purge_refuses_a_foreign_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    code, _, err = run(["down", "--purge", "--state-dir", str(foreign)], capsys)
    assert code == 1 and "does not look like an nfv state directory" in err
    assert (foreign / "precious.txt").exists()


# -- subscribers -----------------------------------------------------------------------------------


def test_subscribers_need_a_running_core_or_url(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["subscribers", "list", "--state-dir", str(state_dir)], capsys)
    assert code == 1 and "--hss-url" in err


def test_subscribers_unreachable_url(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    code, _, err = run(["subscribers", "list", "--hss-url", f"http://127.0.0.1:{port}"], capsys)
    assert code == 1 and "cannot reach the provisioning API" in err


def test_subscribers_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["subscribers", "list", "--hss-url", "ftp://x"], capsys)
    assert code == 1 and "http://host:port" in err


SUB = {
    "imsi": "001010000000001",
    "msisdn": "15550000001",
    "k": "465b5ce8b199b49faa5f0a2ee238a6bc",
    "opc": "cd63cb71954a9f4e48a5994e37a02baf",
}


def test_read_subscriber_file_json_and_csv(tmp_path: Path) -> None:
    js = tmp_path / "subs.json"
    js.write_text(json.dumps({"subscribers": [SUB, {**SUB, "imsi": "001010000000002"}]}))
    assert [r["imsi"] for r in cli.read_subscriber_file(js)] == [
        "001010000000001",
        "001010000000002",
    ]
    one = tmp_path / "one.json"
    one.write_text(json.dumps(SUB))
    assert cli.read_subscriber_file(one) == [SUB]
    csv_file = tmp_path / "subs.csv"
    csv_file.write_text(
        "imsi,msisdn,k,opc,password,impus\n"
        f"{SUB['imsi']},{SUB['msisdn']},{SUB['k']},{SUB['opc']},pw,sip:a@x;tel:+1555\n"
        f"001010000000002,15550000002,{SUB['k']},{SUB['opc']},,\n"
    )
    records = cli.read_subscriber_file(csv_file)
    assert records[0]["impus"] == ["sip:a@x", "tel:+1555"] and records[0]["password"] == "pw"
    assert "password" not in records[1] and "impus" not in records[1]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("a.json", "[{", "not valid JSON"),
        ("a.json", json.dumps([SUB, {**SUB, "k": "short"}]), "record 2: k must be 32 hex digits"),
        ("a.csv", "imsi,msisdn\n1,2\n", "CSV header lacks k, opc"),
        ("a.csv", f"imsi,msisdn,k,opc\n12x,155,{SUB['k']},{SUB['opc']}\n", "line 2: imsi"),
        ("a.txt", "", "reads .json or .csv"),
        ("a.json", "[1]", "must be an object"),
    ],
)
def test_read_subscriber_file_errors(tmp_path: Path, name: str, content: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PlatformError) as err:
        cli.read_subscriber_file(path)
    assert needle in str(err.value)


def test_subscribers_import_of_a_bad_file_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "subs.csv"
    path.write_text("imsi,msisdn,k,opc\n1,2,3,4\n")
    argv = ["subscribers", "import", str(path), "--hss-url", "http://127.0.0.1:9"]
    code, _, err = run(argv, capsys)
    assert code == 1 and "line 2" in err


# -- output: progress and status -------------------------------------------------------------------


def _progress(phase: str, ready: int) -> list[NFProgress]:
    return [
        NFProgress("hss", "127.0.77.1", 0, 1, ready, phase, "admin port 8080 not listening yet")
    ]


def test_plain_progress_prints_changes_only() -> None:
    out = io.StringIO()
    progress = cli.Progress(out, tty=False)
    progress(_progress("starting", 0), 0.1)
    progress(_progress("starting", 0), 0.2)
    progress(_progress("ready", 1), 0.3)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "hss" in lines[0] and "0/1 starting (admin port 8080 not listening yet)" in lines[0]
    assert lines[1].endswith("1/1 ready")


def test_tty_progress_redraws_one_line_per_nf() -> None:
    out = io.StringIO()
    progress = cli.Progress(out, tty=True)
    progress(_progress("starting", 0), 0.1)
    progress(_progress("ready", 1), 0.2)
    text = out.getvalue()
    assert "\x1b[2F" in text  # cursor back up over the NF line and the elapsed line
    assert text.count("\x1b[2K") == 4


def _state() -> dict[str, Any]:
    replica = {
        "name": "scscf-0",
        "admin_port": 8080,
        "pid": 4242,
        "ready": True,
        "restarts": 2,
        "cpu_percent": 12.5,
        "state": "running",
    }
    starting = {
        **replica,
        "name": "scscf-1",
        "admin_port": 8081,
        "ready": False,
        "state": "backoff",
        "reason": "exited with code 1; restart 1 in 0.5 s",
        "cpu_percent": None,
    }
    return {
        "supervisor": {"pid": 99},
        "supervisor_alive": True,
        "phase": "running",
        "waves": [["scscf"]],
        "nfs": {
            "scscf": {
                "address": "127.0.77.3",
                "ports": [{"port": 5060, "transport": "udp"}, {"port": 5060, "transport": "tcp"}],
                "desired": 2,
                "started": True,
                "wave": 0,
                "autoscaling": True,
                "replicas": [replica, starting],
            }
        },
    }


def test_format_status() -> None:
    text = cli.format_status(_state(), Path("/s"))
    assert "supervisor pid 99, running" in text
    assert "5060/udp,5060/tcp" in text and "1/2" in text and "(autoscaled)" in text
    row = next(line for line in text.splitlines() if "scscf-0" in line)
    assert "4242" in row and "12.5" in row and "yes" in row
    row = next(line for line in text.splitlines() if "scscf-1" in line)
    assert "backoff: exited with code 1" in row


def test_progress_lines_phases() -> None:
    state = _state()
    assert progress_lines(state)[0].phase == "starting"
    state["nfs"]["scscf"]["desired"] = 1
    assert progress_lines(state)[0].phase == "scaling"  # one replica too many
    state["nfs"]["scscf"]["replicas"].pop()
    assert progress_lines(state)[0].phase == "ready"
    state["nfs"]["scscf"]["started"] = False
    assert progress_lines(state)[0].phase == "waiting"


# -- planning (what `nfv up` writes before it starts anything) -------------------------------------


def test_plan_addresses_ports_waves_and_files(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "s")
    catalog = load_catalog()
    values = load_values(profile="lab")
    plan = build_plan(state, catalog=catalog, values=values, profile="lab", subnet="127.0.77.0/24")
    order = list(catalog)
    assert {n: plan["nfs"][n]["address"] for n in order if n in plan["nfs"]} == {
        n: f"127.0.77.{i + 1}" for i, n in enumerate(order) if n in plan["nfs"]
    }
    assert set(plan["nfs"]) == {n for n in order if values["nfs"][n]["enabled"]}
    assert {"hss", "pcscf"} <= set(plan["waves"][0])
    assert {"icscf", "scscf", "mme"} <= set(plan["waves"][1])
    hss = plan["nfs"]["hss"]
    assert {(p["port"], p["transport"]) for p in hss["ports"]} == {(3868, "tcp"), (8081, "tcp")}
    assert hss["fqdn"] == f"hss.{values['network']['ims_domain']}"
    assert plan["autoscaling"]["enabled"] is False and hss["autoscaling"] is None
    write_files(state, plan, catalog=catalog, values=values)
    names = json.loads(state.names.read_text())
    assert names["hss"] == names[hss["fqdn"]] == hss["address"]
    assert stat.S_IMODE(state.subscribers.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.root.stat().st_mode) == 0o700
    subs = json.loads(state.subscribers.read_text())
    assert len(subs) == 20 and subs[0]["password"] == "secret-15550000001"
    config = state.config("hss").read_text()
    assert str(state.subscribers) in config
    assert json.loads(state.plan.read_text())["nfs"]["hss"]["module"] == "network_functions.hss"


def test_plan_with_autoscaling_profile(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "s")
    values = load_values(profile="scaling")
    plan = build_plan(state, catalog=load_catalog(), values=values, profile="scaling")
    scscf = plan["nfs"]["scscf"]["autoscaling"]
    assert scscf is not None and scscf["min"] == 1 and scscf["max"] == 6
    assert scscf["behavior"]["scale_down"]["stabilization_window_seconds"] == 60
    assert plan["nfs"]["hss"]["autoscaling"] is None  # not listed: fixed replicas


def test_plan_autoscaling_clamps_initial_replicas(tmp_path: Path) -> None:
    values = load_values(
        overrides={
            "nfs": {"scscf": {"replicas": 1}},
            "autoscaling": {"enabled": True, "nfs": {"scscf": {"min": 2, "max": 3}}},
        }
    )
    plan = build_plan(StateDir(tmp_path), catalog=load_catalog(), values=values, profile=None)
    assert plan["nfs"]["scscf"]["replicas"] == 2
    # target CPU comes from the descriptor when the values do not say
    auto = plan["nfs"]["scscf"]["autoscaling"]
    assert auto is not None and auto["target_cpu_percent"] == 70


def test_plan_rejects_autoscaling_of_unknown_nf(tmp_path: Path) -> None:
    values = load_values(overrides={"autoscaling": {"enabled": True, "nfs": {"smsc": {}}}})
    with pytest.raises(ValuesError, match="unknown network function 'smsc'"):
        build_plan(StateDir(tmp_path), catalog=load_catalog(), values=values, profile=None)


def test_check_ports_passes_on_a_free_subnet(tmp_path: Path, subnet: str) -> None:
    values = load_values(profile="lab")
    plan = build_plan(
        StateDir(tmp_path), catalog=load_catalog(), values=values, profile=None, subnet=subnet
    )
    check_ports(plan)


def test_admin_ports_skip_service_ports() -> None:
    assert [admin_port(8080, i, {8081}) for i in range(3)] == [8080, 8082, 8083]
    assert [admin_port(8080, i, {5060}) for i in range(3)] == [8080, 8081, 8082]


def test_parse_subnet() -> None:
    assert str(parse_subnet("127.0.77.9/24")) == "127.0.77.0/24"
    with pytest.raises(PlatformError):
        parse_subnet("192.168.0.0/24")


def test_control_socket_path_stays_short(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 120)
    path = StateDir(deep).control_socket
    assert len(os.fsencode(path)) <= 107
    assert StateDir(tmp_path).control_socket == tmp_path / "control.sock"


# -- /proc helpers ---------------------------------------------------------------------------------


def test_process_ref_checks_start_time() -> None:
    me = ProcessRef.of(os.getpid())
    assert me is not None and me.alive()
    assert not ProcessRef(os.getpid(), me.start_time + 1).alive()
    assert not ProcessRef(os.getpid(), me.start_time + 1).terminate()  # not sent
    stat_ = read_stat(os.getpid())
    assert stat_ is not None and stat_.cpu_ticks >= 0


def test_listeners_and_port_probe(subnet: str) -> None:
    net = ipaddress.IPv4Network(subnet)
    address = str(next(net.hosts()))
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind((address, 0))
        tcp.listen(1)
        udp.bind((address, 0))
        found = {(x.transport, x.address, x.port) for x in listeners(net)}
        assert ("tcp", address, tcp.getsockname()[1]) in found
        assert ("udp", address, udp.getsockname()[1]) in found
        assert port_in_use(address, tcp.getsockname()[1], "tcp") is not None
        assert port_in_use(address, udp.getsockname()[1], "udp") is not None
    assert listeners(net) == []


def test_platform_log_merge(tmp_path: Path) -> None:
    platform = LocalPlatform(tmp_path)
    platform.dir.create()
    plan: dict[str, Any] = {"nfs": {"scscf": {}}}
    write_json_atomic(platform.dir.plan, plan)
    (platform.dir.logs / "scscf-0.log").write_text(
        '{"ts": "2024-01-01T00:00:01.000Z", "msg": "a"}\n'
        "Traceback (most recent call last):\n"
        '{"ts": "2024-01-01T00:00:03.000Z", "msg": "c"}\n'
    )
    (platform.dir.logs / "scscf-1.log").write_text(
        '{"ts": "2024-01-01T00:00:02.000Z", "msg": "b"}\n'
    )
    (platform.dir.logs / "scscf-x.log").write_text("not a replica\n")
    lines = list(platform.logs("scscf"))
    assert [line.split(" | ")[0] for line in lines] == ["scscf-0", "scscf-0", "scscf-1", "scscf-0"]
    assert lines[1] == "scscf-0 | Traceback (most recent call last):"


# -- the real entry points, as a user runs them ----------------------------------------------------


def _nfv(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFV_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "nfv", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


@pytest.mark.integration
def test_subprocess_exit_codes(tmp_path: Path) -> None:
    assert _nfv("--help", cwd=tmp_path).returncode == 0
    bad = _nfv("scale", "scscf", "lots", cwd=tmp_path)
    assert bad.returncode == 2 and "not a whole number" in bad.stderr
    unknown = _nfv("up", "--profile", "nope", cwd=tmp_path)
    assert unknown.returncode == 1 and "unknown profile 'nope'" in unknown.stderr
    nf = _nfv("scale", "nope", "1", cwd=tmp_path)
    assert nf.returncode == 1 and "unknown network function 'nope'" in nf.stderr
    down = _nfv("down", cwd=tmp_path)
    assert down.returncode == 0 and "nothing is running" in down.stdout
    assert not (tmp_path / ".nfv-local" / "state.json").exists()


@pytest.mark.integration
def test_subprocess_port_in_use(tmp_path: Path, subnet: str) -> None:
    address = str(next(ipaddress.IPv4Network(subnet).hosts()))
    with socket.socket() as squatter:
        squatter.bind((address, 3868))
        squatter.listen(1)
        result = _nfv("up", "--detach", "--subnet", subnet, "--state-dir", "s", cwd=tmp_path)
    assert result.returncode == 1
    assert f"hss: cannot bind {address}:3868/tcp" in result.stderr
