//go:build tools

// Package tools records the command built from this module (sigs.k8s.io/metrics-server/cmd/metrics-server).
package tools

import _ "sigs.k8s.io/metrics-server/cmd/metrics-server"
