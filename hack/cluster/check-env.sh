# Sourced by the cluster checks (smoke.sh, hpa.sh) after they set `here` (this folder) and
# `LOG_TAG`: the pinned versions, the cluster's state dir, KUBECONFIG, kubectl from the
# cluster's bin dir, the probe image both checks run, and a timestamped log on stderr.
# shellcheck shell=bash
# shellcheck source=versions.sh
. "$here/versions.sh"
DIR="${NFV_CLUSTER_DIR:-$NFV_CACHE/cluster}"
BIN="$NFV_CACHE/k8s/$K8S_VERSION/bin"
export KUBECONFIG="$DIR/conf/admin.kubeconfig"
IMAGE=localhost/nfv/probe:2
kubectl() { "$BIN/kubectl" "$@"; }
log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date -u +%H:%M:%S)" "$*" >&2; }
t0=$SECONDS
