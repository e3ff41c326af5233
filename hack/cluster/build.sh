#!/usr/bin/env bash
# Build the pinned Kubernetes components and etcd from their Go modules with the machine's Go
# toolchain, into a cache outside git keyed by version: a second run builds nothing.
#   hack/cluster/build.sh            # build what is missing
#   NFV_CACHE=/some/dir hack/cluster/build.sh
# Output: $NFV_CACHE/k8s/<version>/bin/{kube-apiserver,...,kubectl} and
#         $NFV_CACHE/etcd/<version>/bin/etcd
# With --addons (as `cluster up` runs it) also CoreDNS and metrics-server:
#         $NFV_CACHE/coredns/<version>/bin/coredns, $NFV_CACHE/metrics-server/<version>/bin/...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

k8s_bin="$NFV_CACHE/k8s/$K8S_VERSION/bin"
etcd_bin="$NFV_CACHE/etcd/$ETCD_VERSION/bin"
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

export GOFLAGS="-mod=mod -buildvcs=false"
export GOMODCACHE="$NFV_CACHE/go/mod"
export GOCACHE="$NFV_CACHE/go/build"
export GOMAXPROCS="${GOMAXPROCS:-2}"
export CGO_ENABLED=0
export GOTOOLCHAIN=local

log() { printf '[build %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

missing=()
for c in "${K8S_CMDS[@]}"; do [[ -x "$k8s_bin/$c" ]] || missing+=("$c"); done
if ((${#missing[@]})); then
  grep -q "k8s.io/kubernetes v$K8S_VERSION\$" "$here/build/kubernetes/go.mod" \
    || { log "build/kubernetes/go.mod does not pin v$K8S_VERSION"; exit 1; }
  log "building ${missing[*]} v$K8S_VERSION into $k8s_bin"
  mkdir -p "$k8s_bin.tmp"
  minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  pkgs=(); for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  start=$SECONDS
  (cd "$here/build/kubernetes" && go build -p 2 -trimpath -ldflags "$ldflags" -o "$k8s_bin.tmp/" "${pkgs[@]}")
  mkdir -p "$k8s_bin"
  for c in "${missing[@]}"; do mv "$k8s_bin.tmp/$c" "$k8s_bin/$c"; done
  rmdir "$k8s_bin.tmp"
  log "kubernetes built in $((SECONDS - start)) s"
fi

if [[ ! -x "$etcd_bin/etcd" ]]; then
  log "building etcd v$ETCD_VERSION into $etcd_bin"
  mkdir -p "$etcd_bin"
  start=$SECONDS
  (cd "$here/build/etcd" && go build -p 2 -trimpath -ldflags "-s -w" -o "$etcd_bin/etcd.tmp" .)
  mv "$etcd_bin/etcd.tmp" "$etcd_bin/etcd"
  log "etcd built in $((SECONDS - start)) s"
fi

addon() { # addon NAME VERSION PACKAGE: build one command of build/NAME into the cache
  local name=$1 version=$2 pkg=$3 out="$NFV_CACHE/$1/$2/bin" start
  [[ -x "$out/$name" ]] && return 0
  log "building $name v$version into $out"
  mkdir -p "$out"
  start=$SECONDS
  (cd "$here/build/$name" && go build -p 2 -trimpath -ldflags "-s -w" -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  log "$name built in $((SECONDS - start)) s"
}
if [[ ${1:-} == --addons ]]; then
  addon coredns "$COREDNS_VERSION" .
  addon metrics-server "$METRICS_SERVER_VERSION" sigs.k8s.io/metrics-server/cmd/metrics-server
fi

log "binaries ready: $k8s_bin $etcd_bin"
