// The one CIDR module (policies/rules/cidr.ts), used by the program and the pack:
// literal cases for parsing, the host-bit rule, IPv6 and the address-plan helpers;
// then properties: coverage is about addresses, so splitting a range or the
// allowed space never changes the verdict.
import * as fc from "fast-check";
import {
  contains,
  containsIp,
  coveredBy,
  formatAddress,
  nthAddress,
  overlaps,
  parseCidr,
  parseIp,
  RFC1918,
  size,
  split,
  uncovered,
} from "../../policies/rules/cidr";
import type { Block } from "../../policies/rules/cidr";

const v4 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const prefix = fc.integer({ min: 0, max: 32 });
/** A random block: the address with its host bits cleared (the one rule refuses them). */
const block = fc.tuple(v4, prefix).map(([a, p]) => parseCidr(`${formatAddress((BigInt(a) >> BigInt(32 - p)) << BigInt(32 - p), 4)}/${p}`));
const blocks = fc.array(block, { maxLength: 6 });
const inside = (b: Block, a: bigint) => a >= b.first && a <= b.last;
const cidrText = (b: Block) => `${formatAddress(b.first, b.family)}/${b.prefix}`;

/** The two halves of a block (itself when it is a single address). */
function halves(b: Block): Block[] {
  if (b.prefix === 32) return [b];
  return [parseCidr(`${formatAddress(b.first, 4)}/${b.prefix + 1}`), parseCidr(`${formatAddress(b.first + (b.last - b.first + 1n) / 2n, 4)}/${b.prefix + 1}`)];
}

describe("policies/rules/cidr.ts", () => {
  test("parse: the interval and family of a block; IPv6 and bare addresses only where a rule's source may be one", () => {
    expect(parseCidr("10.40.0.0/16")).toEqual({ family: 4, first: 0x0a280000n, last: 0x0a28ffffn, prefix: 16 });
    expect(parseCidr("0.0.0.0/0")).toEqual({ family: 4, first: 0n, last: 0xffffffffn, prefix: 0 });
    expect(parseCidr("::/0", "any")).toMatchObject({ family: 6, first: 0n, last: 2n ** 128n - 1n });
    expect(parseCidr("fd00::/8", "any")).toEqual({ family: 6, first: 0xfdn << 120n, last: (0xfen << 120n) - 1n, prefix: 8 });
    expect(parseCidr("::ffff:10.0.0.1", "any")).toMatchObject({ first: 0xffff0a000001n, prefix: 128 });
    expect(parseCidr("203.0.113.7", "any")).toEqual({ family: 4, first: 0xcb007107n, last: 0xcb007107n, prefix: 32 });
  });

  test("parse refuses malformed text, saying what is wrong", () => {
    const cases: [string, string, "ipv4" | "any"][] = [
      ["banana", 'not an IPv4 CIDR: "banana"', "ipv4"],
      ["10.0.0.0", 'not an IPv4 CIDR: "10.0.0.0"', "ipv4"],
      ["10.0.0.0/33", 'not an IPv4 CIDR: "10.0.0.0/33"', "ipv4"],
      ["10.0.0.0/8/1", 'not an IPv4 CIDR: "10.0.0.0/8/1"', "ipv4"],
      ["fd00::/8", 'not an IPv4 address: "fd00::"', "ipv4"],
      ["10.0.0.256/8", 'not an IPv4 address: "10.0.0.256"', "ipv4"],
      ["10.0.0/8", 'not an IPv4 address: "10.0.0"', "ipv4"],
      ["010.0.0.0/8", 'not an IPv4 address: "010.0.0.0"', "ipv4"],
      ["1::2::3/64", 'not an IPv6 address: "1::2::3"', "any"],
      ["fe80::%eth0/64", 'not an IPv6 address: "fe80::%eth0"', "any"],
      ["::/129", 'not a CIDR block: "::/129"', "any"],
      ["x", 'not an IPv4 address: "x"', "any"],
      ["", 'not an IPv4 address: ""', "any"],
    ];
    for (const [text, message, syntax] of cases) expect(() => parseCidr(text, syntax)).toThrow(message);
  });

  test("one host-bit rule for the program and the pack: an address with host bits set is refused, naming the network address", () => {
    expect(() => parseCidr("10.10.0.1/16")).toThrow("10.10.0.1/16 has host bits set (network address is 10.10.0.0/16)");
    expect(() => parseCidr("10.0.0.1/8", "any")).toThrow("10.0.0.1/8 has host bits set (network address is 10.0.0.0/8)");
    expect(() => parseCidr("1.2.3.4/0", "any")).toThrow("1.2.3.4/0 has host bits set (network address is 0.0.0.0/0)");
    expect(() => parseCidr("fd00::1/8", "any")).toThrow("fd00::1/8 has host bits set (network address is fd00::/8)");
    expect(parseCidr("10.0.0.1/32").first).toBe(0x0a000001n);
  });

  test("address-plan helpers: size, overlap, containment, the n-th address, splitting per zone", () => {
    expect(parseIp("192.168.77.2")).toBe(0xc0a84d02n);
    expect(() => parseIp("localhost")).toThrow('not an IPv4 address: "localhost"');
    expect(size("10.40.0.0/16")).toBe(65536);
    expect(size("10.0.0.1/32")).toBe(1);
    expect(overlaps("10.40.0.0/16", "10.40.255.0/24")).toBe(true);
    expect(overlaps("10.40.0.0/16", "10.41.0.0/16")).toBe(false);
    expect(contains("172.16.0.0/12", "172.31.0.0/16")).toBe(true);
    expect(contains("172.16.0.0/12", "172.32.0.0/16")).toBe(false);
    expect(containsIp("10.40.0.0/16", "10.40.3.4")).toBe(true);
    expect(containsIp("10.40.0.0/16", "10.41.0.0")).toBe(false);
    expect(nthAddress("10.40.16.0/20", 10)).toBe("10.40.16.10");
    expect(() => nthAddress("10.40.16.0/30", 4)).toThrow("address index 4 is outside 10.40.16.0/30");
    expect(split("10.40.0.0/16", 3)).toEqual(["10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"]);
    expect(split("10.40.0.0/16", 2, 20)).toEqual(["10.40.0.0/20", "10.40.16.0/20"]);
    expect(() => split("10.40.0.0/16", 3, 17)).toThrow("10.40.0.0/16 cannot hold 3 subnets of /17");
    expect(formatAddress(0xfdn << 120n, 6)).toBe("fd00::");
  });

  test("coverage on literal cases: the gaps by address, adjacent blocks join, a covering block is enough", () => {
    const p = (...c: string[]) => c.map((x) => parseCidr(x));
    expect(uncovered(parseCidr("10.40.0.0/16"), p("10.40.0.0/17"))).toEqual([[0x0a288000n, 0x0a28ffffn]]);
    expect(uncovered(parseCidr("10.0.0.0/24"), p("10.0.0.64/26", "10.0.0.192/26"))).toEqual([
      [0x0a000000n, 0x0a00003fn],
      [0x0a000080n, 0x0a0000bfn],
    ]);
    expect(coveredBy(parseCidr("10.40.0.0/16"), p("10.40.128.0/17", "10.40.0.0/17"))).toBe(true);
    expect(coveredBy(parseCidr("10.40.16.0/20"), p("10.0.0.0/8"))).toBe(true);
    expect(coveredBy(parseCidr("10.40.0.0/16"), p("10.40.0.0/17", "10.40.129.0/24"))).toBe(false);
    expect(coveredBy(parseCidr("192.168.1.0/24"), [])).toBe(false);
  });

  test("covered iff every address is inside some allowed block (checked at the edges and the first uncovered address)", () => {
    fc.assert(
      fc.property(block, blocks, (b, allowed) => {
        const gaps = uncovered(b, allowed);
        // Covered: the block's first, middle and last addresses each sit in an allowed block.
        if (coveredBy(b, allowed)) for (const a of [b.first, (b.first + b.last) / 2n, b.last]) expect(allowed.some((x) => inside(x, a))).toBe(true);
        else expect(gaps.length).toBeGreaterThan(0);
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
    const private_ = RFC1918.map((c) => parseCidr(c));
    for (let i = 0; i < 8; i++) expect(coveredBy(parseCidr(`${i * 32}.0.0.0/3`), private_)).toBe(false);
    expect(coveredBy(parseCidr("0.0.0.0/0"), private_)).toBe(false);
    fc.assert(fc.property(block, (b) => expect(cidrText(parseCidr(cidrText(b)))).toBe(cidrText(b))));
  });
});
