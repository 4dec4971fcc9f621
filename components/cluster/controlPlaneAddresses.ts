// Fixed private addresses of a cluster's control plane. Masters, the two
// HAProxy VMs and the api-server SLB get addresses computed from the vswitch
// ranges, so the HAProxy config and the kubeadm endpoint never churn when the
// rest of the cluster changes. The first 50 addresses of each vswitch are kept
// for them; DHCP-assigned workers live above (Alibaba reserves the first and
// last three addresses of a vswitch).
import { nthAddress, parseCidr, size } from "../../policies/rules/cidr";

/** Offset of the first master inside its vswitch; masters i, i+zones, ... stack upwards. */
export const MASTER_OFFSET = 10;
export const HAPROXY_OFFSET = 30;
export const API_SLB_OFFSET = 40;
/** Addresses below this offset are never handed out dynamically. */
export const RESERVED_ADDRESSES = 50;

export interface ControlPlaneAddresses {
  /** One per master, master i in zone i mod zones. */
  masters: { zoneIndex: number; ip: string }[];
  /** Two HAProxy VMs, in different zones when there are two or more. */
  haproxies: { zoneIndex: number; ip: string }[];
  /** The internal SLB's address, in the first vswitch. */
  apiServerSlb: string;
}

/** The CIDRs of the vswitches the two HAProxy VMs sit in (one when there is one zone): the front's own subnets. */
export function frontSubnets(vswitchCidrs: string[]): string[] {
  return [...new Set([0, 1].map((i) => vswitchCidrs[i % vswitchCidrs.length]))];
}

export function controlPlaneAddresses(vswitchCidrs: string[], masterCount: number): ControlPlaneAddresses {
  if (vswitchCidrs.length === 0) throw new Error("controlPlaneAddresses: need at least one vswitch");
  if (!Number.isInteger(masterCount) || masterCount < 1) throw new Error(`controlPlaneAddresses: masterCount must be >= 1, got ${masterCount}`);
  const zones = vswitchCidrs.length;
  const perZone = Math.ceil(masterCount / zones);
  if (MASTER_OFFSET + perZone > HAPROXY_OFFSET) throw new Error(`controlPlaneAddresses: ${masterCount} masters do not fit in ${zones} zones`);
  for (const c of vswitchCidrs) {
    if (size(parseCidr(c)) < RESERVED_ADDRESSES * 2) throw new Error(`controlPlaneAddresses: vswitch ${c} is too small (need at least /25)`);
  }
  const masters = Array.from({ length: masterCount }, (_, i) => {
    const zoneIndex = i % zones;
    return { zoneIndex, ip: nthAddress(vswitchCidrs[zoneIndex], MASTER_OFFSET + Math.floor(i / zones)) };
  });
  const haproxies = [0, 1].map((i) => {
    const zoneIndex = i % zones;
    return { zoneIndex, ip: nthAddress(vswitchCidrs[zoneIndex], HAPROXY_OFFSET + Math.floor(i / zones)) };
  });
  return { masters, haproxies, apiServerSlb: nthAddress(vswitchCidrs[0], API_SLB_OFFSET) };
}
