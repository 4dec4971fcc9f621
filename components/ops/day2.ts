// CLI of the day-2 helpers. They print what to run; only `scale-in --apply` writes, and
// only the one count in Pulumi.<stack>.yaml (comments and layout kept).
//
//   day2.ts scale-in     <stack> <pool> <newCount> [--state EXPORT.json] [--apply] [--dir DIR]
//   day2.ts upgrade-plan <stack> <targetVersion> [--dir DIR]
//   day2.ts etcd-restore-script <stack> <masterIndex> [--dir DIR]
//
// Exit codes: 0 done, 1 refused (message on stderr), 2 usage.
import * as fs from "fs";
import * as path from "path";
import { loadEngineConfig } from "../config/stackFiles";
import { ConfigError, parseStackConfig } from "../config/stackConfig";
import { idsFromStackExport, planScaleIn } from "./scaleIn";
import { editStackFile, setScalar } from "./stackFileEdit";
import { upgradePlan } from "./upgrade";
import { etcdRestoreScript } from "../cluster/etcdBackup";

const USAGE = `usage:
  npm run scale-in     -- <stack> <pool> <newCount> [--state EXPORT.json] [--apply]
      drain commands, instance ids (from the offline plan, or from \`pulumi stack export\` JSON), the count edit
  npm run upgrade-plan -- <stack> <targetVersion>
      the kubeadm upgrade steps to the next minor (or a patch), node by node
  npm run etcd-restore-script -- <stack> <masterIndex>
      the restore script of one master (README, Operations: etcd restore)
options:
  --dir DIR   where the Pulumi.<stack>.yaml files are (default: the project root)`;

class UsageError extends Error {}

function parse(argv: string[]) {
  let dir = path.resolve(__dirname, "../..");
  let state: string | undefined;
  let apply = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--dir") dir = path.resolve(argv[++i] ?? "");
    else if (a === "--state") state = argv[++i];
    else if (a === "--apply") apply = true;
    else if (a === "-h" || a === "--help") return "help" as const;
    else if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
    else rest.push(a);
  }
  if (state === "") throw new UsageError("--state needs a file");
  const [command, ...args] = rest;
  return { command, args, dir, state, apply };
}

function settingsOf(stack: string, dir: string) {
  const config = loadEngineConfig(stack, [], dir);
  return parseStackConfig(stack, { values: config.values, secretKeys: config.secretKeys });
}

export async function main(argv: string[], out = console.log, err = console.error): Promise<number> {
  let p: ReturnType<typeof parse>;
  try {
    p = parse(argv);
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (p === "help") {
    out(USAGE);
    return 0;
  }
  try {
    if (p.command === "scale-in") {
      const [stack, pool, count] = p.args;
      if (p.args.length !== 3 || !/^\d+$/.test(count)) throw new UsageError("scale-in needs <stack> <pool> <newCount>");
      const settings = settingsOf(stack, p.dir);
      // Loaded lazily: planning runs the whole program under mocks.
      const { previewStack } = await import("../preview/preview");
      const { plan } = await previewStack({ stack, dir: p.dir });
      const result = planScaleIn({
        stack,
        region: settings.region,
        pool,
        newCount: Number(count),
        pools: settings.nodePools,
        plan: plan.resources,
        isProd: settings.isProd,
        stateIds: p.state ? idsFromStackExport(p.state) : undefined,
      });
      out(result.lines.join("\n"));
      out(p.state ? `(instance ids from ${p.state})` : "(instance ids from the offline plan: mock ids; pass --state <(pulumi stack export) for the real ones)");
      if (p.apply) {
        const file = path.join(p.dir, `Pulumi.${stack}.yaml`);
        editStackFile(file, (text) =>
          setScalar(
            text,
            ["config", "platform:nodePools", { name: pool }, "count"],
            Number(count),
            `Pulumi.${stack}.yaml: platform:nodePools[name=${pool}].count`,
          ),
        );
        out(`wrote ${file}: ${pool} count ${count}`);
      }
      return 0;
    }
    if (p.command === "upgrade-plan") {
      const [stack, target] = p.args;
      if (p.args.length !== 2) throw new UsageError("upgrade-plan needs <stack> <targetVersion>");
      const s = settingsOf(stack, p.dir);
      const prodPolicy = JSON.parse(fs.readFileSync(path.join(p.dir, "policies", "config", "prod.json"), "utf8"));
      const lines = upgradePlan({
        stack,
        currentVersion: s.kubernetes.version,
        targetVersion: target.replace(/^v/, ""),
        packageRepository: s.kubernetes.packageRepository,
        masterCount: s.masters.count,
        pools: s.nodePools,
        approvedVersions: prodPolicy["kubernetes-baseline"]?.kubernetesVersions ?? [],
      });
      out(lines.join("\n"));
      return 0;
    }
    if (p.command === "etcd-restore-script") {
      const [stack, index] = p.args;
      if (p.args.length !== 2 || !/^\d+$/.test(index)) throw new UsageError("etcd-restore-script needs <stack> <masterIndex>");
      const s = settingsOf(stack, p.dir);
      const { previewStack } = await import("../preview/preview");
      const { plan } = await previewStack({ stack, dir: p.dir });
      // The masters' fixed addresses, as planned (they depend only on the network config).
      const members = Array.from({ length: s.masters.count }, (_, i) => {
        const name = `${stack}-master-${i}`;
        const ip = plan.resources.find((r) => r.type === "alicloud:ecs/instance:Instance" && r.name === name)?.inputs.privateIp;
        if (typeof ip !== "string") throw new Error(`etcd-restore-script: no fixed address for ${name} in the plan`);
        return { name, ip };
      });
      out(etcdRestoreScript(stack, members, Number(index)).trimEnd());
      return 0;
    }
    throw new UsageError(p.command === undefined ? "no command given" : `unknown command ${p.command}`);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${e.message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof ConfigError || e instanceof Error) {
      err((e as Error).message);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.stdout.write("", () => process.exit(code)));
}
