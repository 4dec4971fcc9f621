import { reading, SizeFigures } from "./benchSummary";

const size = (workers: number, wallS: number, rssMb: number, depth = 11): SizeFigures => ({
  workers,
  wallMs: wallS * 1000,
  maxRssKb: rssMb * 1024,
  depth,
  baselineWallMs: wallS * 600,
  bareWallMs: wallS * 300,
});

describe("the generated reading of the bench figures", () => {
  it("says what the figures say, with the table's numbers", () => {
    const text = reading(
      [size(10, 1.7, 228), size(100, 1.9, 276), size(1000, 5.67, 999)],
      [
        { stack: "host", depth: 10 },
        { stack: "dev", depth: 11 },
        { stack: "prod1", depth: 11 },
      ],
      [{ ratio: 0.9 }, { ratio: 1.05 }, { ratio: 1.01 }],
    ).join("\n");
    expect(text).toContain(
      "At 1000 workers the preview took 5.67 s (under the 10 s target) and peaked at 999 MB (under the 2 GB target), 1.67× the flat baseline's wall time",
    );
    expect(text).toContain("the bare baseline took 50 % of the flat one");
    expect(text).toContain("From 100 to 1000 workers each worker added 4.19 ms (the baseline 2.51 ms)");
    expect(text).toContain("from 170.00 ms at 10 workers to 5.67 ms at 1000: a fixed cost");
    expect(text).toContain("graph depth was 11 at every size measured");
    expect(text).toContain("Stack depths: dev, prod1 11; host 10.");
    expect(text).toContain("0.90-1.05 of the direct rate (median 1.01)");
  });

  it("says so when a target is missed or the depth grows", () => {
    const text = reading([size(10, 2, 300, 11), size(1000, 12.5, 2500, 12)], [], []).join("\n");
    expect(text).toContain("12.50 s (over the 10 s target)");
    expect(text).toContain("2500 MB (over the 2 GB target)");
    expect(text).toContain("graph depth changed with size (11 at 10, 12 at 1000)");
    expect(text).not.toContain("haproxy");
  });
});

describe("npm run bench's arguments", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseArgs, spliceReport } = require("./bench") as typeof import("./bench");

  it("only prints by default; --write updates BENCHMARKS.md", () => {
    expect(parseArgs([]).write).toBe(false);
    expect(parseArgs(["--write"]).write).toBe(true);
    expect(() => parseArgs(["--no-write"])).toThrow("unknown argument --no-write");
  });

  it("--write replaces only the section between the markers", () => {
    const before = "# B\n\nintro\n\n<!-- bench:begin (written by `npm run bench`) -->\nold\n<!-- bench:end -->\n\nafter\n";
    const out = spliceReport(before, "new");
    expect(out).toBe("# B\n\nintro\n\n<!-- bench:begin (written by `npm run bench -- --write`) -->\nnew\n<!-- bench:end -->\n\nafter\n");
  });
});
