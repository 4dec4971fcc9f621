// The masters' KMS client (scripts/kms-client.py, inside kms_fetch of k8s-bootstrap-master.sh, as
// the bootstrap carries it), run with real bash, curl and python3 against the contract stubs of the
// hardened metadata service and of KMS (test/support/alibaba): the stub checks the RPC signature
// with Alibaba's own @alicloud/openapi-util and grants exactly what the program's policy for the
// masters' role allows (secretStoreStatements), so a wrong signature or a missing permission fails
// here as it would on a real account.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PolicyStatement } from "../../components/cluster/masterRole";
import { kmsKeyArn, secretStoreStatements } from "../../components/cluster/secretStore";
import { scriptFile } from "../../components/scriptFiles";
import { KmsGrant, KmsStub, startKmsStub } from "../support/alibaba/kmsStub";
import { MetadataStub, startMetadataStub } from "../support/alibaba/metadataStub";

const ROLE = "prod1-masters";
const SECRET = "prod1-control-plane";
const KEY = "key-shhplaceholderprod1";
const INSTANCE = "kst-shhplaceholderprod1";
const CREDS = { AccessKeyId: "STS.master-0", AccessKeySecret: "sts-secret-0", SecurityToken: "sts-token-0" };
const FILES = { "ca.crt": "CA-CERT\n", "ca.key": "CA-KEY\n", "sa.key": "SA-KEY\n", "etcd/ca.key": "ETCD-CA-KEY\n" };

/** The program's statements as the stub's grant: the secret names and key ids each action is allowed on. */
function grantOf(statements: PolicyStatement[]): KmsGrant {
  const on = (action: string, kind: string) =>
    statements
      .filter((s) => s.Effect === "Allow" && s.Action.includes(action))
      .flatMap((s) => s.Resource)
      .map((r) => new RegExp(`^acs:kms:[^:]+:[^:]+:${kind}/(.+)$`).exec(r)![1]);
  return { getSecretValue: on("kms:GetSecretValue", "secret"), decrypt: on("kms:Decrypt", "key") };
}

let tmp: string;
let kms: KmsStub;
let metadata: MetadataStub;
let statements: PolicyStatement[];
const grants: Record<string, KmsGrant> = {};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kms-client-"));
  statements = await new Promise((resolve) =>
    secretStoreStatements(`acs:kms:cn-shanghai:1234567890123456:secret/${SECRET}`, kmsKeyArn(KEY)).apply((s) => resolve(s)),
  );
  metadata = await startMetadataStub({ role: ROLE, credentials: CREDS });
  kms = await startKmsStub({
    keys: { [CREDS.AccessKeyId]: { accessKeySecret: CREDS.AccessKeySecret, securityToken: CREDS.SecurityToken } },
    grants,
    instances: [INSTANCE],
    kmsKeys: { [KEY]: { instanceId: INSTANCE, spec: "Aliyun_AES_256" } },
    secrets: { [SECRET]: { data: JSON.stringify({ files: FILES }), keyId: KEY, instanceId: INSTANCE } },
  });
});
afterAll(async () => {
  await kms?.close();
  await metadata?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** kms_fetch as the master bootstrap defines it (kms-client.py included), run on its own. */
function kmsFetch(pki: string): Promise<{ code: number; out: string }> {
  const text = scriptFile(path.join(__dirname, "../../components/cluster/scripts/k8s-bootstrap-master.sh"));
  const fn = /^kms_fetch\(\) \{\n[\s\S]*?\n\}\n/m.exec(text)![0];
  expect(fn).toContain("urllib.request.urlopen"); // the client is in it
  const env = { PATH: process.env.PATH!, METADATA_URL: metadata.url, KMS_URL: kms.url, RAM_ROLE: ROLE, SECRET_NAME: SECRET, PKI_DIR: pki };
  return new Promise((resolve) =>
    execFile("bash", ["-c", `set -u\n${fn}kms_fetch`], { env }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

test("the program's policy is GetSecretValue on the secret and Decrypt with its key", () => {
  expect(grantOf(statements)).toEqual({ getSecretValue: [SECRET], decrypt: [KEY] });
});

test("with the masters' grants: one GetSecretValue, signed as @alicloud/openapi-util computes it, stages the PKI with its modes", async () => {
  grants[CREDS.AccessKeyId] = grantOf(statements);
  kms.requests.length = 0;
  const pki = path.join(tmp, "pki-ok");
  const r = await kmsFetch(pki);
  expect(r.out).toContain("k8s-bootstrap: staged from the secret store: ca.crt ca.key etcd/ca.key sa.key");
  expect(r.code).toBe(0);
  expect(kms.requests.map((q) => `${q.query.Action} ${q.query.SecretName} ${q.status}`)).toEqual([`GetSecretValue ${SECRET} 200`]);
  expect(kms.requests[0].query.SecurityToken).toBe(CREDS.SecurityToken);
  expect(fs.readFileSync(path.join(pki, "etcd/ca.key"), "utf8")).toBe("ETCD-CA-KEY\n");
  expect((fs.statSync(path.join(pki, "ca.key")).mode & 0o777).toString(8)).toBe("600");
  expect((fs.statSync(path.join(pki, "ca.crt")).mode & 0o777).toString(8)).toBe("644");
  // The credentials came from the hardened metadata service.
  expect(metadata.requests.map((q) => `${q.method} ${q.path} ${q.status}`)).toContain(`GET /latest/meta-data/ram/security-credentials/${ROLE} 200`);
});

test("without kms:Decrypt on the key: fails with KMS's code and what the role needs, and stages nothing", async () => {
  grants[CREDS.AccessKeyId] = grantOf(statements.filter((s) => !s.Action.includes("kms:Decrypt")));
  kms.requests.length = 0;
  const pki = path.join(tmp, "pki-no-decrypt");
  const r = await kmsFetch(pki);
  expect(r.code).not.toBe(0);
  expect(r.out).toContain(`k8s-bootstrap: KMS GetSecretValue of secret ${SECRET} refused: HTTP 403 Forbidden.NoPermission:`);
  expect(r.out).toContain("the instance role needs kms:GetSecretValue on the secret and kms:Decrypt on the key that encrypts it");
  expect(r.out).not.toContain("Traceback");
  expect(r.out).not.toContain(CREDS.AccessKeySecret);
  expect(kms.requests.map((q) => q.refused)).toEqual(["Forbidden.NoPermission"]);
  expect(fs.readdirSync(pki, { recursive: true })).toEqual(["etcd"]);
});
