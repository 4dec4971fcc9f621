// The readiness gate: a resource that is created only once the api-server
// answers `GET /readyz` through the front, verified against the cluster CA.
// Everything inside the cluster (flannel, ingress, apps) depends on it, so
// `pulumi up` does not throw Kubernetes objects at a cluster that is still booting.
import * as pulumi from "@pulumi/pulumi";

export interface WaitForApiServerArgs {
  /** e.g. https://10.40.0.40:6443/readyz */
  url: string;
  /** PEM of the cluster CA; the api-server's certificate must chain to it. */
  caPem: string;
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs: number;
}

/**
 * Polls until the api-server answers 200, or throws after the timeout with the
 * last thing that went wrong (refused, TLS, HTTP status), so the error says why.
 * Self-contained (requires inside) because the dynamic provider serializes it.
 */
export async function waitForApiServer(args: WaitForApiServerArgs): Promise<{ attempts: number; elapsedMs: number }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const https = require("https") as typeof import("https");
  const started = Date.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const last = await new Promise<string>((resolve) => {
      const req = https.get(args.url, { ca: args.caPem, timeout: Math.min(5000, args.timeoutMs), servername: "kubernetes" }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? "ok" : `HTTP ${res.statusCode}`);
      });
      req.on("timeout", () => req.destroy(new Error("request timed out")));
      req.on("error", (e: Error) => resolve(e.message));
    });
    const elapsedMs = Date.now() - started;
    if (last === "ok") return { attempts, elapsedMs };
    if (elapsedMs + args.intervalMs > args.timeoutMs) {
      throw new Error(
        `api-server not ready: ${args.url} did not answer 200 within ${Math.round(args.timeoutMs / 1000)}s (${attempts} attempts; last: ${last}). ` +
          "Check the nodes' /var/log/k8s-bootstrap.log and the HAProxy stats page.",
      );
    }
    await new Promise((r) => setTimeout(r, args.intervalMs));
  }
}

const readinessProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { url: string; caPem: string; timeoutSeconds: number }) {
    const r = await waitForApiServer({ url: inputs.url, caPem: inputs.caPem, timeoutMs: inputs.timeoutSeconds * 1000, intervalMs: 10_000 });
    return { id: `${inputs.url}`, outs: { ...inputs, attempts: r.attempts } };
  },
  async diff(_id: string, olds: { url: string; caPem: string }, news: { url: string; caPem: string }) {
    // Re-check only when the endpoint or CA changes; otherwise the gate stays open.
    const replaces = olds.url !== news.url || olds.caPem !== news.caPem ? ["url"] : [];
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
};

export interface ApiServerReadinessArgs {
  /** `host:port` of the front. */
  endpoint: pulumi.Input<string>;
  caCertPem: pulumi.Input<string>;
  /** Default 1800 s: first boot installs packages, pulls images and runs kubeadm init. */
  timeoutSeconds?: number;
}

export class ApiServerReadiness extends pulumi.dynamic.Resource {
  constructor(name: string, args: ApiServerReadinessArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      readinessProvider,
      name,
      {
        url: pulumi.interpolate`https://${args.endpoint}/readyz`,
        caPem: args.caCertPem,
        timeoutSeconds: args.timeoutSeconds ?? 1800,
        attempts: undefined,
      },
      opts,
      "cluster",
      "ApiServerReadiness",
    );
  }
}
