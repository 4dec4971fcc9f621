// The network's rules on user input, as functions returning problems (one line
// each, naming its key). Config validation runs them before anything is registered.
import { PROJECT } from "../config/keys";
import { containsIp, overlaps } from "../../policies/rules/cidr";
import { INGRESS_HTTP_NODE_PORT, INGRESS_HTTPS_NODE_PORT, NODE_PORT_RANGE, RESERVED_RANGES, RFC1918 } from "./ports";

/** Private, shared and special ranges: a data centre's public IPsec address is in none of them. */
const NOT_PUBLIC: string[] = [...RFC1918, ...RESERVED_RANGES.map(([r]) => r)];

function safeOverlaps(a: string, b: string): boolean {
  try {
    return overlaps(a, b);
  } catch {
    return false; // malformed: reported by the schema
  }
}

/** The cluster's ranges stay clear of the reserved ones. */
export function reservedRangeProblems(n: Partial<Record<"vpcCidr" | "podCidr" | "serviceCidr", string>>, datacenterSubnets: string[] = []): string[] {
  const out: string[] = [];
  const ranges: [string, string][] = [
    ...(["vpcCidr", "podCidr", "serviceCidr"] as const).filter((k) => n[k] !== undefined).map((k): [string, string] => [`${PROJECT}:network.${k}`, n[k]!]),
    ...datacenterSubnets.map((s, i): [string, string] => [`${PROJECT}:datacenter.subnets[${i}]`, s]),
  ];
  for (const [key, range] of ranges) {
    // The metadata address is inside the SLB range: name the first (more specific) one only.
    const hit = RESERVED_RANGES.find(([r]) => safeOverlaps(range, r));
    if (hit) out.push(`${key}: ${range} overlaps ${hit[0]}, ${hit[1]}`);
  }
  return out;
}

/**
 * Zones of the configured region: Alibaba zone ids are the region id plus a
 * letter, `cn-hangzhou-h` (China regions) or `ap-southeast-1a`.
 */
export function zoneProblems(region: string, zones: string[]): string[] {
  return zones.flatMap((z, i) =>
    new RegExp(`^${region.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-?[a-z]$`).test(z)
      ? []
      : [`${PROJECT}:network.zones[${i}]: ${z} is not a zone of alicloud:region ${region} (zones are ${region}-<letter>, e.g. ${region}-a)`],
  );
}

/** The data centre's gateway address is public: not in the cluster's ranges, private or special ranges. */
export function datacenterIpProblems(publicIp: string, n: Partial<Record<"vpcCidr" | "podCidr" | "serviceCidr", string>>): string[] {
  const key = `${PROJECT}:datacenter.publicIp`;
  const inside = (r: string) => {
    try {
      return containsIp(r, publicIp);
    } catch {
      return false;
    }
  };
  for (const k of ["vpcCidr", "podCidr", "serviceCidr"] as const) {
    if (n[k] && inside(n[k]!)) return [`${key}: ${publicIp} lies inside ${PROJECT}:network.${k} ${n[k]}; it must be the data centre's public gateway address`];
  }
  const r = NOT_PUBLIC.find(inside);
  return r ? [`${key}: ${publicIp} lies inside ${r}, not a public address; the IPsec peer must be the data centre's public gateway address`] : [];
}

/** The ingress NodePorts, defaults included (ports.ts), are distinct and inside the api-server's NodePort range. */
export function ingressNodePortProblems(i: { httpNodePort?: number; httpsNodePort?: number } = {}): string[] {
  const key = `${PROJECT}:ingress`;
  const http = i.httpNodePort ?? INGRESS_HTTP_NODE_PORT;
  const https = i.httpsNodePort ?? INGRESS_HTTPS_NODE_PORT;
  const out: string[] = [];
  for (const [k, v] of [
    ["httpNodePort", http],
    ["httpsNodePort", https],
  ] as const) {
    if (!Number.isInteger(v) || v < NODE_PORT_RANGE.from || v > NODE_PORT_RANGE.to)
      out.push(`${key}.${k}: ${v} is outside the NodePort range ${NODE_PORT_RANGE.from}-${NODE_PORT_RANGE.to}`);
  }
  if (http === https) {
    const which = i.httpsNodePort !== undefined ? "httpsNodePort" : "httpNodePort";
    const other =
      which === "httpsNodePort"
        ? `httpNodePort${i.httpNodePort === undefined ? " (default)" : ""}`
        : `httpsNodePort${i.httpsNodePort === undefined ? " (default)" : ""}`;
    out.push(`${key}.${which}: ${which === "httpsNodePort" ? https : http} is also ${other}; the two NodePorts must differ`);
  }
  return out;
}
