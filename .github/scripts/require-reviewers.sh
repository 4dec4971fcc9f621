#!/usr/bin/env bash
# Refuses a deploy whose GitHub environment would not stop for a human, or that another
# branch's workflow could use.
#
#   require-reviewers.sh [--branch-only | --any-branch] ENVIRONMENT...
#
# A job that names an environment creates it on first use with no protection rule, so the
# first deploy of a new prod stack (a copied Pulumi.prod3.yaml) would run `pulumi up` with
# nobody approving. And an environment any branch may use hands its secrets to a pull request
# that names it in its own copy of a workflow. The workflows run this before any job names the
# environment. Each ENVIRONMENT must exist and
#   - carry a `required_reviewers` protection rule with at least one reviewer and self-review
#     prevented (not with --branch-only: the non-prod stacks and the nightly drift check, which
#     nobody approves): otherwise whoever pushed the change can approve its own run;
#   - let only main deploy (not with --any-branch: pr-preview, which a PR's branch uses):
#     deployment_branch_policy is custom_branch_policies whose list is exactly the branch `main`.
#     "Protected branches only" is refused: with no classic branch protection rule (a ruleset
#     does not count) GitHub lets every branch deploy, and otherwise every protected branch
#     (docs.github.com, "Deployments and environments", Deployment branches and tags).
#   An environment that lets admins bypass its rules is named (a warning, not a refusal).
# GitHub REST API: GET /repos/{owner}/{repo}/environments/{name} (protection_rules[].type,
# deployment_branch_policy, null when every branch may deploy) and GET .../environments/{name}/
# deployment-branch-policies (branch_policies[].name and .type); docs.github.com/en/rest/
# deployments/environments and .../rest/deployments/branch-policies, read 2026-12-07. The token
# needs `actions: read`.
#
# Environment: GITHUB_REPOSITORY (owner/name), GH_TOKEN (for `gh`); DEPLOY_BRANCH (optional): the
# branch a workflow_dispatch deploys from, which a custom list may hold beside main for that run
# (a new prod stack's first deploy from its branch: docs/runbooks/add-a-cluster.md, step 3).
# Exit 0: all protected; 1: one or more not (each named, with the fix); 2: usage.
set -euo pipefail

usage() {
  echo "usage: GITHUB_REPOSITORY=owner/name require-reviewers.sh [--branch-only | --any-branch] ENVIRONMENT..." >&2
  exit 2
}
reviewers=1
branch=1
case ${1:-} in
  --branch-only) reviewers=0; shift ;;
  --any-branch) branch=0; shift ;;
  -*) usage ;;
esac
if (($# == 0)) || [[ -z ${GITHUB_REPOSITORY:-} ]]; then usage; fi

settings="https://github.com/$GITHUB_REPOSITORY/settings/environments"
bad=0
# gh api PATH: its answer on stdout; on failure an ::error:: naming WHAT (on the script's own
# stdout, fd 3: the caller captures the answer), and status 1.
exec 3>&1
api() { # <path> <what>
  local err out
  err=$(mktemp)
  if ! out=$(gh api "$1" 2>"$err"); then
    if grep -q 'HTTP 404' "$err"; then
      echo "::error::$2 does not exist: create it (required reviewers for prod and the host, deployment branches: main only) before its first run ($settings; docs/runbooks/ci-setup.md)" >&3
    else
      echo "::error::cannot read $2: $(tr '\n' ' ' <"$err")" >&3
    fi
    rm -f "$err"
    return 1
  fi
  rm -f "$err"
  printf '%s' "$out"
}

for env in "$@"; do
  body=$(api "repos/$GITHUB_REPOSITORY/environments/$env" "environment $env") || {
    bad=1
    continue
  }
  # "<reviewer count or none> <branch policy: any | protected | custom> <self-review prevented: yes | no> <admins bypass: yes | no>"
  facts=$(node -e '
    const env = JSON.parse(process.argv[1]);
    const rule = (env.protection_rules ?? []).find((r) => r.type === "required_reviewers");
    const p = env.deployment_branch_policy;
    const policy = !p ? "any" : p.protected_branches ? "protected" : p.custom_branch_policies ? "custom" : "any";
    const yn = (b) => (b === true ? "yes" : "no");
    console.log([rule ? (rule.reviewers ?? []).length : "none", policy, yn(rule?.prevent_self_review), yn(env.can_admins_bypass)].join(" "));
  ' "$body") || {
    echo "::error::environment $env: the API's answer is not JSON"
    bad=1
    continue
  }
  read -r count policy self bypass <<<"$facts"
  if ((reviewers)); then
    case $count in
      none)
        echo "::error::environment $env has no required reviewers: a deploy would run without approval. Add them ($settings) and run the deploy again"
        bad=1 ;;
      0)
        echo "::error::environment $env requires reviewers but lists none: add at least one ($settings)"
        bad=1 ;;
      *)
        if [[ $self == yes ]]; then
          echo "environment $env: $count required reviewer(s)"
        else
          echo "::error::environment $env lets the person who started a run approve it: turn on \"Prevent self-review\" ($settings)"
          bad=1
        fi ;;
    esac
    [[ $bypass == no ]] || echo "::warning::environment $env lets administrators bypass its protection rules: turn off \"Allow administrators to bypass\" ($settings)"
  fi
  ((branch)) || continue
  case $policy in
    protected)
      echo "::error::environment $env lets protected branches deploy: with no classic branch protection rule that is every branch, and otherwise every protected branch. Set its deployment branches to a custom list of exactly main ($settings)"
      bad=1 ;;
    custom)
      list=$(api "repos/$GITHUB_REPOSITORY/environments/$env/deployment-branch-policies" "the deployment branches of $env") || {
        bad=1
        continue
      }
      names=$(node -e '
        const l = JSON.parse(process.argv[1]).branch_policies ?? [];
        console.log(l.map((p) => (p.type ?? "branch") + ":" + p.name).sort().join(" "));
      ' "$list")
      allowed=$(printf '%s\n' "branch:main" "branch:${DEPLOY_BRANCH:-}" | LC_ALL=C sort | tr '\n' ' ')
      if [[ $names == "branch:main" ]]; then
        echo "environment $env: branch main only"
      elif [[ -n ${DEPLOY_BRANCH:-} && $DEPLOY_BRANCH != main && "$names " == "$allowed" ]]; then
        echo "environment $env: branch main and, for this deploy, $DEPLOY_BRANCH: set it back to main only after it"
      else
        echo "::error::environment $env lets ${names:-no branch} deploy: set its deployment branches to main only ($settings)"
        bad=1
      fi ;;
    *)
      echo "::error::environment $env lets every branch deploy: a pull request's workflow could use its secrets. Set deployment branches to main only ($settings)"
      bad=1 ;;
  esac
done
exit "$bad"
