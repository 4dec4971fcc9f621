// The port table is what the security groups, HAProxy, kubeadm and flannel
// agree on: a wrong number here is a cluster whose nodes cannot talk.
import { clusterIngressRules } from "../../components/network/network";
import * as ports from "../../components/network/ports";

describe("ports", () => {
  it("holds the upstream defaults the platform relies on", () => {
    expect(ports.API_SERVER_PORT).toBe(6443);
    expect([ports.ETCD_CLIENT_PORT, ports.ETCD_PEER_PORT]).toEqual([2379, 2380]);
    expect(ports.KUBELET_PORT).toBe(10250);
    expect(ports.NODE_PORT_RANGE).toEqual({ from: 30000, to: 32767 });
    expect(ports.FLANNEL_VXLAN_PORT).toBe(8472);
    expect(ports.SLB_HEALTH_CHECK_CIDR).toBe("100.64.0.0/10");
  });

  it("gives each number one name", () => {
    const numbers = Object.entries(ports).filter(([, v]) => typeof v === "number");
    const seen = new Map<number, string>();
    for (const [name, n] of numbers) {
      expect([name, seen.get(n as number)]).toEqual([name, undefined]);
      seen.set(n as number, name);
    }
  });

  it("keeps the ingress NodePorts inside the NodePort range, and host-network ports clear of each other", () => {
    for (const p of [ports.INGRESS_HTTP_NODE_PORT, ports.INGRESS_HTTPS_NODE_PORT]) {
      expect(p).toBeGreaterThanOrEqual(ports.NODE_PORT_RANGE.from);
      expect(p).toBeLessThanOrEqual(ports.NODE_PORT_RANGE.to);
    }
    expect(ports.NODE_HOST_PORTS[ports.FLANNEL_HEALTHZ_PORT]).toBeUndefined();
    expect(ports.NODE_HOST_PORTS[ports.API_SERVER_PORT]).toBe("kube-apiserver");
  });

  it("is what the security-group table opens", () => {
    const rules = clusterIngressRules("10.40.0.0/16");
    const ranges = (group: string, protocol: string) => rules.filter((r) => r.group === group && r.protocol === protocol).map((r) => r.portRange);
    // The stats page (9000) is off by default and, when on, opened by ApiServerFront from its own subnets only.
    expect(ranges("front", "tcp")).toEqual(["6443/6443", "8081/8081"]);
    expect(new Set(ranges("masters", "tcp"))).toEqual(new Set(["6443/6443", "2379/2380", "10250/10250", "9100/9100"]));
    expect(new Set(ranges("workers", "tcp"))).toEqual(new Set(["10250/10250", "9100/9100", "30000/32767"]));
    expect(new Set(ranges("workers", "udp"))).toEqual(new Set(["8472/8472"]));
    expect(ports.portRange(ports.NODE_PORT_RANGE.from, ports.NODE_PORT_RANGE.to)).toBe("30000/32767");
  });
});
