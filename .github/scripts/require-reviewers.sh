#!/usr/bin/env bash
# Refuses a prod deploy whose GitHub environment would not stop for a human.
#
#   require-reviewers.sh ENVIRONMENT...
#
# A job that names an environment creates it on first use with no protection rule, so the
# first deploy of a new prod stack (a copied Pulumi.prod3.yaml) would run `pulumi up` with
# nobody approving. deploy.yml runs this in its `changes` job, before any job names the
# environment: each ENVIRONMENT must exist and carry a `required_reviewers` protection rule
# with at least one reviewer (GitHub REST API, GET /repos/{owner}/{repo}/environments/{name},
# field protection_rules[].type; docs.github.com/en/rest/deployments/environments, read
# 2026-12-07; the token needs `actions: read`).
#
# Environment: GITHUB_REPOSITORY (owner/name), GH_TOKEN (for `gh`).
# Exit 0: all protected; 1: one or more not (each named, with the fix); 2: usage.
set -euo pipefail

if (($# == 0)) || [[ -z ${GITHUB_REPOSITORY:-} ]]; then
  echo "usage: GITHUB_REPOSITORY=owner/name require-reviewers.sh ENVIRONMENT..." >&2
  exit 2
fi

settings="https://github.com/$GITHUB_REPOSITORY/settings/environments"
bad=0
for env in "$@"; do
  err=$(mktemp)
  if ! body=$(gh api "repos/$GITHUB_REPOSITORY/environments/$env" 2>"$err"); then
    if grep -q 'HTTP 404' "$err"; then
      echo "::error::environment $env does not exist: create it with required reviewers before its first deploy ($settings; docs/runbooks/add-a-cluster.md)"
    else
      echo "::error::cannot read environment $env: $(tr '\n' ' ' <"$err")"
    fi
    rm -f "$err"
    bad=1
    continue
  fi
  rm -f "$err"
  # The number of reviewers of its required_reviewers rule; "none" when it has no such rule.
  reviewers=$(node -e '
    const env = JSON.parse(process.argv[1]);
    const rule = (env.protection_rules ?? []).find((r) => r.type === "required_reviewers");
    console.log(rule ? (rule.reviewers ?? []).length : "none");
  ' "$body") || {
    echo "::error::environment $env: the API's answer is not JSON"
    bad=1
    continue
  }
  case $reviewers in
    none)
      echo "::error::environment $env has no required reviewers: a prod deploy would run without approval. Add them ($settings) and run the deploy again"
      bad=1 ;;
    0)
      echo "::error::environment $env requires reviewers but lists none: add at least one ($settings)"
      bad=1 ;;
    *) echo "environment $env: $reviewers required reviewer(s)" ;;
  esac
done
exit "$bad"
