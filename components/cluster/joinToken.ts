// The workers' join token: a kubeadm bootstrap token the program creates as a
// `bootstrap-token-<id>` Secret in kube-system (the format kubeadm's `token create` writes,
// bootstraptoken/v1 types.go; "This token is and should be short-lived"), expiring 24 h after
// it was created. The token is keyed on the set of worker names: adding or removing a node
// creates a new token (and Secret) for the new VMs' user data, and the old one is deleted.
// Running nodes never need it again (ignoreChanges userData). A worker whose VM is created
// more than 24 h after the node set last changed needs a `pulumi up` that changes the set
// (docs/trust-model.md; docs/runbooks/replace-a-node.md). The Secret cannot exist before the cluster does: on the first
// bring-up the workers retry their join until the program has created it after the
// readiness gate.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** Hours a worker token is valid: kubeadm's default TTL. */
export const JOIN_TOKEN_TTL_HOURS = 24;

interface ExpiryInputs {
  ttlHours: number;
  nodes: string;
}

/** The expiration, computed once at create time and kept until the node set changes (then replaced). */
const expiryProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ExpiryInputs) {
    const expiration = new Date(Date.now() + inputs.ttlHours * 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    return { id: expiration, outs: { ...inputs, expiration } };
  },
  async diff(_id: string, olds: ExpiryInputs, news: ExpiryInputs) {
    const changed = olds.nodes !== news.nodes || olds.ttlHours !== news.ttlHours;
    return { changes: changed, replaces: changed ? ["nodes"] : [], deleteBeforeReplace: false };
  },
};

class TokenExpiry extends pulumi.dynamic.Resource {
  public readonly expiration!: pulumi.Output<string>;
  constructor(name: string, args: ExpiryInputs, opts?: pulumi.CustomResourceOptions) {
    super(expiryProvider, name, { ...args, expiration: undefined }, opts, "cluster", "JoinTokenExpiry");
  }
}

export interface JoinTokenArgs {
  /** Every worker's node name; the token changes with this set. */
  nodeNames: string[];
  /** The cluster's provider: the token Secret is created through it. */
  provider: k8s.Provider;
  /** The cluster gate (readiness.ts): the token is minted only once the api-server and every master are Ready. */
  readiness: pulumi.Resource;
}

export class JoinToken extends pulumi.ComponentResource {
  /** `<id>.<secret>` (secret). */
  public readonly token: pulumi.Output<string>;
  public readonly expiration: pulumi.Output<string>;

  constructor(name: string, args: JoinTokenArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:cluster:JoinToken", name, {}, opts);
    const nodes = [...args.nodeNames].sort().join(",");
    const keepers = { nodes };
    const parent = { parent: this };
    const id = new random.RandomString(`${name}-id`, { length: 6, special: false, upper: false, keepers }, parent);
    const secret = new random.RandomPassword(`${name}-secret`, { length: 16, special: false, upper: false, keepers }, parent);
    const expiry = new TokenExpiry(`${name}-expiry`, { ttlHours: JOIN_TOKEN_TTL_HOURS, nodes }, parent);
    this.token = pulumi.secret(pulumi.interpolate`${id.result}.${secret.result}`);
    this.expiration = expiry.expiration;
    new k8s.core.v1.Secret(
      `${name}-secret`,
      {
        metadata: { name: pulumi.interpolate`bootstrap-token-${id.result}`, namespace: "kube-system" },
        type: "bootstrap.kubernetes.io/token",
        stringData: {
          "token-id": id.result,
          "token-secret": secret.result,
          expiration: expiry.expiration,
          description: "worker joins (Pulumi, joinToken.ts)",
          "usage-bootstrap-authentication": "true",
          "usage-bootstrap-signing": "true",
          "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
        },
      },
      { parent: this, provider: args.provider, dependsOn: [args.readiness], deleteBeforeReplace: true },
    );
    this.registerOutputs({ expiration: this.expiration });
  }
}
