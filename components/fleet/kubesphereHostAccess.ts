// The one credential a member issues for its KubeSphere host. The host's
// cluster controller needs cluster-admin on the member (it installs and
// upgrades ks-core there with Helm, kubesphere v4.1.3 pkg/controller/cluster/
// helper.go installKSCoreInMemberCluster), so the credential is a client
// certificate for a user of its own, `kubesphere-host`, signed by the member's
// CA and bound to cluster-admin by its own ClusterRoleBinding. Not the admin
// certificate (group kubeadm:cluster-admins, shared with kubeadm's admin.conf):
// deleting the `kubesphere-host` binding revokes the host's access and nothing
// else (reviews/bootstrap.md item 14). The member exports it as a secret
// output; only the host reads it, through its StackReference host -> member.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { adminKubeconfig, clientCertArgs } from "../cluster/pki";
import { ClusterAccess, inCluster } from "../k8s/k8sObjects";

/** The user (certificate CN) the host is on every member; no organization, so no group binds it. */
export const KUBESPHERE_HOST_USER = "kubesphere-host";
/** The member stack output holding the credential (secret). */
export const HOST_CREDENTIAL_OUTPUT = "kubesphereHostKubeconfig";
/** The member stack output holding its api-server URL. */
export const API_SERVER_OUTPUT = "apiServer";

export interface KubesphereHostAccessArgs {
  /** The member cluster: its provider and readiness gate. */
  cluster: ClusterAccess;
  /** Cluster (stack) name: the kubeconfig's cluster and context name. */
  clusterName: string;
  /** The member's api-server URL, written into the kubeconfig. */
  server: string;
  /** The member's cluster CA, which signs the certificate. */
  caCertPem: pulumi.Input<string>;
  /** Secret. */
  caKeyPem: pulumi.Input<string>;
  /** Certificate lifetime. Default one year, renewed by the member's `pulumi up` in its last 30 days. */
  validityHours?: number;
}

export class KubesphereHostAccess extends pulumi.ComponentResource {
  /** Secret: a kubeconfig for `kubesphere-host` on this member. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The client certificate (not secret): its expiry is alerted on (Monitoring clientCertificates). */
  public readonly certPem: pulumi.Output<string>;

  constructor(name: string, args: KubesphereHostAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:fleet:KubesphereHostAccess", name, {}, opts);
    const key = new tls.PrivateKey(`${name}-key`, { algorithm: "RSA", rsaBits: 2048 }, { parent: this });
    const csr = new tls.CertRequest(`${name}-csr`, { privateKeyPem: key.privateKeyPem, subject: { commonName: KUBESPHERE_HOST_USER } }, { parent: this });
    const cert = new tls.LocallySignedCert(`${name}-cert`, clientCertArgs(csr.certRequestPem, args.caKeyPem, args.caCertPem, args.validityHours ?? 8760), {
      parent: this,
    });
    this.certPem = cert.certPem;
    // The host's own binding: delete it (or this stack's resource) and the host's certificate is worth nothing here.
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-binding`,
      {
        metadata: { name: KUBESPHERE_HOST_USER },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: KUBESPHERE_HOST_USER }],
      },
      inCluster(this, args.cluster),
    );
    this.kubeconfig = adminKubeconfig({
      clusterName: args.clusterName,
      userName: KUBESPHERE_HOST_USER,
      server: args.server,
      caCertPem: args.caCertPem,
      clientCertPem: cert.certPem,
      clientKeyPem: pulumi.secret(key.privateKeyPem),
    });
    this.registerOutputs({});
  }
}
