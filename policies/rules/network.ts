// Network rules: what the internet can reach (security group rules, the api-server's SLB).
import { ConfigProperty, EnforcementLevel, isSlb, ResourcePolicy, StackPolicy, str, tags, TYPES, withDefaults } from "./policy";

// ---------------------------------------------------------------------------
// no-open-admin-ports

export interface NoOpenAdminPortsConfig {
  /** TCP ports nobody on the internet may reach: ssh, the api-server, etcd, the kubelet. */
  ports: number[];
  /** Source ranges that mean "the internet". */
  openCidrs: string[];
}

export const NO_OPEN_ADMIN_PORTS_SCHEMA: Record<keyof NoOpenAdminPortsConfig, ConfigProperty> = {
  ports: { type: "array", items: { type: "integer" }, description: "TCP ports never open to the internet", default: [22, 2379, 2380, 6443, 10250] },
  openCidrs: { type: "array", items: { type: "string" }, description: "Source ranges that mean the whole internet", default: ["0.0.0.0/0", "::/0"] },
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

export function noOpenAdminPorts(enforcementLevel: EnforcementLevel, config: Partial<NoOpenAdminPortsConfig> = {}): ResourcePolicy {
  const c = withDefaults(NO_OPEN_ADMIN_PORTS_SCHEMA, config);
  return {
    name: "no-open-admin-ports",
    description: "No security group rule opens ssh (22), the api-server (6443), etcd (2379-2380) or the kubelet (10250) to 0.0.0.0/0.",
    enforcementLevel,
    validateResource(r, report) {
      if (r.type !== TYPES.securityGroupRule || r.props.type !== "ingress") return;
      const source = str(r.props.cidrIp) ?? str(r.props.ipv6CidrIp);
      if (source === undefined || !c.openCidrs.includes(source)) return;
      const protocol = str(r.props.ipProtocol) ?? "all";
      if (protocol !== "tcp" && protocol !== "all") return;
      const rangeText = str(r.props.portRange) ?? "-1/-1";
      const range = parsePortRange(rangeText);
      if (!range) {
        report(`${r.name}: ingress from ${source} with unreadable portRange "${rangeText}" (expected "from/to")`);
        return;
      }
      const open = c.ports.filter((p) => p >= range[0] && p <= range[1]);
      if (open.length > 0) report(`${r.name}: ingress from ${source} on ${protocol} ${rangeText} opens admin port(s) ${open.join(", ")} to the internet`);
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
        s.resources.filter((r) => r.type === TYPES.listener && r.props.frontendPort === 6443).flatMap((l) => (l.dependencies ?? []).filter((u) => slbs.some((b) => b.urn === u))),
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
        if (addressType !== "intranet") report(`${slb.name}: the api-server SLB has addressType ${addressType}; it must be intranet (6443 is reached over the VPC and IPsec only)`, slb.urn);
      }
    },
  };
}
