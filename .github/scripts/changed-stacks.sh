#!/usr/bin/env bash
# Which Pulumi stacks a change affects, as a JSON list in deploy order.
#
#   git diff --name-only --no-renames BASE...HEAD | changed-stacks.sh [--tier nonprod|prod]
#   changed-stacks.sh [--tier nonprod|prod] FILE...
#   changed-stacks.sh --policy-config STACK   # the CrossGuard config for STACK
#
# A stack file Pulumi.<stack>.yaml affects its stack. The program (index.ts,
# components/**), what it is built with (package.json, package-lock.json,
# tsconfig.json), the project file Pulumi.yaml and the policy pack (policies/**)
# affect every stack. Anything else (docs, tests, CI) affects none: previewing six
# clusters for a README typo only makes reviewers stop reading previews.
#
# Output is one line of JSON, e.g. ["host","prod1"], read by fromJSON() in a job matrix.
set -euo pipefail

# Deploy order: host first, because it manages the member clusters; prod last.
STACKS=(host dev test pre prod1 prod2)
# Stacks whose policies are mandatory and whose deploys wait for approval.
PROD_STACKS=(prod1 prod2)

usage() {
  sed -n '2,6s/^# \{0,1\}//p' "$0" >&2
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

# No FILE arguments: read the list from stdin, one path per line (git diff --name-only).
if ((${#files[@]} == 0)); then
  mapfile -t files
fi

declare -A hit=()
all=false
for f in "${files[@]}"; do
  f=${f%$'\r'}
  f=${f#./}
  [[ -z $f ]] && continue
  case $f in
    index.ts | Pulumi.yaml | package.json | package-lock.json | tsconfig.json | components/* | policies/*)
      all=true
      ;;
    Pulumi.*.yaml)
      s=${f#Pulumi.}
      s=${s%.yaml}
      # A stack file nobody listed here would never be previewed or deployed: stop, loudly.
      is_known "$s" || die "$f: unknown stack '$s'; add it to STACKS (and PROD_STACKS if it is prod) in $0"
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
