// Builds the body of the PR comment from each stack's offline preview output
// (offline-preview/diff/<stack>.txt, written with --diff-from --tree). Per
// stack: the summary, the diff and the policy findings first; the resource
// tree and outputs last, in a collapsed block. GitHub rejects a comment over
// 65,536 characters: the trees are cut first (they are in the run's artifact),
// then findings' detail lines; a diff is only ever cut when the diffs alone
// do not fit, and then every stack keeps an equal share of its diff.
// Plain Node (no TypeScript): actions/github-script requires it as is.
"use strict";
const fs = require("fs");
const path = require("path");

const MARKER = "<!-- platform:offline-preview -->";
const LIMIT = 65536;
/** Room left for the header, the per-stack wrappers and the truncation notes. */
const RESERVE = 3000;

/**
 * The parts of one preview output: `diff` from "Changes against" to the line
 * after "Plan:", `findings` from "policies:", `tree` (the tree, outputs and
 * counts), `summary` (the Plan line and any refusal). Unrecognised text (an
 * invalid config's message) is all `diff`: it is what the reviewer must see.
 */
function splitPreview(text) {
  const lines = text.replace(/\s+$/, "").split("\n");
  const start = lines.findIndex((l) => l.startsWith("Changes against "));
  const pol = lines.findIndex((l) => /^policies: \d+ mandatory/.test(l));
  if (start < 0 && pol < 0) return { summary: "", diff: text.trim(), findings: "", tree: "" };
  let end = start;
  if (start >= 0) {
    while (end < lines.length && lines[end] !== "") end++;
  }
  let polEnd = pol;
  if (pol >= 0) {
    while (polEnd < lines.length && lines[polEnd] !== "") polEnd++;
  }
  const inDiff = (i) => start >= 0 && i >= start && i < end;
  const inPol = (i) => pol >= 0 && i >= pol && i < polEnd;
  const header = [];
  const tree = [];
  const tail = [];
  lines.forEach((l, i) => {
    if (inDiff(i) || inPol(i)) return;
    if (/^Offline preview of stack .*(violation|pulumi up|`pulumi up`)/.test(l) || /^Overrides /.test(l)) tail.push(l);
    else if (i < Math.min(...[start, pol].filter((x) => x >= 0)) && !/^\s*(Type|[+>] )/.test(l) && !/[├└│]/.test(l)) header.push(l);
    else tree.push(l);
  });
  const diff = start >= 0 ? lines.slice(start, end).join("\n") : "";
  const plan = lines.slice(start >= 0 ? start : 0, start >= 0 ? end : 0).find((l) => l.startsWith("Plan: ")) || "";
  return {
    summary: [plan, ...tail].filter(Boolean).join("\n"),
    diff,
    findings: pol >= 0 ? lines.slice(pol, polEnd).join("\n") : "",
    tree: [...header, ...tree].join("\n").trim(),
  };
}

/** Cuts `text` to `max` characters at a line end, saying where the rest is. */
function cut(text, max, what) {
  if (text.length <= max) return text;
  const note = `\n… ${what} truncated: the full output is in the run's offline-preview artifact (diff/<stack>.txt)`;
  const room = Math.max(0, max - note.length);
  const at = text.lastIndexOf("\n", room);
  return text.slice(0, at > 0 ? at : room) + note;
}

/** Findings without their per-resource detail lines: the policy, count, message and config key stay. */
function shortFindings(findings) {
  return findings
    .split("\n")
    .filter((l) => !/^ {8}(urn:|on \d+ resources:)/.test(l))
    .join("\n");
}

/**
 * @param {{stacks: string[], dir: string, sha: string, baseRef: string, limit?: number}} o
 * @returns {string} the comment body
 */
function buildBody(o) {
  const limit = (o.limit || LIMIT) - RESERVE;
  const read = (f) => (fs.existsSync(path.join(o.dir, f)) ? fs.readFileSync(path.join(o.dir, f), "utf8") : "");
  const head = [MARKER, `### Offline preview of ${o.sha.slice(0, 7)} against ${o.baseRef}`, ""];
  head.push(
    "Mocked providers, no cloud read: `npm run preview -- <stack> --diff-from <base plan.json>`. " +
      "Per stack: the plan summary, the diff and the policy findings; the full output and the rendered files are in the run's `offline-preview` artifact.",
    "",
  );
  if (o.stacks.length === 0) head.push("No stack is affected by the files this PR changes.");
  const stacks = o.stacks.map((stack) => {
    const status = read(`${stack}.status`).trim() || "not run";
    const note = read(`${stack}.note`).trim();
    const text = read(`${stack}.txt`).trim() || read(`${stack}.err`).trim() || "(no output)";
    return { stack, status, note, ...splitPreview(text) };
  });
  // Budget: every stack's summary, note and diff first; then findings; then trees.
  const size = (s, k) => s[k].length;
  const base = stacks.reduce((n, s) => n + s.summary.length + s.note.length + 200, 0);
  let diffs = stacks.reduce((n, s) => n + size(s, "diff"), 0);
  if (base + diffs > limit) {
    const share = Math.floor((limit - base) / Math.max(stacks.length, 1));
    for (const s of stacks) s.diff = cut(s.diff, share, "diff");
    diffs = stacks.reduce((n, s) => n + size(s, "diff"), 0);
  }
  let room = limit - base - diffs;
  // Findings: always shown (a blocked PR must say why); detail lines go first when short of room.
  const full = stacks.reduce((n, s) => n + size(s, "findings"), 0);
  if (full > room) for (const s of stacks) s.findings = shortFindings(s.findings);
  const findings = stacks.reduce((n, s) => n + size(s, "findings"), 0);
  if (findings > room) for (const s of stacks) s.findings = cut(s.findings, Math.floor(Math.max(room, 0) / stacks.length), "findings");
  room -= stacks.reduce((n, s) => n + size(s, "findings"), 0);
  for (const s of stacks) {
    const t = cut(s.tree, Math.max(0, room - 100), "tree");
    s.tree = t.length > 120 || t === s.tree ? t : "";
    room -= s.tree.length + 100;
  }
  const parts = [...head];
  for (const s of stacks) {
    const ok = s.status === "ok";
    parts.push(`<details${ok ? "" : " open"}><summary>${ok ? "✅" : "❌"} <b>${s.stack}</b>: ${ok ? "previewed" : `preview ${s.status}`}</summary>`, "");
    if (s.note) parts.push(`> ${s.note}`, "");
    if (s.summary) parts.push("```text", s.summary, "```", "");
    parts.push("````text", s.diff || "(no diff)", "````", "");
    if (s.findings) parts.push("````text", s.findings, "````", "");
    if (s.tree) parts.push("<details><summary>resource tree and outputs</summary>", "", "````text", s.tree, "````", "</details>", "");
    parts.push("</details>", "");
  }
  return parts.join("\n");
}

module.exports = { MARKER, LIMIT, buildBody, splitPreview };
