#!/usr/bin/env bash
# Smoke test of a running hack/cluster: a Deployment of a locally built image becomes Ready,
# another pod reaches it by name (CoreDNS) through its ClusterIP Service (answers from every
# replica), and the Service's NodePort answers on 127.0.0.1. Cleans up its namespace; exit 0
# only if all passed.
#   hack/cluster/cluster up && hack/cluster/smoke.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=smoke
# shellcheck source=check-env.sh
. "$here/check-env.sh"
NS=nfv-smoke
NODEPORT=30999

# the probe image: one static Go binary, built here, imported into the cluster's containerd
tar="$NFV_CACHE/images/probe-2.tar"
if [[ ! -f $tar ]]; then
  mkdir -p "$NFV_CACHE/images"
  (cd "$here/build/probe" && GOCACHE="$NFV_CACHE/go/build" GOMODCACHE="$NFV_CACHE/go/mod" \
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
    go build -trimpath -ldflags "-s -w" -o "$NFV_CACHE/images/probe" .)
  python3 "$here/mkimage.py" --name "$IMAGE" --entrypoint '["/probe"]' --user 65534:65534 \
    --out "$tar.tmp" "/probe=$NFV_CACHE/images/probe"
  mv "$tar.tmp" "$tar"
fi
ctr --address "$DIR/run/containerd/containerd.sock" -n k8s.io images import "$tar" >/dev/null

cleanup() {
  [[ -n ${KEEP:-} ]] || kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT
# a namespace left terminating by a previous run must be gone first
kubectl delete namespace "$NS" --ignore-not-found --wait=true --timeout=90s >/dev/null
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: $IMAGE
        imagePullPolicy: Never
        args: [serve, ":8080"]
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: $NODEPORT}]
EOF
kubectl -n "$NS" rollout status deployment/web --timeout=120s >&2
log "deployment ready after $((SECONDS - t0)) s"
# both endpoints ready in the EndpointSlice, then one kube-proxy sync period (minSyncPeriod 1 s)
for ((i = 0; i < 60; i++)); do
  ready="$(kubectl -n "$NS" get endpointslices -l kubernetes.io/service-name=web \
    -o 'jsonpath={range .items[*].endpoints[*]}{.conditions.ready}{"\n"}{end}' | grep -c true || true)"
  ((ready >= 2)) && break
  sleep 0.5
done
sleep 2

# pod -> Service by DNS name (CoreDNS), then ClusterIP through kube-proxy's iptables rules
ip="$(kubectl -n "$NS" get service web -o 'jsonpath={.spec.clusterIP}')"
kubectl -n "$NS" delete pod client --ignore-not-found >/dev/null
kubectl -n "$NS" run client --image="$IMAGE" --image-pull-policy=Never --restart=Never \
  -- get "http://web.$NS.svc.cluster.local/" 40 >/dev/null
for ((i = 0; i < 120; i++)); do
  phase="$(kubectl -n "$NS" get pod client -o 'jsonpath={.status.phase}')"
  [[ $phase == Succeeded || $phase == Failed ]] && break
  sleep 0.5
done
answers="$(kubectl -n "$NS" logs client 2>/dev/null | grep -v ' ' || true)"
kubectl -n "$NS" logs client 2>&1 | grep ' ' | sort | uniq -c | head -5 >&2 || true
replicas="$(sort -u <<<"$answers" | grep -c . || true)"
log "client pod phase $phase; $(grep -c . <<<"$answers") answers from $replicas replicas via web.$NS.svc.cluster.local ($ip)"
[[ $phase == Succeeded && $replicas -ge 2 ]] || { echo "FAIL: pod -> Service" >&2; exit 1; }

# host -> NodePort on loopback
body="$(curl -fsS --max-time 5 --retry 10 --retry-delay 1 --retry-all-errors "http://127.0.0.1:$NODEPORT/")"
log "NodePort 127.0.0.1:$NODEPORT answered: $body"
[[ -n $body ]] || { echo "FAIL: NodePort" >&2; exit 1; }
log "smoke passed in $((SECONDS - t0)) s"
