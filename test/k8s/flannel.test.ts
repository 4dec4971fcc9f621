// kube-flannel objects, checked against the Kubernetes OpenAPI schema
// (kubernetes-models), plus the settings a cluster relies on: the pod CIDR,
// vxlan on 8472, pinned images, a privileged namespace.
import { FLANNEL_DEFAULT_IMAGES, flannelNetConf, flannelObjects, FlannelSettings } from "../../components/k8s/flannelObjects";
import type { K8sObject } from "../../components/k8s/k8sObjects";
import { FLANNEL_VXLAN_PORT } from "../../components/network/ports";
import { validateK8sObject, validateK8sObjects } from "../support/k8sSchema";

const settings: FlannelSettings = {
  podCidr: "10.244.0.0/16",
  flannelImage: FLANNEL_DEFAULT_IMAGES.flannel,
  cniPluginImage: FLANNEL_DEFAULT_IMAGES.cniPlugin,
};

function find(objs: K8sObject[], kind: string): any {
  const o = objs.find((x) => x.kind === kind);
  if (!o) throw new Error(`no ${kind}`);
  return o;
}

const allContainers = (ds: any): any[] => [...(ds.spec.template.spec.initContainers ?? []), ...ds.spec.template.spec.containers];

describe("validateK8sObject (the schema check itself)", () => {
  const goodDs = () => structuredClone(find(flannelObjects(settings), "DaemonSet"));

  it("accepts a valid DaemonSet", () => {
    expect(validateK8sObject(goodDs())).toEqual([]);
  });

  it("reports a DaemonSet without spec.selector", () => {
    const ds = goodDs();
    delete ds.spec.selector;
    expect(validateK8sObject(ds)).toEqual([expect.stringMatching(/^\/spec .*selector/)]);
  });

  it("reports a container port given as a string", () => {
    const ds = goodDs();
    ds.spec.template.spec.containers[0].ports = [{ containerPort: "8080" }];
    expect(validateK8sObject(ds).join("\n")).toMatch(/\/spec\/template\/spec\/containers\/0\/ports\/0\/containerPort must be integer/);
  });

  it("reports a wrong enum value and a missing metadata.name", () => {
    const ds = goodDs();
    ds.spec.template.spec.containers[0].imagePullPolicy = "Sometimes";
    delete ds.metadata.name;
    const errors = validateK8sObject(ds).join("\n");
    expect(errors).toMatch(/imagePullPolicy must be equal to one of the allowed values/);
    expect(errors).toMatch(/\/metadata must have name/);
  });

  it("has no schema for CRDs unless told to accept them", () => {
    const rule = { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "x" }, spec: {} };
    expect(validateK8sObject(rule)).toEqual(["no schema for monitoring.coreos.com/v1/PrometheusRule"]);
    expect(validateK8sObject(rule, { allowUnknownKinds: ["monitoring.coreos.com/v1/PrometheusRule"] })).toEqual([]);
  });

  it("treats a misspelt kind or a sub-schema name as unknown, not as valid", () => {
    expect(validateK8sObject({ apiVersion: "apps/v1", kind: "Daemonset", metadata: { name: "x" } })).toEqual(["no schema for apps/v1/Daemonset"]);
    expect(validateK8sObject({ apiVersion: "apps/v1", kind: "DaemonSetSpec", metadata: { name: "x" } })).toEqual(["no schema for apps/v1/DaemonSetSpec"]);
    expect(validateK8sObject({ apiVersion: "../../x", kind: "Pod", metadata: { name: "x" } })).toEqual(["no schema for ../../x/Pod"]);
  });
});

describe("flannelObjects", () => {
  const objs = flannelObjects(settings);

  it("renders the upstream set of objects, in apply order", () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Namespace/kube-flannel",
      "ServiceAccount/flannel",
      "ClusterRole/flannel",
      "ClusterRoleBinding/flannel",
      "ConfigMap/kube-flannel-cfg",
      "DaemonSet/kube-flannel-ds",
    ]);
  });

  it("every object validates against the Kubernetes schema", () => {
    expect(validateK8sObjects(objs)).toEqual([]);
    const withHealthz = flannelObjects({ ...settings, healthzPort: 10267, vxlanPort: 4789 });
    expect(validateK8sObjects(withHealthz)).toEqual([]);
  });

  it("labels the namespace privileged (hostNetwork and hostPath need it)", () => {
    const ns = find(objs, "Namespace");
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
    for (const o of objs.filter((x) => x.kind !== "Namespace" && !x.kind.startsWith("Cluster"))) {
      expect(o.metadata.namespace).toBe("kube-flannel");
    }
  });

  it("net-conf.json carries the pod CIDR and the vxlan backend on 8472", () => {
    const cm = find(objs, "ConfigMap");
    const net = JSON.parse(cm.data["net-conf.json"]);
    expect(net.Network).toBe("10.244.0.0/16");
    expect(net.Backend).toEqual({ Type: "vxlan", Port: 8472 });
    expect(FLANNEL_VXLAN_PORT).toBe(8472);
    expect(net).toEqual({ Network: "10.244.0.0/16", EnableNFTables: false, Backend: { Type: "vxlan", Port: 8472 } });

    const other = find(flannelObjects({ ...settings, podCidr: "172.20.0.0/14", vxlanPort: 4789 }), "ConfigMap");
    const otherNet = JSON.parse(other.data["net-conf.json"]);
    expect(otherNet.Network).toBe("172.20.0.0/14");
    expect(otherNet.Backend.Port).toBe(4789);
  });

  it("cni-conf.json is a flannel + portmap conflist", () => {
    const cni = JSON.parse(find(objs, "ConfigMap").data["cni-conf.json"]);
    expect(cni.plugins.map((p: any) => p.type)).toEqual(["flannel", "portmap"]);
  });

  it("the DaemonSet runs on the host network, everywhere, with both install init containers", () => {
    const ds = find(objs, "DaemonSet");
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.tolerations).toContainEqual({ operator: "Exists", effect: "NoSchedule" });
    expect(pod.priorityClassName).toBe("system-node-critical");
    expect(pod.serviceAccountName).toBe("flannel");
    expect(pod.initContainers.map((c: any) => c.name)).toEqual(["install-cni-plugin", "install-cni"]);
    expect(ds.spec.selector.matchLabels).toEqual({ app: "flannel" });
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) {
      expect(ds.spec.template.metadata.labels[k]).toBe(v);
    }
    // Every mounted volume exists.
    const volumes = new Set(pod.volumes.map((v: any) => v.name));
    for (const c of allContainers(ds)) for (const m of c.volumeMounts) expect(volumes).toContain(m.name);
  });

  it("every image is pinned to a version (no latest, has a tag)", () => {
    const images = allContainers(find(objs, "DaemonSet")).map((c) => c.image as string);
    expect(new Set(images)).toEqual(new Set(["ghcr.io/flannel-io/flannel:v0.26.7", "ghcr.io/flannel-io/flannel-cni-plugin:v1.6.2-flannel1"]));
    for (const image of images) {
      expect(image).toMatch(/:[\w][\w.-]*$/);
      expect(image).not.toMatch(/:latest$/);
    }
  });

  it("adds the healthz endpoint only when a port is given, bound to loopback", () => {
    const flanneld = (s: FlannelSettings) => find(flannelObjects(s), "DaemonSet").spec.template.spec.containers[0];
    expect(flanneld(settings).args).toEqual(["--ip-masq", "--kube-subnet-mgr"]);
    expect(flanneld(settings).livenessProbe).toBeUndefined();
    const c = flanneld({ ...settings, healthzPort: 10267 });
    expect(c.args).toEqual(expect.arrayContaining(["--healthz-ip=127.0.0.1", "--healthz-port=10267"]));
    expect(c.livenessProbe.httpGet).toEqual({ host: "127.0.0.1", path: "/healthz", port: 10267 });
    expect(c.ports).toEqual([{ name: "healthz", containerPort: 10267, hostPort: 10267, protocol: "TCP" }]);
  });

  it.each([
    [{ podCidr: "10.244.0.0" }, "podCidr"],
    [{ podCidr: "10.244.0.1/16" }, "podCidr"],
    [{ podCidr: "10.244.0.0/24" }, "podCidr"],
    [{ flannelImage: "ghcr.io/flannel-io/flannel" }, "flannelImage"],
    [{ flannelImage: "ghcr.io/flannel-io/flannel:latest" }, "flannelImage"],
    [{ cniPluginImage: "registry.example.com:5000/flannel-cni-plugin" }, "cniPluginImage"],
    [{ vxlanPort: 0 }, "vxlanPort"],
    [{ vxlanPort: 70000 }, "vxlanPort"],
    [{ healthzPort: 10250 }, "healthzPort"],
    [{ healthzPort: 6443 }, "healthzPort"],
    [{ healthzPort: -1 }, "healthzPort"],
  ])("rejects %p naming %s", (patch, field) => {
    expect(() => flannelObjects({ ...settings, ...patch })).toThrow(field);
    expect(() => flannelNetConf({ ...settings, ...patch })).toThrow(field);
  });

  it("accepts a digest-pinned image and a registry with a port", () => {
    const objs2 = flannelObjects({
      ...settings,
      flannelImage: "registry.example.com:5000/flannel-io/flannel:v0.26.7",
      cniPluginImage: `ghcr.io/flannel-io/flannel-cni-plugin@sha256:${"a".repeat(64)}`,
    });
    expect(validateK8sObjects(objs2)).toEqual([]);
  });
});
