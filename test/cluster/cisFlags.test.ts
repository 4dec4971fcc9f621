// Issue 27, CIS Kubernetes Benchmark (kube-bench cfg cis-1.12) items fixed in prod1's kubeadm and
// kubelet configuration, read from master-0's user data as kubeadm receives it. The verdict of
// kube-bench itself on the real control plane is in test/controlplane/controlPlane.test.ts.
import YAML from "yaml";
import { writeFileText } from "../../components/cluster/cloudInit";
import { plan } from "../support/offline";

const STRONG = [
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

test("prod1: kubeadm and kubelet configuration carry the CIS fixes (1.2.3, 1.2.5, 1.2.15, 1.2.29, 1.2.30, 1.3.1, 1.3.2, 1.4.1, 4.2.12-4.2.14)", async () => {
  const p = await plan("prod1");
  const art = p.artifacts.find((a) => a.kind === "cloud-init" && a.file.endsWith("prod1-master-0.yaml"))!;
  const doc = YAML.parse(art.text.replace(/^#cloud-config\n/, ""));
  const init = doc.write_files.find((f: { path: string }) => f.path === "/etc/k8s-bootstrap/kubeadm-init.yaml");
  const docs = YAML.parseAllDocuments(writeFileText(init)).map((d) => d.toJS());
  const cluster = docs.find((d) => d.kind === "ClusterConfiguration");
  const args = (l: { name: string; value: string }[]) => Object.fromEntries(l.map((a) => [a.name, a.value]));
  expect(args(cluster.apiServer.extraArgs)).toMatchObject({
    "enable-admission-plugins": "NodeRestriction,DenyServiceExternalIPs",
    "kubelet-certificate-authority": "/etc/kubernetes/pki/ca.crt",
    profiling: "false",
    "service-account-extend-token-expiration": "false",
    "tls-cipher-suites": STRONG.join(","),
  });
  expect(args(cluster.controllerManager.extraArgs)).toEqual({ profiling: "false", "terminated-pod-gc-threshold": "1000" });
  expect(args(cluster.scheduler.extraArgs)).toEqual({ profiling: "false" });
  const kubelet = docs.find((d) => d.kind === "KubeletConfiguration");
  expect(kubelet).toMatchObject({ tlsCipherSuites: STRONG, seccompDefault: true, podPidsLimit: 4096, serverTLSBootstrap: true });
});
