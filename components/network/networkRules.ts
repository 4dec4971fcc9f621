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
 * Each region's known zones. Source: Alibaba Cloud, "Regions and zones supported by ECI"
 * (help.aliyun.com/en/eci/product-overview/regions-and-zones, Hangzhou and Shanghai; and its Chinese
 * edition www.alibabacloud.com/help/zh/elastic-container-instance/latest/regions-and-zones for the other
 * regions; both updated December 2025, read 2026-12-07), the zone tables the general "Regions and zones"
 * page (www.alibabacloud.com/help/en/ecs/product-overview/regions-and-zones/) points to. The provider's
 * `alicloud_zones` data source (alicloud.getZones) lists them live, but needs credentials, and config is
 * checked offline before anything runs. cn-hangzhou, cn-shanghai and cn-beijing are the stacks' regions;
 * the others are the rest of that table's China regions, Tokyo and Singapore. Where another Alibaba Cloud
 * zone table lists more, the list is the union: cn-shenzhen-f from "Key Management Service: Regions and
 * zones" (www.alibabacloud.com/help/en/kms/product-overview/supported-regions, updated Aug 02, 2025, read
 * 2026-12-07); the zones it gives for the other regions of this list that it names are in the ECI table. A zone missing here
 * (a new one) is one line to add, with the page read again.
 * cn-beijing-a and cn-beijing-b stay out: Alibaba Cloud names them as zones of the region in prose ("Regions and zones",
 * Elastic GPU Service, alibabacloud.com/help/ja/egs/regions-and-zones, updated Nov 05, 2024: twelve Beijing zones,
 * A and B among them), but no zone table this list draws on offers them: neither ECI's nor KMS's, nor "Regions and
 * zones supported by NAT Gateway" (www.alibabacloud.com/help/en/nat-gateway/product-overview/regions-and-zones-supported-by-nat-gateway,
 * read 2026-12-07: China (Beijing) Zone C to Zone L), and each stack's NAT gateway sits in its first zone's vswitch
 * (components/network/network.ts). A citation that they take new vswitches and a NAT gateway adds them.
 */
export const KNOWN_ZONES: Readonly<Record<string, readonly string[]>> = {
  "cn-hangzhou": ["b", "e", "f", "g", "h", "i", "j", "k"].map((z) => `cn-hangzhou-${z}`),
  "cn-shanghai": ["a", "b", "c", "d", "e", "f", "g", "k", "l", "m", "n"].map((z) => `cn-shanghai-${z}`),
  "cn-beijing": ["c", "d", "e", "f", "g", "h", "i", "j", "k", "l"].map((z) => `cn-beijing-${z}`),
  "cn-qingdao": ["cn-qingdao-b", "cn-qingdao-c"],
  "cn-zhangjiakou": ["cn-zhangjiakou-a", "cn-zhangjiakou-b", "cn-zhangjiakou-c"],
  "cn-huhehaote": ["cn-huhehaote-a", "cn-huhehaote-b"],
  "cn-wulanchabu": ["cn-wulanchabu-a", "cn-wulanchabu-b", "cn-wulanchabu-c"],
  "cn-shenzhen": ["cn-shenzhen-a", "cn-shenzhen-b", "cn-shenzhen-c", "cn-shenzhen-d", "cn-shenzhen-e", "cn-shenzhen-f"],
  "cn-heyuan": ["cn-heyuan-a", "cn-heyuan-b"],
  "cn-guangzhou": ["cn-guangzhou-a", "cn-guangzhou-b"],
  "cn-chengdu": ["cn-chengdu-a", "cn-chengdu-b"],
  "cn-hongkong": ["cn-hongkong-b", "cn-hongkong-c", "cn-hongkong-d"],
  "ap-northeast-1": ["ap-northeast-1a", "ap-northeast-1b", "ap-northeast-1c"],
  "ap-southeast-1": ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"],
};

/**
 * Zones of the configured region, from KNOWN_ZONES: one line per zone not on it naming the key, the zone and
 * the zones the list has (a true line also for a zone that exists but no table this list draws on offers); a region without a list gets one line naming alicloud:region.
 */
export function zoneProblems(region: string, zones: string[]): string[] {
  const known = Object.hasOwn(KNOWN_ZONES, region) ? KNOWN_ZONES[region] : undefined;
  if (!known)
    return [
      `alicloud:region: ${region} is not a region with a known zone list (${Object.keys(KNOWN_ZONES).join(", ")}); add its zones to KNOWN_ZONES (components/network/networkRules.ts) from Alibaba Cloud's "Regions and zones" (docs/runbooks/add-a-cluster.md)`,
    ];
  return zones.flatMap((z, i) =>
    known.includes(z)
      ? []
      : [
          `${PROJECT}:network.zones[${i}]: ${z} is not among the zones the platform takes in alicloud:region ${region} (those Alibaba Cloud's ECI and KMS zone tables list, read 2026-12-07: ${known.join(", ")}); a zone missing from this list is added to KNOWN_ZONES in components/network/networkRules.ts (docs/runbooks/add-a-cluster.md)`,
        ],
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
