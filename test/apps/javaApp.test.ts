// The Java apps: what each env injects (APP_ID, ENV, APOLLO_META, IDC,
// JAVA_OPTS), secrets only through Secrets, prod's capacity and rollout
// safety, canaries only when configured, log-tail sidecars, and every object
// checked against the Kubernetes OpenAPI schema. Plans come from the real
// program under the offline mocks, exactly as `npm run preview` runs it.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { javaAppProblems, JavaAppSettings, maxHeapBytes, parseQuantity } from "../../components/apps/javaAppRules";
import type { Plan, PlannedResource } from "../../components/preview/runtime";
import { canaryReplicas, javaAppObjects, logTailCommand, logVolumes } from "../../components/apps/javaAppObjects";
import { dockerConfigJson } from "../../components/apps/namespaceObjects";
import { plan, preValidating } from "../support/offline";
import { validateK8sObject, validateK8sObjects } from "../support/k8sSchema";

const ENV_STACKS = ["dev", "test", "pre", "prod1", "prod2"] as const;
const WEIGHT_CANARY = ['platform:apps.order-service.canary={"tag":"order-service-v2.4.0","weight":10}'];
/** pre's answer to prod's reference (T21) as if pre had validated v2.4.0: the canary is then the program's to build. */
const PRE_RAN_CANARY = () => ({
  stackOutputs: preValidating({
    "order-service": {
      repository: "harbor.livemall.internal/commerce/order-service",
      tags: ["order-service-v2.4.0", "order-service-v2.3.1", "order-service-v2.3.0", "order-service-v2.2.4", "order-service-v2.2.3"],
    },
  }),
});

// ------------------------------------------------------------------ plan helpers

/** Resources the apps create: children of the JavaApp and AppNamespaces components. */
function appResources(p: Plan): PlannedResource[] {
  const parents = new Set(p.resources.filter((r) => r.type === "platform:k8s:JavaApp" || r.type === "platform:k8s:AppNamespaces").map((r) => r.urn));
  return p.resources.filter((r) => r.parent !== undefined && parents.has(r.parent));
}

/** The Kubernetes object a resource applies: its inputs (typed-resource args carry apiVersion and kind). */
function obj(r: PlannedResource): any {
  return r.inputs;
}

function find(p: Plan, kind: string, name: string, namespace?: string): any {
  const found = appResources(p)
    .map(obj)
    .filter((o) => o.kind === kind && o.metadata?.name === name && (namespace === undefined || o.metadata?.namespace === namespace));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0];
}

function resourceOf(p: Plan, kind: string, name: string, namespace: string): PlannedResource {
  const r = appResources(p).filter((x) => obj(x).kind === kind && obj(x).metadata?.name === name && obj(x).metadata?.namespace === namespace);
  if (r.length !== 1) throw new Error(`expected one ${kind} ${namespace}/${name}, found ${r.length}`);
  return r[0];
}

const kinds = (p: Plan): string[] => appResources(p).map((r) => `${obj(r).kind}/${obj(r).metadata.name}`);
const appContainer = (d: any): any => d.spec.template.spec.containers.find((c: any) => c.name === "app");
const envMap = (d: any): Record<string, any> => Object.fromEntries(appContainer(d).env.map((e: any) => [e.name, e]));

function stackApps(stack: string): Record<string, any> {
  // The stack file's apps, read the way the plan read them.
  const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", `Pulumi.${stack}.yaml`), "utf8"));
  return doc.config["platform:apps"];
}

/** Every secret value of a plan, with JSON maps (platform:apolloAccessKeys) opened up to their values. */
function secretStrings(p: Plan): string[] {
  const out: string[] = [];
  for (const s of p.secretValues) {
    out.push(s);
    try {
      const v = JSON.parse(s);
      if (v && typeof v === "object") for (const x of Object.values(v)) if (typeof x === "string") out.push(x);
    } catch {
      // not JSON
    }
  }
  return out.filter((s) => s.length >= 6);
}

// ------------------------------------------------------------------ plans per env

describe.each(ENV_STACKS)("%s: order-service", (stack) => {
  let p: Plan;
  beforeAll(async () => {
    p = await plan(stack);
  });

  it("injects APP_ID, ENV, APOLLO_META, IDC and JAVA_OPTS for this env", () => {
    const apps = stackApps(stack);
    const meta = YAMLValue(stack, "platform:apollo").meta;
    const e = envMap(find(p, "Deployment", "order-service"));
    expect(e.APP_ID).toEqual({ name: "APP_ID", value: "order-service" });
    expect(e.ENV.value).toBe({ dev: "DEV", test: "FAT", pre: "UAT", prod1: "PRO", prod2: "PRO" }[stack]);
    expect(e.APOLLO_META).toEqual({ name: "APOLLO_META", value: meta });
    expect(e.IDC).toEqual({ name: "IDC", value: stack });
    expect(e.JAVA_OPTS).toEqual({ name: "JAVA_OPTS", value: apps["order-service"].javaOpts });
  });

  it("puts no secret in a plain env value; the Apollo access key comes from a Secret", () => {
    const secrets = secretStrings(p);
    expect(secrets.length).toBeGreaterThan(0);
    const deployments = appResources(p)
      .map(obj)
      .filter((o) => o.kind === "Deployment");
    expect(deployments.length).toBeGreaterThanOrEqual(3);
    for (const d of deployments) {
      for (const c of [...d.spec.template.spec.containers, ...(d.spec.template.spec.initContainers ?? [])]) {
        for (const e of c.env ?? []) {
          if (e.value === undefined) continue;
          for (const s of secrets) expect(String(e.value)).not.toContain(s);
        }
      }
      const key = envMap(d).APOLLO_ACCESS_KEY_SECRET;
      expect(key.value).toBeUndefined();
      expect(key.valueFrom.secretKeyRef).toEqual({ name: `${d.metadata.labels["app.kubernetes.io/name"]}-apollo`, key: "access-key-secret" });
      // ...and that Secret exists in the app's namespace, its data secret in the plan.
      const ref = resourceOf(p, "Secret", key.valueFrom.secretKeyRef.name, d.metadata.namespace);
      expect(ref.secretInputs).toContain("stringData");
    }
  });

  it("has a Harbor pull Secret in every app namespace, its data secret, and every Deployment uses it", () => {
    const namespaces = new Set(Object.values(stackApps(stack)).map((a: any) => a.namespace));
    expect(namespaces.size).toBeGreaterThan(0);
    for (const ns of namespaces) {
      expect(find(p, "Namespace", ns)).toBeDefined();
      const r = resourceOf(p, "Secret", "harbor-pull", ns);
      expect(obj(r).type).toBe("kubernetes.io/dockerconfigjson");
      expect(r.secretInputs).toEqual(["stringData"]);
      expect(obj(r).stringData).toBe("[secret]");
    }
    for (const [name, a] of Object.entries(stackApps(stack))) {
      const d = find(p, "Deployment", name, (a as any).namespace);
      expect(d.spec.template.spec.imagePullSecrets).toEqual([{ name: "harbor-pull" }]);
      // The Deployment waits for its namespace's pull Secret, so the first pull cannot fail for want of it.
      const dep = resourceOf(p, "Deployment", name, (a as any).namespace);
      expect(dep.dependsOn).toContain(resourceOf(p, "Secret", "harbor-pull", (a as any).namespace).urn);
    }
  });

  it("creates each shared namespace exactly once", () => {
    const ns = appResources(p)
      .map(obj)
      .filter((o) => o.kind === "Namespace")
      .map((o) => o.metadata.name);
    expect(ns.sort()).toEqual(["commerce", "scm"]);
  });

  it("runs the configured image tag from Harbor", () => {
    const a = stackApps(stack)["order-service"];
    expect(appContainer(find(p, "Deployment", "order-service")).image).toBe(`${a.image}:${a.tag}`);
  });
});

function YAMLValue(stack: string, key: string): any {
  return YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", `Pulumi.${stack}.yaml`), "utf8")).config[key];
}

// ------------------------------------------------------------------ prod1

describe("prod1 order-service: capacity and rollout safety", () => {
  let p: Plan;
  let d: any;
  beforeAll(async () => {
    p = await plan("prod1");
    d = find(p, "Deployment", "order-service", "commerce");
  });

  it("runs at least 20 replicas with -Xmx4g, image <repo>:<tag>", () => {
    expect(d.spec.replicas).toBeGreaterThanOrEqual(20);
    expect(envMap(d).JAVA_OPTS.value).toMatch(/(^|\s)-Xmx4g(\s|$)/);
    expect(appContainer(d).image).toBe("harbor.livemall.internal/commerce/order-service:order-service-v2.3.0");
    expect(d.metadata.labels["app.kubernetes.io/version"]).toBe("order-service-v2.3.0");
    expect(d.metadata.labels["platform/env"]).toBe("prod1");
  });

  it("keeps the last 5 revisions and never drops below capacity during a rollout", () => {
    expect(d.spec.revisionHistoryLimit).toBe(5);
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } });
  });

  it("probes the health path on the app port, with a startup budget for the JVM", () => {
    const c = appContainer(d);
    expect(c.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      expect(c[probe].httpGet).toEqual({ path: "/actuator/health", port: "http", scheme: "HTTP" });
    }
    expect(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds).toBeGreaterThanOrEqual(120);
  });

  it("drains before stopping: preStop sleep shorter than the grace period", () => {
    const c = appContainer(d);
    const sleep = c.lifecycle.preStop.sleep.seconds;
    expect(sleep).toBeGreaterThanOrEqual(10);
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(sleep + 20);
  });

  it("requests the configured resources and limits memory", () => {
    expect(appContainer(d).resources).toEqual({ requests: { cpu: "4", memory: "6Gi" }, limits: { memory: "6Gi" } });
  });

  it("spreads across zones and hosts", () => {
    const keys = d.spec.template.spec.topologySpreadConstraints.map((t: any) => t.topologyKey);
    expect(keys).toEqual(["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
  });

  it("has a PDB keeping ~90% through a drain and an HPA from the config", () => {
    const pdb = find(p, "PodDisruptionBudget", "order-service", "commerce");
    expect(pdb.spec.maxUnavailable).toBe("10%");
    expect(pdb.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
    const hpa = find(p, "HorizontalPodAutoscaler", "order-service", "commerce");
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.spec).toMatchObject({ scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "order-service" }, minReplicas: 24, maxReplicas: 60 });
    expect(hpa.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } }]);
    // replicas is the floor pulumi up sets: within the HPA's range.
    expect(d.spec.replicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
    expect(d.spec.replicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
  });

  it("has a ClusterIP Service 80 -> http and an nginx Ingress for the configured host", () => {
    const svc = find(p, "Service", "order-service", "commerce");
    expect(svc.spec.type).toBe("ClusterIP");
    expect(svc.spec.ports).toEqual([{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    const ing = find(p, "Ingress", "order-service", "commerce");
    expect(ing.spec.ingressClassName).toBe("nginx");
    expect(ing.spec.rules).toEqual([
      {
        host: "order.livemall.com",
        http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "order-service", port: { name: "http" } } } }] },
      },
    ]);
    expect(ing.metadata.annotations).toBeUndefined();
  });

  it("has no HPA for apps without autoscale", () => {
    expect(kinds(p)).not.toContain("HorizontalPodAutoscaler/distribution-center");
  });
});

// ------------------------------------------------------------------ canary

describe("canary objects only when configured", () => {
  it("pre has a header canary: Deployment, Service, its own PDB and canary Ingress", async () => {
    const p = await plan("pre");
    const d = find(p, "Deployment", "order-service-canary", "commerce");
    expect(d.spec.replicas).toBe(1);
    expect(appContainer(d).image).toBe("harbor.livemall.internal/commerce/order-service:order-service-v2.4.0-rc.1");
    expect(d.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "order-service", "platform/track": "canary" });
    // Stable and canary Services select disjoint pods.
    expect(find(p, "Service", "order-service", "commerce").spec.selector["platform/track"]).toBe("stable");
    expect(find(p, "Service", "order-service-canary", "commerce").spec.selector["platform/track"]).toBe("canary");
    const ing = find(p, "Ingress", "order-service-canary", "commerce");
    expect(ing.metadata.annotations).toEqual({
      "nginx.ingress.kubernetes.io/canary": "true",
      "nginx.ingress.kubernetes.io/canary-by-header": "X-Canary",
      "nginx.ingress.kubernetes.io/canary-by-header-value": "always",
    });
    expect(ing.spec.rules[0].host).toBe("order.pre.livemall.internal");
    expect(ing.spec.rules[0].http.paths[0].backend.service.name).toBe("order-service-canary");
    // Only order-service has one.
    expect(
      kinds(p)
        .filter((k) => k.includes("-canary"))
        .sort(),
    ).toEqual(["Deployment/order-service-canary", "Ingress/order-service-canary", "PodDisruptionBudget/order-service-canary", "Service/order-service-canary"]);
  });

  it("prod1 has none", async () => {
    const p = await plan("prod1");
    expect(kinds(p).filter((k) => k.includes("canary"))).toEqual([]);
    for (const o of appResources(p).map(obj)) expect(JSON.stringify(o.metadata.annotations ?? {})).not.toContain("canary");
  });

  it("a -c override adding a weight canary to prod1 creates it with the weight annotation", async () => {
    const p = await plan("prod1", WEIGHT_CANARY, PRE_RAN_CANARY());
    const d = find(p, "Deployment", "order-service-canary", "commerce");
    expect(appContainer(d).image).toBe("harbor.livemall.internal/commerce/order-service:order-service-v2.4.0");
    expect(d.spec.replicas).toBe(3); // 10% of 24
    expect(find(p, "Service", "order-service-canary", "commerce")).toBeDefined();
    const ing = find(p, "Ingress", "order-service-canary", "commerce");
    expect(ing.metadata.annotations).toEqual({ "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "10" });
    // The stable Ingress stays unannotated, and the canary gets no PDB or HPA of its own.
    expect(find(p, "Ingress", "order-service", "commerce").metadata.annotations).toBeUndefined();
    expect(kinds(p)).not.toContain("HorizontalPodAutoscaler/order-service-canary");
  });
});

// ------------------------------------------------------------------ log sidecars

describe("supply-chain's log files", () => {
  it("get one tail sidecar each over a shared emptyDir at the files' directory", async () => {
    const p = await plan("prod1");
    const spec = find(p, "Deployment", "supply-chain", "scm").spec.template.spec;
    const app = spec.containers.find((c: any) => c.name === "app");
    const files = stackApps("prod1")["supply-chain"].logFiles as string[];
    expect(files.length).toBe(2);
    // The tracing agent's volume rides along (docs/tracing.md); its init container runs before the tails.
    expect(spec.volumes).toEqual([
      { name: "logs-0", emptyDir: {} },
      { name: "skywalking-agent", emptyDir: {} },
    ]);
    expect(app.volumeMounts).toEqual([
      { name: "logs-0", mountPath: "/opt/app/logs" },
      { name: "skywalking-agent", mountPath: "/skywalking", readOnly: true },
    ]);
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(["skywalking-agent", "log-tail-0", "log-tail-1"]);
    const sidecars = spec.initContainers.filter((c: any) => c.name.startsWith("log-tail-"));
    expect(sidecars.map((c: any) => c.command)).toEqual(files.map((f) => ["tail", "-n", "+1", "-F", f]));
    for (const c of sidecars) {
      // Through the stack's mirror (platform:images.registry), pinned.
      expect(c.image).toBe("mirror.livemall.internal/docker.io/library/busybox:1.36.1");
      expect(c.image).toMatch(/\/busybox:\d+\.\d+\.\d+$/);
      expect(c.restartPolicy).toBe("Always"); // native sidecar: outlives the app's last log line
      expect(c.volumeMounts).toEqual([{ name: "logs-0", mountPath: "/opt/app/logs", readOnly: true }]);
      expect(c.resources.requests).toEqual({ cpu: "10m", memory: "16Mi" });
    }
    // Apps without log files get no tail sidecar: only the tracing agent's init container.
    expect(find(p, "Deployment", "order-service", "commerce").spec.template.spec.initContainers.map((c: any) => c.name)).toEqual(["skywalking-agent"]);
  });

  it("the sidecar's tail command (run by the real `tail`) prints from line 1 and follows rotation", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "javaapp-tail-"));
    const file = path.join(dir, "app.log");
    fs.writeFileSync(file, "before-start\n");
    const [cmd, ...args] = logTailCommand(file);
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    const until = async (text: string) => {
      for (let i = 0; i < 100 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
      return out.includes(text);
    };
    try {
      expect(await until("before-start")).toBe(true);
      fs.appendFileSync(file, "appended\n");
      expect(await until("appended")).toBe(true);
      // logback-style rotation: rename, then a fresh file under the same name.
      fs.renameSync(file, `${file}.1`);
      await new Promise((r) => setTimeout(r, 300));
      fs.writeFileSync(file, "after-rotation\n");
      expect(await until("after-rotation")).toBe(true);
    } finally {
      child.kill("SIGKILL");
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once("exit", r)));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------------ schema

describe("every object the apps create validates against the Kubernetes schema", () => {
  it.each([...ENV_STACKS.map((s) => [s, [] as string[]] as const), ["prod1 + weight canary", WEIGHT_CANARY] as const])("%s", async (label, overrides) => {
    const p = await plan(label.split(" ")[0], [...overrides], overrides.length ? PRE_RAN_CANARY() : {});
    const objects = appResources(p).map((r) => {
      const o = structuredClone(obj(r));
      // Masked secret data is a string in the plan; the real value is a map.
      if (r.secretInputs.includes("stringData")) o.stringData = { masked: "x" };
      return o;
    });
    expect(objects.length).toBeGreaterThanOrEqual(14);
    for (const o of objects) expect(typeof o.apiVersion === "string" && typeof o.kind === "string").toBe(true);
    expect(validateK8sObjects(objects)).toEqual([]);
  });
});

// ------------------------------------------------------------------ config errors

describe("app config errors are clear and stop before anything is planned", () => {
  const rejects = (stack: string, overrides: string[]) => expect(plan(stack, overrides)).rejects;

  it("refuses tag latest, naming platform:apps.<app>.tag", async () => {
    await rejects("dev", ["platform:apps.order-service.tag=latest"]).toThrow(/platform:apps\.order-service\.tag: tag "latest" is refused/);
  });

  it("refuses a dev build tag in prod", async () => {
    await rejects("prod1", ["platform:apps.order-service.tag=20261126-418"]).toThrow(
      /platform:apps\.order-service\.tag: tag "20261126-418" is not a release tag \(prod1 takes git tags/,
    );
  });

  it("refuses a release candidate in prod, and a canary tag of latest", async () => {
    await rejects("prod2", ["platform:apps.order-service.tag=order-service-v2.4.0-rc.1"]).toThrow(/platform:apps\.order-service\.tag: .*release candidate/);
    await rejects("pre", ["platform:apps.order-service.canary.tag=latest"]).toThrow(/platform:apps\.order-service\.canary\.tag: tag "latest" is refused/);
  });

  it("refuses a canary with both weight and header", async () => {
    await rejects("pre", ["platform:apps.order-service.canary.weight=10"]).toThrow(/platform:apps\.order-service\.canary: set exactly one of weight or header/);
  });

  it("refuses replicas outside the autoscale range", async () => {
    await rejects("prod1", ["platform:apps.order-service.replicas=10"]).toThrow(/platform:apps\.order-service\.replicas: 10 is outside autoscale 24-60/);
  });
});

// ------------------------------------------------------------------ pure builders

const base: JavaAppSettings = {
  name: "order-service",
  namespace: "commerce",
  image: "harbor.livemall.internal/commerce/order-service",
  tag: "order-service-v2.3.0",
  replicas: 24,
  port: 8080,
  healthPath: "/actuator/health",
  host: "order.livemall.com",
  javaOpts: "-Xms4g -Xmx4g",
  resources: { cpu: "4", memory: "6Gi", memoryLimit: "6Gi" },
  env: "prod1",
  apolloEnv: "PRO",
  apolloMeta: "http://apollo-meta.pro.livemall.internal:8080",
  idc: "prod1",
  imagePullSecret: "harbor-pull",
};
const withBase = (over: Partial<JavaAppSettings>): JavaAppSettings => ({ ...base, ...over });

describe("javaAppObjects (pure)", () => {
  it("renders Deployment, Service, PDB and Ingress; HPA and canary only when set", () => {
    expect(javaAppObjects(base).map((o) => o.kind)).toEqual(["Deployment", "Service", "PodDisruptionBudget", "Ingress"]);
    expect(javaAppObjects(withBase({ host: undefined })).map((o) => o.kind)).toEqual(["Deployment", "Service", "PodDisruptionBudget"]);
    const all = javaAppObjects(withBase({ autoscale: { min: 20, max: 60, cpuPercent: 60 }, canary: { tag: "order-service-v2.4.0", header: "X-Canary" } }));
    expect(all.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Deployment/order-service",
      "Service/order-service",
      "PodDisruptionBudget/order-service",
      "HorizontalPodAutoscaler/order-service",
      "Ingress/order-service",
      "Deployment/order-service-canary",
      "Service/order-service-canary",
      "PodDisruptionBudget/order-service-canary",
      "Ingress/order-service-canary",
    ]);
    expect(validateK8sObjects(all)).toEqual([]);
  });

  it("with the tracing agent and log files, a canary's Deployments still pass the Kubernetes schema", () => {
    const agent = {
      image: "mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.3.0-alpine",
      oapAddress: "skywalking-oap.tracing.svc:11800",
      sampleNPer3Secs: 10,
    };
    const objs = javaAppObjects(withBase({ agent, logFiles: ["/var/log/app/a.log"], canary: { tag: "order-service-v2.4.0", weight: 10 } }));
    expect(validateK8sObjects(objs)).toEqual([]);
    const canary = objs.find((o) => o.kind === "Deployment" && o.metadata.name === "order-service-canary") as any;
    expect(canary.spec.template.spec.initContainers.map((c: any) => c.name)).toEqual(["skywalking-agent", "log-tail-0"]);
    // Off per app: no agent, no volume.
    const off = javaAppObjects(withBase({ agent, tracing: false }))[0] as any;
    expect(off.spec.template.spec.initContainers).toBeUndefined();
    expect(off.spec.template.spec.volumes).toBeUndefined();
  });

  it("the schema check catches a broken object (so the validations above can fail)", () => {
    const d = structuredClone(javaAppObjects(withBase({ logFiles: ["/var/log/app/a.log"] }))[0]) as any;
    d.spec.template.spec.initContainers[0].volumeMounts[0].readOnly = "yes";
    d.spec.strategy.rollingUpdate.maxUnavailable = [0];
    const errors = validateK8sObject(d).join("\n");
    expect(errors).toMatch(/initContainers\/0\/volumeMounts\/0\/readOnly must be boolean/);
    expect(errors).toMatch(/rollingUpdate\/maxUnavailable/);
  });

  it("without an access key, injects no APOLLO_ACCESS_KEY_SECRET", () => {
    const d = javaAppObjects(base)[0] as any;
    expect(envMap(d).APOLLO_ACCESS_KEY_SECRET).toBeUndefined();
    const withKey = javaAppObjects(withBase({ apolloAccessKey: { secretName: "order-service-apollo", key: "access-key-secret" } }))[0] as any;
    expect(envMap(withKey).APOLLO_ACCESS_KEY_SECRET).toEqual({
      name: "APOLLO_ACCESS_KEY_SECRET",
      valueFrom: { secretKeyRef: { name: "order-service-apollo", key: "access-key-secret" } },
    });
  });

  it("uses one emptyDir per log directory, mounted where the files live", () => {
    expect(logVolumes(["/a/x.log", "/b/y.log", "/a/z.log"])).toEqual([
      { name: "logs-0", dir: "/a" },
      { name: "logs-1", dir: "/b" },
    ]);
    const spec = (javaAppObjects(withBase({ logFiles: ["/a/x.log", "/b/y.log", "/a/z.log"] }))[0] as any).spec.template.spec;
    expect(spec.initContainers.map((c: any) => c.volumeMounts[0].name)).toEqual(["logs-0", "logs-1", "logs-0"]);
    expect(appContainer({ spec: { template: { spec } } }).volumeMounts.map((m: any) => m.mountPath)).toEqual(["/a", "/b"]);
  });

  it("sizes a weight canary to its share of traffic, a header canary to 1", () => {
    expect(canaryReplicas({ replicas: 24, canary: { tag: "x", weight: 10 } })).toBe(3);
    expect(canaryReplicas({ replicas: 2, canary: { tag: "x", weight: 10 } })).toBe(1);
    expect(canaryReplicas({ replicas: 24, canary: { tag: "x", header: "X-Canary" } })).toBe(1);
  });

  it("PDB: maxUnavailable 10% of the stable track", () => {
    const pdb = javaAppObjects(withBase({ replicas: 1, autoscale: undefined }))[2] as any;
    expect(pdb.spec).toMatchObject({
      maxUnavailable: "10%",
      selector: { matchLabels: { "app.kubernetes.io/name": "order-service", "platform/track": "stable" } },
    });
  });

  it.each<[string, Partial<JavaAppSettings>, RegExp]>([
    ["latest tag", { tag: "latest" }, /platform:apps\.order-service\.tag: tag "latest" is refused/],
    ["a tag too long for a label", { tag: `v1.0.0-${"a".repeat(60)}` }, /platform:apps\.order-service\.tag: .*at most 63/],
    ["a heap above the limit", { javaOpts: "-Xmx5632m" }, /platform:apps\.order-service\.javaOpts: -Xmx 5632Mi leaves no room .* memory limit 6Gi/],
    [
      "a limit below its request",
      { resources: { cpu: "1", memory: "2Gi", memoryLimit: "1Gi" } },
      /platform:apps\.order-service\.resources\.memoryLimit: 1Gi is below the request 2Gi/,
    ],
    ["a platform namespace", { namespace: "kube-system" }, /platform:apps\.order-service\.namespace: "kube-system" belongs to the platform/],
    [
      "a canary without host",
      { host: undefined, canary: { tag: "v2", weight: 5 } },
      /platform:apps\.order-service\.canary: needs platform:apps\.order-service\.host/,
    ],
    ["a canary on the stable tag", { canary: { tag: "order-service-v2.3.0", weight: 5 } }, /canary\.tag: equals the stable tag/],
    ["a log file in /", { logFiles: ["/app.log"] }, /platform:apps\.order-service\.logFiles\[0\]: \/app\.log is in \//],
    ["a relative log file", { logFiles: ["logs/app.log"] }, /platform:apps\.order-service\.logFiles\[0\]: must be an absolute file path/],
    [
      "replicas outside autoscale",
      { replicas: 5, autoscale: { min: 10, max: 20, cpuPercent: 60 } },
      /platform:apps\.order-service\.replicas: 5 is outside autoscale 10-20/,
    ],
    [
      "an image with a tag",
      { image: "harbor.livemall.internal/commerce/order-service:v1" },
      /platform:apps\.order-service\.image: must be a repository without tag/,
    ],
  ])("refuses %s, naming the key", (_label, over, message) => {
    expect(() => javaAppObjects(withBase(over))).toThrow(message);
  });

  it("reports every broken rule of an app at once", () => {
    const problems = javaAppProblems(withBase({ tag: "latest", namespace: "kube-system", autoscale: { min: 10, max: 20, cpuPercent: 60 }, replicas: 5 }));
    expect(problems).toEqual([
      'platform:apps.order-service.namespace: "kube-system" belongs to the platform; put apps in their own namespace such as commerce',
      'platform:apps.order-service.tag: tag "latest" is refused: it moves, so nobody can tell or roll back which build runs',
      "platform:apps.order-service.replicas: 5 is outside autoscale 10-20",
    ]);
    expect(() => javaAppObjects(withBase({ tag: "latest", replicas: 5, autoscale: { min: 10, max: 20, cpuPercent: 60 } }))).toThrow(
      /tag "latest" is refused[^]*\n.*replicas: 5 is outside autoscale 10-20/,
    );
    expect(javaAppProblems(base)).toEqual([]);
  });

  it("parses quantities and -Xmx as the JVM and Kubernetes do", () => {
    expect(parseQuantity("6Gi")).toBe(6 * 2 ** 30);
    expect(parseQuantity("500m")).toBe(0.5);
    expect(parseQuantity("1.5G")).toBe(1.5e9);
    expect(parseQuantity("4")).toBe(4);
    expect(parseQuantity("4 GB")).toBeUndefined();
    expect(maxHeapBytes("-Xms4g -Xmx4g -XX:+UseG1GC")).toBe(4 * 2 ** 30);
    expect(maxHeapBytes("-Xmx512m -Xmx2G")).toBe(2 * 2 ** 30); // last one wins
    expect(maxHeapBytes("-XX:MaxRAMPercentage=75")).toBeUndefined();
  });

  it("builds the .dockerconfigjson kubelet reads", () => {
    const doc = JSON.parse(dockerConfigJson("harbor.livemall.internal", "robot$k8s-pull", "s3cret"));
    const auth = doc.auths["harbor.livemall.internal"];
    expect(auth).toMatchObject({ username: "robot$k8s-pull", password: "s3cret" });
    expect(Buffer.from(auth.auth, "base64").toString()).toBe("robot$k8s-pull:s3cret");
    expect(() => dockerConfigJson("https://harbor", "u", "p")).toThrow(/platform:harbor\.registry/);
  });
});
