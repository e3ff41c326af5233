"""The whole VoLTE core (IMS + EPC) on the real single-node Kubernetes (hack/cluster):
``nfv deploy`` with the MME, SGW-C, PGW-C and PCRF enabled, UEs attaching through the MME's
S1AP NodePort with the eNB/UE simulator (network_functions/sim/enb.py), an IMS registration
and a call whose media policy goes P-CSCF → PCRF (Rx) → PGW (Gx RAR), a second MME replica
serving a UE attached through the first, and a destroy that leaves nothing.

Opt-in like the other cluster tests (``NFV_E2E_CLUSTER=1``, root); the session fixtures of
tests/e2e/conftest.py bring up what is missing and build + push the images once. The core
lives in its own namespace with its own NodePorts (SIP 31070, S1AP 31071), so it never
collides with the lab profile (30060/30412) or tests/e2e/test_kube_platform.py (31060/31061).

The cluster's CNI (bridge + host-local) does not enforce NetworkPolicies, so traffic alone
cannot prove them: :func:`test_network_policies_let_the_chain_work` evaluates the live
policies against the live pods with the NetworkPolicy semantics (a pod selected by a policy
of a type is isolated for it; a flow passes when the sender's egress AND the receiver's
ingress allow it) for every flow of the chain, and checks that flows outside it are denied.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.cluster import CLUSTER, REGISTRY, Cluster, nfv, run

pytestmark = pytest.mark.e2e

NAMESPACE = "nfv-e2e-epc"
SIP_NODE_PORT = 31070
S1AP_NODE_PORT = 31071
EPC_NFS = ("sgw", "pgw", "mme", "pcrf")
ALL_NFS = ("hss", "icscf", "scscf", "pcscf", *EPC_NFS)
VALUES = {
    "nfs": {nf: {"enabled": True} for nf in EPC_NFS},
    "kubernetes": {"exposure": {"node_ports": {"sip": SIP_NODE_PORT, "s1ap": S1AP_NODE_PORT}}},
}
DEPLOY_TIMEOUT_S = 150.0
ATTACH_UES = 10
# Subscriber indices (the lab provisions 20): each test uses its own, so none depends on
# another's leftovers.
CHECK_SUBS = (0, 1)
VOLTE_SUBS = (2, 3)
REPLICA_SUBS = (4, 5, 6)
ATTACH_SUBS = range(10, 10 + ATTACH_UES)


@dataclass
class Epc:
    platform: Any
    kubeconfig: str
    values: dict[str, Any]
    subscribers: list[dict[str, str]]
    env: dict[str, str]
    tag: str

    @property
    def mcc(self) -> str:
        return str(self.values["network"]["mcc"])

    @property
    def mnc(self) -> str:
        return str(self.values["network"]["mnc"])

    @property
    def domain(self) -> str:
        return str(self.values["network"]["ims_domain"])


@pytest.fixture(scope="module")
def epc(cluster: Cluster, docker_host: str, registry: str, e2e_image_tag: str) -> Iterator[Epc]:
    from nfv.manifests import load_chart_values
    from nfv.platforms.kubernetes import KubernetesPlatform
    from nfv.render import expand_subscribers

    platform = KubernetesPlatform(NAMESPACE, kubeconfig=cluster.kubeconfig)
    try:
        platform.destroy(timeout=120)  # what a failed earlier run left
        values = load_chart_values(profile="lab", overrides=VALUES)
        yield Epc(
            platform=platform,
            kubeconfig=cluster.kubeconfig,
            values=values,
            subscribers=expand_subscribers(values),
            env={"DOCKER_HOST": docker_host, "KUBECONFIG": cluster.kubeconfig},
            tag=e2e_image_tag,
        )
    finally:
        try:
            platform.destroy(timeout=120)
        finally:
            platform.close()


# -- helpers -----------------------------------------------------------------------------------


def _sim_ue(epc: Epc, index: int, *, apn: str | None = None) -> Any:
    from network_functions.sim.enb import SimUe

    sub = epc.subscribers[index]
    return SimUe(imsi=sub["imsi"], k=sub["k"], opc=sub["opc"], apn=apn)


def _enb(epc: Epc, enb_id: int, address: tuple[str, int] | None = None) -> Any:
    from network_functions.sim.enb import Enb

    target = address or ("127.0.0.1", S1AP_NODE_PORT)
    tac = int(epc.values["network"]["tacs"][0])
    return Enb(target, enb_id=enb_id, mcc=epc.mcc, mnc=epc.mnc, tac=tac)


def _pods(epc: Epc, nf: str) -> list[dict[str, Any]]:
    pods = epc.platform.api.list("Pod", NAMESPACE, selector=epc.platform.nf_selector(nf))
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def _kubectl() -> str:
    """The cluster's own kubectl (hack/cluster/versions.sh), else the one on PATH."""
    versions = CLUSTER.parent / "versions.sh"
    out = run("bash", "-c", f'. "{versions}" && echo "$NFV_CACHE/k8s/$K8S_VERSION/bin/kubectl"')
    path = out.stdout.strip()
    return path if out.returncode == 0 and Path(path).is_file() else "kubectl"


def _exec_python(epc: Epc, pod: str, code: str) -> str:
    """Run Python *code* inside *pod* (its image's interpreter, kubectl exec); its stdout."""
    done = run(
        _kubectl(), "exec", "-n", NAMESPACE, pod, "--", "/opt/nfv/venv/bin/python", "-c", code,
        env={"KUBECONFIG": epc.kubeconfig}, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-1000:]
    return done.stdout


def _metrics(epc: Epc, pod: str, nf: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The pod's /metrics, read from inside the pod (exec: independent of the
    NetworkPolicies, which admit nobody to the admin port)."""
    from network_functions.runtime.metrics import parse_metrics

    port = epc.platform.catalog[nf].admin_port
    return parse_metrics(
        _exec_python(
            epc,
            pod,
            "import urllib.request as u;"
            f"print(u.urlopen('http://127.0.0.1:{port}/metrics', timeout=5).read().decode())",
        )
    )


def _counter(epc: Epc, nf: str, name: str, **labels: str) -> float:
    """Sum of a counter over every pod of *nf*, restricted to *labels*."""
    total = 0.0
    for pod in _pods(epc, nf):
        for (metric, pairs), value in _metrics(epc, pod["metadata"]["name"], nf).items():
            got = dict(pairs)
            if metric == name and all(got.get(k) == v for k, v in labels.items()):
                total += value
    return total


# -- NetworkPolicy semantics (networking.k8s.io/v1), for the constructs the chart renders ------


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"selector construct not evaluated: {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _port_allowed(rules_ports: list[dict[str, Any]] | None, dst: dict[str, Any], port: int,
                  proto: str) -> bool:  # fmt: skip
    if not rules_ports:
        return True  # no ports: every port
    named = {
        p["name"]: (p["containerPort"], p.get("protocol", "TCP"))
        for c in dst["spec"]["containers"]
        for p in c.get("ports", [])
        if "name" in p
    }
    for rp in rules_ports:
        assert "endPort" not in rp, f"port construct not evaluated: {rp}"
        rproto = rp.get("protocol", "TCP")
        if rproto != proto:
            continue
        if "port" not in rp:
            return True
        want = rp["port"]
        if isinstance(want, str):
            if named.get(want) == (port, proto):
                return True
        elif int(want) == port:
            return True
    return False


def _peer_matches(peers: list[dict[str, Any]] | None, other: dict[str, Any]) -> bool:
    if peers is None:
        return True  # no from/to: any peer
    for peer in peers:
        assert "ipBlock" not in peer, f"peer construct not evaluated: {peer}"
        if "namespaceSelector" in peer:
            continue  # another namespace (the cluster DNS); our pods share one
        if _selects(peer["podSelector"], other["metadata"].get("labels", {})):
            return True
    return False


def _allowed(
    policies: list[dict[str, Any]], src: dict[str, Any], dst: dict[str, Any], port: int, proto: str
) -> bool:
    """May *src* send to *dst* on port/proto under *policies* (both pods in one namespace)?"""

    def side(kind: str, subject: dict[str, Any], other: dict[str, Any]) -> bool:
        key, peers_key = ("egress", "to") if kind == "Egress" else ("ingress", "from")
        isolating = [
            p["spec"]
            for p in policies
            if kind in p["spec"].get("policyTypes", ["Ingress"])
            and _selects(p["spec"]["podSelector"], subject["metadata"].get("labels", {}))
        ]
        if not isolating:
            return True
        return any(
            _peer_matches(rule.get(peers_key), other)
            and _port_allowed(rule.get("ports"), dst, port, proto)
            for spec in isolating
            for rule in spec.get(key, [])
        )

    return side("Egress", src, dst) and side("Ingress", dst, src)


# -- tests -------------------------------------------------------------------------------------


def test_deploy_the_whole_core_with_the_cli(epc: Epc, tmp_path: Path) -> None:
    values = tmp_path / "epc.yaml"
    values.write_text(yaml.safe_dump(VALUES))
    t0 = time.monotonic()
    done = nfv(
        "deploy", "--profile", "lab", "-f", str(values), "--set-string", f"image.tag={epc.tag}",
        "--registry", REGISTRY, "--timeout", str(DEPLOY_TIMEOUT_S), "-n", NAMESPACE,
        env=epc.env, timeout=DEPLOY_TIMEOUT_S + 60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert time.monotonic() - t0 < DEPLOY_TIMEOUT_S
    status = epc.platform.status()
    assert status.healthy, status.as_dict()
    for nf in ALL_NFS:
        state = status.nf(nf)
        assert state is not None and state.ready == state.desired == 1, (nf, state)
        assert all(REGISTRY in image and epc.tag in image for image in state.images)
    assert epc.platform.endpoint("mme", "s1ap") == ("127.0.0.1", S1AP_NODE_PORT)
    assert epc.platform.endpoint("pcscf", "sip") == ("127.0.0.1", SIP_NODE_PORT)
    s1ap = next(s for s in status.nf("mme").services if s.name == "mme-s1ap")
    assert [(p.node_port, p.protocol) for p in s1ap.ports] == [(S1AP_NODE_PORT, "TCP")]
    assert s1ap.endpoints
    # the images hold the EPC code and its pycrate dependency (S1AP ASN.1). Located, not
    # imported: a second process loading pycrate's S1AP module next to the MME's own
    # (~165 MB RSS) would exceed the lab's 256 MiB memory limit and get the MME OOM-killed.
    mme = _pods(epc, "mme")[0]["metadata"]["name"]
    out = _exec_python(
        epc,
        mme,
        "import importlib.util as u;"
        "print(*(u.find_spec(m).origin for m in ('pycrate_asn1dir.S1AP', 'pycrate_asn1rt',"
        " 'network_functions.protocols.s1ap', 'network_functions.mme')))",
    )
    assert out.split() == [
        "/opt/nfv/venv/lib/python3.11/site-packages/pycrate_asn1dir/S1AP.py",
        "/opt/nfv/venv/lib/python3.11/site-packages/pycrate_asn1rt/__init__.py",
        "/opt/nfv/app/network_functions/protocols/s1ap.py",
        "/opt/nfv/app/network_functions/mme/__init__.py",
    ]


def test_network_policies_let_the_chain_work(epc: Epc) -> None:
    from nfv.catalog import load_catalog

    catalog = load_catalog()
    policies = epc.platform.api.list("NetworkPolicy", NAMESPACE)
    deny = next(p for p in policies if p["metadata"]["name"] == "volte-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"] and "egress" not in deny["spec"]
    pod = {nf: _pods(epc, nf)[0] for nf in (*ALL_NFS, "redis")}
    diameter = catalog["hss"].port("diameter")
    gtpc = catalog["sgw"].port("gtpc")
    pcrf_diameter = catalog["pcrf"].port("diameter")
    chain = [
        ("mme", "hss", diameter, "TCP"),  # S6a
        ("mme", "sgw", gtpc, "UDP"),  # S11
        ("sgw", "pgw", gtpc, "UDP"),  # S5 requests
        ("pgw", "sgw", gtpc, "UDP"),  # S5 requests from the PGW (GTP-C is two-way)
        ("pgw", "pcrf", pcrf_diameter, "TCP"),  # Gx (the PCRF's RAR rides this connection)
        ("pcscf", "pcrf", pcrf_diameter, "TCP"),  # Rx
        ("icscf", "hss", diameter, "TCP"),  # Cx
        ("scscf", "hss", diameter, "TCP"),
        ("pcscf", "icscf", 5060, "UDP"),
        ("icscf", "scscf", 5060, "UDP"),
        ("scscf", "pcscf", 5060, "UDP"),
        ("mme", "redis", 6379, "TCP"),
        ("pgw", "redis", 6379, "TCP"),
    ]
    for src, dst, port, proto in chain:
        assert _allowed(policies, pod[src], pod[dst], port, proto), (src, dst, port, proto)
    # eNBs from outside the namespace reach the MME's S1AP (no `from`: the NodePort's clients)
    s1ap = catalog["mme"].port("s1ap")
    outsider = {"metadata": {"labels": {"app": "enb"}}, "spec": {"containers": []}}
    assert _allowed(policies, outsider, pod["mme"], s1ap, "TCP")
    # ... and nothing outside the chain passes
    denied = [
        ("mme", "pcrf", pcrf_diameter, "TCP"),
        ("mme", "pgw", gtpc, "UDP"),
        ("sgw", "hss", diameter, "TCP"),
        ("pcscf", "hss", diameter, "TCP"),
        ("pcrf", "hss", diameter, "TCP"),
        ("pgw", "mme", s1ap, "TCP"),
        ("hss", "redis", 6380, "TCP"),
    ]
    for src, dst, port, proto in denied:
        assert not _allowed(policies, pod[src], pod[dst], port, proto), (src, dst, port, proto)


def test_ues_attach_and_detach_through_the_s1ap_node_port(epc: Epc) -> None:
    from network_functions.sim.enb import AttachResult, DetachResult

    attaches = _counter(epc, "mme", "mme_procedures_total", procedure="attach", result="success")
    ccr = _counter(epc, "pcrf", "pcrf_ccr_total", type="initial", result="2001")
    ues = [_sim_ue(epc, i) for i in ATTACH_SUBS]
    t0 = time.monotonic()
    with _enb(epc, 1) as enb:
        results = enb.run_many([enb.attach_procedure(u) for u in ues], concurrency=5)
        attached = time.monotonic() - t0
        assert all(isinstance(r, AttachResult) for r in results), results[:3]
        detached = enb.run_many([enb.detach_procedure(u) for u in ues], concurrency=5)
        assert all(isinstance(r, DetachResult) for r in detached), detached[:3]
    pool = ipaddress.ip_network(
        next(a["pool"] for a in epc.values["network"]["apns"] if a["name"] == "internet")
    )
    assert len({r.ip for r in results}) == ATTACH_UES
    assert all(ipaddress.ip_address(r.ip) in pool for r in results)
    assert len({r.guti.m_tmsi for r in results}) == ATTACH_UES
    print(f"{ATTACH_UES} attaches in {attached:.2f} s through the NodePort")
    # every attach went MME → HSS → SGW → PGW → PCRF and back
    assert (
        _counter(epc, "mme", "mme_procedures_total", procedure="attach", result="success")
        - attaches
        == ATTACH_UES
    )
    assert (
        _counter(epc, "pcrf", "pcrf_ccr_total", type="initial", result="2001") - ccr >= ATTACH_UES
    )
    assert _counter(epc, "sgw", "sgw_sessions_total", procedure="delete", cause="16") >= ATTACH_UES


def test_ims_registration_and_call(epc: Epc) -> None:
    from nfv.check import run_check

    subs = [epc.subscribers[i] for i in CHECK_SUBS]
    check = run_check(subs, domain=epc.domain, pcscf=("127.0.0.1", SIP_NODE_PORT))
    assert [s for s, _ in check.steps][-3:] == [
        "call setup INVITE→ACK",
        "call teardown BYE→200",
        "de-register both",
    ]


def test_volte_call_gets_its_policy_through_rx_and_gx(epc: Epc) -> None:
    """Two UEs attach on the ims APN; their IMS call's SDP names those addresses, so the
    P-CSCF's Rx AARs find the PGW's IP-CAN sessions and the PCRF installs the QCI-1 rules on
    the PGW with Gx RARs (removed again on BYE)."""
    from network_functions.sim.ue import SDP_OFFER
    from nfv.check import make_ue

    def sdp(ip: str) -> str:
        return SDP_OFFER.replace("127.0.0.1", ip)

    before = {
        "aar": _counter(epc, "pcrf", "pcrf_rx_total", command="AAR", result="2001"),
        "str": _counter(epc, "pcrf", "pcrf_rx_total", command="STR", result="2001"),
        "rar": _counter(epc, "pcrf", "pcrf_gx_rar_total", outcome="success"),
    }
    ues = [_sim_ue(epc, i, apn="ims") for i in VOLTE_SUBS]
    with _enb(epc, 2) as enb:
        ips = [enb.attach(ue).ip for ue in ues]
        ims_pool = next(a["pool"] for a in epc.values["network"]["apns"] if a["name"] == "ims")
        assert all(ipaddress.ip_address(ip) in ipaddress.ip_network(ims_pool) for ip in ips)
        pcscf = ("127.0.0.1", SIP_NODE_PORT)
        a_sub, b_sub = (epc.subscribers[i] for i in VOLTE_SUBS)
        with (
            make_ue(a_sub, domain=epc.domain, pcscf=pcscf, aka=True) as a,
            make_ue(b_sub, domain=epc.domain, pcscf=pcscf, aka=True) as b,
        ):
            a.register()
            b.register()
            call = a.invite(b.impu, sdp=sdp(ips[0]))
            invite = b.expect_request("INVITE")
            b.respond(invite, 180, tag="b1")
            b.respond(invite, 200, tag="b1", sdp=sdp(ips[1]))
            final = a.await_answer(call)
            assert final.status == 200, f"{final.status} {final.reason}"
            b.expect_request("ACK")
            bye = a._in_dialog(call, "BYE")
            a.send(bye)
            b.respond(b.expect_request("BYE"), 200)
            deadline = time.monotonic() + 10
            while (
                _counter(epc, "pcrf", "pcrf_rx_total", command="STR", result="2001") - before["str"]
                < 2
                and time.monotonic() < deadline
            ):
                time.sleep(0.5)
            a.deregister()
            b.deregister()
        for ue in ues:
            enb.detach(ue)
    aar = _counter(epc, "pcrf", "pcrf_rx_total", command="AAR", result="2001") - before["aar"]
    strs = _counter(epc, "pcrf", "pcrf_rx_total", command="STR", result="2001") - before["str"]
    rar = _counter(epc, "pcrf", "pcrf_gx_rar_total", outcome="success") - before["rar"]
    print(f"VoLTE call: {aar:g} AAR, {strs:g} STR at the PCRF, {rar:g} Gx RARs to the PGW")
    assert (aar, strs) == (2, 2)  # one per call leg
    assert rar == 4  # a QCI-1 rule installed and removed on each UE's PGW session


def test_second_mme_replica_serves_a_ue_attached_through_the_first(epc: Epc) -> None:
    """Scale the MME to 2: UEs attach through one replica (its pod address), go idle, and
    detach through the other, which finds them by GUTI in the shared store."""
    mme_port = epc.platform.catalog["mme"].port("s1ap")
    report = epc.platform.scale("mme", 2, timeout=90)
    assert report.replicas == 2
    try:
        pods = sorted(_pods(epc, "mme"), key=lambda p: p["metadata"]["name"])
        assert len(pods) == 2 and all(p["status"].get("podIP") for p in pods)
        first, second = ((p["metadata"]["name"], p["status"]["podIP"]) for p in pods)
        detaches = _metrics(epc, second[0], "mme")
        ues = [_sim_ue(epc, i) for i in REPLICA_SUBS]
        with _enb(epc, 3, (first[1], mme_port)) as enb:
            tmsis = {enb.attach(ue).guti.m_tmsi for ue in ues}
            for ue in ues:
                enb.release(ue)
        with _enb(epc, 3, (second[1], mme_port)) as enb:
            for ue in ues:
                enb.detach(ue)
            again = enb.attach(ues[0])
            enb.detach(ues[0])
        assert again.guti.m_tmsi not in tmsis

        def detach_count(m: dict[Any, float]) -> float:
            key = ("mme_procedures_total", (("procedure", "detach"), ("result", "success")))
            return sum(
                v for (n, pairs), v in m.items()
                if n == key[0] and dict(pairs).items() >= dict(key[1]).items()
            )  # fmt: skip

        got = detach_count(_metrics(epc, second[0], "mme")) - detach_count(detaches)
        assert got == len(ues) + 1
    finally:
        epc.platform.scale("mme", 1, timeout=90)


def test_destroy_leaves_nothing(epc: Epc) -> None:
    report = epc.platform.destroy(timeout=120)
    assert report.namespace_deleted and len(report.deleted) > 50
    assert epc.platform.api.get("Namespace", None, NAMESPACE) is None
    assert not epc.platform.status().exists
    for kind in ("Deployment", "StatefulSet", "Pod", "Service", "ConfigMap", "Secret"):
        everywhere = epc.platform.api.list(kind, None, selector=epc.platform.selector)
        assert [o for o in everywhere if o["metadata"]["namespace"] == NAMESPACE] == []
