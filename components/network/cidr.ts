// IPv4 CIDR arithmetic for the address plan: overlap checks, fixed master IPs,
// splitting the VPC into per-zone vswitches. Pure, so it is property-tested.

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  /** Prefix length, 0-32. */
  prefix: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted-quad IPv4 address; throws on anything else. */
export function parseIp(ip: string): number {
  const m = IPV4.exec(ip);
  if (!m) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `a.b.c.d/n`; the address must be the network address (no host bits). */
export function parseCidr(text: string): Cidr {
  const [ip, len, ...rest] = text.split("/");
  if (len === undefined || rest.length > 0 || !/^\d{1,2}$/.test(len) || Number(len) > 32) {
    throw new Error(`not an IPv4 CIDR: ${JSON.stringify(text)}`);
  }
  const prefix = Number(len);
  const base = parseIp(ip);
  if ((base & mask(prefix)) >>> 0 !== base) {
    throw new Error(`${text} has host bits set (network address is ${formatIp((base & mask(prefix)) >>> 0)}/${prefix})`);
  }
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** The last address of the range, as an unsigned integer. */
export function last(c: Cidr): number {
  return c.base + size(c) - 1;
}

export function overlaps(a: string | Cidr, b: string | Cidr): boolean {
  const x = typeof a === "string" ? parseCidr(a) : a;
  const y = typeof b === "string" ? parseCidr(b) : b;
  return x.base <= last(y) && y.base <= last(x);
}

/** True when `inner` lies entirely inside `outer`. */
export function contains(outer: string | Cidr, inner: string | Cidr): boolean {
  const o = typeof outer === "string" ? parseCidr(outer) : outer;
  const i = typeof inner === "string" ? parseCidr(inner) : inner;
  return i.base >= o.base && last(i) <= last(o);
}

/** True when the address is inside the range. */
export function containsIp(range: string | Cidr, ip: string): boolean {
  const r = typeof range === "string" ? parseCidr(range) : range;
  const n = parseIp(ip);
  return n >= r.base && n <= last(r);
}

/** The `index`-th address of the range (0 is the network address). */
export function nthAddress(range: string | Cidr, index: number): string {
  const r = typeof range === "string" ? parseCidr(range) : range;
  if (!Number.isInteger(index) || index < 0 || index >= size(r)) {
    throw new Error(`address index ${index} is outside ${formatCidr(r)}`);
  }
  return formatIp(r.base + index);
}

/**
 * Splits `range` into `count` equal subnets of the largest size that fits,
 * optionally with a fixed new prefix. Used to carve one vswitch per zone.
 */
export function split(range: string, count: number, newPrefix?: number): string[] {
  const r = parseCidr(range);
  if (!Number.isInteger(count) || count < 1) throw new Error(`cannot split ${range} into ${count} subnets`);
  const bits = Math.ceil(Math.log2(count));
  const prefix = newPrefix ?? r.prefix + bits;
  if (prefix > 32 || prefix < r.prefix || 2 ** (prefix - r.prefix) < count) {
    throw new Error(`${range} cannot hold ${count} subnets of /${prefix}`);
  }
  const step = 2 ** (32 - prefix);
  return Array.from({ length: count }, (_, i) => formatCidr({ base: r.base + i * step, prefix }));
}
