// CIDR math for the program and the pack, in one module. It lives in the pack
// because the pack stands alone (it imports nothing from the program), and the
// program imports it from here, as it imports policies/imageTags.ts. ipaddr.js
// reads the addresses (IPv4 as four decimal parts only, IPv6 with an optional
// IPv4 tail); blocks are BigInt intervals, so IPv4 and IPv6 share one path.
//
// One host-bit rule, everywhere: a block's address is its network address.
// "10.0.0.5/16" is refused with the network address it probably meant. Config
// validation reports it naming the key; the pack reports a security group rule
// written that way instead of guessing which range the cloud would open.
//
// Tested with literal cases and fast-check properties in test/policies/cidr.test.ts.
import * as ipaddr from "ipaddr.js";

export type Family = 4 | 6;

/** A CIDR block as the inclusive address interval it covers. */
export interface Block {
  family: Family;
  /** First address: the network address. */
  first: bigint;
  /** Last address (the broadcast address for IPv4). */
  last: bigint;
  prefix: number;
}

/** What `parseCidr` reads: IPv4 blocks only (the program's address plan), or IPv4 and IPv6 blocks and bare addresses (a security group rule's source). */
export type CidrSyntax = "ipv4" | "any";

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function fromBytes(bytes: number[]): bigint {
  return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

/** The address as an integer, or undefined when `text` is not one of `family` (no zone id, no shorthand like "10.1"). */
function addressValue(text: string, family: Family): bigint | undefined {
  if (family === 4) return ipaddr.IPv4.isValidFourPartDecimal(text) ? fromBytes(ipaddr.IPv4.parse(text).toByteArray()) : undefined;
  if (text.includes("%") || !ipaddr.IPv6.isValid(text)) return undefined;
  return fromBytes(ipaddr.IPv6.parse(text).toByteArray());
}

/** Parses a dotted-quad IPv4 address; throws on anything else. */
export function parseIp(text: string): bigint {
  const value = addressValue(text, 4);
  if (value === undefined) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  return value;
}

/** An address as text (IPv6 in its compressed form). */
export function formatAddress(value: bigint, family: Family): string {
  const bytes: number[] = [];
  for (let i = BITS[family] / 8 - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

export function formatCidr(b: Block): string {
  return `${formatAddress(b.first, b.family)}/${b.prefix}`;
}

/**
 * Parses `a.b.c.d/n` (and with "any" also `x::/n`, or a bare address as its /32
 * or /128, as ECS reads a rule's cidrIp). Throws a message saying what is wrong,
 * including host bits set (see the header).
 */
export function parseCidr(text: string, syntax: CidrSyntax = "ipv4"): Block {
  const [addr, len, ...rest] = text.split("/");
  const family: Family = syntax === "any" && addr.includes(":") ? 6 : 4;
  const bits = BITS[family];
  const what = syntax === "any" ? "a CIDR block" : "an IPv4 CIDR";
  if (rest.length > 0 || (len === undefined && syntax !== "any") || (len !== undefined && (!/^\d{1,3}$/.test(len) || Number(len) > bits))) {
    throw new Error(`not ${what}: ${JSON.stringify(text)}`);
  }
  const prefix = len === undefined ? bits : Number(len);
  const value = addressValue(addr, family);
  if (value === undefined) throw new Error(`not an IPv${family} address: ${JSON.stringify(addr)}`);
  const hostBits = BigInt(bits - prefix);
  const first = (value >> hostBits) << hostBits;
  if (first !== value) throw new Error(`${text} has host bits set (network address is ${formatAddress(first, family)}/${prefix})`);
  return { family, first, last: first + (1n << hostBits) - 1n, prefix };
}

function block(b: string | Block): Block {
  return typeof b === "string" ? parseCidr(b) : b;
}

/** How many addresses the block holds. */
export function size(b: string | Block): number {
  const x = block(b);
  return Number(x.last - x.first + 1n);
}

export function overlaps(a: string | Block, b: string | Block): boolean {
  const x = block(a);
  const y = block(b);
  return x.family === y.family && x.first <= y.last && y.first <= x.last;
}

/** True when `inner` lies entirely inside `outer`. */
export function contains(outer: string | Block, inner: string | Block): boolean {
  const o = block(outer);
  const i = block(inner);
  return o.family === i.family && i.first >= o.first && i.last <= o.last;
}

/** True when the IPv4 address is inside the range. */
export function containsIp(range: string | Block, ip: string): boolean {
  const r = block(range);
  const n = parseIp(ip);
  return r.family === 4 && n >= r.first && n <= r.last;
}

/** The `index`-th address of the range (0 is the network address). */
export function nthAddress(range: string | Block, index: number): string {
  const r = block(range);
  if (!Number.isInteger(index) || index < 0 || BigInt(index) > r.last - r.first) {
    throw new Error(`address index ${index} is outside ${formatCidr(r)}`);
  }
  return formatAddress(r.first + BigInt(index), r.family);
}

/**
 * Splits `range` into `count` equal subnets of the largest size that fits,
 * optionally with a fixed new prefix. Used to carve one vswitch per zone.
 */
export function split(range: string, count: number, newPrefix?: number): string[] {
  const r = parseCidr(range);
  if (!Number.isInteger(count) || count < 1) throw new Error(`cannot split ${range} into ${count} subnets`);
  const prefix = newPrefix ?? r.prefix + Math.ceil(Math.log2(count));
  if (prefix > BITS[r.family] || prefix < r.prefix || 2 ** (prefix - r.prefix) < count) {
    throw new Error(`${range} cannot hold ${count} subnets of /${prefix}`);
  }
  const step = 1n << BigInt(BITS[r.family] - prefix);
  return Array.from({ length: count }, (_, i) => `${formatAddress(r.first + BigInt(i) * step, r.family)}/${prefix}`);
}

/** Merges blocks of one family into sorted, disjoint, non-adjacent intervals. */
function merged(blocks: Block[], family: Family): [bigint, bigint][] {
  const sorted = blocks.filter((b) => b.family === family).sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const b of sorted) {
    const top = out[out.length - 1];
    if (top && b.first <= top[1] + 1n) top[1] = b.last > top[1] ? b.last : top[1];
    else out.push([b.first, b.last]);
  }
  return out;
}

/**
 * The part of `block` outside the union of `allowed`, as inclusive intervals
 * (empty when `allowed` covers it). However the allowed space is split, only
 * addresses count.
 */
export function uncovered(block: Block, allowed: Block[]): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  let next = block.first;
  for (const [a, b] of merged(allowed, block.family)) {
    if (b < next) continue;
    if (a > block.last) break;
    if (a > next) out.push([next, a - 1n]);
    next = b + 1n;
    if (next > block.last) return out;
  }
  out.push([next, block.last]);
  return out.filter(([a, b]) => a <= b);
}

/** True when every address of `block` is inside some block of `allowed`. */
export function coveredBy(block: Block, allowed: Block[]): boolean {
  return uncovered(block, allowed).length === 0;
}

// ---------------------------------------------------------------------------
// The special ranges both the program and the pack need. The program imports
// them through components/network/ports.ts, the owner of every port and range.

/** The RFC 1918 private ranges (a VPC, the data centre, the host's VPC). */
export const RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
/** IPv6 unique local addresses (RFC 4193), the IPv6 counterpart of RFC 1918. */
export const IPV6_ULA = ["fc00::/7"];
/**
 * Alibaba SLB health checks, and layer-4 SLB traffic to backends, come from
 * this range (Alibaba Cloud SLB docs, "Health check overview": "add
 * 100.64.0.0/10 to the backend's security group"); it is carrier-grade NAT
 * space, never a customer's VPC. Not RFC 1918, so the pack admits it only for
 * the ports an SLB health-checks.
 */
export const SLB_HEALTH_CHECK_CIDR = "100.64.0.0/10";
