// The cluster's PKI, minted in Pulumi: the cluster CA (kubeadm adopts it on the
// first master) and an admin client certificate. Because Pulumi holds both, the
// admin kubeconfig is known without SSH-ing to a master, and joins pin the CA hash.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { caCertHashFromPublicKeyPem } from "./kubeadm";

export interface ClusterPkiArgs {
  /** Cluster name; the CA's common name and the kubeconfig's context. */
  clusterName: string;
  /** CA lifetime. Default 10 years, as kubeadm's own CA. */
  caValidityHours?: number;
  /**
   * Admin certificate lifetime. Default one year; renewed by `pulumi up` within
   * the last 30 days (earlyRenewalHours), so a routine release keeps it fresh.
   */
  adminValidityHours?: number;
}

export class ClusterPki extends pulumi.ComponentResource {
  public readonly caCertPem: pulumi.Output<string>;
  /** Secret. */
  public readonly caKeyPem: pulumi.Output<string>;
  /** `sha256:<hex>` of the CA public key, as `kubeadm join --discovery-token-ca-cert-hash` wants. */
  public readonly caCertHash: pulumi.Output<string>;
  public readonly adminCertPem: pulumi.Output<string>;
  /** Secret. */
  public readonly adminKeyPem: pulumi.Output<string>;

  constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:cluster:ClusterPki", name, {}, opts);
    const parent = { parent: this };

    const caKey = new tls.PrivateKey(`${name}-ca`, { algorithm: "RSA", rsaBits: 2048 }, parent);
    const caCert = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        isCaCertificate: true,
        validityPeriodHours: args.caValidityHours ?? 87600,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
        subject: { commonName: "kubernetes", organizationalUnit: args.clusterName },
      },
      parent,
    );

    const adminKey = new tls.PrivateKey(`${name}-admin`, { algorithm: "RSA", rsaBits: 2048 }, parent);
    const adminCsr = new tls.CertRequest(
      `${name}-admin`,
      {
        privateKeyPem: adminKey.privateKeyPem,
        // kubeadm (1.29+) binds this group to cluster-admin; unlike system:masters it
        // can be revoked by deleting one ClusterRoleBinding.
        subject: { commonName: `pulumi-${args.clusterName}-admin`, organization: "kubeadm:cluster-admins" },
      },
      parent,
    );
    const adminCert = new tls.LocallySignedCert(
      `${name}-admin`,
      {
        certRequestPem: adminCsr.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: caCert.certPem,
        validityPeriodHours: args.adminValidityHours ?? 8760,
        earlyRenewalHours: 720,
        allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
      },
      parent,
    );

    this.caCertPem = caCert.certPem;
    this.caKeyPem = pulumi.secret(caKey.privateKeyPem);
    this.caCertHash = caKey.publicKeyPem.apply(caCertHashFromPublicKeyPem);
    this.adminCertPem = adminCert.certPem;
    this.adminKeyPem = pulumi.secret(adminKey.privateKeyPem);
    this.registerOutputs({ caCertPem: this.caCertPem, caCertHash: this.caCertHash });
  }
}

/** The admin kubeconfig for the api-server front. Always a secret (it embeds the client key). */
export function adminKubeconfig(args: {
  clusterName: string;
  server: pulumi.Input<string>;
  caCertPem: pulumi.Input<string>;
  clientCertPem: pulumi.Input<string>;
  clientKeyPem: pulumi.Input<string>;
}): pulumi.Output<string> {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return pulumi.secret(
    pulumi.all([args.server, args.caCertPem, args.clientCertPem, args.clientKeyPem]).apply(([server, ca, cert, key]) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: args.clusterName, cluster: { server, "certificate-authority-data": b64(ca) } }],
        users: [{ name: `${args.clusterName}-admin`, user: { "client-certificate-data": b64(cert), "client-key-data": b64(key) } }],
        contexts: [{ name: args.clusterName, context: { cluster: args.clusterName, user: `${args.clusterName}-admin` } }],
        "current-context": args.clusterName,
      }),
    ),
  );
}
