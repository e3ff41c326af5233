"""nfv render: the volte-core chart rendered from the NF descriptors, values checked against
values.schema.json, every object checked, output deterministic; `nfv render` CLI wiring."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from nfv.catalog import load_catalog
from nfv.errors import RenderError, ValuesError
from nfv.manifests import (
    add_commands,
    allowed_sources,
    check_objects,
    dns_name,
    dump_stream,
    load_chart_values,
    parse_set,
    render_manifests,
    write_directory,
)
from nfv.render import render_nf_config
from nfv.schema import Validator
from nfv.values import CHART_ROOT, profiles

pytestmark = pytest.mark.unit

PROFILES = [None, *profiles()]
# Fixed tags: no content hashing, and golden-ish values that do not move with the code.
FIXED = {"image": {"tag": "t1"}}
LABELS = ("name", "instance", "component", "part-of", "version", "managed-by")
GOLDEN = Path(__file__).parent.parent / "fixtures" / "render" / "lab.yaml"
GOLDEN_SUBSCRIBERS = [
    {
        "imsi_start": "001010000000001",
        "msisdn_start": "15550000001",
        "count": 2,
        "k": "000102030405060708090a0b0c0d0e0f",
        "opc": "0f0e0d0c0b0a09080706050403020100",
        "password": "golden-{msisdn}",
    }
]


def render(profile: str | None = None, **overrides: Any) -> list[dict[str, Any]]:
    values = load_chart_values(profile=profile, overrides={**FIXED, **overrides})
    return render_manifests(values)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


# -- profiles, determinism ---------------------------------------------------------------------


def test_production_profile_exists() -> None:
    assert {"lab", "scaling", "production"} <= set(profiles())


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_renders_and_passes_the_checks(profile: str | None) -> None:
    objects = render(profile)
    assert check_objects(objects) == []
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "ServiceAccount"} <= kinds
    assert {"StatefulSet", "NetworkPolicy"} <= kinds
    keys = {f"app.kubernetes.io/{k}" for k in LABELS}
    for o in objects:
        assert set(o["metadata"]["labels"]) == keys, o["metadata"]["name"]
        assert o["metadata"]["labels"]["app.kubernetes.io/part-of"] == "volte-core"
        assert o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "nfv"


def test_golden_lab_profile() -> None:
    """The lab profile's whole output, byte for byte. After an intended change, regenerate:
    NFV_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_render.py -k golden."""
    text = dump_stream(render("lab", subscribers=GOLDEN_SUBSCRIBERS))
    if os.environ.get("NFV_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "rendered lab profile differs from " + str(GOLDEN)


def test_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    first = dump_stream(render("production"))
    second = dump_stream(render("production"))
    assert first == second
    written = write_directory(render("production"), tmp_path)
    again = write_directory(render("production"), tmp_path)
    assert written == again
    assert sorted(tmp_path.iterdir()) == sorted(written)
    assert "".join(f"---\n{p.read_text()}" for p in written) == first


def test_stream_round_trips_and_is_in_apply_order() -> None:
    objects = render("lab")
    assert list(yaml.safe_load_all(dump_stream(objects))) == objects
    kinds = [o["kind"] for o in objects]
    assert kinds.index("ServiceAccount") < kinds.index("ConfigMap") < kinds.index("Deployment")


def test_default_tags_are_the_image_content_hashes() -> None:
    from nfv.images import plan_images

    refs = plan_images(load_catalog(), with_store=True).refs("reg.example:5000")
    objects = render_manifests(load_chart_values(), registry="reg.example:5000")
    deployments = by_kind(objects, "Deployment")
    for name, dep in deployments.items():
        assert pod(dep)["containers"][0]["image"] == refs[name]
    store = by_kind(objects, "StatefulSet")["redis"]
    assert pod(store)["containers"][0]["image"] == refs["redis"]


def test_render_is_fast() -> None:
    values = load_chart_values(profile="production", overrides=FIXED)
    start = time.perf_counter()
    render_manifests(values)
    assert time.perf_counter() - start < 0.5


# -- derived from the descriptors --------------------------------------------------------------


def test_per_nf_objects_come_from_the_descriptors() -> None:
    catalog = load_catalog()
    objects = render()
    deployments = by_kind(objects, "Deployment")
    services = by_kind(objects, "Service")
    assert sorted(deployments) == sorted(catalog)
    for name, desc in catalog.items():
        # One Service per interface named after it, plus the headless discovery Service.
        for iface in desc.interfaces:
            svc = services[f"{name}-{iface.name}"]
            assert {p["port"] for p in svc["spec"]["ports"]} == {iface.port}
            assert sorted(p["protocol"] for p in svc["spec"]["ports"]) == sorted(
                t.upper() for t in iface.transports
            )
        assert services[name]["spec"]["clusterIP"] == "None"
        container = pod(deployments[name])["containers"][0]
        assert container["args"] == ["--config", f"/etc/nfv/{name}.yaml"]
        assert container["resources"]["limits"]["cpu"] == desc.resources.cpu_limit
        envs = {e["name"]: e for e in container["env"]}
        assert envs["NFV_REPLICA"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert envs["NFV__LISTEN__HOST"]["value"] == "0.0.0.0"
        if desc.needs_store:
            assert envs["NFV__STORE__URL"]["value"] == "redis://redis:6379/0"


def test_sip_service_has_udp_and_tcp_and_pcscf_is_exposed() -> None:
    services = by_kind(
        render("lab", kubernetes={"exposure": {"node_ports": {"sip": 30060}}}), "Service"
    )
    sip = services["pcscf-sip"]["spec"]
    assert sip["type"] == "NodePort"
    assert sip["externalTrafficPolicy"] == "Local"
    assert {(p["protocol"], p["nodePort"]) for p in sip["ports"]} == {
        ("UDP", 30060),
        ("TCP", 30060),
    }
    assert services["scscf-sip"]["spec"]["type"] == "ClusterIP"
    lb = by_kind(render("production"), "Service")["pcscf-sip"]["spec"]
    assert lb["type"] == "LoadBalancer"


def test_sctp_switch_for_diameter() -> None:
    for transport in ("tcp", "sctp"):
        objects = render(diameter={"transport": transport})
        svc = by_kind(objects, "Service")["hss-diameter"]["spec"]["ports"]
        assert [p["protocol"] for p in svc] == [transport.upper()]
        ports = pod(by_kind(objects, "Deployment")["hss"])["containers"][0]["ports"]
        assert {"name": "diameter", "containerPort": 3868, "protocol": transport.upper()} in ports
        config = yaml.safe_load(by_kind(objects, "ConfigMap")["hss-config"]["data"]["hss.yaml"])
        assert config["diameter"]["transport"] == transport


def test_configmap_holds_exactly_the_rendered_config() -> None:
    catalog = load_catalog()
    values = load_chart_values(overrides={**FIXED, "store": {"url": "redis://redis:6379/0"}})
    configmaps = by_kind(render_manifests(values), "ConfigMap")
    for name, desc in catalog.items():
        subs = "/etc/nfv/secrets/subscribers.json" if desc.secrets else ""
        expected = render_nf_config(desc, catalog, values, subscribers_file=subs)
        assert configmaps[f"{name}-config"]["data"] == {f"{name}.yaml": expected}


def test_checksum_annotation_changes_with_the_config() -> None:
    def checksums(**overrides: Any) -> dict[str, str]:
        deployments = by_kind(render(**overrides), "Deployment")
        return {n: pod_annotations(d)["checksum/config"] for n, d in deployments.items()}

    def pod_annotations(dep: dict[str, Any]) -> dict[str, str]:
        annotations: dict[str, str] = dep["spec"]["template"]["metadata"]["annotations"]
        return annotations

    base = checksums()
    assert base == checksums()
    changed = checksums(sip={"registration": {"min_expires": 120}})
    assert changed["scscf"] != base["scscf"]
    assert changed["hss"] == base["hss"]
    logging = checksums(logging={"level": "DEBUG"})
    assert all(logging[n] != base[n] for n in base)


def test_subscriber_keys_only_in_the_secret() -> None:
    values = load_chart_values(overrides=FIXED)
    objects = render_manifests(values)
    secrets = [o for o in objects if o["kind"] == "Secret"]
    assert len(secrets) == 1
    for rng in values["subscribers"]:
        for key in (rng["k"], rng["opc"]):
            holders = [o["kind"] for o in objects if key in json.dumps(o)]
            assert holders == ["Secret"]
    records = json.loads(secrets[0]["stringData"]["subscribers.json"])
    assert len(records) == sum(r["count"] for r in values["subscribers"])
    hss = pod(by_kind(objects, "Deployment")["hss"])
    assert {"name": "subscribers", "mountPath": "/etc/nfv/secrets", "readOnly": True} in hss[
        "containers"
    ][0]["volumeMounts"]
    # NFs whose descriptor lists no secret mount none.
    assert all("secret" not in v for v in pod(by_kind(objects, "Deployment")["pcscf"])["volumes"])


def test_network_policies_allow_exactly_the_descriptor_peers() -> None:
    catalog = load_catalog()
    enabled = list(catalog.values())
    objects = render()
    policies = by_kind(objects, "NetworkPolicy")
    deny = policies["volte-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    for name, desc in catalog.items():
        allowed: dict[str, set[str]] = {}
        for rule in policies[name]["spec"]["ingress"]:
            sources = {
                p["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                for p in rule.get("from", [])
            }
            for port in rule["ports"]:
                allowed.setdefault(port["port"], set()).update(sources or {"*"})
        for iface in desc.interfaces:
            names = {
                p["name"]
                for p in by_kind(objects, "Service")[f"{name}-{iface.name}"]["spec"]["ports"]
            }
            expect = allowed_sources(desc, iface, enabled)
            for port_name in names:
                if expect is None:
                    assert allowed[port_name] == {"*"}
                elif expect:
                    assert allowed[port_name] == set(expect)
                else:
                    assert port_name not in allowed
    # Every client→server pair in the descriptors is allowed on the server's non-HTTP ports.
    for client in catalog.values():
        for peer_name in client.peers:
            peer = catalog[peer_name]
            for iface in peer.interfaces:
                if iface.protocol != "http":
                    sources = allowed_sources(peer, iface, enabled)
                    assert sources is None or client.name in sources
    # SIP goes both ways: the S-CSCF may send to the I-CSCF and the I-CSCF to the S-CSCF.
    assert (
        "scscf" in allowed_sources(catalog["icscf"], catalog["icscf"].interface("sip"), enabled)
        or []
    )
    redis = policies["redis"]["spec"]["ingress"][0]["from"]
    stateful = sorted(d.name for d in enabled if d.needs_store)
    assert [p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in redis] == stateful


def test_pod_security_probes_and_grace() -> None:
    for obj in render("production"):
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = pod(obj)
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for c in spec["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
        if obj["kind"] == "Deployment":
            c = spec["containers"][0]
            assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
            assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
            assert spec["terminationGracePeriodSeconds"] >= 64 * 0.5
    lab = by_kind(render("lab", sip={"t1": 2.0}), "Deployment")
    # 64*T1 (RFC 3261 §17.1.1.2) + margin wins over a shorter configured grace period.
    assert pod(lab["scscf"])["terminationGracePeriodSeconds"] == 128 + 5


def test_selectors_use_only_stable_labels() -> None:
    for obj in render("production"):
        if obj["kind"] in ("Deployment", "StatefulSet"):
            assert set(obj["spec"]["selector"]["matchLabels"]) == {
                "app.kubernetes.io/name",
                "app.kubernetes.io/instance",
            }
        if obj["kind"] == "Service":
            assert "app.kubernetes.io/version" not in obj["spec"]["selector"]


def test_hpa_pdb_anti_affinity_by_profile() -> None:
    lab = render("lab")
    assert not by_kind(lab, "HorizontalPodAutoscaler")
    assert not by_kind(lab, "PodDisruptionBudget")
    assert all("affinity" not in pod(d) for d in by_kind(lab, "Deployment").values())

    prod = render("production")
    hpas = by_kind(prod, "HorizontalPodAutoscaler")
    assert sorted(hpas) == sorted(load_catalog())
    scscf = hpas["scscf"]["spec"]
    assert scscf["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "scscf",
    }
    assert (scscf["minReplicas"], scscf["maxReplicas"]) == (2, 10)
    assert scscf["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 60,
    }
    # Fast out, careful in.
    assert scscf["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert scscf["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    deployments = by_kind(prod, "Deployment")
    assert "replicas" not in deployments["scscf"]["spec"]  # the HPA owns it
    assert "podAntiAffinity" in pod(deployments["scscf"])["affinity"]
    assert sorted(by_kind(prod, "PodDisruptionBudget")) == sorted(load_catalog())

    scaling = render("scaling")
    hpa = by_kind(scaling, "HorizontalPodAutoscaler")["scscf"]["spec"]
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 60
    limits = pod(by_kind(scaling, "Deployment")["scscf"])["containers"][0]["resources"]["limits"]
    assert limits["cpu"] == "250m"
    assert "hss" not in by_kind(scaling, "HorizontalPodAutoscaler")


def test_namespace_registry_and_names() -> None:
    objects = render_manifests(
        load_chart_values(overrides=FIXED), namespace="core", registry="127.0.0.1:5000"
    )
    assert {o["metadata"]["namespace"] for o in objects} == {"core"}
    dep = by_kind(objects, "Deployment")["pcscf"]
    assert pod(dep)["containers"][0]["image"] == "127.0.0.1:5000/nfv/pcscf:t1"
    assert dns_name("a" * 70, "config") == "a" * 63
    assert dns_name("x" * 62, "config") == "x" * 62  # no trailing '-'


def test_disabled_nf_is_left_out_and_peers_are_checked() -> None:
    with pytest.raises(ValuesError, match="needs peer icscf"):
        render(nfs={"icscf": {"enabled": False}})
    with pytest.raises(ValuesError, match="no NF descriptor"):
        render(nfs={"mme": {"replicas": 1}})


def test_external_store_url_drops_the_statefulset() -> None:
    objects = render(store={"url": "redis://my-redis:6379/1"})
    assert not by_kind(objects, "StatefulSet")
    env = pod(by_kind(objects, "Deployment")["scscf"])["containers"][0]["env"]
    assert {"name": "NFV__STORE__URL", "value": "redis://my-redis:6379/1"} in env


# -- values schema -----------------------------------------------------------------------------


def test_schema_is_valid_json_schema_where_jsonschema_is_installed() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((CHART_ROOT / "values.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for profile in PROFILES:
        values = load_chart_values(profile=profile)
        assert list(jsonschema.Draft202012Validator(schema).iter_errors(values)) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"nfs": {"scscf": {"replicas": "three"}}},
            r"--set: nfs\.scscf\.replicas: got \"three\", expected a value of type integer",
        ),
        (
            {"nfs": {"scscf": {"replicas": 99}}},
            r"nfs\.scscf\.replicas: got 99, expected a number <= 64",
        ),
        (
            {"diameter": {"transport": "quic"}},
            r"diameter\.transport: got \"quic\", expected one of \"tcp\", \"sctp\"",
        ),
        ({"network": {"mcc": "1"}}, r"network\.mcc: got \"1\", expected a string matching"),
        (
            {"kubernetes": {"colour": "blue"}},
            r"kubernetes\.colour: got \"blue\", expected no such key",
        ),
        ({"kubernetes": {"exposure": {"type": "Ingress"}}}, r"kubernetes\.exposure\.type"),
        ({"image": {"pull_policy": "Sometimes"}}, r"image\.pull_policy"),
        (
            {
                "autoscaling": {
                    "nfs": {"scscf": {"behavior": {"scale_up": {"select_policy": "Best"}}}}
                }
            },
            r"autoscaling\.nfs\.scscf\.behavior\.scale_up\.select_policy",
        ),
    ],
)
def test_schema_errors_name_the_source_key_value_and_expectation(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValuesError, match=message):
        load_chart_values(overrides=overrides)


def test_schema_error_names_the_values_file(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("kubernetes:\n  anti_affinity: always\n")
    with pytest.raises(ValuesError, match=rf"{bad}: kubernetes\.anti_affinity: got \"always\""):
        load_chart_values(profile="lab", files=[bad])


def test_missing_required_value(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(CHART_ROOT, chart)
    values = yaml.safe_load((chart / "values.yaml").read_text())
    del values["network"]["mcc"]
    (chart / "values.yaml").write_text(yaml.safe_dump(values))
    with pytest.raises(ValuesError, match=r"network\.mcc: got null, expected a required value"):
        load_chart_values(chart=chart)


def test_validator_rejects_keywords_it_does_not_implement() -> None:
    from nfv.schema import SchemaError

    with pytest.raises(SchemaError, match="oneOf"):
        Validator({"oneOf": [{"type": "string"}]}).problems("x")


def test_parse_set() -> None:
    assert parse_set(["a.b=3", "a.c=x", "d=[1, 2]", "e="]) == {
        "a": {"b": 3, "c": "x"},
        "d": [1, 2],
        "e": "",
    }
    with pytest.raises(ValuesError, match=r"key\.path=value"):
        parse_set(["novalue"])
    with pytest.raises(ValuesError, match=r"key\.path=value"):
        parse_set(["a..b=1"])
    assert parse_set(["image.tag=0123"], strings=True) == {"image": {"tag": "0123"}}


# -- object checks -----------------------------------------------------------------------------


def test_checks_catch_broken_objects() -> None:
    objects = render()
    svc = by_kind(objects, "Service")["scscf-sip"]
    svc["spec"]["ports"][0]["targetPort"] = "nope"
    dep = by_kind(objects, "Deployment")["hss"]
    pod(dep)["volumes"][0]["configMap"]["name"] = "missing-config"
    dep["metadata"]["labels"]["app.kubernetes.io/version"] = "bad value!"
    policy = by_kind(objects, "NetworkPolicy")["hss"]
    policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"][
        "app.kubernetes.io/name"
    ] = "ghost"
    objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}})
    big = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "big"}}
    objects.append({**big, "stringData": {"x": "0" * (1024 * 1024)}})
    problems = "\n".join(check_objects(objects))
    assert (
        "Service/scscf-sip: spec.ports[sip-udp].targetPort 'nope'/UDP is no declared containerPort"
        in problems
    )
    assert "Deployment/hss: volume config: ConfigMap missing-config missing" in problems
    assert (
        "Deployment/hss: metadata.labels.app.kubernetes.io/version: invalid label value" in problems
    )
    assert "NetworkPolicy/hss: spec.ingress[0].from[0] matches no pods" in problems
    assert "ConfigMap/Bad_Name: metadata.name is not a DNS label" in problems
    assert "Secret/big: data is 1048585 bytes, over the 1048576 limit" in problems


def test_render_error_for_a_broken_template(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(CHART_ROOT, chart)
    (chart / "templates" / "zz.yaml.j2").write_text("kind: {{ nope }}\n")
    with pytest.raises(RenderError, match=r"templates/zz\.yaml\.j2: 'nope' is undefined"):
        render_manifests(load_chart_values(chart=chart, overrides=FIXED), chart=chart)


# -- CLI ---------------------------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nfv")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_cli_render_stdout_and_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["render", "--profile", "lab", "--set-string", "image.tag=0123", "-n", "core"]) == 0
    out = capsys.readouterr().out
    docs = list(yaml.safe_load_all(out))
    assert {d["metadata"]["namespace"] for d in docs} == {"core"}
    images = [
        d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in docs
        if d["kind"] == "Deployment"
    ]
    assert images and all(i.endswith(":0123") for i in images)
    assert (
        _run(["render", "--set", "image.tag=t1", "--registry", "r:5000", "-o", str(tmp_path)]) == 0
    )
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files[0].startswith("000-serviceaccount-")
    assert any(f.endswith("-deployment-hss.yaml") for f in files)


def test_cli_render_reports_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    from nfv.errors import NfvError

    with pytest.raises(NfvError, match=r"--set: nfs\.hss\.replicas"):
        _run(["render", "--set", "nfs.hss.replicas=-1"])
