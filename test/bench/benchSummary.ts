// The sentences of BENCHMARKS.md that read the figures, generated from the same
// figures as the tables, so the prose never contradicts the table it sits under.
// Pure: test/bench/benchSummary.test.ts feeds it made-up figures.

export interface SizeFigures {
  workers: number;
  /** Preview wall time, ms, and peak RSS, KiB. */
  wallMs: number;
  maxRssKb: number;
  depth: number;
  baselineWallMs: number;
  bareWallMs: number;
}
export interface DepthFigures {
  stack: string;
  depth: number;
}
export interface FrontFigures {
  ratio: number;
}

/** The preview's targets (DESIGN.md): 1000 workers under 10 s and under 2 GB. */
export const TARGET_WALL_S = 10;
export const TARGET_RSS_MB = 2048;

const sec = (ms: number) => (ms / 1000).toFixed(2);
const mib = (kb: number) => Math.round(kb / 1024);
const slope = (a: number, b: number, dn: number) => ((b - a) / dn).toFixed(2);

export function reading(sizes: SizeFigures[], depths: DepthFigures[], fronts: FrontFigures[]): string[] {
  const out: string[] = [];
  const big = sizes[sizes.length - 1];
  if (big) {
    const wall = big.wallMs / 1000;
    const rss = mib(big.maxRssKb);
    out.push(
      `- At ${big.workers} workers the preview took ${sec(big.wallMs)} s (${wall < TARGET_WALL_S ? "under" : "over"} the ${TARGET_WALL_S} s target) ` +
        `and peaked at ${rss} MB (${rss < TARGET_RSS_MB ? "under" : "over"} the ${TARGET_RSS_MB / 1024} GB target), ` +
        `${(big.wallMs / big.baselineWallMs).toFixed(2)}× the flat baseline's wall time; the bare baseline took ` +
        `${Math.round((100 * big.bareWallMs) / big.baselineWallMs)} % of the flat one, the rest of which is what the typed classes' Outputs cost.`,
    );
    const from = sizes.find((r) => r.workers >= 100);
    if (from && from !== big) {
      const dn = big.workers - from.workers;
      out.push(
        `- From ${from.workers} to ${big.workers} workers each worker added ${slope(from.wallMs, big.wallMs, dn)} ms ` +
          `(the baseline ${slope(from.baselineWallMs, big.baselineWallMs, dn)} ms); the marginal column shows each step, which swings with the machine's load.`,
      );
    }
    const first = sizes[0];
    if (first !== big) {
      const a = first.wallMs / first.workers;
      const b = big.wallMs / big.workers;
      out.push(
        `- Wall time per worker went from ${a.toFixed(2)} ms at ${first.workers} workers to ${b.toFixed(2)} ms at ${big.workers}: ` +
          (b < a
            ? "a fixed cost (loading the program and the SDK, and transpiling the program when the transpile cache is cold) dominates small fleets."
            : "it did not fall with size, so the per-worker cost dominates."),
      );
    }
    const sizeDepths = [...new Set(sizes.map((r) => r.depth))];
    out.push(
      sizeDepths.length === 1
        ? `- prod1's graph depth was ${sizeDepths[0]} at every size measured: workers widen the graph, they never lengthen it.`
        : `- prod1's graph depth changed with size (${sizes.map((r) => `${r.depth} at ${r.workers}`).join(", ")}): a worker waits for another one somewhere.`,
    );
  }
  if (depths.length > 0) {
    const byDepth = new Map<number, string[]>();
    for (const d of depths) byDepth.set(d.depth, [...(byDepth.get(d.depth) ?? []), d.stack]);
    out.push(
      `- Stack depths: ${[...byDepth]
        .sort((x, y) => y[0] - x[0])
        .map(([d, st]) => `${st.join(", ")} ${d}`)
        .join("; ")}.`,
    );
  }
  if (fronts.length > 0) {
    const r = fronts.map((f) => f.ratio).sort((x, y) => x - y);
    out.push(
      `- Through haproxy the rounds ran at ${r[0].toFixed(2)}-${r[r.length - 1].toFixed(2)} of the direct rate (median ${r[Math.floor(r.length / 2)].toFixed(2)}).`,
    );
  }
  return out;
}
