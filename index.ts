// One stack = one cluster. Pulumi calls the exported function: it loads and
// validates the stack's config (throwing before any resource is registered),
// composes the components and returns the stack outputs. The offline preview
// calls the very same function under the SDK's mock runtime.
import { loadStackConfig } from "./components/config";
import { Network } from "./components/network";

export = async () => {
  const config = loadStackConfig();
  const tags = { "platform:cluster": config.stack, "platform:env": config.env, "managed-by": "pulumi" };

  const network = new Network(config.stack, {
    clusterName: config.stack,
    vpcCidr: config.network.vpcCidr,
    zones: config.network.zones,
    natBandwidthMbps: config.network.natBandwidthMbps,
    tags,
  });

  return {
    vpcId: network.vpcId,
    vpcCidr: config.network.vpcCidr,
    egressIp: network.egressIp,
  };
};
