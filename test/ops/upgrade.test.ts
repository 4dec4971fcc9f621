// The upgrade helper for a 1.35 -> 1.36 step of prod1: steps in kubeadm's order, every
// node exactly once, and refusals for a skipped minor or a downgrade.
import { main } from "../../components/ops/day2";
import { repositoryFor, upgradePlan } from "../../components/ops/upgrade";

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

test("prod1 1.35.4 -> 1.36.0: repository, approval, master-0 apply, other masters, workers, then the config", async () => {
  const r = await run("upgrade-plan", "prod1", "1.36.0");
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const o = r.out;
  const at = (s: string) => {
    const i = o.indexOf(s);
    expect(i).toBeGreaterThanOrEqual(0);
    return i;
  };
  const order = [
    "systemctl start etcd-backup.service",
    "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.36/deb/ /",
    "policies/config/prod.json: [1.35.4] -> [1.35.4, 1.36.0]",
    "kubeadm upgrade plan v1.36.0",
    "kubeadm upgrade apply -y v1.36.0",
    "kubectl drain prod1-master-1",
    "kubectl drain prod1-master-2",
    "kubectl drain prod1-general-0 ",
    "kubectl drain prod1-order-7 ",
    "Pulumi.prod1.yaml: platform:kubernetes.version: 1.35.4 -> 1.36.0",
    "platform:kubernetes.packageRepository: https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.35/deb/ -> https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.36/deb/",
  ].map(at);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  // apply only once, on master-0; `upgrade node` on the 2 other masters and the 28 workers.
  expect(o.match(/kubeadm upgrade apply/g)).toHaveLength(1);
  expect(o.match(/kubeadm upgrade node/g)).toHaveLength(2 + 28);
  expect(o.match(/kubectl drain /g)).toHaveLength(3 + 28);
  expect(o.match(/kubectl uncordon /g)).toHaveLength(3 + 28);
  expect(o).toContain("awk '$3 ~ /^1\\.36\\.0-/");
});

test("refuses to skip a minor or go backwards", async () => {
  const skip = await run("upgrade-plan", "prod1", "1.37.0");
  expect(skip.code).toBe(1);
  expect(skip.err).toBe("upgrade-plan: 1.35.4 -> 1.37.0 skips 1.36; kubeadm upgrades one minor at a time: upgrade to the latest 1.36.x first");
  expect((await run("upgrade-plan", "prod1", "1.34.9")).err).toContain("is not newer");
  expect((await run("upgrade-plan", "prod1", "1.36")).err).toContain("is not a full version");
});

test("a patch upgrade keeps the repository; the default repository follows the minor", () => {
  const lines = upgradePlan({
    stack: "dev",
    currentVersion: "1.35.4",
    targetVersion: "1.35.6",
    masterCount: 1,
    pools: [{ name: "general", count: 1 }],
    approvedVersions: ["1.35.4"],
  }).join("\n");
  expect(lines).toContain("(patch)");
  expect(lines).toContain("unchanged: https://pkgs.k8s.io/core:/stable:/v1.35/deb/");
  expect(repositoryFor("1.36.1")).toBe("https://pkgs.k8s.io/core:/stable:/v1.36/deb/");
});
