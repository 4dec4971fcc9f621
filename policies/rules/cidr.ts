// CIDR math for the pack, on BigInt so IPv4 and IPv6 share one code path. The
// pack imports nothing from the program (components/network/cidr.ts is the
// program's), so it carries this small copy of its own. Pure; tested with
// fast-check in test/policies/cidr.test.ts.

export type Family = 4 | 6;

/** A CIDR block as the inclusive address interval it covers. */
export interface Block {
  family: Family;
  /** First address (network address; host bits are cleared). */
  first: bigint;
  /** Last address (broadcast address). */
  last: bigint;
  prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let out = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out = (out << 8n) | BigInt(Number(p));
  }
  return out;
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.split("::").length > 2) return undefined;
  let groups: string[];
  // An embedded IPv4 tail (::ffff:10.0.0.1) is two groups.
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: bigint | undefined;
  if (v4) {
    tail = parseV4(v4[2]);
    if (tail === undefined) return undefined;
    text = v4[1] + "0:0";
  }
  if (text.includes("::")) {
    const [head, rest] = text.split("::");
    const h = head === "" ? [] : head.split(":");
    const r = rest === "" ? [] : rest.split(":");
    if (h.length + r.length > 7) return undefined;
    groups = [...h, ...Array(8 - h.length - r.length).fill("0"), ...r];
  } else {
    groups = text.split(":");
  }
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  let out = 0n;
  for (const g of groups) out = (out << 16n) | BigInt(parseInt(g, 16));
  if (tail !== undefined) out = (out & ~0xffffffffn) | tail;
  return out;
}

/** `a.b.c.d/n` or an IPv6 `x::/n` (a bare address is a /32 or /128); undefined when malformed. */
export function parseCidr(text: string): Block | undefined {
  const [addr, len, extra] = text.trim().split("/");
  if (extra !== undefined || addr === undefined) return undefined;
  const family: Family = addr.includes(":") ? 6 : 4;
  const value = family === 4 ? parseV4(addr) : parseV6(addr);
  if (value === undefined) return undefined;
  const bits = BITS[family];
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return undefined;
  const prefix = len === undefined ? bits : Number(len);
  if (prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  const first = (value >> hostBits) << hostBits;
  return { family, first, last: first + (1n << hostBits) - 1n, prefix };
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

/** An address as text (IPv6 uncompressed, enough for a message). */
export function formatAddress(value: bigint, family: Family): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join(".");
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  return groups.join(":");
}

/** The RFC 1918 private ranges (a VPC, the data centre, the host's VPC). */
export const RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
/** IPv6 unique local addresses (RFC 4193), the IPv6 counterpart of RFC 1918. */
export const IPV6_ULA = ["fc00::/7"];
/**
 * Alibaba's shared address range: SLB health checks and the SLB's proxies reach
 * backends from 100.64.0.0/10 (Alibaba Cloud SLB docs, "Health check overview":
 * the security group must allow 100.64.0.0/10). Not RFC 1918, so it is private
 * only for the ports an SLB health-checks.
 */
export const SLB_HEALTH_CHECK_RANGE = "100.64.0.0/10";
