// A tiny HTTP server/client used by the local cluster's smoke and e2e tests.
module nfv.local/hack/cluster/build/probe

go 1.25.0
