// The pod sandbox ("pause") binary of the local cluster: no dependencies, built here.
module nfv.local/hack/cluster/build/pause

go 1.25.0
