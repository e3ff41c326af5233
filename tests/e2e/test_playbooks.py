"""The Ansible playbooks on the real single-node cluster, through `nfv playbook` (ansible-runner).

`site` builds the images, pushes them to the local registry (127.0.0.1:5000, which the
cluster's containerd pulls from), renders the lab profile into namespace ``nfv-ansible``
(SIP NodePort 30061, so it never meets another core on 30060) and waits for the core; two
subscribers then register (MD5 digest and IMS-AKA) and call each other through the
P-CSCF's NodePort. `scale` scales the S-CSCF to 2 and the core still serves; `teardown`
leaves no object of ours and no namespace.

Opt-in like tests/e2e/test_local_cluster.py: ``NFV_E2E_CLUSTER=1`` and root. The cluster,
the Docker engine and the registry are started when they are not running, and stopped
afterwards only if the session fixtures (tests/e2e/conftest.py) started them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nfv.check import run_check
from nfv.manifests import load_chart_values
from nfv.render import expand_subscribers
from tests.e2e.cluster import REGISTRY, Cluster, run

pytestmark = pytest.mark.e2e

NAMESPACE = "nfv-ansible"
SIP_NODE_PORT = 30061
S1AP_NODE_PORT = 30413  # the MME's: not the lab's 30412 either
PLAYBOOK_TIMEOUT_S = 600
COMMON = [
    "-e",
    f"nfv_namespace={NAMESPACE}",
    "-e",
    f"nfv_registry={REGISTRY}",
    "-e",
    f"kubernetes.exposure.node_ports.sip={SIP_NODE_PORT}",
    "-e",
    f"kubernetes.exposure.node_ports.s1ap={S1AP_NODE_PORT}",
    "-e",
    "nfv_timeout=180",
]


class Env:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env, self.workdir = env, workdir

    def playbook(self, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return run(
            sys.executable,
            "-m",
            "nfv",
            "playbook",
            name,
            *COMMON,
            *extra,
            timeout=PLAYBOOK_TIMEOUT_S,
            env=self.env,
            cwd=self.workdir,
        )


@pytest.fixture(scope="module")
def env(
    cluster: Cluster, docker_host: str, registry: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    run_env = {"KUBECONFIG": cluster.kubeconfig, "DOCKER_HOST": docker_host}
    workdir = tmp_path_factory.mktemp("ansible")
    try:
        yield Env(run_env, workdir)
    finally:
        # whatever happened above, leave no core behind
        if _namespace_exists():
            Env(run_env, workdir).playbook("teardown", "-e", "nfv_build=false")


def _namespace_exists() -> bool:
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    # explicit: the client reads $KUBECONFIG once, at import, maybe before the fixture set it
    config.load_kube_config(config_file=os.environ["KUBECONFIG"])
    try:
        client.CoreV1Api().read_namespace(NAMESPACE)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def _ready_replicas() -> dict[str, tuple[int, int]]:
    from kubernetes import client, config

    # explicit: the client reads $KUBECONFIG once, at import, maybe before the fixture set it
    config.load_kube_config(config_file=os.environ["KUBECONFIG"])
    apps = client.AppsV1Api()
    return {
        d.metadata.name: (d.spec.replicas, d.status.ready_replicas or 0)
        for d in apps.list_namespaced_deployment(NAMESPACE).items
    }


def _register_and_call() -> None:
    values = load_chart_values(profile="lab")
    subscribers = expand_subscribers(values)
    report = run_check(
        subscribers,
        domain=values["network"]["ims_domain"],
        pcscf=("127.0.0.1", SIP_NODE_PORT),
    )
    steps = [s for s, _ in report.steps]
    assert any(s.startswith("register") and "(digest)" in s for s in steps), steps
    assert "call setup INVITE→ACK" in steps


def test_site_builds_pushes_and_deploys_a_working_core(env: Env) -> None:
    started = time.monotonic()
    result = env.playbook("site")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    out = result.stdout
    assert "PLAY Build, push and deploy the VoLTE core" in out
    assert "nfv_images : Push the images to 127.0.0.1:5000" in out
    assert "nfv_core : Apply the" in out and "failed=0" in out
    assert "playbook site done in" in out and "artifacts: " in out
    artifacts = Path(out.rsplit("artifacts: ", 1)[1].strip())
    assert (artifacts / "job_events").is_dir() and (artifacts / "stdout").is_file()
    # every NF ready, pulled from the registry by the tag this run pushed
    ready = _ready_replicas()
    assert set(ready) >= {"hss", "icscf", "scscf", "pcscf"}, ready
    assert all(want == got for want, got in ready.values()), ready
    from kubernetes import client

    pods = client.CoreV1Api().list_namespaced_pod(NAMESPACE).items
    images = {c.image for p in pods for c in p.spec.containers}
    assert images and all(i.startswith(f"{REGISTRY}/nfv/") for i in images), images
    assert len({i.rsplit(":", 1)[1] for i in images}) == 1  # one set tag for the whole build
    _register_and_call()
    print(f"site.yml: {elapsed:.1f} s")


def test_deploy_again_changes_nothing(env: Env) -> None:
    from kubernetes import client

    pods = client.CoreV1Api().list_namespaced_pod(NAMESPACE).items
    tag = pods[0].spec.containers[0].image.rsplit(":", 1)[1]
    result = env.playbook("deploy", "-e", f"nfv_image_tag={tag}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for task in ("nfv_core : Apply the", "nfv_render : Render the manifests"):
        line = next(x for x in lines if task in x)
        assert "] ok " in line, line  # same render, server-side apply is a no-op


def test_scale_scscf(env: Env) -> None:
    result = env.playbook("scale", "-e", "nfv_scale_nf=scscf", "-e", "nfv_scale_replicas=2")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    assert "changed     localhost  nfv_core : Scale scscf to 2 replica(s)" in result.stdout
    assert _ready_replicas()["scscf"] == (2, 2)
    _register_and_call()  # the core still serves with two S-CSCFs (state in Redis)


def _scscf_image() -> str:
    from kubernetes import client

    dep = client.AppsV1Api().read_namespaced_deployment("scscf", NAMESPACE)
    return str(dep.spec.template.spec.containers[0].image)


def test_upgrade_rolls_out_new_config_of_one_nf(env: Env) -> None:
    tag = _scscf_image().rsplit(":", 1)[1]
    result = env.playbook(
        "upgrade",
        "-e",
        "nfv_build=false",
        "-e",
        f"nfv_image_tag={tag}",
        "-e",
        "nfv_upgrade_nf=scscf",
        "-e",
        "nfs.scscf.resources={cpu_limit: 400m}",
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    from kubernetes import client

    dep = client.AppsV1Api().read_namespaced_deployment("scscf", NAMESPACE)
    assert dep.spec.template.spec.containers[0].resources.limits["cpu"] == "400m"
    assert _ready_replicas()["scscf"] == (2, 2)
    _register_and_call()


def test_failed_upgrade_rolls_back(env: Env) -> None:
    before = _scscf_image()
    result = env.playbook(
        "upgrade",
        "-e",
        "nfv_build=false",
        "-e",
        "nfv_image_tag=no-such-tag",
        "-e",
        "nfv_upgrade_nf=scscf",
        "-e",
        "nfv_timeout=15",
        "-e",
        "nfs.scscf.resources={cpu_limit: 400m}",
    )
    assert result.returncode == 1
    err = result.stderr
    assert "upgrade failed: not ready within 15 s: scscf" in err, err[-3000:]
    assert "127.0.0.1:5000/nfv/scscf:no-such-tag" in err and "rolled back" in err
    assert _scscf_image() == before
    assert _ready_replicas()["scscf"] == (2, 2)


def test_loadtest_playbook(env: Env) -> None:
    out = env.workdir / "loadtest"
    result = env.playbook(
        "loadtest",
        "-e",
        "nfv_loadtest_users=2",
        "-e",
        "nfv_loadtest_duration=5",
        "-e",
        f"nfv_loadtest_output={out}",
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    assert f"127.0.0.1:{SIP_NODE_PORT}" in result.stdout  # its summary, under the task line
    assert (out / "summary.json").is_file()


def test_scale_unknown_nf_names_the_deployed_ones(env: Env) -> None:
    result = env.playbook("scale", "-e", "nfv_scale_nf=nope", "-e", "nfv_scale_replicas=1")
    assert result.returncode == 1
    assert "failed at task 'nfv_core : Fail on an NF that is not deployed'" in result.stderr
    nfs = load_chart_values(profile="lab")["nfs"]
    deployed = ", ".join(sorted(n for n, v in nfs.items() if (v or {}).get("enabled", True)))
    assert f"no NF nope in namespace nfv-ansible; deployed NFs: {deployed}" in result.stderr


def test_teardown_leaves_no_object_of_ours(env: Env) -> None:
    result = env.playbook("teardown")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    assert not _namespace_exists()
    from kubernetes import client

    selector = "app.kubernetes.io/managed-by=nfv"
    core, apps = client.CoreV1Api(), client.AppsV1Api()
    leftovers = [
        *core.list_service_for_all_namespaces(label_selector=selector).items,
        *core.list_pod_for_all_namespaces(label_selector=selector).items,
        *apps.list_deployment_for_all_namespaces(label_selector=selector).items,
    ]
    assert not [o for o in leftovers if o.metadata.namespace == NAMESPACE]
