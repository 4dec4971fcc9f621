// The cluster's PKI, minted in Pulumi: the cluster CA and the rest of the material every
// control-plane node shares (service-account key pair, front-proxy CA, etcd CA: the set
// `kubeadm init phase upload-certs` would otherwise carry, kubeadm-certs.md), plus an admin
// client certificate. Because Pulumi holds them, the admin kubeconfig is known without
// SSH-ing to a master, joins pin the CA hash, and a master added at any time reads the
// shared set from the secret store (components/cluster/secretStore.ts) instead of the
// 2 h kubeadm-certs Secret. None of it goes into user data.
//
// Protected (when `protect`): kubeadm cannot rotate a CA ("Kubeadm does not support rotation
// or replacement of CA certificates out of the box", kubeadm-certs.md), so replacing any of
// these keys breaks every join and every Kubernetes resource of the stack. The admin
// certificate itself is not protected: earlyRenewalHours replaces it on purpose, and a new
// one only needs the (protected) CA and admin key.
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
  /** Protect the keys and CA certificates from deletion and replacement (prod). Default false. */
  protect?: boolean;
}

/** The control-plane material every master stages before kubeadm runs, by path under /etc/kubernetes/pki. */
export interface SharedControlPlanePki {
  "ca.crt": string;
  "ca.key": string;
  "sa.key": string;
  "sa.pub": string;
  "front-proxy-ca.crt": string;
  "front-proxy-ca.key": string;
  "etcd/ca.crt": string;
  "etcd/ca.key": string;
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
  /** Secret: what the masters stage from the secret store. */
  public readonly sharedControlPlane: pulumi.Output<SharedControlPlanePki>;

  constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:cluster:ClusterPki", name, {}, opts);
    const parent = { parent: this };
    const kept = { parent: this, protect: args.protect ?? false };
    const caValidity = args.caValidityHours ?? 87600;
    const selfSignedCa = (suffix: string, commonName: string) => {
      const key = new tls.PrivateKey(`${name}-${suffix}`, { algorithm: "RSA", rsaBits: 2048 }, kept);
      const cert = new tls.SelfSignedCert(
        `${name}-${suffix}`,
        {
          privateKeyPem: key.privateKeyPem,
          isCaCertificate: true,
          validityPeriodHours: caValidity,
          allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
          subject: { commonName, organizationalUnit: args.clusterName },
        },
        kept,
      );
      return { key, cert };
    };

    // Common names as kubeadm's own (certs/certlist.go: "kubernetes", "front-proxy-ca", "etcd-ca").
    const { key: caKey, cert: caCert } = selfSignedCa("ca", "kubernetes");
    const frontProxy = selfSignedCa("front-proxy-ca", "front-proxy-ca");
    const etcd = selfSignedCa("etcd-ca", "etcd-ca");
    const sa = new tls.PrivateKey(`${name}-sa`, { algorithm: "RSA", rsaBits: 2048 }, kept);

    const adminKey = new tls.PrivateKey(`${name}-admin`, { algorithm: "RSA", rsaBits: 2048 }, kept);
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
      clientCertArgs(adminCsr.certRequestPem, caKey.privateKeyPem, caCert.certPem, args.adminValidityHours ?? 8760),
      parent,
    );

    this.caCertPem = caCert.certPem;
    this.caKeyPem = pulumi.secret(caKey.privateKeyPem);
    this.caCertHash = caKey.publicKeyPem.apply(caCertHashFromPublicKeyPem);
    this.adminCertPem = adminCert.certPem;
    this.adminKeyPem = pulumi.secret(adminKey.privateKeyPem);
    this.sharedControlPlane = pulumi.secret(
      pulumi
        .all([
          caCert.certPem,
          caKey.privateKeyPem,
          sa.privateKeyPem,
          sa.publicKeyPem,
          frontProxy.cert.certPem,
          frontProxy.key.privateKeyPem,
          etcd.cert.certPem,
          etcd.key.privateKeyPem,
        ])
        .apply(([caCrt, caK, saK, saP, fpCrt, fpK, etcdCrt, etcdK]) => ({
          "ca.crt": caCrt,
          "ca.key": caK,
          "sa.key": saK,
          "sa.pub": saP,
          "front-proxy-ca.crt": fpCrt,
          "front-proxy-ca.key": fpK,
          "etcd/ca.crt": etcdCrt,
          "etcd/ca.key": etcdK,
        })),
    );
    this.registerOutputs({ caCertPem: this.caCertPem, caCertHash: this.caCertHash });
  }
}

/** A client-certificate kubeconfig for the api-server front (the admin's by default). Always a secret (it embeds the client key). */
/** A client certificate's args: signed by the cluster CA, `hours` valid, renewed by `pulumi up` in its last 30 days. */
export function clientCertArgs(
  certRequestPem: pulumi.Input<string>,
  caKeyPem: pulumi.Input<string>,
  caCertPem: pulumi.Input<string>,
  hours: number,
): tls.LocallySignedCertArgs {
  return {
    certRequestPem,
    caPrivateKeyPem: caKeyPem,
    caCertPem,
    validityPeriodHours: hours,
    earlyRenewalHours: 720,
    allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
  };
}

export function adminKubeconfig(args: {
  clusterName: string;
  /** The kubeconfig's user entry. Default `<clusterName>-admin`. */
  userName?: string;
  server: pulumi.Input<string>;
  caCertPem: pulumi.Input<string>;
  clientCertPem: pulumi.Input<string>;
  clientKeyPem: pulumi.Input<string>;
}): pulumi.Output<string> {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const user = args.userName ?? `${args.clusterName}-admin`;
  return pulumi.secret(
    pulumi.all([args.server, args.caCertPem, args.clientCertPem, args.clientKeyPem]).apply(([server, ca, cert, key]) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: args.clusterName, cluster: { server, "certificate-authority-data": b64(ca) } }],
        users: [{ name: user, user: { "client-certificate-data": b64(cert), "client-key-data": b64(key) } }],
        contexts: [{ name: args.clusterName, context: { cluster: args.clusterName, user } }],
        "current-context": args.clusterName,
      }),
    ),
  );
}
