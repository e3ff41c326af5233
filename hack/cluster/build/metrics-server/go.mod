// Module that pins the metrics-server release hack/cluster builds (see hack/cluster/build.sh).
module nfv.local/hack/cluster/build/metrics-server

go 1.26.4

require sigs.k8s.io/metrics-server v0.9.0
