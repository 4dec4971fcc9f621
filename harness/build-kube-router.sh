#!/usr/bin/env bash
# Builds kube-router, the NetworkPolicy enforcer the clusters run (components/k8s/networkPolicy.ts), from source
# through the Go module proxy, for test/k8s/networkPolicyEnforcement.test.ts: the version harness/kube-router/go.mod
# requires (the require line is the single source of truth), into its own cache directory
# <cache>/kube-router-<version>/bin, built only when the binary is missing. harness/build.sh runs it after the
# control-plane sets (so CI and .ci/setup --tests build it); it never touches their binaries.
#
#   harness/build-kube-router.sh            build it when missing, print its bin directory last
#   harness/build-kube-router.sh --bin-dir  only print the bin directory; nothing is built
#   harness/build-kube-router.sh --check    exit 1 when the binary is missing, build nothing
#
# Environment: HARNESS_CACHE (as harness/build.sh), GOFLAGS (default -p=2). No prebuilt binary is ever downloaded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "harness/build-kube-router.sh: $*" >&2; exit 2; }
module=github.com/cloudnativelabs/kube-router/v2
version="$(awk -v m="$module" '($1 == m || ($1 == "require" && $2 == m)) { print ($1 == "require") ? $3 : $2; exit }' "$here/kube-router/go.mod")"
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read $module's version from harness/kube-router/go.mod"
cache="${HARNESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/platform-harness}/kube-router-$version"
bin="$cache/bin"

case "${1:-}" in
  --bin-dir) echo "$bin"; exit 0 ;;
  --check)
    [[ -x "$bin/kube-router" ]] || { echo "missing in $bin: kube-router" >&2; exit 1; }
    echo "$bin"; exit 0 ;;
  "") ;;
  *) die "usage: harness/build-kube-router.sh [--bin-dir | --check]" ;;
esac
if [[ -x "$bin/kube-router" ]]; then echo "$bin"; exit 0; fi

command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || die "no Go toolchain: install Go >= 1.21 or put it on PATH; .ci/setup --tests does"
export GOFLAGS="${GOFLAGS:--p=2}" CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
mkdir -p "$bin"
stage="$(mktemp -d "$cache/.build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
cp "$here/kube-router/go.mod" "$here/kube-router/go.sum" "$here/kube-router/tools.go" "$stage/"

start=$(date +%s)
echo "building kube-router $version (harness/kube-router) ..." >&2
# The version flag as kube-router's Makefile sets it (-X .../pkg/version.Version), so `kube-router --version` says it.
(cd "$stage" && go build -trimpath -ldflags "-s -w -X $module/pkg/version.Version=$version" -o "$stage/kube-router" "$module/cmd/kube-router")
mv -f "$stage/kube-router" "$bin/kube-router"
echo "$(date -u +%FT%TZ) kube-router: $(($(date +%s) - start))s on $(nproc) cores, GOFLAGS=$GOFLAGS" >>"$cache/build-times.txt"
echo "$bin"
