// The pack's own CIDR math (policies/rules/cidr.ts), by properties: coverage is
// about addresses, so splitting a range or the allowed space never changes the verdict.
import * as fc from "fast-check";
import { coveredBy, formatAddress, parseCidr, RFC1918, uncovered } from "../../policies/rules/cidr";
import type { Block } from "../../policies/rules/cidr";

const v4 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const prefix = fc.integer({ min: 0, max: 32 });
const block = fc.tuple(v4, prefix).map(([a, p]) => parseCidr(`${formatAddress(BigInt(a), 4)}/${p}`)!);
const blocks = fc.array(block, { maxLength: 6 });
const inside = (b: Block, a: bigint) => a >= b.first && a <= b.last;
const cidrText = (b: Block) => `${formatAddress(b.first, b.family)}/${b.prefix}`;

/** The two halves of a block (itself when it is a single address). */
function halves(b: Block): Block[] {
  if (b.prefix === 32) return [b];
  return [
    parseCidr(`${formatAddress(b.first, 4)}/${b.prefix + 1}`)!,
    parseCidr(`${formatAddress(b.first + (b.last - b.first + 1n) / 2n, 4)}/${b.prefix + 1}`)!,
  ];
}

describe("policies/rules/cidr.ts", () => {
  test("parse: network address, interval, family; malformed input is undefined", () => {
    expect(parseCidr("10.40.1.7/16")).toEqual({ family: 4, first: 0x0a280000n, last: 0x0a28ffffn, prefix: 16 });
    expect(parseCidr("::/0")).toMatchObject({ family: 6, first: 0n, last: 2n ** 128n - 1n });
    expect(parseCidr("fd00::1/8")).toMatchObject({ family: 6, prefix: 8 });
    expect(parseCidr("::ffff:10.0.0.1")).toMatchObject({ first: 0xffff0a000001n, prefix: 128 });
    for (const bad of ["10.0.0.256/8", "10.0.0/8", "10.0.0.0/33", "1::2::3/64", "x", "10.0.0.0/8/1", ""]) expect(parseCidr(bad)).toBeUndefined();
  });

  test("covered iff every address is inside some allowed block (checked at the edges and the first uncovered address)", () => {
    fc.assert(
      fc.property(block, blocks, (b, allowed) => {
        const gaps = uncovered(b, allowed);
        expect(coveredBy(b, allowed)).toBe(gaps.length === 0);
        for (const [lo, hi] of gaps) {
          for (const a of [lo, hi]) {
            expect(inside(b, a)).toBe(true);
            expect(allowed.some((x) => inside(x, a))).toBe(false);
          }
          if (lo > b.first) expect(allowed.some((x) => inside(x, lo - 1n))).toBe(true);
        }
      }),
    );
  });

  test("splitting the source range never changes the verdict: a block is covered iff both halves are", () => {
    fc.assert(fc.property(block, blocks, (b, allowed) => expect(coveredBy(b, allowed)).toBe(halves(b).every((h) => coveredBy(h, allowed)))));
  });

  test("splitting the allowed space never changes the verdict", () => {
    fc.assert(fc.property(block, blocks, (b, allowed) => expect(coveredBy(b, allowed.flatMap(halves))).toBe(coveredBy(b, allowed))));
  });

  test("no /3 outside 10/8 is private, and 0.0.0.0/0 is never covered by RFC 1918", () => {
    const private_ = RFC1918.map((c) => parseCidr(c)!);
    for (let i = 0; i < 8; i++) expect(coveredBy(parseCidr(`${i * 32}.0.0.0/3`)!, private_)).toBe(false);
    expect(coveredBy(parseCidr("0.0.0.0/0")!, private_)).toBe(false);
    fc.assert(fc.property(block, (b) => expect(cidrText(parseCidr(cidrText(b))!)).toBe(cidrText(b))));
  });
});
