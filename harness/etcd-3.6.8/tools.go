//go:build tools

// Package tools only names the commands ../build.sh builds, so that go.mod and go.sum pin their dependencies.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/etcdutl/v3"
	_ "go.etcd.io/etcd/server/v3"
)
