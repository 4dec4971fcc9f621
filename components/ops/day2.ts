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
import { parseStackConfig } from "../config/stackConfig";
import { CONSOLE, exitAfterFlush, readArgs, runCli, UsageError } from "../config/cli";
import { idsFromStackExport, planScaleIn } from "./scaleIn";
import { setScalar } from "./stackFileEdit";
import { editStackFile } from "./stackFileWrite";
import { upgradePlan } from "./upgrade";
import { etcdRestoreScript } from "../cluster/etcdBackup";
import { nodeName } from "../cluster/nodePool";

const USAGE = `usage:
  npm run scale-in     -- <stack> <pool> <newCount> [--state EXPORT.json] [--apply]
      drain commands, instance ids (from the offline plan, or from \`pulumi stack export\` JSON), the count edit
  npm run upgrade-plan -- <stack> <targetVersion>
      the kubeadm upgrade steps to the next minor (or a patch), node by node
  npm run etcd-restore-script -- <stack> <masterIndex>
      the restore script of one master (docs/runbooks/certificates-and-backups.md, etcd restore)
options:
  --dir DIR   where the Pulumi.<stack>.yaml files are (default: the project root)`;

const OPTIONS = {
  dir: { type: "string", value: "a directory" },
  state: { type: "string", value: "a file" },
  apply: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function settingsOf(stack: string, dir: string) {
  const config = loadEngineConfig(stack, [], dir);
  return parseStackConfig(stack, { values: config.values, secretKeys: config.secretKeys });
}

export function main(argv: string[], out = CONSOLE.out, err = CONSOLE.err): Promise<number> {
  return runCli({ usage: USAGE, otherErrors: "refusal" }, () => run(argv, out), { out, err });
}

async function run(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = readArgs(argv, OPTIONS);
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const [command, ...args] = positionals;
  const p = {
    command,
    args,
    dir: path.resolve((values.dir as string | undefined) ?? path.join(__dirname, "../..")),
    state: values.state as string | undefined,
    apply: values.apply === true,
  };
  if (p.command === "scale-in") {
    const [stack, pool, count] = p.args;
    if (p.args.length !== 3) throw new UsageError(`scale-in takes <stack> <pool> <newCount>, got ${p.args.length} argument(s)`);
    if (!/^\d+$/.test(count)) throw new UsageError(`<newCount>: must be a whole number from 0 to the pool's count minus one, got "${count}"`);
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
    if (p.args.length !== 2) throw new UsageError(`etcd-restore-script takes <stack> <masterIndex>, got ${p.args.length} argument(s)`);
    if (!/^\d+$/.test(index)) throw new UsageError(`<masterIndex>: must be a whole number from 0 to platform:masters.count minus one, got "${index}"`);
    const s = settingsOf(stack, p.dir);
    const { previewStack } = await import("../preview/preview");
    const { plan } = await previewStack({ stack, dir: p.dir });
    // The masters' fixed addresses, as planned (they depend only on the network config).
    const members = Array.from({ length: s.masters.count }, (_, i) => {
      const name = nodeName(stack, "master", i);
      const ip = plan.resources.find((r) => r.type === "alicloud:ecs/instance:Instance" && r.name === name)?.inputs.privateIp;
      if (typeof ip !== "string") throw new Error(`etcd-restore-script: no fixed address for ${name} in the plan`);
      return { name, ip };
    });
    out(etcdRestoreScript(stack, members, Number(index)).trimEnd());
    return 0;
  }
  throw new UsageError(p.command === undefined ? "no command given" : `unknown command ${p.command}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(exitAfterFlush);
}
