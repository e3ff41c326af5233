"""How fast `nfv deploy` brings the whole core to Ready on a warm cluster (issue 7).

Run from the repository root as root, with the single-node cluster up
(``hack/cluster/cluster up``): ``python benchmarks/kube_deploy.py [--runs 5]``. It starts the
Docker engine and the registry (scripts/), builds and pushes the images (``nfv build
--push 127.0.0.1:5000``), deploys the ``lab`` profile once to warm the node's image cache,
then for each run: ``nfv deploy`` into a fresh namespace — wall time of the whole command,
Python start-up included, until every NF is Ready in its wave — then ``nfv destroy``
(not timed). It also times a second deploy of an unchanged core (the no-op path).
Target: full core Ready ≤ 20 s (OpenAirInterface's helm install is documented at about
3 minutes). Prints a table and writes docs/benchmarks-kube.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform as host
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "nfv-bench"
REGISTRY = "127.0.0.1:5000"
# Not the lab's 30060: another lab deploy on the same cluster must not collide.
NODE_PORT = "kubernetes.exposure.node_ports.sip=31061"
S1AP_NODE_PORT = "kubernetes.exposure.node_ports.s1ap=31066"  # the MME's, likewise
READY = re.compile(r"core ready in ([0-9.]+) s")


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def nfv(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = run(sys.executable, "-m", "nfv", *args, env=env)
    if done.returncode != 0:
        raise SystemExit(f"nfv {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr}")
    return done


def build_and_push(env: dict[str, str]) -> str:
    """``nfv build --push``, then every NF/store image also under one tag for this run (a
    hash of the content tags): a tree edited meanwhile cannot make the deploys name images
    that were never built."""
    sys.path.insert(0, str(REPO))
    from nfv.images.builder import push_image
    from nfv.images.engine import connect

    build = nfv("build", "--push", REGISTRY, "--json", env=env)
    images = [i for i in json.loads(build.stdout)["images"] if i["kind"] in ("nf", "store")]
    digest = hashlib.sha256(" ".join(sorted(i["ref"] for i in images)).encode()).hexdigest()
    tag = f"bench-{digest[:12]}"
    client = connect(env["DOCKER_HOST"])
    try:
        for i in images:
            push_image(client, i["image_id"], f"{REGISTRY}/nfv/{i['name']}", tag, registry=REGISTRY)
    finally:
        client.close()
    return tag


def deploy(env: dict[str, str], tag: str) -> tuple[float, float]:
    """(wall seconds of `nfv deploy`, seconds it reports from start to all Ready)."""
    t0 = time.monotonic()
    done = nfv(
        "deploy", "--profile", "lab", "--registry", REGISTRY, "--set", NODE_PORT,
        "--set", S1AP_NODE_PORT,
        "--set-string", f"image.tag={tag}", "-n", NAMESPACE, env=env,
    )  # fmt: skip
    wall = time.monotonic() - t0
    match = READY.search(done.stdout)
    return wall, float(match.group(1)) if match else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks-kube.md")
    args = parser.parse_args()

    cluster = run(REPO / "hack" / "cluster" / "cluster", "env").stdout
    kubeconfig = cluster.split("KUBECONFIG=", 1)[1].split()[0].strip("'\"")
    engine = run(REPO / "scripts" / "docker-engine", "start").stdout.strip()
    registry = run(REPO / "scripts" / "registry", "start").stdout.strip()
    if registry != REGISTRY:
        raise SystemExit(f"the registry is at {registry!r}, not {REGISTRY}")
    env = {"KUBECONFIG": kubeconfig, "DOCKER_HOST": engine}
    print("building and pushing the images ...", flush=True)
    tag = build_and_push(env)
    nfv("destroy", "-n", NAMESPACE, env=env)
    print("warm-up deploy (pulls the images onto the node) ...", flush=True)
    deploy(env, tag)
    nfv("destroy", "-n", NAMESPACE, env=env)

    load_before = os.getloadavg()[0]
    walls, readies, noops = [], [], []
    for i in range(args.runs):
        wall, ready = deploy(env, tag)
        noop, _ = deploy(env, tag)
        nfv("destroy", "-n", NAMESPACE, env=env)
        walls.append(wall)
        readies.append(ready)
        noops.append(noop)
        print(
            f"run {i + 1}: nfv deploy {wall:.2f} s (core ready {ready:.2f} s after the start), "
            f"second deploy {noop:.2f} s",
            flush=True,
        )

    def cell(xs: list[float]) -> str:
        return f"{statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f})"

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [
            "# Kubernetes deploy benchmark",
            "",
            f"Generated by `python benchmarks/kube_deploy.py --runs {args.runs}` on {now}; "
            f"machine: {os.cpu_count()} CPUs, {host.platform()}, Python "
            f"{host.python_version()}; cluster: hack/cluster (single node, Kubernetes 1.35), "
            "images already on the node, `lab` profile (redis + HSS, P-, I-, S-CSCF). "
            f"1-minute load average {load_before:.1f} before the runs, "
            f"{os.getloadavg()[0]:.1f} after (the 2 CPUs may be shared with other work).",
            "",
            "| measurement | median of runs | target |",
            "|---|---|---|",
            f"| `nfv deploy --profile lab` into a new namespace, whole command, until every NF "
            f"is Ready | {cell(walls)} | ≤ 20 s |",
            f"| of which: from the deploy's start to the last wave Ready | {cell(readies)} | — |",
            f"| second `nfv deploy` of the unchanged core (no object changes) "
            f"| {cell(noops)} | — |",
            "",
            "Waves: redis (+ every ServiceAccount, Secret, ConfigMap, Service, NetworkPolicy) → "
            "HSS, P-CSCF → I-CSCF, S-CSCF; each wave waits for readiness (readiness probes: "
            "the NF's /readyz, i.e. Diameter connections open and the store reachable). "
            "Anchor: OpenAirInterface documents about 3 minutes for its helm install.",
            "",
        ]
    )
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
