//go:build tools

// Package tools only names the command ../build-kube-router.sh builds, so that go.mod and go.sum pin its
// dependencies.
package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
