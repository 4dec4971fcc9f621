// The worker join token as the masters keep it (components/cluster/workerToken.ts, installed on
// every master by the day-2 installer, masterDay2.ts): the master's timer script run with the real kubeadm of the pinned version
// (`token create`, in dry-run: it builds the bootstrap-token Secret it would create, with its
// expiration, and prints the token) against a metadata + KMS stub that checks every request's
// signature and keeps the secret's versions; a stub kubectl answers whether that Secret still
// exists (deleting it is what the tokencleaner does once it expires).
import { execFile, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { METADATA_SLICE } from "../../components/cluster/bootstrapUnits";
import { WORKER_TOKEN_TTL_HOURS, workerTokenScript, workerTokenUnits } from "../../components/cluster/workerToken";
import { binDir } from "../controlplane/binaries";

jest.setTimeout(120_000);
const execFileP = promisify(execFile);
const kubeadmBin = path.join(binDir(), "kubeadm");
const haveKubeadm = fs.existsSync(kubeadmBin);
if (!haveKubeadm && process.env.CI !== "true")
  console.log(`workerToken: the kubeadm tests are skipped: no ${kubeadmBin}; run \`bash harness/build.sh kubernetes\``);
const withKubeadm = haveKubeadm || process.env.CI === "true" ? describe : describe.skip;
const TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "worker-token-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The metadata service and KMS Secrets Manager: signature-checked, one secret with its versions. */
interface Kms {
  server: http.Server;
  url: string;
  roles: string[];
  actions: string[];
  versions: { id: string; data: string }[];
  badSignatures: number;
  /** CreateSecret answers as when another master created the secret a moment before. */
  createRace?: boolean;
}
async function kmsStub(secretName: string): Promise<Kms> {
  const creds: Record<string, { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string }> = {
    "prod1-masters": { AccessKeyId: "STS.m", AccessKeySecret: "master-secret", SecurityToken: "mtoken" },
    "prod1-workers": { AccessKeyId: "STS.w", AccessKeySecret: "worker-secret", SecurityToken: "wtoken" },
  };
  const k: Kms = { roles: [], actions: [], versions: [], badSignatures: 0 } as unknown as Kms;
  k.server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    if (req.method === "PUT" && url.pathname === "/latest/api/token") return void res.end("mdtoken");
    const role = /^\/latest\/meta-data\/ram\/security-credentials\/(.+)$/.exec(url.pathname)?.[1];
    if (role && creds[role] && req.headers["x-aliyun-ecs-metadata-token"] === "mdtoken") {
      k.roles.push(role);
      return void res.end(JSON.stringify(creds[role]));
    }
    const action = url.searchParams.get("Action");
    const who = Object.values(creds).find((c) => c.AccessKeyId === url.searchParams.get("AccessKeyId"));
    if (url.pathname !== "/" || !action || !who) return void res.writeHead(404).end();
    const params = [...url.searchParams.entries()].filter(([key]) => key !== "Signature").sort(([a], [b]) => (a < b ? -1 : 1));
    const enc = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const want = createHmac("sha1", `${who.AccessKeySecret}&`)
      .update(`GET&%2F&${enc(params.map(([a, b]) => `${enc(a)}=${enc(b)}`).join("&"))}`)
      .digest("base64");
    if (
      url.searchParams.get("Signature") !== want ||
      url.searchParams.get("SecurityToken") !== who.SecurityToken ||
      url.searchParams.get("SecretName") !== secretName
    ) {
      k.badSignatures++;
      return void res.writeHead(403).end(JSON.stringify({ Code: "IncompleteSignature" }));
    }
    k.actions.push(`${who.AccessKeyId} ${action}`);
    // The workers' role may only read (workerToken.ts workerJoinTokenStatements).
    if (who.AccessKeyId === "STS.w" && action !== "GetSecretValue") return void res.writeHead(403).end(JSON.stringify({ Code: "Forbidden.NoPermission" }));
    const missing = (): void => void res.writeHead(404).end(JSON.stringify({ Code: "Forbidden.ResourceNotFound" }));
    if (action === "GetSecretValue") {
      const v = k.versions.at(-1);
      return v ? void res.end(JSON.stringify({ SecretData: v.data, VersionId: v.id })) : missing();
    }
    if (action === "PutSecretValue" && k.versions.length === 0) return missing();
    if (action === "CreateSecret" && k.createRace) return void res.writeHead(400).end(JSON.stringify({ Code: "Rejected.ResourceExist" }));
    if (action === "PutSecretValue" || (action === "CreateSecret" && k.versions.length === 0)) {
      k.versions.push({ id: url.searchParams.get("VersionId")!, data: url.searchParams.get("SecretData")! });
      return void res.end("{}");
    }
    return void res.writeHead(400).end(JSON.stringify({ Code: "Rejected" }));
  });
  await new Promise<void>((r) => k.server.listen(0, "127.0.0.1", r));
  k.url = `http://127.0.0.1:${(k.server.address() as AddressInfo).port}`;
  return k;
}

const stored = (k: Kms) => JSON.parse(k.versions.at(-1)!.data) as { token: string; expires: string };

withKubeadm("a master's k8s-worker-token (real kubeadm token create)", () => {
  let kms: Kms;
  let dir: string;
  const secrets = () => path.join(dir, "secrets");
  beforeAll(async () => {
    kms = await kmsStub("prod1-worker-join");
    dir = fs.mkdtempSync(path.join(tmp, "master-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.mkdirSync(secrets());
    fs.writeFileSync(
      path.join(dir, "kubeconfig"),
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n",
    );
    // The real kubeadm, in dry-run (no api-server here): it prints the Secret it would create, then the token.
    // The "cluster" keeps that Secret as a file; the tokencleaner's deletion is removing it.
    fs.writeFileSync(
      path.join(bin, "kubeadm"),
      `#!/bin/bash
if [ "$1 $2" = "token delete" ]; then # as the api-server: deleting a missing token's Secret fails
  echo "kubeadm $*" >>"${dir}/calls"
  rm "${secrets()}/bootstrap-token-\${@: -1}" 2>/dev/null
  exit
fi
out=$("${kubeadmBin}" "$@" --dry-run) || exit 1
echo "kubeadm $*" >>"${dir}/calls"
name=$(printf '%s\\n' "$out" | sed -n 's/^  name: \\(bootstrap-token-[a-z0-9]*\\)$/\\1/p' | head -n 1)
printf '%s\\n' "$out" >"${secrets()}/$name"
printf '%s\\n' "$out" | tail -n 1
`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(bin, "kubectl"), `#!/bin/bash\necho "kubectl $*" >>"${dir}/calls"\n[ -f "${secrets()}/\${@: -3:1}" ]\n`, { mode: 0o755 });
    fs.writeFileSync(
      path.join(dir, "token.sh"),
      workerTokenScript({ kmsUrl: "https://kms-vpc.cn-shanghai.aliyuncs.com", clusterName: "prod1", ramRole: "prod1-masters" }),
      {
        mode: 0o700,
      },
    );
  });
  afterAll(() => kms?.server.close());

  const run = () =>
    execFileP("bash", [path.join(dir, "token.sh")], {
      env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, METADATA_URL: kms.url, KMS_URL: kms.url, KUBECONFIG_FILE: path.join(dir, "kubeconfig") },
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
  const mints = () =>
    fs.existsSync(path.join(dir, "calls"))
      ? fs
          .readFileSync(path.join(dir, "calls"), "utf8")
          .split("\n")
          .filter((l) => l.startsWith("kubeadm"))
      : [];

  test("first run: no secret yet, so it mints a 4 h token and creates the secret with it", async () => {
    const r = await run();
    expect(r).toEqual({ code: 0, out: expect.stringContaining("stored token") });
    expect(kms.actions).toEqual(["STS.m GetSecretValue", "STS.m PutSecretValue", "STS.m CreateSecret"]);
    expect(kms.badSignatures).toBe(0);
    const { token, expires } = stored(kms);
    expect(token).toMatch(TOKEN);
    expect(Math.abs(Date.parse(expires) - Date.now() - 4 * 3600_000)).toBeLessThan(120_000);
    expect(mints()).toEqual([expect.stringMatching(/^kubeadm token create --kubeconfig \S+ --ttl 4h --description worker joins \(k8s-worker-token on .+\)$/)]);
    // kubeadm's own Secret: the bootstrap-token type, the id of the stored token, expiring in 4 h (then the tokencleaner deletes it).
    const secret = fs.readFileSync(path.join(secrets(), `bootstrap-token-${token.split(".")[0]}`), "utf8");
    expect(secret).toContain("type: bootstrap.kubernetes.io/token");
    const expiration = Buffer.from(/^ {2}expiration: (\S+)$/m.exec(secret)![1], "base64").toString();
    expect(Math.abs(Date.parse(expiration) - Date.now() - WORKER_TOKEN_TTL_HOURS * 3600_000)).toBeLessThan(120_000);
    // The token never reaches the log lines (only its public id).
    expect(r.out).not.toContain(token.split(".")[1]);
  });

  test("a valid token whose Secret exists: nothing minted, nothing written", async () => {
    const before = kms.versions.length;
    const r = await run();
    expect(r).toEqual({ code: 0, out: expect.stringContaining("nothing to do") });
    expect(mints()).toHaveLength(1);
    expect(kms.versions).toHaveLength(before);
  });

  test("the tokencleaner deleted its Secret: a new token, stored as the secret's new version", async () => {
    for (const f of fs.readdirSync(secrets())) fs.rmSync(path.join(secrets(), f));
    const old = stored(kms).token;
    kms.actions.length = 0;
    expect((await run()).code).toBe(0);
    expect(kms.actions).toEqual(["STS.m GetSecretValue", "STS.m PutSecretValue"]);
    expect(stored(kms).token).not.toBe(old);
    expect(kms.versions).toHaveLength(2);
  });

  test("a stored token with under 2 h left is replaced, and the token it superseded is deleted", async () => {
    const { token } = stored(kms);
    const id = token.split(".")[0];
    expect(fs.existsSync(path.join(secrets(), `bootstrap-token-${id}`))).toBe(true);
    kms.versions.push({ id: "near", data: JSON.stringify({ token, expires: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z") }) });
    const r = await run();
    expect(r.code).toBe(0);
    const fresh = stored(kms).token;
    expect(fresh).not.toBe(token);
    expect(mints().filter((l) => l.startsWith("kubeadm token create"))).toHaveLength(3);
    expect(mints().at(-1)).toBe(`kubeadm token delete --kubeconfig ${path.join(dir, "kubeconfig")} ${id}`);
    expect(r.out).toContain(`k8s-worker-token: deleted token ${id}\n`);
    // Only the new token's Secret is left.
    expect(fs.readdirSync(secrets())).toEqual([`bootstrap-token-${fresh.split(".")[0]}`]);
  });

  test("two masters race to create the secret: the loser deletes the token it minted and fails", async () => {
    const saved = kms.versions.splice(0);
    const before = fs.readdirSync(secrets());
    kms.createRace = true;
    try {
      const r = await run();
      expect(r.code).toBe(1);
      expect(r.out).toContain("kms-join-token: CreateSecret: Rejected.ResourceExist");
      expect(r.out).toContain("could not store the new token in prod1-worker-join; the next run retries");
      const [create, del] = mints().slice(-2);
      expect(create).toMatch(/^kubeadm token create /);
      expect(del).toMatch(/^kubeadm token delete --kubeconfig \S+ [a-z0-9]{6}$/);
      // Its Secret is gone again: the same Secrets as before the run.
      expect(fs.readdirSync(secrets())).toEqual(before);
    } finally {
      kms.createRace = false;
      kms.versions.push(...saved);
    }
  });

  test("the script passes shellcheck; the units pass systemd-analyze verify", () => {
    const sc = spawnSync("shellcheck", ["-s", "bash", "-S", "style", "-f", "gcc", path.join(dir, "token.sh")], { encoding: "utf8" });
    expect(sc.stdout).toBe("");
    expect(sc.status).toBe(0);
    const units = path.join(dir, "units");
    fs.mkdirSync(units);
    const { service, timer } = workerTokenUnits(path.join(dir, "token.sh"));
    fs.writeFileSync(path.join(units, "k8s-worker-token.service"), service);
    fs.writeFileSync(path.join(units, "k8s-worker-token.timer"), timer);
    const v = spawnSync("systemd-analyze", ["verify", path.join(units, "k8s-worker-token.service"), path.join(units, "k8s-worker-token.timer")], {
      encoding: "utf8",
    });
    expect(`${v.stdout}${v.stderr}`).toBe("");
    expect(v.status).toBe(0);
    // The file's defaults: the path masterDay2 installs the script at, and the slice that reaches the metadata service.
    expect(workerTokenUnits().service).toContain("\nExecStart=/usr/local/sbin/k8s-worker-token.sh\n");
    expect(service).toContain(`\nSlice=${METADATA_SLICE}\n`);
    expect(METADATA_SLICE).toBe("k8s-metadata.slice");
  });
});
