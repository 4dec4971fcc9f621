#!/usr/bin/env bash
# Which Pulumi stacks a change affects, as a JSON list in deploy order.
#
#   git diff --name-only --no-renames BASE...HEAD | changed-stacks.sh [--tier nonprod|prod]
#   changed-stacks.sh [--tier nonprod|prod] FILE...
#   changed-stacks.sh --policy-config STACK   # the CrossGuard config for STACK
#   changed-stacks.sh --list [--tier nonprod|prod]   # every stack (drift's matrix)
#   changed-stacks.sh --tier-changes BEFORE AFTER    # refuse a stack file whose tier changed
#
# The stacks are the stack files: every Pulumi.<stack>.yaml at the repository
# root, with its tier from its `  platform:tier: <tier>` line (default: the
# stack's name, for host/dev/test/pre), the rule policies/fleet.ts reads the same
# files by (test/ci/workflows.test.ts holds the two to the same list). The program
# reads the YAML; policies/fleet.ts (lineTier) refuses a file the two read
# differently, and deploy.yml's changes job runs check:fleet before this script.
# Adding a cluster adds its stack file; nothing here changes.
#
# A stack file Pulumi.<stack>.yaml affects its stack. The program (index.ts,
# components/**), what it is built with (package.json, package-lock.json,
# tsconfig.json), the project file Pulumi.yaml and the policy pack (policies/**)
# affect every stack. Anything else (docs, tests, CI) affects none: previewing six
# clusters for a README typo only makes reviewers stop reading previews.
#
# Output is one line of JSON, e.g. ["host","prod1"], read by fromJSON() in a job matrix.
#
# --tier-changes: a stack keeps the tier it was deployed with (docs/threat-model.md, T21): re-tiering
# prod1 as test would deploy it without prod's checks and approvals, swapping pre's tier would make
# another stack's tags the list prod trusts. Every stack file present at both commits is read at each
# with the same parse as above; one line per file whose tier differs, exit 1. An added or deleted
# file is no change of tier (docs/runbooks/add-a-cluster.md, "Re-tiering a stack").
set -euo pipefail
# The C locale: sed's [[:space:]] is then the space, tab and \r\f\v that policies/fleet.ts lineTier reads, not also
# Unicode spaces (U+3000 and the like) a UTF-8 locale adds, which would let the two parses read a file differently.
export LC_ALL=C

root=$(cd "$(dirname "$0")/../.." && pwd)
TIERS=(host dev test pre prod)

# tier of the stack file text on stdin, of the stack $1: its top-level platform:tier, else its name.
tier_in() {
  local t
  t=$(sed -n 's/^  platform:tier:[[:space:]]*"\{0,1\}\([a-z]*\)"\{0,1\}[[:space:]]*\(#.*\)\{0,1\}$/\1/p' | head -n 1)
  echo "${t:-$1}"
}

# tier of the stack file $1: its top-level platform:tier, else its name when that is a tier.
file_tier() {
  local f=$1 name
  name=${f##*/Pulumi.}
  name=${name%.yaml}
  tier_in "$name" <"$f"
}

# Deploy order: host first, because it manages the member clusters; then dev, test, pre; prod last.
STACKS=()
# Stacks whose policies are mandatory and whose deploys wait for approval (platform:tier: prod).
PROD_STACKS=()
for t in "${TIERS[@]}"; do
  for f in "$root"/Pulumi.*.yaml; do
    [[ -e $f ]] || continue
    ft=$(file_tier "$f")
    if [[ $t == host && " ${TIERS[*]} " != *" $ft "* ]]; then
      echo "changed-stacks: ${f##*/}: platform:tier is required (the stack name is not a tier): one of ${TIERS[*]}" >&2
      exit 2
    fi
    [[ $ft == "$t" ]] || continue
    s=${f##*/Pulumi.}
    s=${s%.yaml}
    STACKS+=("$s")
    [[ $t == prod ]] && PROD_STACKS+=("$s")
  done
done

usage() {
  sed -n '2,8s/^# \{0,1\}//p' "$0" >&2
}

die() {
  echo "changed-stacks: $*" >&2
  exit 2
}

is_known() {
  local s
  for s in "${STACKS[@]}"; do [[ $s == "$1" ]] && return 0; done
  return 1
}

tier_of() {
  local s
  for s in "${PROD_STACKS[@]}"; do [[ $s == "$1" ]] && { echo prod; return; }; done
  echo nonprod
}

tier=all
policy_stack=
list=false
tier_changes=()
files=()
while (($#)); do
  case $1 in
    --tier)
      (($# >= 2)) || die "--tier needs nonprod, prod or all"
      tier=$2
      shift 2
      ;;
    --policy-config)
      (($# >= 2)) || die "--policy-config needs a stack name"
      policy_stack=$2
      shift 2
      ;;
    --list)
      list=true
      shift
      ;;
    --tier-changes)
      (($# >= 3)) || die "--tier-changes needs the commits BEFORE and AFTER"
      tier_changes=("$2" "$3")
      shift 3
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    --)
      shift
      files+=("$@")
      break
      ;;
    -*) die "unknown option $1" ;;
    *)
      files+=("$1")
      shift
      ;;
  esac
done

case $tier in
  all | nonprod | prod) ;;
  *) die "--tier must be nonprod, prod or all, not '$tier'" ;;
esac

if [[ -n $policy_stack ]]; then
  is_known "$policy_stack" || die "unknown stack '$policy_stack' (known: ${STACKS[*]})"
  # prod: mandatory (a violation blocks the update); nonprod: advisory (reported only). The host,
  # which holds every member's kubesphere-host credential, is judged with the prod rules
  # (docs/threat-model.md, T20) though it deploys with the non-prod tier.
  if [[ $policy_stack == host ]]; then echo "policies/config/prod.json"; else echo "policies/config/$(tier_of "$policy_stack").json"; fi
  exit 0
fi

if ((${#tier_changes[@]} > 0)); then
  for c in "${tier_changes[@]}"; do
    git -C "$root" rev-parse -q --verify "$c^{commit}" >/dev/null || die "--tier-changes: '$c' is not a commit of this repository"
  done
  rc=0
  while IFS= read -r f; do
    [[ $f =~ ^Pulumi\.[^./]+\.yaml$ ]] || continue
    git -C "$root" cat-file -e "${tier_changes[0]}:$f" 2>/dev/null || continue
    git -C "$root" cat-file -e "${tier_changes[1]}:$f" 2>/dev/null || continue
    s=${f#Pulumi.}
    s=${s%.yaml}
    was=$(git -C "$root" show "${tier_changes[0]}:$f" | tier_in "$s")
    now=$(git -C "$root" show "${tier_changes[1]}:$f" | tier_in "$s")
    if [[ $was != "$now" ]]; then
      echo "changed-stacks: $f: platform:tier changes from $was to $now; a stack keeps the tier it was deployed with (T21): set it back to $was, or re-tier by destroying the stack and creating it again (docs/runbooks/add-a-cluster.md, \"Re-tiering a stack\")" >&2
      rc=1
    fi
  done < <(git -C "$root" diff --name-only --no-renames "${tier_changes[0]}" "${tier_changes[1]}" -- 'Pulumi.*.yaml')
  exit "$rc"
fi

if [[ $list == true ]]; then
  all=true
  files=(--)
fi

# No FILE arguments: read the list from stdin, one path per line (git diff --name-only).
if ((${#files[@]} == 0)); then
  mapfile -t files
fi

declare -A hit=()
all=${all:-false}
for f in "${files[@]}"; do
  f=${f%$'\r'}
  f=${f#./}
  [[ -z $f || $f == -- ]] && continue
  case $f in
    index.ts | Pulumi.yaml | package.json | package-lock.json | tsconfig.json | components/* | policies/*)
      all=true
      ;;
    Pulumi.*.yaml)
      s=${f#Pulumi.}
      s=${s%.yaml}
      # A stack file nobody listed here would never be previewed or deployed: stop, loudly.
      # A stack file in the diff that is not at the root now (deleted or misnamed) selects nothing to deploy.
      is_known "$s" || die "$f: no stack '$s' at the repository root (a deleted stack is destroyed by hand, see docs/runbooks/add-a-cluster.md)"
      hit[$s]=1
      ;;
  esac
done

out=()
for s in "${STACKS[@]}"; do
  [[ $all == true || -n ${hit[$s]:-} ]] || continue
  [[ $tier == all || $tier == "$(tier_of "$s")" ]] || continue
  out+=("\"$s\"")
done
(
  IFS=,
  echo "[${out[*]}]"
)
