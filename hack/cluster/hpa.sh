#!/usr/bin/env bash
# HPA check on a running hack/cluster: a CPU-burning Deployment (1 replica, 100m request)
# is scaled to >= 2 replicas by a CPU HorizontalPodAutoscaler fed by metrics-server, then
# back to 1 when the load stops. Runs smoke.sh's image step first. Exit 0 only if both seen.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=hpa
# shellcheck source=check-env.sh
. "$here/check-env.sh"
NS=nfv-hpa
ctr --address "$DIR/run/containerd/containerd.sock" -n k8s.io images ls -q | grep -qxF "$IMAGE" \
  || { echo "run hack/cluster/smoke.sh first (it builds $IMAGE)" >&2; exit 1; }

trap 'kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true' EXIT
kubectl delete namespace "$NS" --ignore-not-found --wait=true --timeout=90s >/dev/null
kubectl create namespace "$NS" >/dev/null
deploy() { # the Deployment, burning CPU
  kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: burner}
spec:
  replicas: 1
  selector: {matchLabels: {app: burner}}
  template:
    metadata: {labels: {app: burner}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burner
        image: $IMAGE
        imagePullPolicy: Never
        args: [burn]
        resources: {requests: {cpu: 100m}, limits: {cpu: 300m}}
YAML
}
deploy
kubectl -n "$NS" apply -f - >/dev/null <<'YAML'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: burner}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burner}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 0}
YAML
wait_replicas() { # wait_replicas TEST SECONDS
  local i n
  for ((i = 0; i < $2; i += 2)); do
    n="$(kubectl -n "$NS" get deployment burner -o 'jsonpath={.spec.replicas}')"
    if (($1)); then log "replicas=$n after $((SECONDS - t0)) s"; return 0; fi
    sleep 2
  done
  kubectl -n "$NS" describe hpa burner >&2
  return 1
}
wait_replicas 'n >= 2' 240 || { echo "FAIL: no scale-up" >&2; exit 1; }
# stop the load without touching .spec.replicas (the HPA owns it): pods now just serve
kubectl -n "$NS" patch deployment burner --type=json \
  -p '[{"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": ["serve", ":8080"]}]' >/dev/null
wait_replicas 'n == 1' 240 || { echo "FAIL: no scale-down" >&2; exit 1; }
log "hpa passed in $((SECONDS - t0)) s"
