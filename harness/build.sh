#!/usr/bin/env bash
# Builds, from source through the Go module proxy, the binaries of the local control plane
# (npm run control-plane / npm run cis and test/controlplane):
#   kubeadm kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl  (harness/kubernetes/go.mod)
#   etcd etcdutl etcdctl at the etcd version kubeadm pins for that Kubernetes       (harness/etcd/go.mod)
#   kube-bench, with its cfg/ benchmark definitions                                  (harness/kube-bench/go.mod)
# The versions are the ones the three go.mod files require. Binaries go to a cache outside the repository,
# keyed on the versions, and a group is only built when one of its binaries is missing, so a second run
# costs seconds.
#
#   harness/build.sh            build what is missing, print the bin directory last
#   harness/build.sh etcd ...   only these groups (kubernetes, etcd, kube-bench)
#   harness/build.sh --bin-dir  only print the bin directory (nothing is built)
#   harness/build.sh --check    exit 1 (listing them) when binaries are missing, build nothing
#
# Environment: HARNESS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/platform-harness), GOFLAGS (default -p=2,
# the machines this runs on have 2 cores). No prebuilt binary is ever downloaded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The version a go.mod requires for one module (the require line is the single source of truth).
required() { # <go.mod> <module path>
  awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { v = ($1 == "require") ? $3 : $2; print v; exit }' "$1"
}
k8s="$(required "$here/kubernetes/go.mod" k8s.io/kubernetes)"
etcd="$(required "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)"
bench="$(required "$here/kube-bench/go.mod" github.com/aquasecurity/kube-bench)"
for v in "$k8s" "$etcd" "$bench"; do
  [[ "$v" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "harness/build.sh: cannot read the versions from harness/*/go.mod" >&2; exit 2; }
done

cache="${HARNESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/platform-harness}/${k8s}-${etcd}-${bench}"
bin="$cache/bin"
k8s_bins=(kubeadm kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl)
etcd_bins=(etcd etcdutl etcdctl)

missing() { # <name>... : prints the names whose binary is absent
  local b
  for b in "$@"; do [[ -x "$bin/$b" ]] || echo "$b"; done
}

groups=(kubernetes etcd kube-bench)
case "${1:-}" in
  --bin-dir) echo "$bin"; exit 0 ;;
  --check)
    m="$(missing "${k8s_bins[@]}" "${etcd_bins[@]}" kube-bench)"
    [[ -d "$cache/kube-bench-cfg" ]] || m="$m kube-bench-cfg"
    if [[ -n "${m// /}" ]]; then echo "missing in $bin:" "${m//$'\n'/ }" >&2; exit 1; fi
    echo "$bin"; exit 0 ;;
  "") ;;
  kubernetes | etcd | kube-bench)
    groups=("$@")
    for g in "${groups[@]}"; do
      [[ "$g" =~ ^(kubernetes|etcd|kube-bench)$ ]] || { echo "harness/build.sh: unknown group $g (kubernetes, etcd, kube-bench)" >&2; exit 2; }
    done ;;
  *) echo "usage: harness/build.sh [--bin-dir|--check|<group>...]" >&2; exit 2 ;;
esac
wanted() { [[ " ${groups[*]} " == *" $1 "* ]]; }

command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "harness/build.sh: no Go toolchain: install Go >= 1.21 (it fetches the go1.26 toolchain harness/*/go.mod names through the Go module proxy) or put it on PATH; .ci/setup --tests does" >&2; exit 2; }
export GOFLAGS="${GOFLAGS:--p=2}" CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
mkdir -p "$bin"
stage="$(mktemp -d "$cache/.build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

# Builds <packages> of the module in <dir> into the staging directory, then moves each binary into place
# (a rename, so an interrupted build never leaves a half-written binary in bin/).
build() { # <dir> <ldflags> <tags> <name=package>...
  local dir="$1" ldflags="$2" tags="$3"; shift 3
  local pkgs=() spec start
  for spec in "$@"; do pkgs+=("${spec#*=}"); done
  start=$(date +%s)
  echo "building ${*%%=*} ..." >&2
  (cd "$here/$dir" && go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$stage/" "${pkgs[@]}")
  for spec in "$@"; do
    local name="${spec%%=*}" pkg="${spec#*=}" built
    # go build names a binary after the package path's last element, or the one before a /vN suffix.
    built="$(basename "$pkg")"
    [[ "$built" =~ ^v[0-9]+$ ]] && built="$(basename "$(dirname "$pkg")")"
    mv -f "$stage/$built" "$bin/$name"
  done
  echo "$(date -u +%FT%TZ) $dir: $(( $(date +%s) - start ))s on $(nproc) cores, GOFLAGS=$GOFLAGS" >> "$cache/build-times.txt"
}

if wanted kubernetes && [[ -n "$(missing "${k8s_bins[@]}")" ]]; then
  minor="${k8s#v}"; minor="${minor#*.}"; minor="${minor%%.*}"; major="${k8s#v}"; major="${major%%.*}"
  # What kubernetes' hack/lib/version.sh sets, so `kubeadm version` and the components report the pinned
  # release (kubeadm compares them with kubernetesVersion).
  kv=""
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    kv+=" -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    kv+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  # One go build for the six commands: their shared packages compile once. Tags as hack/lib/golang.sh sets them.
  build kubernetes "-s -w$kv" "selinux,notest,grpcnotrace" \
    kubeadm=k8s.io/kubernetes/cmd/kubeadm kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
    kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
    kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler kube-proxy=k8s.io/kubernetes/cmd/kube-proxy \
    kubectl=k8s.io/kubernetes/cmd/kubectl
fi

if wanted etcd && [[ -n "$(missing "${etcd_bins[@]}")" ]]; then
  # The three main packages are the module roots etcdctl/v3, etcdutl/v3 and server/v3 (built as "server").
  build etcd "-s -w" "" etcd=go.etcd.io/etcd/server/v3
  build etcd "-s -w" "" etcdutl=go.etcd.io/etcd/etcdutl/v3
  build etcd "-s -w" "" etcdctl=go.etcd.io/etcd/etcdctl/v3
fi

if wanted kube-bench && [[ -n "$(missing kube-bench)" || ! -d "$cache/kube-bench-cfg" ]]; then
  build kube-bench "-s -w -X github.com/aquasecurity/kube-bench/cmd.KubeBenchVersion=$bench" "" \
    kube-bench=github.com/aquasecurity/kube-bench
  # kube-bench reads its benchmark definitions (cfg/) at run time; they ship in the module source.
  src="$(cd "$here/kube-bench" && go list -m -f '{{.Dir}}' github.com/aquasecurity/kube-bench)"
  rm -rf "$cache/kube-bench-cfg.tmp" && cp -r "$src/cfg" "$cache/kube-bench-cfg.tmp"
  chmod -R u+w "$cache/kube-bench-cfg.tmp" && rm -rf "$cache/kube-bench-cfg" && mv "$cache/kube-bench-cfg.tmp" "$cache/kube-bench-cfg"
fi

echo "$bin"
