// Container logs: fluent-bit on every node (masters and tainted pools too),
// enriching each record with pod, namespace, workspace and cluster, shipped to
// Elasticsearch or Kafka per `platform:logging`. The output password lives in
// a Kubernetes Secret and reaches the pods as an env var, never in Helm values
// (which Helm stores in plain text in its release Secret).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterAccess, helmRelease, inCluster } from "./k8sObjects";
import { FLUENT_BIT_CHART, fluentBitValues, LogOutput, OUTPUT_PASSWORD_KEY } from "./fluentBitValues";

/** The Secret holding the output password (key `password`). */
export const OUTPUT_CREDENTIALS_SECRET = "fluent-bit-output-credentials";

export interface LoggingArgs {
  /** The cluster's provider and readiness gate; every object goes through it. */
  cluster: ClusterAccess;
  /** Stack (cluster) name, stamped on every record as `cluster`. */
  clusterName: string;
  /** Where logs go: `platform:logging`, passed whole (required; no default). */
  output: LogOutput;
  /**
   * The password of `output.user` (`platform:loggingPassword`, a secret).
   * Required when `output.user` is set; default none (no credentials Secret). Note: fluent-bit reads it at start; after a
   * rotation, `kubectl -n logging rollout restart daemonset/fluent-bit`.
   */
  password?: pulumi.Input<string>;
  /** Chart version, default FLUENT_BIT_CHART.version. */
  chartVersion?: string;
  /** `platform:images.registry`: images through the mirror. Default none (upstream registries). */
  imageMirror?: string;
}

export class Logging extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  public readonly namespace: string = FLUENT_BIT_CHART.namespace;

  constructor(name: string, args: LoggingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:Logging", name, {}, opts);
    const withUser = args.output.user !== undefined;
    if (withUser && args.password === undefined) {
      throw new pulumi.ResourceError(`Logging ${name}: password is required when output.user is set (platform:loggingPassword)`, this);
    }

    // Our own Namespace: the credentials Secret must exist before the release's pods start.
    const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: this.namespace } }, inCluster(this, args.cluster));
    const deps: pulumi.Resource[] = [ns];
    if (withUser) {
      deps.push(
        new k8s.core.v1.Secret(
          `${name}-output-credentials`,
          {
            metadata: { name: OUTPUT_CREDENTIALS_SECRET, namespace: this.namespace },
            type: "Opaque",
            stringData: { [OUTPUT_PASSWORD_KEY]: pulumi.secret(args.password!) },
          },
          inCluster(this, args.cluster, { dependsOn: [ns] }),
        ),
      );
    }

    this.release = helmRelease(
      `${name}-fluent-bit`,
      {
        chart: FLUENT_BIT_CHART,
        version: args.chartVersion,
        createNamespace: false,
        atomic: true,
        timeout: 600,
        values: fluentBitValues({
          clusterName: args.clusterName,
          output: args.output,
          passwordSecretName: withUser ? OUTPUT_CREDENTIALS_SECRET : undefined,
          imageMirror: args.imageMirror,
        }),
      },
      inCluster(this, args.cluster, { dependsOn: deps }),
    );
    this.registerOutputs({});
  }
}
