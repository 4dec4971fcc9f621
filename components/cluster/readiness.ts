// The readiness gates: dynamic resources that poll the api-server through the front,
// verified against the cluster CA and authenticated with the admin client certificate.
//
// - The cluster gate (`${name}-readiness`) opens once `GET /readyz` answers 200 and every
//   master, by the node name the program gives it, is Ready in `GET /api/v1/nodes`. A master
//   that is not Ready within the timeout fails `pulumi up` with its name and where to look;
//   one api-server answering is not enough (a master whose join failed would stay a dead VM).
//   Everything inside the cluster (flannel, ingress, apps) depends on it.
// - The workers' report (`${name}-nodes-joined`) runs the same check after the worker pools:
//   workers join with the token the masters' k8s-worker-token.timer keeps in KMS (workerToken.ts),
//   so they can only be counted after the masters run. It waits a while for them, then reports workersJoined/workersExpected and the
//   missing names as outputs and a message; workers short are not an error (a pool can be
//   healthy with one VM still booting, and failing would block every later update), but the
//   stack output says so.
//
// Both re-run their check as an in-place update when the master set or the expected workers
// change (a scale-out edits a count), so nothing that depends on them is replaced; only a new
// endpoint or CA replaces them.
import * as pulumi from "@pulumi/pulumi";
import { nodeName } from "./nodeName";

export interface ClusterCheckArgs {
  /** e.g. https://10.40.0.40:6443 (no path). */
  server: string;
  /** PEM of the cluster CA; the api-server's certificate must chain to it. */
  caPem: string;
  /** Admin client certificate (PEM): `/api/v1/nodes` needs an authenticated user. */
  clientCertPem: string;
  /** Its private key (PEM). */
  clientKeyPem: string;
  /** Node names of the masters; each must be Ready. */
  masters: string[];
  /** Node names of the workers expected to join; counted, not required. */
  workers: string[];
  /** Give up on the masters after this long. */
  timeoutMs: number;
  /** Once the masters are Ready, keep waiting up to this long for the workers (0: count once). */
  workerWaitMs: number;
  /** Pause between attempts. */
  intervalMs: number;
}

export interface ClusterCheckResult {
  attempts: number;
  elapsedMs: number;
  mastersReady: number;
  mastersExpected: number;
  workersJoined: number;
  workersExpected: number;
  /** Expected workers not Ready (absent or NotReady), sorted. */
  workersMissing: string[];
  /** One line for the stack output and the log. */
  message: string;
}

/**
 * Polls /readyz and /api/v1/nodes until every master is Ready, then counts the workers.
 * Throws after the timeout naming each master that is not Ready and why (absent, NotReady
 * with the kubelet's reason), or the last transport failure (refused, TLS, HTTP status).
 * Self-contained (requires inside) because the dynamic provider serializes it.
 */
export async function checkCluster(args: ClusterCheckArgs): Promise<ClusterCheckResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const https = require("https") as typeof import("https");
  const get = (path: string) =>
    new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
      const req = https.get(
        `${args.server}${path}`,
        {
          ca: args.caPem,
          cert: args.clientCertPem,
          key: args.clientKeyPem,
          timeout: Math.min(5000, Math.max(args.timeoutMs, 1000)),
          // The api-server's certificate always carries the DNS name `kubernetes` (kubeadm).
          servername: "kubernetes",
          headers: { accept: "application/json" },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("timeout", () => req.destroy(new Error("request timed out")));
      req.on("error", (e: Error) => resolve({ error: e.message }));
    });

  interface NodeState {
    ready: boolean;
    why: string;
  }
  const nodeStates = (body: string): Map<string, NodeState> => {
    const list = JSON.parse(body) as {
      items?: { metadata?: { name?: string }; status?: { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] } }[];
    };
    const states = new Map<string, NodeState>();
    for (const item of list.items ?? []) {
      const name = item.metadata?.name;
      if (name === undefined) continue;
      const cond = (item.status?.conditions ?? []).find((c) => c.type === "Ready");
      const ready = cond?.status === "True";
      states.set(name, { ready, why: ready ? "Ready" : `NotReady: ${cond?.reason ?? "no Ready condition"}${cond?.message ? ` (${cond.message})` : ""}` });
    }
    return states;
  };

  const started = Date.now();
  let attempts = 0;
  let last: string;
  let states: Map<string, NodeState> | undefined;
  let mastersReadyAt: number | undefined;
  const notReady = (names: string[], s: Map<string, NodeState>) => names.filter((n) => !s.get(n)?.ready);
  for (;;) {
    attempts++;
    const readyz = await get("/readyz");
    if ("error" in readyz) last = readyz.error;
    else if (readyz.status !== 200) last = `/readyz HTTP ${readyz.status}`;
    else {
      const nodes = await get("/api/v1/nodes");
      if ("error" in nodes) last = nodes.error;
      else if (nodes.status !== 200) last = `/api/v1/nodes HTTP ${nodes.status}`;
      else {
        try {
          states = nodeStates(nodes.body);
          const masters = notReady(args.masters, states);
          const workers = notReady(args.workers, states);
          if (masters.length === 0) {
            mastersReadyAt ??= Date.now();
            // Workers are counted, not required: stop once they are all Ready or their wait is over.
            if (workers.length === 0 || Date.now() - mastersReadyAt + args.intervalMs > args.workerWaitMs) break;
          }
          last = masters.length > 0 ? `masters not Ready: ${masters.join(", ")}` : `workers not Ready: ${workers.join(", ")}`;
        } catch (e) {
          last = `/api/v1/nodes: unreadable answer (${(e as Error).message})`;
        }
      }
    }
    const elapsedMs = Date.now() - started;
    if (elapsedMs + args.intervalMs > args.timeoutMs) {
      // Masters Ready, only workers short: report, do not fail.
      if (states !== undefined && notReady(args.masters, states).length === 0) break;
      const secs = Math.round(args.timeoutMs / 1000);
      const where =
        "Look at /var/log/k8s-bootstrap.log and `journalctl -u k8s-bootstrap -u kubelet` on those masters, " +
        "`kubectl get nodes` with the stack's kubeconfig, and the HAProxy front (`journalctl -u haproxy` on the HAProxy VMs).";
      if (states === undefined) {
        throw new Error(`api-server not ready: ${args.server} did not list its nodes within ${secs}s (${attempts} attempts; last: ${last}). ${where}`);
      }
      const s = states;
      const detail = notReady(args.masters, s).map((n) => `${n} (${s.get(n)?.why ?? "not registered"})`);
      throw new Error(`masters not Ready within ${secs}s: ${detail.join(", ")} (${attempts} attempts; last: ${last}). ${where}`);
    }
    await new Promise((r) => setTimeout(r, args.intervalMs));
  }

  const s = states ?? new Map<string, NodeState>();
  const workersMissing = notReady(args.workers, s).sort();
  const workersJoined = args.workers.length - workersMissing.length;
  const base = `${args.masters.length}/${args.masters.length} masters Ready, ${workersJoined}/${args.workers.length} workers joined`;
  const message =
    workersMissing.length === 0
      ? base
      : `${base}; not Ready: ${workersMissing.join(", ")} (look at /var/log/k8s-bootstrap.log and \`journalctl -u kubelet\` on them)`;
  return {
    attempts,
    elapsedMs: Date.now() - started,
    mastersReady: args.masters.length,
    mastersExpected: args.masters.length,
    workersJoined,
    workersExpected: args.workers.length,
    workersMissing,
    message,
  };
}

/** What the dynamic resource stores as inputs; the client credentials are secrets. */
export interface ReadinessInputs {
  server: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  masters: string[];
  /** Pool name -> expected count; worker i of pool p is `<clusterName>-<p>-<i>` (nodePool.ts). A count, so a scale-out diff is one line. */
  workerPools: Record<string, number>;
  clusterName: string;
  timeoutSeconds: number;
  workerWaitSeconds: number;
}

/** The expected workers' node names, pool by pool. */
export function workerNames(clusterName: string, pools: Record<string, number>): string[] {
  return Object.entries(pools).flatMap(([pool, count]) => Array.from({ length: count }, (_, i) => nodeName(clusterName, pool, i)));
}

/**
 * The provider's diff: a new endpoint or CA is another cluster, so replace; a changed master set
 * or expected workers re-runs the check as an update (dependents stay); nothing else matters.
 */
export function readinessDiff(olds: Partial<ReadinessInputs> & { url?: string }, news: ReadinessInputs): pulumi.dynamic.DiffResult {
  // State from the first gate held `url` (<server>/readyz) instead of `server`.
  const old = { server: olds.server ?? olds.url?.replace(/\/readyz$/, ""), caPem: olds.caPem };
  const replaces = (["server", "caPem"] as const).filter((k) => old[k] !== news[k]);
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const updates = (["masters", "workerPools", "clusterName"] as const).filter((k) => !same(olds[k], news[k]));
  return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
}

async function run(inputs: ReadinessInputs) {
  const r = await checkCluster({
    server: inputs.server,
    caPem: inputs.caPem,
    clientCertPem: inputs.clientCertPem,
    clientKeyPem: inputs.clientKeyPem,
    masters: inputs.masters,
    workers: workerNames(inputs.clusterName, inputs.workerPools),
    timeoutMs: inputs.timeoutSeconds * 1000,
    workerWaitMs: inputs.workerWaitSeconds * 1000,
    intervalMs: 10_000,
  });
  return {
    ...inputs,
    attempts: r.attempts,
    mastersReady: r.mastersReady,
    workersJoined: r.workersJoined,
    workersExpected: r.workersExpected,
    workersMissing: r.workersMissing,
    message: r.message,
  };
}

export const readinessProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ReadinessInputs) {
    return { id: inputs.server, outs: await run(inputs) };
  },
  async update(_id: string, _olds: ReadinessInputs, news: ReadinessInputs) {
    return { outs: await run(news) };
  },
  async diff(_id: string, olds: ReadinessInputs, news: ReadinessInputs) {
    return readinessDiff(olds, news);
  },
};

export interface ApiServerReadinessArgs {
  /** `host:port` of the front. */
  endpoint: pulumi.Input<string>;
  /** The cluster CA (PEM): the api-server's certificate must chain to it. */
  caCertPem: pulumi.Input<string>;
  /** Admin client certificate (PEM); stored as a secret. */
  clientCertPem: pulumi.Input<string>;
  /** Its private key (PEM); stored as a secret. */
  clientKeyPem: pulumi.Input<string>;
  /** Node names of the masters, as the program names them (`<cluster>-master-<i>`). */
  masters: string[];
  /** Cluster (stack) name: the first part of every node name. */
  clusterName: string;
  /** Pool name -> worker count to expect. Default none (the cluster gate). */
  workerPools?: Record<string, number>;
  /** Default 1800 s: first boot installs packages, pulls images and runs kubeadm init. */
  timeoutSeconds?: number;
  /** How long to wait for the workers once the masters are Ready. Default 0 (count once). */
  workerWaitSeconds?: number;
}

export class ApiServerReadiness extends pulumi.dynamic.Resource {
  declare public readonly mastersReady: pulumi.Output<number>;
  declare public readonly workersJoined: pulumi.Output<number>;
  declare public readonly workersExpected: pulumi.Output<number>;
  declare public readonly workersMissing: pulumi.Output<string[]>;
  declare public readonly message: pulumi.Output<string>;

  constructor(name: string, args: ApiServerReadinessArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      readinessProvider,
      name,
      {
        server: pulumi.interpolate`https://${args.endpoint}`,
        caPem: args.caCertPem,
        clientCertPem: pulumi.secret(args.clientCertPem),
        clientKeyPem: pulumi.secret(args.clientKeyPem),
        masters: args.masters,
        clusterName: args.clusterName,
        workerPools: args.workerPools ?? {},
        timeoutSeconds: args.timeoutSeconds ?? 1800,
        workerWaitSeconds: args.workerWaitSeconds ?? 0,
        attempts: undefined,
        mastersReady: undefined,
        workersJoined: undefined,
        workersExpected: undefined,
        workersMissing: undefined,
        message: undefined,
      },
      { ...opts, additionalSecretOutputs: ["clientCertPem", "clientKeyPem"] },
      "cluster",
      "ApiServerReadiness",
    );
  }
}
