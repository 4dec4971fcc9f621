#!/usr/bin/env bash
# Nightly drift check of one stack: `pulumi preview --refresh --json` reads the live
# resources and plans against them. Three outcomes, told apart:
#
#   exit 0  no drift: the preview ran and plans no change.
#   exit 1  drift: the preview ran and plans changes (the live resources differ from the
#           stack): the on-call DingTalk group is paged with the changed resources.
#   exit 3  could not run: the preview itself failed (login, ESC environment, config,
#           plugin, cloud API error) or printed no plan. Nobody is paged: the job fails
#           red with the reason, and whoever owns CI fixes it in working hours.
#   exit 2  usage error.
#
#   drift-check.sh <org>/<project>/<stack>
#
# Environment: PULUMI (default `pulumi`), DINGTALK_WEBHOOK (required to page),
# DINGTALK_SECRET (optional "sign" secret), RUN_URL (linked in the message),
# GITHUB_STEP_SUMMARY (optional: the outcome is appended there).
# The JSON document is `pulumi preview --json`'s preview digest: its changeSummary
# counts resources by operation (pulumi/pulumi pkg/backend/display/json.go,
# ShowPreviewDigest; `same`, `read` and `refresh` are no change).
set -euo pipefail

if (($# != 1)) || [[ $1 != */*/* ]]; then
  echo "usage: drift-check.sh <org>/<project>/<stack>" >&2
  exit 2
fi
ref=$1
stack=${ref##*/}
pulumi=${PULUMI:-pulumi}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

summary() {
  echo "$1"
  if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then echo "$1" >>"$GITHUB_STEP_SUMMARY"; fi
}

rc=0
"$pulumi" preview --stack "$ref" --refresh --json --non-interactive >"$work/plan.json" 2>"$work/stderr" || rc=$?
cat "$work/stderr" >&2

# The plan's changes as "op urn" lines, or nothing; "no-plan" when the output is not a preview digest.
changes=$(node -e '
  let doc;
  try { doc = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); } catch { doc = undefined; }
  if (!doc || typeof doc.changeSummary !== "object" || doc.changeSummary === null) { console.log("no-plan"); process.exit(0); }
  const quiet = new Set(["same", "read", "refresh"]);
  const changed = Object.entries(doc.changeSummary).filter(([op, n]) => !quiet.has(op) && n > 0);
  if (changed.length === 0) process.exit(0);
  console.log("summary " + changed.map(([op, n]) => op + " " + n).join(", "));
  for (const s of doc.steps ?? []) if (!quiet.has(s.op) && s.urn) console.log(s.op + " " + s.urn);
' "$work/plan.json")

if ((rc != 0)) || [[ $changes == no-plan ]]; then
  # Not a drift: the errors pulumi printed say why (also in the JSON's diagnostics).
  reason=$(node -e '
    try {
      const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const errs = (d.diagnostics ?? []).filter((x) => x.severity === "error").map((x) => x.message.trim());
      if (errs.length) { console.log(errs.join(" | ").slice(0, 500)); process.exit(0); }
    } catch {}
    const lines = require("fs").readFileSync(process.argv[2], "utf8").trim().split("\n").filter(Boolean);
    console.log((lines.slice(-3).join(" | ") || "no output").slice(0, 500));
  ' "$work/plan.json" "$work/stderr")
  echo "::error::$stack: the drift check could not run (pulumi exit $rc): $reason. Not paged: this is not drift; fix the run."
  summary "**$stack**: drift check could not run (pulumi exit $rc): $reason"
  exit 3
fi

if [[ -z $changes ]]; then
  summary "**$stack**: no drift"
  exit 0
fi

counts=${changes%%$'\n'*}
counts=${counts#summary }
echo "::error::$stack: drift: the live resources differ from the stack ($counts)"
summary "**$stack**: drift ($counts)"
if [[ -z ${DINGTALK_WEBHOOK:-} ]]; then
  echo "::error::secret DINGTALK_WEBHOOK is empty: nobody was told about the drift on $stack"
  exit 1
fi
# JSON by node, so no value needs shell quoting rules. A robot with the "keyword" security
# setting drops messages without its keyword: configure it as "Pulumi drift", which title and
# text both carry.
# shellcheck disable=SC2016 # the backticks are Markdown inside JavaScript
payload=$(STACK="$stack" CHANGES="$changes" node -e '
  const { STACK, CHANGES, RUN_URL } = process.env;
  const [head, ...steps] = CHANGES.split("\n");
  const shown = steps.slice(0, 15).map((l) => { const [op, urn] = l.split(" "); return "- " + op + " " + urn.split("::").pop(); });
  if (steps.length > shown.length) shown.push("- ... and " + (steps.length - shown.length) + " more");
  const text = [
    "#### Pulumi drift: " + STACK,
    "",
    "Nightly `pulumi preview --refresh` of **" + STACK + "** plans changes: " + head.replace(/^summary /, "") + ".",
    "",
    ...shown,
    "",
    RUN_URL ? "[Open the run](" + RUN_URL + ") to see the diff, then fix the cloud or the code." : "See the drift job for the diff.",
  ].join("\n");
  process.stdout.write(JSON.stringify({ msgtype: "markdown", markdown: { title: "Pulumi drift: " + STACK, text } }));
')
url=$DINGTALK_WEBHOOK
if [[ -n ${DINGTALK_SECRET:-} ]]; then
  # DingTalk's signature: base64(HMAC-SHA256(secret, "<ms timestamp>\n<secret>")).
  url+=$(node -e '
    const secret = process.env.DINGTALK_SECRET, t = Date.now();
    const sign = require("crypto").createHmac("sha256", secret).update(t + "\n" + secret).digest("base64");
    process.stdout.write("&timestamp=" + t + "&sign=" + encodeURIComponent(sign));
  ')
fi
if ! response=$(curl -sS --fail-with-body --max-time 20 --retry 3 \
  -H 'Content-Type: application/json' --data "$payload" "$url"); then
  echo "::error::DingTalk webhook failed: $response"
  exit 1
fi
# DingTalk answers HTTP 200 with a non-zero errcode when it refuses a message (keyword,
# signature, rate limit): that is a failed notification too.
if ! node -e 'process.exit(JSON.parse(process.argv[1]).errcode === 0 ? 0 : 1)' "$response" 2>/dev/null; then
  echo "::error::DingTalk refused the message: $response"
  exit 1
fi
echo "DingTalk notified about the drift on $stack"
exit 1
