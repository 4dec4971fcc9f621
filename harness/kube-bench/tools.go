//go:build tools

// Package tools only names the command ../build.sh builds, so that go.mod and go.sum pin its dependencies.
package tools

import _ "github.com/aquasecurity/kube-bench"
