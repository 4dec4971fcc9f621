// Issue 27: no credential a pod can reach writes to ECS beyond this stack's own disks, and the masters'
// role (which reads the control-plane PKI) holds nothing but the secret store and the etcd backup.
// Read from every stack's offline plan: the RAM policies as registered, the role each is attached to,
// the tags on the VMs and on the StorageClass the disk CSI driver creates disks from.
import { ofType, plan, STACK_NAMES } from "../support/offline";

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** An ECS action that changes something: anything but Describe*, List*, Get* (a wildcard counts as a write). */
const ecsWrite = (a: string) => /^ecs:/i.test(a) && !/^ecs:(Describe|List|Get)[A-Za-z]/.test(a);

/** Each stack's region and KMS key (its Pulumi.<stack>.yaml), as the join-token policies must name them. */
const JOIN_TOKEN_SCOPE: Record<string, { region: string; key: string }> = {
  host: { region: "cn-hangzhou", key: "key-hzzplaceholderhost" },
  dev: { region: "cn-hangzhou", key: "key-hzzplaceholderdev" },
  test: { region: "cn-hangzhou", key: "key-hzzplaceholdertest" },
  pre: { region: "cn-shanghai", key: "key-shhplaceholderpre" },
  prod1: { region: "cn-shanghai", key: "key-shhplaceholderprod1" },
  prod2: { region: "cn-beijing", key: "key-bjjplaceholderprod2" },
};

async function policiesOf(stack: string) {
  const p = await plan(stack);
  const docs = new Map(
    ofType(p, "alicloud:ram/policy:Policy").map((r) => [String(r.inputs.policyName), JSON.parse(String(r.inputs.policyDocument)).Statement as Statement[]]),
  );
  const roleOf = new Map(
    ofType(p, "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment").map((r) => [String(r.inputs.policyName), String(r.inputs.roleName)]),
  );
  return { p, docs, roleOf };
}

describe.each(STACK_NAMES)("%s", (stack) => {
  test("every statement that allows an ECS write names no '*' resource and holds this stack's disk CSI tag as a condition", async () => {
    const { docs } = await policiesOf(stack);
    const bad: string[] = [];
    for (const [name, statements] of docs) {
      statements.forEach((s, i) => {
        const writes = s.Action.filter(ecsWrite);
        if (s.Effect !== "Allow" || writes.length === 0) return;
        const tagged = Object.entries(s.Condition?.StringEquals ?? {}).some(
          ([k, v]) => /^acs:(ResourceTag|RequestTag)\/platform:disk-csi$/.test(k) && JSON.stringify(v) === JSON.stringify([stack]),
        );
        if (s.Resource.includes("*") || !tagged)
          bad.push(`${name} statement ${i}: ${writes.join(",")} on ${s.Resource.join(",")} ${JSON.stringify(s.Condition ?? {})}`);
      });
    }
    expect(bad).toEqual([]);
  });

  test("the masters' role: the secret store, the etcd backup and the worker join token only, never on '*'", async () => {
    const { docs, roleOf } = await policiesOf(stack);
    const masters = [...roleOf].filter(([, role]) => role === `${stack}-masters`).map(([policy]) => policy);
    expect(masters.sort()).toEqual([`${stack}-masters-etcd-backup`, `${stack}-masters-join-token`, `${stack}-masters-secret-store`]);
    const allowed = masters.flatMap((m) => docs.get(m)!.filter((s) => s.Effect === "Allow"));
    expect([...new Set(allowed.flatMap((s) => s.Action))].sort()).toEqual([
      "kms:CreateSecret",
      "kms:Decrypt",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GetSecretValue",
      "kms:PutSecretValue",
      "oss:PutObject",
    ]);
    for (const s of allowed) {
      for (const r of s.Resource)
        expect(r).toMatch(
          new RegExp(
            `^acs:(kms:[^:]+:[^:]+:(secret/${stack}-control-plane|secret/${stack}-worker-join|key/key-[a-z0-9]+)|oss:\\*:\\*:livemall-${stack}-etcd-backup/${stack}/\\*)$`,
          ),
        );
    }
  });

  test("the masters' join-token policy: read, write and create the one `<stack>-worker-join` secret, and the stack's key", async () => {
    const { docs } = await policiesOf(stack);
    const { region, key } = JOIN_TOKEN_SCOPE[stack];
    expect(docs.get(`${stack}-masters-join-token`)).toEqual([
      {
        Effect: "Allow",
        Action: ["kms:GetSecretValue", "kms:PutSecretValue", "kms:CreateSecret"],
        Resource: [`acs:kms:${region}:*:secret/${stack}-worker-join`],
      },
      { Effect: "Allow", Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], Resource: [`acs:kms:*:*:key/${key}`] },
    ]);
  });
});

describe.each(["prod1", "prod2"])("%s: the disk CSI driver's scope", (stack) => {
  test("the disks it creates and the workers carry the tag; the masters and the other VMs do not", async () => {
    const { p } = await policiesOf(stack);
    const [sc] = ofType(p, "kubernetes:storage.k8s.io/v1:StorageClass");
    expect((sc.inputs as { parameters: Record<string, string> }).parameters).toEqual({ type: "cloud_essd", "diskTags/platform:disk-csi": stack });
    const vms = ofType(p, "alicloud:ecs/instance:Instance").map((r) => [r.name, (r.inputs.tags as Record<string, string>)["platform:disk-csi"]]);
    const tagged = vms.filter(([, v]) => v !== undefined);
    expect(tagged.map(([n]) => n)).toEqual(vms.filter(([n]) => /-(general|order)-\d+$/.test(String(n))).map(([n]) => n));
    expect(new Set(tagged.map(([, v]) => v))).toEqual(new Set([stack]));
    expect(vms.filter(([n]) => /-(master|haproxy)-\d+$/.test(String(n))).every(([, v]) => v === undefined)).toBe(true);
  });

  test("the controller's policy: reads on '*', CreateDisk with the tag in the request, the other writes on tagged disks and instances", async () => {
    const { docs } = await policiesOf(stack);
    const tag = (k: string) => ({ StringEquals: { [`acs:${k}/platform:disk-csi`]: [stack] } });
    expect(docs.get(`${stack}-workers-csi-disk-controller`)).toEqual([
      {
        Effect: "Allow",
        Action: [
          "ecs:DescribeDisks",
          "ecs:DescribeInstanceAttribute",
          "ecs:DescribeInstanceHistoryEvents",
          "ecs:DescribeInstances",
          "ecs:DescribeSnapshotGroups",
          "ecs:DescribeSnapshots",
          "ecs:DescribeTags",
          "ecs:DescribeTaskAttribute",
          "ecs:DescribeTasks",
          "ecs:ListTagResources",
        ],
        Resource: ["*"],
      },
      { Effect: "Allow", Action: ["ecs:CreateDisk"], Resource: ["acs:ecs:*:*:disk/*"], Condition: tag("RequestTag") },
      {
        Effect: "Allow",
        Action: [
          "ecs:AddTags",
          "ecs:AttachDisk",
          "ecs:DeleteDisk",
          "ecs:DetachDisk",
          "ecs:ModifyDiskAttribute",
          "ecs:ModifyDiskSpec",
          "ecs:RemoveTags",
          "ecs:ResizeDisk",
          "ecs:TagResources",
          "ecs:UntagResources",
        ],
        Resource: ["acs:ecs:*:*:disk/*", "acs:ecs:*:*:instance/*"],
        Condition: tag("ResourceTag"),
      },
    ]);
    // No snapshot write: the platform offers no VolumeSnapshotClass.
    for (const [name, statements] of docs)
      for (const s of statements) expect([name, s.Action.filter((a) => /Snapshot/.test(a) && ecsWrite(a))]).toEqual([name, []]);
  });
});
