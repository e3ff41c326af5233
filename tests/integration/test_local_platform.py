"""The local platform end to end: real supervisor, real replica processes, real sockets.

Each test runs ``python -m nfv`` against its own state directory and its own loopback /24,
and always ends with ``nfv down`` and a check that no recorded process is alive and nothing
listens on the subnet (/proc/net/tcp, /proc/net/udp).

Two catalogs: ``fake`` — the real NF descriptors with ``module: fakenf`` (a small stand-in
honouring the process contract, tests/fixtures/fakenf) — always; ``real`` — the NFs
themselves — when every NF package has a ``__main__`` (NFV_TEST_REAL=0 skips it).
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from network_functions.runtime.http import http_request_sync
from nfv.platforms.local.procs import ProcessRef, listeners

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
NF_ROOT = REPO / "network_functions"
_subnets = itertools.count()


def real_nfs_present() -> bool:
    descriptors = list(NF_ROOT.glob("*/nf.yaml"))
    return bool(descriptors) and all((d.parent / "__main__.py").exists() for d in descriptors)


def free_subnet() -> ipaddress.IPv4Network:
    second = 100 + os.getpid() % 100
    for _ in range(256):
        third = 10 + next(_subnets) % 240
        net = ipaddress.IPv4Network(f"127.{second}.{third}.0/24")
        if not listeners(net):
            return net
    raise AssertionError("no free loopback /24")


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Core:
    """One `nfv` deployment under test: runs the CLI, reads the state directory."""

    def __init__(self, root: Path, catalog: Path | None, env: dict[str, str]) -> None:
        self.root = root
        self.state_dir = root / "state"
        self.subnet = free_subnet()
        self.catalog = catalog
        self.env = env
        self.seen: set[tuple[int, int]] = set()

    def nfv(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 90,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **(extra_env or {})}
        result = subprocess.run(
            [sys.executable, "-m", "nfv", *args, "--state-dir", str(self.state_dir)],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.root,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"nfv {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def up_args(self, *extra: str) -> list[str]:
        args = ["up", "--detach", "--subnet", str(self.subnet), "--timeout", "60", *extra]
        if self.catalog is not None:
            args += ["--catalog", str(self.catalog)]
        return args

    def up(self, *extra: str) -> float:
        out = self.nfv(*self.up_args(*extra)).stdout
        self.remember()
        match = re.search(r"core ready in ([\d.]+) s", out)
        assert match, out
        return float(match.group(1))

    def state(self) -> dict[str, Any]:
        data = json.loads((self.state_dir / "state.json").read_text())
        assert isinstance(data, dict)
        return data

    def status(self) -> dict[str, Any]:
        data = json.loads(self.nfv("status", "--json").stdout)
        assert isinstance(data, dict)
        self.remember(data)
        return data

    def remember(self, state: dict[str, Any] | None = None) -> None:
        """Note every PID the state mentions, to check at the end that none survived."""
        if state is None:
            try:
                state = self.state()
            except (OSError, ValueError):
                return
        sup = state.get("supervisor") or {}
        if sup.get("pid"):
            self.seen.add((sup["pid"], sup["start_time"]))
        for nf in state.get("nfs", {}).values():
            for rep in nf.get("replicas", []):
                if rep.get("pid"):
                    self.seen.add((rep["pid"], rep["start_time"]))

    def replicas(self, nf: str) -> list[dict[str, Any]]:
        state = self.state()
        self.remember(state)
        reps = state["nfs"][nf]["replicas"]
        assert isinstance(reps, list)
        return reps

    def address(self, nf: str) -> str:
        return str(self.state()["nfs"][nf]["address"])

    def readyz(self, nf: str, rep: dict[str, Any]) -> int:
        try:
            status, _ = http_request_sync(
                self.address(nf), rep["admin_port"], "GET", "/readyz", timeout=2.0
            )
        except OSError:
            return 0
        return status

    def all_ready(self, nf: str, count: int) -> list[dict[str, Any]] | None:
        reps = self.replicas(nf)
        if len(reps) == count and all(r["ready"] for r in reps):
            return reps
        return None

    def assert_clean(self) -> None:
        alive = [pid for pid, start in self.seen if ProcessRef(pid, start).alive()]
        assert alive == [], f"processes left behind: {alive}"
        assert listeners(self.subnet) == [], f"sockets left on {self.subnet}"
        assert not (self.state_dir / "state.json").exists()
        assert not (self.state_dir / "control.sock").exists()


@pytest.fixture(scope="session")
def fake_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real descriptors with their module swapped for the fake NF."""
    root = tmp_path_factory.mktemp("fake-catalog") / "nfs"
    for descriptor in NF_ROOT.glob("*/nf.yaml"):
        target = root / descriptor.parent.name / "nf.yaml"
        target.parent.mkdir(parents=True)
        text = re.sub(r"(?m)^module: .*$", "module: fakenf", descriptor.read_text())
        target.write_text(text)
    return root


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NFV_", "FAKENF_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(FIXTURES)])
    return env


@pytest.fixture(
    params=[
        "fake",
        pytest.param(
            "real",
            marks=pytest.mark.skipif(
                not real_nfs_present() or os.environ.get("NFV_TEST_REAL") == "0",
                reason="the NF packages are not all runnable yet",
            ),
        ),
    ]
)
def core(request: pytest.FixtureRequest, tmp_path: Path, fake_catalog: Path) -> Iterator[Core]:
    catalog = fake_catalog if request.param == "fake" else None
    c = Core(tmp_path, catalog, _env())
    try:
        yield c
    finally:
        c.remember()
        c.nfv("down", check=False)
        c.assert_clean()


@pytest.fixture
def fake_core(tmp_path: Path, fake_catalog: Path) -> Iterator[Core]:
    c = Core(tmp_path, fake_catalog, _env())
    try:
        yield c
    finally:
        c.remember()
        c.nfv("down", check=False)
        c.assert_clean()


# -- the life cycle --------------------------------------------------------------------------------


def test_up_scale_crash_down(core: Core) -> None:
    elapsed = core.up()
    print(f"\n`nfv up` ready in {elapsed:.2f} s ({'fake' if core.catalog else 'real'} catalog)")
    state = core.state()
    assert state["phase"] == "running"
    names = json.loads((core.state_dir / "names.json").read_text())
    for name, nf in state["nfs"].items():
        assert names[name] == nf["address"] and ipaddress.IPv4Address(nf["address"]) in core.subnet
        for rep in nf["replicas"]:
            assert rep["ready"] and core.readyz(name, rep) == 200, rep

    # scale out: three S-CSCF replicas, each ready and serving its own admin port
    core.nfv("scale", "scscf", "3")
    reps = wait_for("3 ready scscf replicas", lambda: core.all_ready("scscf", 3))
    assert sorted(r["name"] for r in reps) == ["scscf-0", "scscf-1", "scscf-2"]
    assert len({r["admin_port"] for r in reps}) == 3
    assert all(core.readyz("scscf", r) == 200 for r in reps)
    status = core.status()
    assert status["running"] and status["nfs"]["scscf"]["ready"] == 3

    # scale in: the highest indices drain (SIGTERM -> exit 0) and disappear
    removed = [ProcessRef(r["pid"], r["start_time"]) for r in reps if r["index"] > 0]
    core.nfv("scale", "scscf", "1")
    reps = wait_for("1 scscf replica", lambda: core.all_ready("scscf", 1))
    assert reps[0]["name"] == "scscf-0"
    assert not any(ref.alive() for ref in removed)
    supervisor_log = (core.state_dir / "logs" / "supervisor.log").read_text()
    assert "scscf-2 stopped (exited with code 0)" in supervisor_log

    # crash: SIGKILL a replica; the supervisor restarts it with backoff and reports it
    victim = ProcessRef(reps[0]["pid"], reps[0]["start_time"])
    assert victim.kill()

    def restarted(killed: ProcessRef) -> Callable[[], dict[str, Any] | None]:
        def check() -> dict[str, Any] | None:
            reps = core.replicas("scscf")
            ok = reps and reps[0]["pid"] != killed.pid and reps[0]["ready"]
            return reps[0] if ok else None

        return check

    rep = wait_for("scscf-0 restarted", restarted(victim))
    assert rep["restarts"] == 1 and core.readyz("scscf", rep) == 200
    second = ProcessRef(rep["pid"], rep["start_time"])
    assert second.kill()
    rep = wait_for("scscf-0 restarted again", restarted(second))
    log = (core.state_dir / "logs" / "supervisor.log").read_text()
    assert "scscf-0 killed by SIGKILL" in log and "restart 2 in 1.0 s" in log
    status = core.status()
    assert status["nfs"]["scscf"]["replicas"][0]["restarts"] == 2
    text = core.nfv("status").stdout
    assert "scscf-0" in text and str(rep["pid"]) in text

    # logs: merged, one prefix per replica
    lines = core.nfv("logs", "scscf").stdout.splitlines()
    assert lines and all(re.match(r"^scscf-\d \| ", line) for line in lines)
    assert {line.split(" | ")[0] for line in lines} >= {"scscf-0", "scscf-1", "scscf-2"}

    # down: everything stops; a second down has nothing to do
    out = core.nfv("down").stdout
    assert "stopped" in out
    core.assert_clean()
    assert "nothing is running" in core.nfv("down").stdout


def test_subscribers_through_the_provisioning_api(core: Core, tmp_path: Path) -> None:
    core.up()
    imsi = "001010000009901"
    core.nfv(
        "subscribers",
        "add",
        imsi,
        "--msisdn",
        "15550009901",
        "--k",
        "465b5ce8b199b49faa5f0a2ee238a6bc",
        "--opc",
        "cd63cb71954a9f4e48a5994e37a02baf",
        "--password",
        "pw",
    )
    listed = json.loads(core.nfv("subscribers", "list", "--json").stdout)
    mine = [s for s in listed if s["imsi"] == imsi]
    assert mine and "k" not in mine[0] and "opc" not in mine[0]
    dup = core.nfv(
        "subscribers",
        "add",
        imsi,
        "--msisdn",
        "15550009901",
        "--k",
        "465b5ce8b199b49faa5f0a2ee238a6bc",
        "--opc",
        "cd63cb71954a9f4e48a5994e37a02baf",
        check=False,
    )
    assert dup.returncode == 1 and "409" in dup.stderr
    csv_file = tmp_path / "more.csv"
    csv_file.write_text(
        "imsi,msisdn,k,opc\n"
        + "".join(
            f"00101000000{9910 + i},1555000{9910 + i},465b5ce8b199b49faa5f0a2ee238a6bc,"
            "cd63cb71954a9f4e48a5994e37a02baf\n"
            for i in range(3)
        )
    )
    assert "imported 3 subscriber(s)" in core.nfv("subscribers", "import", str(csv_file)).stdout
    text = core.nfv("subscribers", "list").stdout
    assert "001010000009912" in text
    core.nfv("subscribers", "delete", imsi)
    gone = core.nfv("subscribers", "delete", imsi, check=False)
    assert gone.returncode == 1 and "404" in gone.stderr
    # the same API by URL
    hss = next(
        nf for nf in core.state()["nfs"].values() if any(p["port"] == 8081 for p in nf["ports"])
    )
    url = f"http://{hss['address']}:8081"
    assert core.nfv("subscribers", "list", "--json", "--hss-url", url).returncode == 0


def test_kill_9_of_the_supervisor_then_down(fake_core: Core) -> None:
    fake_core.up()
    fake_core.nfv("scale", "pcscf", "2")
    wait_for("2 pcscf", lambda: fake_core.all_ready("pcscf", 2))
    state = fake_core.state()
    sup = ProcessRef(state["supervisor"]["pid"], state["supervisor"]["start_time"])
    replicas = [
        ProcessRef(r["pid"], r["start_time"])
        for nf in state["nfs"].values()
        for r in nf["replicas"]
    ]
    assert sup.kill()
    wait_for("supervisor gone", lambda: not sup.alive())
    assert all(r.alive() for r in replicas)  # replicas outlive their supervisor
    status = fake_core.nfv("status")
    assert "NOT running" in status.stdout
    again = fake_core.nfv(*fake_core.up_args(), check=False)
    assert again.returncode == 1 and "nfv down" in again.stderr
    out = fake_core.nfv("down").stdout
    assert "from the state dir" in out
    assert not any(r.alive() for r in replicas)
    fake_core.assert_clean()


def test_not_ready_reports_the_nf_and_its_log(fake_core: Core) -> None:
    result = fake_core.nfv(
        *fake_core.up_args(),
        "--timeout",
        "10",
        check=False,
        extra_env={"FAKENF_NEVER_READY": "icscf"},
    )
    assert result.returncode == 1
    assert re.search(r"icscf did not get ready within \d+ s", result.stderr), result.stderr
    assert "FAKENF_NEVER_READY names this NF" in result.stderr
    assert "last lines of" in result.stderr and "icscf-0.log" in result.stderr
    fake_core.assert_clean()


def test_crash_looping_nf_backs_off(fake_core: Core) -> None:
    result = fake_core.nfv(
        *fake_core.up_args(), "--timeout", "6", check=False, extra_env={"FAKENF_CRASH": "pcscf"}
    )
    assert result.returncode == 1
    assert "pcscf did not get ready" in result.stderr and "exited with code 3" in result.stderr
    log = (fake_core.state_dir / "logs" / "supervisor.log").read_text()
    delays = [float(d) for d in re.findall(r"pcscf-0 exited with code 3 .*?in ([\d.]+) s", log)]
    assert delays[:3] == [0.5, 1.0, 2.0]
    fake_core.assert_clean()


def test_foreground_up_stops_on_ctrl_c(fake_core: Core) -> None:
    args = [a for a in fake_core.up_args() if a != "--detach"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nfv", *args, "--state-dir", str(fake_core.state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=fake_core.env,
        cwd=fake_core.root,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "running in the foreground" in line:
                break
        fake_core.remember()
        assert fake_core.all_ready("hss", 1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopping the core" in out
    fake_core.assert_clean()


def test_foreground_up_stops_when_its_terminal_dies(fake_core: Core) -> None:
    args = [a for a in fake_core.up_args() if a != "--detach"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nfv", *args, "--state-dir", str(fake_core.state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=fake_core.env,
        cwd=fake_core.root,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "running in the foreground" in line:
            break
    fake_core.remember()
    proc.kill()  # kill -9 of `nfv up`: the supervisor notices and stops the core
    proc.wait()
    proc.stdout.close()
    wait_for(
        "core stopped",
        lambda: not any(ProcessRef(pid, start).alive() for pid, start in fake_core.seen),
        30,
    )
    fake_core.assert_clean()


# -- the autoscaler and CPU caps -----------------------------------------------------------------


AUTOSCALING = """
autoscaling:
  enabled: true
  sync_period_seconds: 1
  cpu_initialization_period_seconds: 0
  initial_readiness_delay_seconds: 0
  nfs:
    scscf:
      min: 1
      max: 3
      # low, so that the burning replica counts even when other work starves it of CPU
      target_cpu_percent: 10
      behavior:
        scale_down: {stabilization_window_seconds: 3}
"""


def _burn(core: Core, nf: str, rep: dict[str, Any], seconds: float) -> None:
    status, _ = http_request_sync(
        core.address(nf), rep["admin_port"], "POST", f"/debug/burn?seconds={seconds}", b""
    )
    assert status == 200


def _log_time(line: str) -> float:
    ts = json.loads(line)["ts"]
    return time.mktime(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + float(ts[19:-1] or 0)


def test_autoscaler_scales_out_on_cpu_and_back_in(fake_core: Core, tmp_path: Path) -> None:
    values = tmp_path / "autoscaling.yaml"
    values.write_text(AUTOSCALING)
    fake_core.up("-f", str(values))
    rep = fake_core.replicas("scscf")[0]
    _burn(fake_core, "scscf", rep, 10)
    wait_for("the autoscaler to add scscf replicas", lambda: fake_core.all_ready("scscf", 3), 30)
    log_lines = (fake_core.state_dir / "logs" / "supervisor.log").read_text().splitlines()
    # from each scale-up decision to the moment the replicas it added answer /readyz 200
    latencies = []
    for n, line in enumerate(log_lines):
        m = re.search(r"scale scscf (\d+) -> (\d+) \(autoscaler", line)
        if m and int(m.group(2)) > int(m.group(1)):
            for index in range(int(m.group(1)), int(m.group(2))):
                ready = next(x for x in log_lines[n:] if f"scscf-{index} ready" in x)
                latencies.append(_log_time(ready) - _log_time(line))
    print(f"\nnew replicas ready {max(latencies):.2f} s after the autoscaler decided")
    assert 0 < max(latencies) < 2.0
    status = fake_core.status()
    assert status["nfs"]["scscf"]["last_decision"]["desired"] == 3
    # the burn ends; after the 3 s scale-down window the autoscaler returns to min
    wait_for("scale back to 1", lambda: fake_core.all_ready("scscf", 1), 30)
    # (possibly in steps: the window keeps the highest recommendation of the last 3 s)
    log = (fake_core.state_dir / "logs" / "supervisor.log").read_text()
    assert re.search(r"scale scscf \d -> 1 \(autoscaler", log)


REQUEST_RATE = """
autoscaling:
  enabled: true
  sync_period_seconds: 1
  nfs:
    icscf:
      min: 1
      max: 3
      # the fake NF counts its own /metrics scrapes (one a second): 1/s against 0.4/s
      requests: {metric: fakenf_requests_total, target_per_second: 0.4}
"""


def test_autoscaler_on_a_request_rate_metric(fake_core: Core, tmp_path: Path) -> None:
    values = tmp_path / "rate.yaml"
    values.write_text(REQUEST_RATE)
    fake_core.up("-f", str(values))
    wait_for("icscf at max replicas", lambda: fake_core.all_ready("icscf", 3), 20)
    decision = fake_core.status()["nfs"]["icscf"]["last_decision"]
    assert decision["metrics"][0] == pytest.approx(1.0, abs=0.5)


def test_logs_follow_picks_up_new_replicas(fake_core: Core) -> None:
    fake_core.up()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nfv",
            "logs",
            "scscf",
            "-f",
            "--state-dir",
            str(fake_core.state_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=fake_core.env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("scscf-0 | ")
        fake_core.nfv("scale", "scscf", "2")
        for line in proc.stdout:
            if line.startswith("scscf-1 | "):
                break
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


CAPPED = """
autoscaling:
  nfs:
    scscf: {cpu_limit: 100m}
"""


@pytest.mark.skipif(
    os.geteuid() != 0 or not os.access("/sys/fs/cgroup/cpu", os.W_OK),
    reason="CPU caps need a writable cgroup v1 cpu hierarchy (root)",
)
def test_cpu_cap_limits_a_replica(fake_core: Core, tmp_path: Path) -> None:
    values = tmp_path / "capped.yaml"
    values.write_text(CAPPED)
    fake_core.up("-f", str(values))
    rep = fake_core.replicas("scscf")[0]
    group = Path(rep["cgroup"])
    assert (group / "cpu.cfs_quota_us").read_text().strip() == "10000"
    assert str(rep["pid"]) in (group / "cgroup.procs").read_text().split()
    _burn(fake_core, "scscf", rep, 4)
    time.sleep(3)
    cpu = fake_core.replicas("scscf")[0]["cpu_percent"]
    assert cpu is not None and cpu < 20.0, cpu
    fake_core.nfv("down")
    assert not group.exists() and not group.parent.exists()


# -- the real core: calls across scaling (issue #3's scenario) -------------------------------------


def _sip_requests(core: Core, rep: dict[str, Any]) -> float:
    from network_functions.runtime.metrics import parse_metrics

    status, body = http_request_sync(core.address("scscf"), rep["admin_port"], "GET", "/metrics")
    assert status == 200
    samples = parse_metrics(body.decode())
    return sum(v for (name, _), v in samples.items() if name == "sip_requests_total")


@pytest.mark.skipif(
    not real_nfs_present() or os.environ.get("NFV_TEST_REAL") == "0",
    reason="the NF packages are not all runnable yet",
)
def test_real_core_calls_spread_and_survive_scale_in(tmp_path: Path) -> None:
    from network_functions.sim.ue import place_call
    from nfv.check import make_ue

    core = Core(tmp_path, None, _env())
    try:
        core.up()
        assert "check passed" in core.nfv("check").stdout
        core.nfv("scale", "scscf", "3")
        reps = wait_for("3 scscf", lambda: core.all_ready("scscf", 3))
        before = {r["name"]: _sip_requests(core, r) for r in reps}
        for _ in range(8):
            core.nfv("check")
        served = {r["name"]: _sip_requests(core, r) - before[r["name"]] for r in reps}
        print(f"\nSIP requests per scscf replica after scale-out: {served}")
        # NF-to-NF SIP rides a few UDP sockets per NF, each flow pinned to one replica by
        # SO_REUSEPORT's hash: a new replica must get work, though not necessarily both.
        assert served["scscf-1"] + served["scscf-2"] > 0, served

        # two UEs stay registered while scscf scales in: no registration may be lost
        plan = json.loads((core.state_dir / "plan.json").read_text())
        subs = json.loads((core.state_dir / "subscribers.json").read_text())
        pcscf = (plan["nfs"]["pcscf"]["address"], 5060)
        alice = make_ue(subs[2], domain=plan["domain"], pcscf=pcscf, aka=False)
        bob = make_ue(subs[3], domain=plan["domain"], pcscf=pcscf, aka=True)
        with alice, bob:
            alice.register()
            bob.register()
            place_call(alice, bob)
            core.nfv("scale", "scscf", "1")
            wait_for("1 scscf", lambda: core.all_ready("scscf", 1))
            for _ in range(3):
                place_call(alice, bob)
                place_call(bob, alice)
            alice.deregister()
            bob.deregister()
    finally:
        core.remember()
        core.nfv("down", check=False)
        core.assert_clean()
