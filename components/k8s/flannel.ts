// The pod network: kube-flannel in vxlan mode (UDP 8472, open between nodes in
// the security groups), which works on any network, Alibaba's VPC included,
// without route tables per node; and, since flannel enforces no NetworkPolicy,
// kube-router's network-policy controller on every node (networkPolicy.ts).
import * as pulumi from "@pulumi/pulumi";
import { ClusterAccess, createObject, inCluster } from "./k8sObjects";
import { FLANNEL_DEFAULT_IMAGES, flannelObjects } from "./flannelObjects";
import { FLANNEL_HEALTHZ_PORT } from "../network/ports";
import { mirrored } from "./images";
import { KUBE_ROUTER_IMAGE, kubeRouterObjects } from "./networkPolicy";

export interface FlannelArgs {
  /** The cluster's provider and readiness gate; every object goes through it. */
  cluster: ClusterAccess;
  /** `platform:network.podCidr`; must equal kubeadm's podSubnet (required; no default). */
  podCidr: string;
  /** Pinned flanneld image. Default FLANNEL_DEFAULT_IMAGES.flannel (upstream's). */
  flannelImage?: string;
  /** Pinned flannel CNI plugin image. Default FLANNEL_DEFAULT_IMAGES.cniPlugin (upstream's). */
  cniPluginImage?: string;
  /** `platform:images.registry`: every image (flannel's two, kube-router's) through the mirror (images.ts). Default none (upstream). */
  imageMirror?: string;
}

export class Flannel extends pulumi.ComponentResource {
  constructor(name: string, args: FlannelArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:Flannel", name, {}, opts);
    const objects = flannelObjects({
      podCidr: args.podCidr,
      flannelImage: mirrored(args.flannelImage ?? FLANNEL_DEFAULT_IMAGES.flannel, args.imageMirror),
      cniPluginImage: mirrored(args.cniPluginImage ?? FLANNEL_DEFAULT_IMAGES.cniPlugin, args.imageMirror),
      healthzPort: FLANNEL_HEALTHZ_PORT,
    });
    // Namespace first, then everything in it.
    const ns = createObject(name, objects[0], inCluster(this, args.cluster));
    for (const obj of objects.slice(1)) createObject(name, obj, inCluster(this, args.cluster, { dependsOn: [ns] }));
    // NetworkPolicy enforcement, in kube-system (which exists from kubeadm init on).
    for (const obj of kubeRouterObjects(mirrored(KUBE_ROUTER_IMAGE, args.imageMirror))) createObject(name, obj, inCluster(this, args.cluster));
    this.registerOutputs({});
  }
}
