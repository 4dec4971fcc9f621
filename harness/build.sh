#!/usr/bin/env bash
# Builds, from source through the Go module proxy, the binaries of the local control plane
# (npm run control-plane / npm run cis and test/controlplane), one set for each Kubernetes version a stack pins:
#   kubeadm kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl  (harness/kubernetes*/go.mod)
#   etcd etcdutl etcdctl at the etcd version kubeadm pins for that Kubernetes       (harness/etcd*/go.mod)
#   kube-bench, with its cfg/ benchmark definitions (built once, copied into each set) (harness/kube-bench/go.mod)
# and, once for all sets, kube-router (harness/build-kube-router.sh: its own cache directory, kube-router-<version>/bin).
# SETS below pairs each Kubernetes module with its etcd module; the versions are the ones their go.mod files
# require (the require lines are the single source of truth). Each set's binaries go to a cache outside the
# repository keyed on its versions (<k8s>-<etcd>-<kube-bench>/bin), and a group is only built when one of its
# binaries is missing, so a second run costs seconds.
#
#   harness/build.sh                     build what is missing in every set, print their bin directories last
#   harness/build.sh v1.36.2 etcd ...    only these sets (Kubernetes versions) and groups (kubernetes, etcd, kube-bench,
#                                        kube-router)
#   harness/build.sh --bin-dir [<k8s>]   only print the bin directory of that Kubernetes version (default: the first
#                                        set's, the prod stacks'); nothing is built
#   harness/build.sh --versions          print "<k8s version> <bin directory>" for each set; nothing is built
#   harness/build.sh --check [<k8s>...]  exit 1 (listing them) when binaries are missing, build nothing
# A Kubernetes version no set builds is an error naming the versions the harness builds (exit 2).
#
# Environment: HARNESS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/platform-harness), GOFLAGS (default -p=2,
# the machines this runs on have 2 cores). No prebuilt binary is ever downloaded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# "<Kubernetes module dir> <etcd module dir>" under harness/; the first is the prod stacks' version. The etcd
# module is at kubeadm's DefaultEtcdVersion for that Kubernetes (cmd/kubeadm/app/constants/constants.go: 3.6.6-0
# in v1.35.4, 3.6.8-0 in v1.36.2), checked against the module source when the Kubernetes group is built.
SETS=("kubernetes etcd" "kubernetes-1.36 etcd-3.6.8")

die() { echo "harness/build.sh: $*" >&2; exit 2; }

# The version a go.mod requires for one module (the require line is the single source of truth).
required() { # <go.mod> <module path>
  awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { v = ($1 == "require") ? $3 : $2; print v; exit }' "$1"
}
semver() { [[ "$1" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; }

bench="$(required "$here/kube-bench/go.mod" github.com/aquasecurity/kube-bench)"
semver "$bench" || die "cannot read kube-bench's version from harness/kube-bench/go.mod"
k8s_dir=() etcd_dir=() k8s_v=() etcd_v=()
for s in "${SETS[@]}"; do
  read -r kd ed <<<"$s"
  k8s_dir+=("$kd") etcd_dir+=("$ed")
  k8s_v+=("$(required "$here/$kd/go.mod" k8s.io/kubernetes)")
  etcd_v+=("$(required "$here/$ed/go.mod" go.etcd.io/etcd/server/v3)")
  semver "${k8s_v[-1]}" || die "cannot read k8s.io/kubernetes's version from harness/$kd/go.mod"
  semver "${etcd_v[-1]}" || die "cannot read go.etcd.io/etcd/server/v3's version from harness/$ed/go.mod"
done
cache_root="${HARNESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/platform-harness}"
versions="${k8s_v[*]}"
versions="${versions// /, }"
cache_of() { echo "$cache_root/${k8s_v[$1]}-${etcd_v[$1]}-${bench}"; } # <set index>
k8s_bins=(kubeadm kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl)
etcd_bins=(etcd etcdutl etcdctl)

# The index of the set that builds Kubernetes <version> (1.36.2 or v1.36.2), or exit 2 naming the versions built.
set_of() { # <version>
  local v="v${1#v}" i
  for i in "${!k8s_v[@]}"; do [[ "${k8s_v[$i]}" == "$v" ]] && { echo "$i"; return 0; }; done
  echo "harness/build.sh: no harness module builds Kubernetes $v; the harness builds ${versions} (harness/kubernetes*/go.mod, SETS in harness/build.sh)" >&2
  return 2
}

missing() { # <bin dir> <name>... : prints the names whose binary is absent
  local d="$1" b
  shift
  for b in "$@"; do [[ -x "$d/$b" ]] || echo "$b"; done
}

usage="usage: harness/build.sh [<k8s version>...] [<group>...] | --bin-dir [<k8s version>] | --versions | --check [<k8s version>...]"
mode=build
sel=() groups=()
while (($# > 0)); do
  case "$1" in
    --bin-dir)
      i=0
      if (($# > 1)); then i="$(set_of "$2")" || exit 2; shift; fi
      (($# == 1)) || die "$usage"
      echo "$(cache_of "$i")/bin"
      exit 0 ;;
    --versions)
      for i in "${!k8s_v[@]}"; do echo "${k8s_v[$i]} $(cache_of "$i")/bin"; done
      exit 0 ;;
    --check) mode=check ;;
    kubernetes | etcd | kube-bench | kube-router) [[ "$mode" == build ]] || die "$usage"; groups+=("$1") ;;
    v[0-9]* | [0-9]*) i="$(set_of "$1")" || exit 2; sel+=("$i") ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) die "unknown argument $1 (groups: kubernetes, etcd, kube-bench, kube-router; Kubernetes versions: ${versions})
$usage" ;;
  esac
  shift
done
((${#sel[@]} > 0)) || sel=("${!k8s_v[@]}")
((${#groups[@]} > 0)) || groups=(kubernetes etcd kube-bench kube-router)
wanted() { [[ " ${groups[*]} " == *" $1 "* ]]; }

if [[ "$mode" == check ]]; then
  bad=0
  for i in "${sel[@]}"; do
    bin="$(cache_of "$i")/bin"
    m="$(missing "$bin" "${k8s_bins[@]}" "${etcd_bins[@]}" kube-bench)"
    [[ -f "$(cache_of "$i")/kube-bench-cfg/config.yaml" ]] || m="$m kube-bench-cfg"
    if [[ -n "${m// /}" ]]; then m="${m//$'\n'/ }"; echo "missing in $bin (Kubernetes ${k8s_v[$i]}): ${m# }" >&2; bad=1; fi
  done
  ((bad == 0)) || exit 1
  for i in "${sel[@]}"; do echo "$(cache_of "$i")/bin"; done
  exit 0
fi

command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || die "no Go toolchain: install Go >= 1.21 (it fetches the go1.26 toolchain harness/*/go.mod names through the Go module proxy) or put it on PATH; .ci/setup --tests does"
export GOFLAGS="${GOFLAGS:--p=2}" CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
stages=()
trap 'rm -rf "${stages[@]}"' EXIT

# Builds <packages> of the module in <dir> into the set's staging directory, then moves each binary into place
# (a rename, so an interrupted build never leaves a half-written binary in bin/).
build() { # <dir> <ldflags> <tags> <name=package>...
  local dir="$1" ldflags="$2" tags="$3"
  shift 3
  local pkgs=() spec start
  for spec in "$@"; do pkgs+=("${spec#*=}"); done
  start=$(date +%s)
  echo "building ${*%%=*} ($dir) ..." >&2
  (cd "$here/$dir" && go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$stage/" "${pkgs[@]}")
  for spec in "$@"; do
    local name="${spec%%=*}" pkg="${spec#*=}" built
    # go build names a binary after the package path's last element, or the one before a /vN suffix.
    built="$(basename "$pkg")"
    [[ "$built" =~ ^v[0-9]+$ ]] && built="$(basename "$(dirname "$pkg")")"
    mv -f "$stage/$built" "$bin/$name"
  done
  echo "$(date -u +%FT%TZ) $dir: $(($(date +%s) - start))s on $(nproc) cores, GOFLAGS=$GOFLAGS" >>"$cache/build-times.txt"
}

# A set whose cache already holds kube-bench and its cfg (kube-bench is built once, then copied).
bench_from=""
for i in "${!k8s_v[@]}"; do
  c="$(cache_of "$i")"
  if [[ -x "$c/bin/kube-bench" && -f "$c/kube-bench-cfg/config.yaml" ]]; then bench_from="$c"; break; fi
done

for i in "${sel[@]}"; do
  k8s="${k8s_v[$i]}" etcd="${etcd_v[$i]}" cache="$(cache_of "$i")"
  bin="$cache/bin"
  mkdir -p "$bin"
  stage="$(mktemp -d "$cache/.build.XXXXXX")"
  stages+=("$stage")

  if wanted kubernetes && [[ -n "$(missing "$bin" "${k8s_bins[@]}")" ]]; then
    # The etcd this set pairs with must be the one this kubeadm deploys.
    src="$(cd "$here/${k8s_dir[$i]}" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)" || die "cannot locate the k8s.io/kubernetes $k8s source (go list -m in harness/${k8s_dir[$i]})"
    pinned="$(sed -n 's/^[[:space:]]*DefaultEtcdVersion = "\([0-9.]*\)-[0-9]*"$/\1/p' "$src/cmd/kubeadm/app/constants/constants.go")"
    [[ "v$pinned" == "$etcd" ]] || die "kubeadm $k8s pins etcd $pinned (cmd/kubeadm/app/constants/constants.go DefaultEtcdVersion), harness/${etcd_dir[$i]}/go.mod requires $etcd: pair ${k8s_dir[$i]} with an etcd module at v$pinned in SETS"
    minor="${k8s#v}" major="${k8s#v}"
    minor="${minor#*.}" minor="${minor%%.*}" major="${major%%.*}"
    # What kubernetes' hack/lib/version.sh sets, so `kubeadm version` and the components report the pinned
    # release (kubeadm compares them with kubernetesVersion).
    kv=""
    for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
      kv+=" -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
      kv+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    # One go build for the six commands: their shared packages compile once. Tags as hack/lib/golang.sh sets them.
    build "${k8s_dir[$i]}" "-s -w$kv" "selinux,notest,grpcnotrace" \
      kubeadm=k8s.io/kubernetes/cmd/kubeadm kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
      kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
      kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler kube-proxy=k8s.io/kubernetes/cmd/kube-proxy \
      kubectl=k8s.io/kubernetes/cmd/kubectl
  fi

  if wanted etcd && [[ -n "$(missing "$bin" "${etcd_bins[@]}")" ]]; then
    # The three main packages are the module roots etcdctl/v3, etcdutl/v3 and server/v3 (built as "server").
    build "${etcd_dir[$i]}" "-s -w" "" etcd=go.etcd.io/etcd/server/v3
    build "${etcd_dir[$i]}" "-s -w" "" etcdutl=go.etcd.io/etcd/etcdutl/v3
    build "${etcd_dir[$i]}" "-s -w" "" etcdctl=go.etcd.io/etcd/etcdctl/v3
  fi

  if wanted kube-bench && [[ -n "$(missing "$bin" kube-bench)" || ! -f "$cache/kube-bench-cfg/config.yaml" ]]; then
    if [[ -n "$bench_from" && "$bench_from" != "$cache" ]]; then
      echo "copying kube-bench $bench and its cfg from $bench_from ..." >&2
      cp -p "$bench_from/bin/kube-bench" "$stage/kube-bench" && mv -f "$stage/kube-bench" "$bin/kube-bench"
      cfg_src="$bench_from/kube-bench-cfg"
    else
      build kube-bench "-s -w -X github.com/aquasecurity/kube-bench/cmd.KubeBenchVersion=$bench" "" \
        kube-bench=github.com/aquasecurity/kube-bench
      # kube-bench reads its benchmark definitions (cfg/) at run time; they ship in the module source.
      cfg_src="$(cd "$here/kube-bench" && go list -m -f '{{.Dir}}' github.com/aquasecurity/kube-bench)/cfg"
      bench_from="$cache"
    fi
    rm -rf "$cache/kube-bench-cfg.tmp" && cp -r "$cfg_src" "$cache/kube-bench-cfg.tmp"
    chmod -R u+w "$cache/kube-bench-cfg.tmp" && rm -rf "$cache/kube-bench-cfg" && mv "$cache/kube-bench-cfg.tmp" "$cache/kube-bench-cfg"
  fi
done

# kube-router is one binary for every set (test/k8s/networkPolicyEnforcement.test.ts); its script builds it only when missing.
if wanted kube-router; then bash "$here/build-kube-router.sh" >&2; fi

for i in "${sel[@]}"; do echo "$(cache_of "$i")/bin"; done
