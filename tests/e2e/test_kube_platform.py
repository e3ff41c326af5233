"""The VoLTE core on the real single-node Kubernetes (hack/cluster) through
:class:`nfv.platforms.kubernetes.KubernetesPlatform` and ``nfv deploy/upgrade/destroy``.

Opt-in like tests/e2e/test_local_cluster.py: ``NFV_E2E_CLUSTER=1`` and root. The session
fixtures (tests/e2e/conftest.py) bring up what is missing (cluster, Docker engine, registry
on 127.0.0.1:5000), build and push the images once (``nfv build --push``) and, at the end,
stop only what they started; the module fixture deploys the ``lab`` profile into the
namespace ``nfv-e2e`` and destroys it afterwards. UEs (network_functions/
sim/ue.py) reach the P-CSCF through its NodePort on 127.0.0.1; the lab's NodePort is moved
to E2E_SIP_NODE_PORT so that another lab deploy on the cluster (Ansible's) cannot collide.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.cluster import (
    CLUSTER,
    ENGINE,
    REGISTRY,
    REGISTRY_SCRIPT,
    Cluster,
    build_and_push,
    kubeconfig,
    nfv,
    run,
)

pytestmark = pytest.mark.e2e

NAMESPACE = "nfv-e2e"
RBAC_NAMESPACE = "nfv-e2e-rbac"
E2E_SIP_NODE_PORT = 31060
# The MME (enabled by default) claims the lab's S1AP NodePort too: move it as well.
E2E_S1AP_NODE_PORT = 31065
LAB = {
    "kubernetes": {
        "exposure": {"node_ports": {"sip": E2E_SIP_NODE_PORT, "s1ap": E2E_S1AP_NODE_PORT}}
    }
}
DEPLOY_TIMEOUT_S = 150.0
_nfv = nfv
# test_experiment_kube.py imports these by their old names from this module.
__all__ = ["CLUSTER", "ENGINE", "REGISTRY", "REGISTRY_SCRIPT"]
_run, _kubeconfig, _build_and_push = run, kubeconfig, build_and_push


@dataclass
class Core:
    platform: Any
    kubeconfig: str
    subscribers: list[dict[str, str]]
    domain: str
    pcscf: tuple[str, int]
    overrides: dict[str, Any]  # the lab profile with this run's image tag and SIP NodePort
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def core(cluster: Cluster, docker_host: str, registry: str, e2e_image_tag: str) -> Iterator[Core]:
    from nfv.manifests import load_chart_values
    from nfv.platforms.kubernetes import KubernetesPlatform
    from nfv.render import expand_subscribers

    env = {"DOCKER_HOST": docker_host, "KUBECONFIG": cluster.kubeconfig}
    platform = KubernetesPlatform(NAMESPACE, kubeconfig=cluster.kubeconfig)
    try:
        platform.destroy(timeout=120)  # what a failed earlier run left
        overrides = {**LAB, "image": {"tag": e2e_image_tag}}
        values = load_chart_values(profile="lab", overrides=overrides)
        yield Core(
            platform=platform,
            kubeconfig=cluster.kubeconfig,
            subscribers=expand_subscribers(values),
            domain=str(values["network"]["ims_domain"]),
            pcscf=("127.0.0.1", E2E_SIP_NODE_PORT),
            overrides=overrides,
            env=env,
        )
    finally:
        try:
            platform.destroy(timeout=120)
        finally:
            platform.close()


# -- UEs and a bounded load ------------------------------------------------------------------


def _ue(core: Core, index: int, *, transport: str = "udp") -> Any:
    from nfv.check import make_ue

    sub = core.subscribers[index]
    return make_ue(sub, domain=core.domain, pcscf=core.pcscf, aka=False, transport=transport)


@dataclass
class Load:
    """A few threads, each a pair of UEs registering and calling in a loop until stopped;
    every procedure (register, call) is counted, failures with their reason."""

    core: Core
    pairs: list[tuple[int, int]]
    ok: int = 0
    failed: list[str] = field(default_factory=list)
    log: list[tuple[float, bool]] = field(default_factory=list)  # (time, ok) per procedure
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def _count(self, ok: bool, why: str = "") -> None:
        with self.lock:
            self.log.append((time.monotonic(), ok))
            if ok:
                self.ok += 1
            else:
                self.failed.append(why)

    def _loop(self, a_index: int, b_index: int) -> None:
        from network_functions.sim.ue import UEError, place_call

        with _ue(self.core, a_index) as a, _ue(self.core, b_index) as b:
            for _ in range(10_000):  # bounded; stopped long before
                if self.stop.is_set():
                    return
                for ue in (a, b):
                    try:
                        ue.register()
                        self._count(True)
                    except (UEError, OSError) as exc:
                        self._count(False, f"register {ue.impu}: {exc}")
                try:
                    place_call(a, b)
                    self._count(True)
                except (UEError, OSError) as exc:
                    self._count(False, f"call: {exc}")
                    a.discard_pending()
                    b.discard_pending()

    def __enter__(self) -> Load:
        for a, b in self.pairs:
            t = threading.Thread(target=self._loop, args=(a, b), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def wait_for(self, n: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        start = self.ok
        while self.ok - start < n and time.monotonic() < deadline:
            time.sleep(0.1)

    def failures_since(self, t: float) -> tuple[int, int]:
        with self.lock:
            after = [ok for at, ok in self.log if at >= t]
        return sum(after), len(after) - sum(after)


# -- tests -------------------------------------------------------------------------------------


def test_deploy_lab_then_register_and_call(core: Core) -> None:
    from nfv.check import run_check

    lines: list[Any] = []
    report = core.platform.deploy(
        profile="lab",
        overrides=core.overrides,
        registry=REGISTRY,
        timeout=DEPLOY_TIMEOUT_S,
        progress=lambda p, _t: lines.append(p),
    )
    assert report.created_namespace
    assert report.waves[0] == ["redis"]  # the store first
    assert {"icscf", "scscf"} <= set(report.waves[-1])  # after the HSS they need
    assert lines and all(p.phase == "ready" for p in lines[-1])
    status = core.platform.status()
    assert status.healthy, status.as_dict()
    pcscf = status.nf("pcscf")
    assert pcscf is not None and pcscf.tags and all(REGISTRY in i for i in pcscf.images)
    sip = next(s for s in pcscf.services if s.name == "pcscf-sip")
    assert {p.node_port for p in sip.ports} == {E2E_SIP_NODE_PORT} and sip.endpoints
    assert core.platform.endpoint("pcscf", "sip") == core.pcscf
    # the NFs run as the chart says: non-root, read-only root filesystem, no capabilities
    for pod in core.platform.api.list("Pod", NAMESPACE, selector=core.platform.selector):
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        for c in pod["spec"]["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    for transport in ("udp", "tcp"):
        check = run_check(
            core.subscribers, domain=core.domain, pcscf=core.pcscf, transport=transport
        )
        assert [s for s, _ in check.steps][-3:] == [
            "call setup INVITE→ACK",
            "call teardown BYE→200",
            "de-register both",
        ]


def _versions(platform: Any) -> dict[tuple[str, str], str]:
    from nfv.platforms.kubernetes.api import OWNED_KINDS

    return {
        (o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"]
        for o in platform._live_objects(OWNED_KINDS)
    }


def test_deploy_twice_is_a_no_op(core: Core) -> None:
    before = _versions(core.platform)
    report = core.platform.deploy(
        profile="lab", overrides=core.overrides, registry=REGISTRY, timeout=DEPLOY_TIMEOUT_S
    )
    assert report.changed == [] and report.pruned == [] and not report.created_namespace
    assert _versions(core.platform) == before
    assert len(before) == report.applied


def test_scale_keeps_registrations(core: Core) -> None:
    from network_functions.sim.ue import place_call

    with _ue(core, 2) as a, _ue(core, 3) as b:
        a.register()
        b.register()
        note = core.platform.scale("scscf", 3, timeout=90)
        assert note.hpa is None
        scscf = core.platform.status().nf("scscf")
        assert scscf.ready == 3
        # peers find every replica through the headless Service named after the NF
        headless = next(s for s in scscf.services if s.name == "scscf")
        assert headless.cluster_ip == "None" and len(headless.endpoints) == 3
        place_call(a, b)  # registered before the scale-out
        core.platform.scale("scscf", 1, timeout=90)
        scscf = core.platform.status().nf("scscf")
        assert (scscf.desired, scscf.ready, len(scscf.pods)) == (1, 1, 1)
        place_call(b, a)  # and after the scale-in


def _all_pods_gone(core: Core, names: list[str], timeout: float = 90.0) -> None:
    """Wait until none of the pods *names* exists any more (terminating ones included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(core.platform.api.get("Pod", NAMESPACE, n) is None for n in names):
            return
        time.sleep(0.5)
    raise AssertionError(f"pods {names} still exist after {timeout} s")


def test_upgrade_under_load_fails_no_request(core: Core) -> None:
    before = core.platform.status().nf("scscf")
    with Load(core, [(4, 5), (6, 7), (8, 9)]) as load:
        load.wait_for(6)
        report = core.platform.upgrade(
            "scscf", overrides={"logging": {"level": "DEBUG"}}, timeout=DEPLOY_TIMEOUT_S
        )
        # the old replicas leave (pre-stop pause, drain) after the rollout: keep loading
        _all_pods_gone(core, [p.split()[0] for p in before.pods])
        load.wait_for(6)
    assert "ConfigMap/scscf-config" in report.changed and "Deployment/scscf" in report.changed
    after = core.platform.status().nf("scscf")
    assert after.pods != before.pods and after.ready == after.desired == before.desired
    assert load.ok >= 12
    assert load.failed == [], load.failed[:5]
    assert any('"level": "DEBUG"' in line for line in core.platform.logs("scscf"))


def test_pod_deleted_under_load_recovers(core: Core) -> None:
    core.platform.scale("scscf", 2, timeout=90)
    with Load(core, [(10, 11), (12, 13), (14, 15)]) as load:
        load.wait_for(6)
        victim = core.platform.status().nf("scscf").pods[0].split()[0]
        killed_at = time.monotonic()
        assert core.platform.api.delete("Pod", NAMESPACE, victim)
        _all_pods_gone(core, [victim])
        deadline = time.monotonic() + 60
        scscf = core.platform.status().nf("scscf")
        while scscf.ready < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
            scscf = core.platform.status().nf("scscf")
        recovered_at = time.monotonic()
        load.wait_for(9)
    assert scscf.ready == 2 and victim not in " ".join(scscf.pods), scscf
    ok, failed = load.failures_since(killed_at)
    assert ok + failed > 0 and failed / (ok + failed) < 0.01, load.failed[:5]
    ok_after, failed_after = load.failures_since(recovered_at)
    assert ok_after > 0 and failed_after == 0
    core.platform.scale("scscf", 1, timeout=90)


def test_failed_upgrade_rolls_back(core: Core) -> None:
    from nfv.platforms.kubernetes import RolloutFailedError

    image = core.platform.status().nf("scscf").images
    with pytest.raises(RolloutFailedError) as failed:
        core.platform.upgrade("scscf", overrides={"image": {"tag": "does-not-exist"}}, timeout=60)
    assert failed.value.rolled_back and failed.value.nf == "scscf"
    assert "image not found" in str(failed.value) and failed.value.exit_code >= 10
    scscf = core.platform.status().nf("scscf")
    assert scscf.images == image and scscf.ready == scscf.desired == 1
    # the CLI: diagnosis on stderr, and the exit status names the NF (10 + deploy position)
    order = [nf.name for nf in core.platform.status().nfs]
    done = _nfv(
        "upgrade", "scscf", "--set-string", "image.tag=does-not-exist", "--timeout", "60",
        "-n", NAMESPACE, env={"KUBECONFIG": core.kubeconfig},
    )  # fmt: skip
    assert done.returncode == 10 + order.index("scscf"), done.stderr[-2000:]
    assert f"exit code {done.returncode} = scscf" in done.stderr
    assert "rolled back to the previous ReplicaSet's template" in done.stderr
    assert "ErrImagePull" in done.stderr or "ImagePullBackOff" in done.stderr
    assert core.platform.status().nf("scscf").images == image


def test_logs_and_metrics(core: Core) -> None:
    lines = list(core.platform.logs("pcscf"))
    assert lines and all(line.startswith("pcscf-") and " | " in line for line in lines)
    deadline = time.monotonic() + 60
    metrics = core.platform.nf_metrics()
    while metrics["scscf"]["cpu_millicores"] is None and time.monotonic() < deadline:
        time.sleep(2)
        metrics = core.platform.nf_metrics()
    assert set(metrics) >= {"redis", "hss", "icscf", "scscf", "pcscf"}
    assert metrics["scscf"]["desired"] == metrics["scscf"]["ready"] == 1
    assert isinstance(metrics["scscf"]["cpu_millicores"], float)


def test_hpa_owned_scale_and_prune_on_profile_change(core: Core) -> None:
    scaling = core.platform.deploy(
        profile="scaling", overrides=core.overrides, registry=REGISTRY, timeout=DEPLOY_TIMEOUT_S
    )
    assert "HorizontalPodAutoscaler/scscf" in scaling.changed and scaling.pruned == []
    hpa = core.platform.status().nf("scscf").hpa
    assert hpa is not None and hpa.min == 1
    report = core.platform.scale("scscf", 2, timeout=90)
    assert report.hpa == "scscf" and "autoscaled by HorizontalPodAutoscaler/scscf" in report.note
    live = core.platform.api.get("HorizontalPodAutoscaler", NAMESPACE, "scscf")
    assert live["spec"]["minReplicas"] == 2
    assert core.platform.status().nf("scscf").ready >= 2
    lab = core.platform.deploy(
        profile="lab", overrides=core.overrides, registry=REGISTRY, timeout=DEPLOY_TIMEOUT_S
    )
    assert "HorizontalPodAutoscaler/scscf" in lab.pruned
    assert all(p.startswith("HorizontalPodAutoscaler/") for p in lab.pruned)
    status = core.platform.status()
    assert status.healthy and all(nf.hpa is None for nf in status.nfs)
    assert core.platform.api.list("HorizontalPodAutoscaler", NAMESPACE) == []
    assert status.nf("scscf").desired == 1


def test_bad_input_gives_clear_errors(core: Core, tmp_path: Path) -> None:
    env = {"KUBECONFIG": core.kubeconfig}
    unknown = _nfv("scale", "nosuchnf", "2", "-n", NAMESPACE, env=env)
    assert unknown.returncode == 1
    assert "unknown network function 'nosuchnf'" in unknown.stderr

    bogus = tmp_path / "bogus.kubeconfig"
    bogus.write_text(
        Path(core.kubeconfig).read_text().replace("https://127.0.0.1:6443", "https://127.0.0.1:9")
    )
    unreachable = _nfv("deploy", "--profile", "lab", "--kubeconfig", str(bogus), "-n", NAMESPACE)
    assert unreachable.returncode == 1
    assert "cannot reach the Kubernetes API server at https://127.0.0.1:9" in unreachable.stderr

    api = core.platform.api
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": RBAC_NAMESPACE}})
    try:
        sa = {"apiVersion": "v1", "kind": "ServiceAccount"}
        api.apply({**sa, "metadata": {"name": "nobody", "namespace": RBAC_NAMESPACE}})
        token = api.request(
            "POST",
            f"/api/v1/namespaces/{RBAC_NAMESPACE}/serviceaccounts/nobody/token",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
        )["status"]["token"]
        admin = yaml.safe_load(Path(core.kubeconfig).read_text())
        cluster = admin["clusters"][0]["cluster"]
        nobody = tmp_path / "nobody.kubeconfig"
        nobody.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "c", "cluster": cluster}],
                    "users": [{"name": "nobody", "user": {"token": token}}],
                    "contexts": [{"name": "nobody", "context": {"cluster": "c", "user": "nobody"}}],
                    "current-context": "nobody",
                }
            )
        )
        forbidden = _nfv(
            "deploy", "--profile", "lab", "--kubeconfig", str(nobody), "-n", RBAC_NAMESPACE
        )
        assert forbidden.returncode == 1
        assert (
            f"forbidden: not allowed to list serviceaccounts in namespace '{RBAC_NAMESPACE}'"
            in forbidden.stderr
        ), forbidden.stderr
        status = _nfv("status", "--kubeconfig", str(nobody), "-n", RBAC_NAMESPACE)
        assert status.returncode == 1 and "forbidden: not allowed to list" in status.stderr
    finally:
        api.delete("Namespace", None, RBAC_NAMESPACE)


def test_destroy_leaves_no_object_of_ours(core: Core) -> None:
    report = core.platform.destroy(timeout=120)
    assert report.namespace_deleted and len(report.deleted) > 30
    assert core.platform.api.get("Namespace", None, NAMESPACE) is None
    assert not core.platform.status().exists
    for kind in ("Deployment", "StatefulSet", "Pod", "Service", "ConfigMap", "Secret"):
        everywhere = core.platform.api.list(kind, None, selector=core.platform.selector)
        assert [o for o in everywhere if o["metadata"]["namespace"] == NAMESPACE] == []
