// Network rules: what the internet can reach (security group rules, the api-server's SLB).
import { Block, coveredBy, formatAddress, IPV6_ULA, parseCidr, RFC1918, SLB_HEALTH_CHECK_CIDR, uncovered } from "./cidr";
import { ConfigProperty, EnforcementLevel, isSlb, ResourcePolicy, StackPolicy, str, tags, TYPES, withDefaults } from "./policy";

// ---------------------------------------------------------------------------
// no-open-admin-ports

export interface NoOpenAdminPortsConfig {
  /** TCP ports nobody outside the private networks may reach: ssh, the api-server, etcd, the kubelet. */
  ports: number[];
  /** Source ranges trusted for admin ports besides RFC 1918 (and IPv6 ULA), e.g. an office's fixed egress. */
  allowedCidrs: string[];
  /** Ports an SLB health-checks: only these may be opened to SLB_HEALTH_CHECK_CIDR (100.64.0.0/10). */
  healthCheckPorts: number[];
}

export const NO_OPEN_ADMIN_PORTS_SCHEMA: Record<keyof NoOpenAdminPortsConfig, ConfigProperty> = {
  ports: { type: "array", items: { type: "integer" }, description: "TCP ports open only to private ranges", default: [22, 2379, 2380, 6443, 10250] },
  allowedCidrs: {
    type: "array",
    items: { type: "string" },
    description: "Extra trusted source ranges for admin ports (besides 10/8, 172.16/12, 192.168/16, fc00::/7)",
    default: [],
  },
  healthCheckPorts: { type: "array", items: { type: "integer" }, description: "Ports an SLB health-checks from 100.64.0.0/10", default: [8081] },
};

/** ECS's portRange "a/b" ("-1/-1" is every port) as [from, to]; undefined when unreadable. */
export function parsePortRange(range: string): [number, number] | undefined {
  const m = /^(-?\d+)\/(-?\d+)$/.exec(range.trim());
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (a === -1 && b === -1) return [1, 65535];
  if (a < 1 || b > 65535 || a > b) return undefined;
  return [a, b];
}

function blocksOf(cidrs: string[], where: string): Block[] {
  return cidrs.map((c) => {
    try {
      return parseCidr(c, "any");
    } catch (e) {
      throw new Error(`no-open-admin-ports.${where}: "${c}" is not a CIDR block (${(e as Error).message})`, { cause: e });
    }
  });
}

/**
 * Judges address space, not strings: an ingress rule's source range must lie
 * wholly inside the private ranges or the allowlist for every admin port it
 * opens, so `0.0.0.0/1`, eight /3s or a public /32 are caught like 0.0.0.0/0.
 * Rules from a security group (sourceSecurityGroupId) stay inside the VPC.
 */
export function noOpenAdminPorts(enforcementLevel: EnforcementLevel, config: Partial<NoOpenAdminPortsConfig> = {}): ResourcePolicy {
  const c = withDefaults(NO_OPEN_ADMIN_PORTS_SCHEMA, config);
  const trusted = [...blocksOf([...RFC1918, ...IPV6_ULA], "private"), ...blocksOf(c.allowedCidrs, "allowedCidrs")];
  const withHealthChecks = [...trusted, ...blocksOf([SLB_HEALTH_CHECK_CIDR], "healthCheck")];
  return {
    name: "no-open-admin-ports",
    description:
      "No security group rule opens ssh (22), the api-server (6443), etcd (2379-2380), the kubelet (10250) or another listed admin port to a source range outside the private ranges and the pack's allowlist.",
    enforcementLevel,
    validateResource(r, report) {
      if (r.type !== TYPES.securityGroupRule || r.props.type !== "ingress") return;
      const source = str(r.props.cidrIp) ?? str(r.props.ipv6CidrIp);
      const protocol = (str(r.props.ipProtocol) ?? "all").toLowerCase();
      if (protocol !== "tcp" && protocol !== "all") return;
      const rangeText = str(r.props.portRange) ?? "-1/-1";
      const range = parsePortRange(rangeText);
      if (!range) {
        report(`${r.name}: ingress from ${source ?? "a security group"} with unreadable portRange "${rangeText}" (expected "from/to")`);
        return;
      }
      const open = c.ports.filter((p) => p >= range[0] && p <= range[1]);
      if (open.length === 0) return;
      if (source === undefined) {
        // A prefix list's ranges and another account's security group are not in the
        // plan, so nothing shows they are private: admin ports take cidrIp or a group of ours.
        const prefixList = str(r.props.prefixListId);
        const foreign = str(r.props.sourceGroupOwnerAccount) ?? str(r.props.sourceGroupOwnerId);
        if (prefixList !== undefined)
          report(
            `${r.name}: admin port(s) ${open.join(", ")} opened to prefix list ${prefixList}, whose ranges the plan does not show; use cidrIp with private ranges`,
          );
        else if (foreign !== undefined)
          report(`${r.name}: admin port(s) ${open.join(", ")} opened to a security group of account ${foreign}; only this account's groups or private ranges`);
        return; // from one of our security groups: inside the VPC
      }
      let block: Block;
      try {
        block = parseCidr(source, "any");
      } catch (e) {
        report(
          `${r.name}: ingress on ${protocol} ${rangeText} (admin port(s) ${open.join(", ")}) from "${source}", which is not a CIDR block: ${(e as Error).message}`,
        );
        return;
      }
      const exposed = open.filter((p) => !coveredBy(block, c.healthCheckPorts.includes(p) ? withHealthChecks : trusted));
      if (exposed.length === 0) return;
      const [first] = uncovered(block, c.healthCheckPorts.includes(exposed[0]) ? withHealthChecks : trusted);
      report(
        `${r.name}: ingress from ${source} on ${protocol} ${rangeText} opens admin port(s) ${exposed.join(", ")} beyond the private ranges ` +
          `(e.g. ${formatAddress(first[0], block.family)}); admit only 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or no-open-admin-ports.allowedCidrs of the pack config`,
      );
    },
  };
}

// ---------------------------------------------------------------------------
// api-server-slb-intranet

export function apiServerSlbIntranet(enforcementLevel: EnforcementLevel): StackPolicy {
  return {
    name: "api-server-slb-intranet",
    description: "The api-server's SLB (the one behind listener 6443, named <stack>-front-slb) is intranet-only.",
    enforcementLevel,
    validateStack(s, report) {
      const slbs = s.resources.filter(isSlb);
      const behind6443 = new Set(
        s.resources
          .filter((r) => r.type === TYPES.listener && r.props.frontendPort === 6443)
          .flatMap((l) => (l.dependencies ?? []).filter((u) => slbs.some((b) => b.urn === u))),
      );
      for (const slb of slbs) {
        const isApiServer =
          behind6443.has(slb.urn) ||
          slb.name.endsWith("-front-slb") ||
          (str(slb.props.loadBalancerName) ?? "").endsWith("-apiserver") ||
          tags(slb)["platform:role"] === "apiserver";
        if (!isApiServer) continue;
        // Alibaba defaults an SLB to `internet` when addressType is unset.
        const addressType = str(slb.props.addressType) ?? "internet (the default)";
        if (addressType !== "intranet")
          report(`${slb.name}: the api-server SLB has addressType ${addressType}; it must be intranet (6443 is reached over the VPC and IPsec only)`, slb.urn);
      }
    },
  };
}
