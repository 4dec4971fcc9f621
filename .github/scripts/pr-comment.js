// Builds the body of the PR comment from each stack's offline preview output
// (offline-preview/diff/<stack>.txt, written with --diff-from --tree). Per
// stack, one summary line: its Plan line, the instance delta (the cost driver)
// and the count of replaces, deletes and stops; the stack's block is opened
// when any of those is non-zero or the preview failed. Inside: the diff (the
// preview's own marks, creations with their key inputs, text values diffed by
// line), the policy findings, then the resource tree with the diff's marks.
//
// GitHub rejects a comment over 65,536 characters. Every stack's block is
// always whole (summary, what is shown, closing tags); when the comment is too
// long, stacks are shortened in fixed steps, largest first, each step only as
// far as needed, and each shortened stack says what was left out:
//   1. the trees, cut to an equal share of the room left (dropped last);
//   2. findings' per-resource detail lines;
//   3. the diff's value lines (each change keeps its one-line head);
//   4. the diff's rows past an equal share (most dangerous rows come first);
//   5. what is still too long (text not in the diff's row format) cut at a line end to an equal share.
// No runner path (workspace, temp dir, home) reaches the comment.
// Plain Node (no TypeScript): actions/github-script requires it as is.
"use strict";
const fs = require("fs");
const path = require("path");

const MARKER = "<!-- platform:offline-preview -->";
const LIMIT = 65536;
const ARTIFACT_NOTE = "the full output is in the run's offline-preview artifact (diff/<stack>.txt)";

/**
 * The parts of one preview output: `diff` from "Changes against" to the line
 * before the first blank one (its Plan line and instance delta included),
 * `findings` from "policies:", `tree` (the tree, outputs and counts),
 * `summary` (the Plan line and any refusal), `plan` and `cost` (the instance
 * delta, "" when no instance changes). Unrecognised text (an invalid config's
 * message) is all `diff`: it is what the reviewer must see.
 */
function splitPreview(text) {
  const lines = text.replace(/\s+$/, "").split("\n");
  const start = lines.findIndex((l) => l.startsWith("Changes against "));
  const pol = lines.findIndex((l) => /^policies: \d+ mandatory/.test(l));
  if (start < 0 && pol < 0) return { summary: "", plan: "", cost: "", diff: text.trim(), findings: "", tree: "" };
  let end = start;
  if (start >= 0) {
    while (end < lines.length && lines[end] !== "") end++;
  }
  let polEnd = pol;
  if (pol >= 0) {
    while (polEnd < lines.length && lines[polEnd] !== "") polEnd++;
  }
  // The tree starts at its column header; what comes before it (title, overrides, placeholders) leads it.
  const treeStart = lines.findIndex((l) => /^\s+Type\s+Name\s+Plan\s*$/.test(l));
  const firstPart = Math.min(...[start, pol].filter((x) => x >= 0));
  const headerEnd = treeStart >= 0 && treeStart < firstPart ? treeStart : firstPart;
  const inDiff = (i) => start >= 0 && i >= start && i < end;
  const inPol = (i) => pol >= 0 && i >= pol && i < polEnd;
  const header = [];
  const tree = [];
  const tail = [];
  lines.forEach((l, i) => {
    if (inDiff(i) || inPol(i)) return;
    if (/^Offline preview of stack .*(violation|pulumi up|`pulumi up`)/.test(l) || /^Overrides /.test(l)) tail.push(l);
    else if (i < headerEnd) header.push(l);
    else tree.push(l);
  });
  const diffLines = start >= 0 ? lines.slice(start, end) : [];
  const plan = diffLines.find((l) => l.startsWith("Plan: ")) || "";
  const cost = (diffLines.find((l) => l.startsWith("Instances by type: ")) || "").replace(/^Instances by type: /, "");
  return {
    summary: [plan, ...tail].filter(Boolean).join("\n"),
    plan,
    cost,
    diff: diffLines.join("\n"),
    findings: pol >= 0 ? lines.slice(pol, polEnd).join("\n") : "",
    tree: [...header, ...tree].join("\n").trim(),
  };
}

/** The counts of a Plan line (diffFormat.ts summaryLine); undefined when there is none. */
function planCounts(plan) {
  const m = plan.match(/^Plan: (\d+) to create, (\d+) to update, (\d+) to update with the instance stopped, (\d+) to replace, (\d+) to delete/);
  if (!m) return undefined;
  const [create, update, stop, replace, del] = m.slice(1).map(Number);
  return { create, update, stop, replace, delete: del };
}

/**
 * Runner paths out of a text: the workspace becomes relative, the runner's temp, tool cache and home
 * become a label, and any other path under a GitHub runner's home (/home/runner, /__w, /github) too.
 */
function scrubPaths(text, env) {
  let out = text;
  const known = [
    [env.GITHUB_WORKSPACE, "."],
    [env.RUNNER_TEMP, "<runner temp>"],
    [env.RUNNER_TOOL_CACHE, "<runner tool cache>"],
    [env.HOME, "~"],
  ].filter(([p]) => typeof p === "string" && p.length > 1);
  // Longest first: the temp dir usually sits inside the workspace's parent or the home.
  known.sort((a, b) => b[0].length - a[0].length);
  for (const [p, label] of known) {
    out = out.split(`${p}/`).join(label === "." ? "" : `${label}/`);
    out = out.split(p).join(label);
  }
  return out.replace(/(?:\/home\/runner|\/__w|\/github\/(?:workspace|home))(?:\/[^\s"'`)<>\]]*)?/g, "<runner path>");
}

/** Cuts `text` to `max` characters at a line end, saying where the rest is. */
function cut(text, max, what) {
  if (text.length <= max) return text;
  const note = `\n… ${what} truncated: ${ARTIFACT_NOTE}`;
  const room = Math.max(0, max - note.length);
  const at = text.lastIndexOf("\n", room);
  return text.slice(0, at > 0 ? at : 0) + note;
}

/** Findings without their per-resource detail lines: the policy, count, message and config key stay. */
function shortFindings(findings) {
  return findings
    .split("\n")
    .filter((l) => !/^ {8}(urn:|on \d+ resources:)/.test(l))
    .join("\n");
}

/** A diff row's head: two spaces and a mark (`+-`, `! `, `~ `, `- `, `+ `). Its value lines are indented deeper. */
const ROW_HEAD = /^ {2}(\+-|! |~ |- |\+ )/;

/** The diff without its value lines: banners, each row's head, the Plan line and the instance delta. */
function diffHeads(diff) {
  const lines = diff.split("\n");
  const kept = lines.filter((l) => !/^ {5,}/.test(l) || /^ {5}\d+ x /.test(l));
  const left = lines.length - kept.length;
  return { text: kept.join("\n"), left };
}

/** The diff's first rows that fit `max` characters, the rest counted; banners, Plan line and instance delta stay. */
function diffRows(diff, max) {
  const lines = diff.split("\n");
  const rows = lines.filter((l) => ROW_HEAD.test(l));
  const fixed = lines.filter((l) => !ROW_HEAD.test(l));
  let size = fixed.join("\n").length + 120;
  const keep = new Set();
  for (const r of rows) {
    if (size + r.length + 1 > max) break;
    keep.add(r);
    size += r.length + 1;
  }
  const out = [];
  let dropped = 0;
  for (const l of lines) {
    if (ROW_HEAD.test(l) && !keep.has(l)) {
      dropped++;
      continue;
    }
    if (/^Plan: /.test(l) && dropped) out.push(`  … ${dropped} more change row(s) not shown: ${ARTIFACT_NOTE}`);
    out.push(l);
  }
  return { text: out.join("\n"), dropped };
}

const escapeHtml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The one summary line of a stack: status, Plan line, instance delta, replaces/deletes/stops. */
function summaryOf(s) {
  const ok = s.status === "ok";
  const n = planCounts(s.plan);
  const parts = [`${ok ? "✅" : "❌"} <b>${s.stack}</b>`];
  if (!ok) parts.push(`preview ${escapeHtml(s.status)}`);
  if (n) {
    parts.push(escapeHtml(s.plan));
    parts.push(s.cost ? `instances ${escapeHtml(s.cost)}` : "no instance change");
    const danger = n.replace + n.delete + n.stop > 0;
    parts.push(`${danger ? "⚠️ " : ""}${n.replace} replace(s), ${n.delete} delete(s), ${n.stop} stop(s)`);
  } else if (ok) parts.push("no plan line");
  return parts.join(" · ");
}

/** Whether a stack's block opens by itself: a failed preview, or anything replaced, deleted or stopped. */
function opened(s) {
  const n = planCounts(s.plan);
  return s.status !== "ok" || !n || n.replace + n.delete + n.stop > 0;
}

/** One stack's whole block. */
function renderStack(s) {
  const parts = [`<details${opened(s) ? " open" : ""}><summary>${summaryOf(s)}</summary>`, ""];
  if (s.note) parts.push(`> ${s.note}`, "");
  if (s.shortened.length) {
    parts.push(
      `> Shortened to fit GitHub's 65,536-character comment limit: ${s.shortened.join("; ")}. The whole output is diff/${s.stack}.txt in the run's \`offline-preview\` artifact.`,
      "",
    );
  }
  const tail = s.summary.split("\n").filter((l) => l !== s.plan);
  if (tail.length) parts.push("```text", tail.join("\n"), "```", "");
  parts.push("````text", s.diff || "(no diff)", "````", "");
  if (s.findings) parts.push("````text", s.findings, "````", "");
  if (s.tree) parts.push("<details><summary>resource tree (the diff's marks) and outputs</summary>", "", "````text", s.tree, "````", "</details>", "");
  parts.push("</details>", "");
  return parts.join("\n");
}

/**
 * @param {{stacks: string[], dir: string, sha: string, baseRef: string, limit?: number, env?: Record<string, string | undefined>}} o
 * @returns {string} the comment body
 */
function buildBody(o) {
  const limit = o.limit || LIMIT;
  const env = o.env || process.env;
  const read = (f) => (fs.existsSync(path.join(o.dir, f)) ? scrubPaths(fs.readFileSync(path.join(o.dir, f), "utf8"), env) : "");
  const head = [MARKER, `### Offline preview of ${o.sha.slice(0, 7)} against ${o.baseRef}`, ""];
  head.push(
    "Mocked providers, no cloud read: `npm run preview -- <stack> --diff-from <base plan.json>`. " +
      "Per stack: its Plan line, the instance delta and the replaces, deletes and stops, opened when any of those is not zero; " +
      "inside, the diff, the policy findings and the resource tree. The full output and the rendered files are in the run's `offline-preview` artifact.",
    "",
  );
  if (o.stacks.length === 0) head.push("No stack is affected by the files this PR changes.");
  const stacks = o.stacks.map((stack) => {
    const status = read(`${stack}.status`).trim() || "not run";
    const note = read(`${stack}.note`).trim();
    const text = read(`${stack}.txt`).trim() || read(`${stack}.err`).trim() || "(no output)";
    return { stack, status, note, shortened: [], ...splitPreview(text) };
  });
  const total = () => head.join("\n").length + 1 + stacks.reduce((n, s) => n + renderStack(s).length, 0);
  const largestFirst = () => [...stacks].sort((a, b) => renderStack(b).length - renderStack(a).length || stacks.indexOf(a) - stacks.indexOf(b));

  // 1. Trees: each an equal share of the room the rest leaves (a smaller tree gives its unused share on).
  if (total() > limit) {
    const trees = stacks.map((s) => s.tree);
    for (const s of stacks) s.tree = "";
    let room = limit - total() - stacks.length * 400;
    const byTree = stacks.map((s, i) => ({ s, t: trees[i] })).filter((x) => x.t);
    byTree.sort((a, b) => a.t.length - b.t.length || stacks.indexOf(a.s) - stacks.indexOf(b.s));
    byTree.forEach(({ s, t }, i) => {
      const share = Math.floor(Math.max(room, 0) / (byTree.length - i));
      const c = cut(t, share, "tree");
      s.tree = c === t || c.length > 200 ? c : "";
      room -= s.tree.length;
      if (s.tree !== t) s.shortened.push(s.tree ? "the resource tree is cut" : "the resource tree is left out");
    });
  }
  // 2. Findings' detail lines, 3. the diff's value lines: largest stack first, only while too long.
  const steps = [
    (s) => {
      const f = shortFindings(s.findings);
      if (f === s.findings) return false;
      s.findings = f;
      s.shortened.push("the findings' per-resource lines are left out");
      return true;
    },
    (s) => {
      const { text, left } = diffHeads(s.diff);
      if (!left) return false;
      s.diff = text;
      s.shortened.push(`the diff's ${left} value line(s) are left out (each change keeps its head line)`);
      return true;
    },
  ];
  // A stack within an equal share of the comment is left whole by these steps.
  const fair = Math.floor(limit / Math.max(stacks.length, 1));
  for (const step of steps) for (const s of largestFirst()) if (total() > limit && renderStack(s).length > fair) step(s);
  // 4. The diff's rows past an equal share of what is left (a smaller diff gives its unused share on),
  //    tightened in twentieths until the comment fits.
  const full = stacks.map((s) => s.diff);
  const notes = stacks.map((s) => [...s.shortened]);
  for (let tightened = 0; total() > limit && tightened < 20; tightened++) {
    stacks.forEach((s, i) => {
      s.diff = full[i];
      s.shortened = [...notes[i]];
    });
    const fixed = total() - stacks.reduce((n, s) => n + s.diff.length, 0);
    let room = Math.floor(((limit - fixed) * (20 - tightened)) / 20) - stacks.length * 150;
    const bySize = [...stacks].sort((x, y) => x.diff.length - y.diff.length || stacks.indexOf(x) - stacks.indexOf(y));
    bySize.forEach((s, k) => {
      const share = Math.floor(Math.max(room, 0) / (bySize.length - k));
      if (s.diff.length > share) {
        const { text, dropped } = diffRows(s.diff, share);
        s.diff = text;
        if (dropped) s.shortened.push(`${dropped} change row(s) are left out`);
      }
      room -= s.diff.length;
    });
  }
  // 5. A last cut for text not in the diff's row format (an error, an unrecognised output): while the
  //    comment is still too long, each stack's diff and findings are cut at a line end to an equal share
  //    of the room left, largest stack first; the block keeps its summary and closing tags.
  if (total() > limit) {
    const fixed = total() - stacks.reduce((n, s) => n + s.diff.length + s.findings.length, 0);
    const share = Math.max(0, Math.floor((limit - fixed) / Math.max(stacks.length, 1)) - 200);
    for (const s of largestFirst()) {
      if (total() <= limit) break;
      const before = s.diff.length + s.findings.length;
      if (before <= share) continue;
      const findings = cut(s.findings, Math.floor(share / 4), "findings");
      s.findings = findings;
      s.diff = cut(s.diff, share - findings.length, "diff");
      if (s.diff.length + s.findings.length < before) s.shortened.push("the diff and findings are cut at a line end");
    }
  }
  return [...head, ...stacks.map(renderStack)].join("\n");
}

module.exports = { MARKER, LIMIT, buildBody, splitPreview, scrubPaths, planCounts };
