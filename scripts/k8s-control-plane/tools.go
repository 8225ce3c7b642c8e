//go:build tools

// The two commands the control-plane test builds (scripts/k8s-control-plane/build.sh).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
