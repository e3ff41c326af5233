# Pinned versions and cache locations shared by hack/cluster scripts (sourced, not run).
# Kubernetes 1.35 is the newest release that runs on these machines: it still supports
# containerd 1.x (Debian bookworm ships 1.6; 1.36 drops containerd 1.x) and runs on cgroup v1
# when the kubelet config sets failCgroupV1: false.
K8S_VERSION="${K8S_VERSION:-1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.5}"
COREDNS_VERSION="${COREDNS_VERSION:-1.14.7}"
METRICS_SERVER_VERSION="${METRICS_SERVER_VERSION:-0.9.0}"
NFV_CACHE="${NFV_CACHE:-$HOME/.cache/nfv}"
