// The kubeadm renderer's rules on user input, as functions returning problems
// (one line each, naming its config key). Config validation runs them on every
// stack before anything is registered; kubeadm.ts keeps its own assertions for
// values the program computes (tokens, hashes, endpoints).
import { PROJECT } from "../config/keys";
import { parseCidr } from "../../policies/rules/cidr";
import { isKubeletSettableLabel } from "./kubeadm";

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Kubernetes qualified name part / label value: <= 63, alphanumeric at both ends, "-", "_", "." inside. */
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
/** Quoted into the bootstrap script and an apt source line: https, no spaces, quotes or shell metacharacters. */
const HTTPS_URL = /^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/[A-Za-z0-9._~:/%+-]*$/;
const IMAGE_REPO = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?(\/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$/;

/**
 * kube-apiserver refuses a service CIDR with more than 20 host bits: for IPv4
 * the mask must be /12 or longer (kubernetes/kubernetes
 * cmd/kube-apiserver/app/options/validation.go, maxCIDRBits = 20: "specified
 * --service-cluster-ip-range is too large").
 */
export const MAX_SERVICE_CIDR_PREFIX = 12;

/** Problems with a Kubernetes qualified name (`[prefix/]name`, the syntax of label and taint keys). */
export function qualifiedNameProblems(key: string, name: string): string[] {
  const parts = name.split("/");
  if (parts.length > 2) return [`${key}: ${JSON.stringify(name)} has more than one "/"`];
  const out: string[] = [];
  if (parts.length === 2 && (parts[0].length === 0 || parts[0].length > 253 || !DNS_SUBDOMAIN.test(parts[0]))) {
    out.push(`${key}: ${JSON.stringify(name)} has an invalid prefix (a lowercase DNS subdomain of at most 253 characters)`);
  }
  if (!NAME_PART.test(parts[parts.length - 1])) {
    out.push(`${key}: ${JSON.stringify(name)} is not a valid name (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)`);
  }
  return out;
}

/** Problems with a label value (also the syntax of a taint value): empty, or <= 63 of [A-Za-z0-9-_.] with alphanumeric ends. */
export function labelValueProblems(key: string, value: string): string[] {
  return LABEL_VALUE.test(value)
    ? []
    : [`${key}: ${JSON.stringify(value)} is not a valid label value (at most 63 letters, digits, "-", "_" or ".", no spaces)`];
}

/**
 * Node labels set by the kubelet at registration (kubeletExtraArgs node-labels).
 * Under the NodeRestriction admission plugin a kubelet may set only labels
 * outside kubernetes.io/k8s.io, the kubelet's own list and node.kubernetes.io/ /
 * kubelet.kubernetes.io/ (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#noderestriction);
 * any other makes the kubelet fail to register, a dead VM after `pulumi up`.
 */
export function nodeLabelProblems(key: string, labels: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    const k = `${key}["${name}"]`;
    const syntax = qualifiedNameProblems(k, name);
    out.push(...syntax, ...labelValueProblems(k, value));
    if (syntax.length === 0 && !isKubeletSettableLabel(name)) {
      out.push(
        `${k}: the kubelet may not set this label under the NodeRestriction admission plugin (kubernetes.io/ and k8s.io/ labels are limited to node.kubernetes.io/, kubelet.kubernetes.io/ and a few well-known ones); use another prefix such as example.com/ or set it from the cluster`,
      );
    }
  }
  return out;
}

/** Node taints set at registration: key a qualified name, value a label value. */
export function taintProblems(key: string, taints: { key: string; value?: string }[]): string[] {
  return taints.flatMap((t, i) => [
    ...qualifiedNameProblems(`${key}[${i}].key`, t.key),
    ...(t.value === undefined ? [] : labelValueProblems(`${key}[${i}].value`, t.value)),
  ]);
}

/** Minor of a "1.NN.P" version, or undefined. */
function minorOf(version: string): number | undefined {
  const m = /^1\.(\d+)\.\d+$/.exec(version);
  return m ? Number(m[1]) : undefined;
}

/**
 * platform:kubernetes: the package repository must be https (the signing key is
 * fetched from `<repo>/Release.key`) and serve the version's minor: pkgs.k8s.io
 * and its mirrors have one repository per minor (`.../v1.36/deb/`), so a
 * version bump without a repository bump installs nothing at boot. Without
 * packageRepository the program uses pkgs.k8s.io for the version's own minor.
 */
export function kubernetesProblems(k: { version: string; packageRepository?: string; imageRepository?: string }): string[] {
  const key = `${PROJECT}:kubernetes`;
  const out: string[] = [];
  if (k.imageRepository !== undefined && !IMAGE_REPO.test(k.imageRepository)) {
    out.push(`${key}.imageRepository: ${JSON.stringify(k.imageRepository)} is not a registry path such as registry.example.com/google_containers (no scheme)`);
  }
  if (k.packageRepository === undefined) return out;
  if (!HTTPS_URL.test(k.packageRepository)) {
    out.push(`${key}.packageRepository: ${JSON.stringify(k.packageRepository)} is not an https:// URL without spaces or quotes`);
    return out;
  }
  const repo = /\/v1\.(\d+)\//.exec(k.packageRepository.endsWith("/") ? k.packageRepository : `${k.packageRepository}/`);
  const minor = minorOf(k.version);
  if (repo && minor !== undefined && Number(repo[1]) !== minor) {
    out.push(
      `${key}.packageRepository: serves v1.${repo[1]} but ${key}.version is ${k.version}; the apt repositories are per minor, change the URL to v1.${minor} together with the version`,
    );
  }
  return out;
}

/** platform:network.serviceCidr no larger than the api-server accepts. */
export function serviceCidrProblems(serviceCidr: string): string[] {
  let prefix: number;
  try {
    prefix = parseCidr(serviceCidr).prefix;
  } catch {
    return []; // malformed: reported by the schema
  }
  return prefix < MAX_SERVICE_CIDR_PREFIX
    ? [`${PROJECT}:network.serviceCidr: ${serviceCidr} is larger than /${MAX_SERVICE_CIDR_PREFIX}, the largest service range kube-apiserver accepts`]
    : [];
}
