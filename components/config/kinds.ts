// Config values checked by kind, not by case (docs/threat-model.md, T1, T2, T24, T26, T27):
// URLs and host:port through the WHATWG URL parser (Node's `URL`), so what is checked is what
// a client connects to; each function returns its problems, one line each, naming the key and
// the limit. Used by the zod schema (schema.ts) and the cross-key checks (crossChecks.ts).
import { PROJECT } from "./keys";

/** Largest TCP port (RFC 793's 16-bit port field). */
export const MAX_PORT = 65535;

/** Options of httpUrlProblem. */
export interface UrlOptions {
  /** Whether an IP literal host is allowed (never a loopback, link-local, metadata or IPv4-mapped one). */
  allowIp?: boolean;
  /** The value is a secret: no line prints any part of it but a port number. */
  secret?: boolean;
}

/**
 * Why an IP address (as the WHATWG URL parser writes a host: dotted IPv4, or bracketed IPv6) is one no config
 * key may name, or undefined: loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16, fe80::/10, where ECS's
 * metadata service is), Alibaba Cloud's other metadata address 100.100.100.200, the unspecified address, and
 * IPv4-mapped IPv6 (::ffff:a.b.c.d, which reaches the IPv4 address behind any check on the IPv6 form).
 */
export function forbiddenIpProblem(host: string): string | undefined {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (a === 127) return `${host} is a loopback address`;
    if (a === 169 && b === 254) return `${host} is link-local (the instance metadata service)`;
    if (h === "100.100.100.200") return `${host} is Alibaba Cloud's instance metadata address`;
    if (a === 0) return `${host} is not a routable address`;
    return undefined;
  }
  if (!h.includes(":")) return undefined;
  if (h === "::1") return `${host} is a loopback address`;
  if (h === "::") return `${host} is not a routable address`;
  if (/^fe[89ab][0-9a-f]:/.test(h)) return `${host} is link-local`;
  if (/^(0{0,4}:){0,5}:?ffff:/.test(h) || h.startsWith("::ffff:")) return `${host} is an IPv4-mapped address (it reaches the IPv4 address inside it)`;
  return undefined;
}

/** Whether a host as the URL parser writes it is an IP literal (dotted IPv4 or bracketed IPv6). */
export const isIpLiteral = (host: string): boolean => host.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(host);

/**
 * Why `value` is not an http(s) URL a client would send credentials to safely, or undefined.
 * Userinfo (`https://company-host@elsewhere`) is refused: the URL parser connects to the host after
 * '@', while a reviewer reads the one before it. A port outside 1-65535 does not parse. The value must be
 * what the parser makes of it (WHATWG URL's href, the trailing '/' of an empty path aside): `http://0x7f.1`
 * is 127.0.0.1, `https:host` is https://host/, and the raw string is what the apps are given. The host must be
 * an RFC 1123 host name (an IP literal only with opts.allowIp, and never loopback, link-local or metadata).
 */
export function httpUrlProblem(value: string, schemes: readonly string[] = ["http:", "https:"], opts: UrlOptions = {}): string | undefined {
  const kinds = schemes.map((s) => s.slice(0, -1)).join(" or ");
  const shown = (text: string) => (opts.secret ? "(value not shown: it is a secret)" : text);
  const port = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@]*:(\d+)(?:[/?#]|$)/i.exec(value)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > MAX_PORT)) return `port ${port} is not 1-${MAX_PORT}`;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `must be an ${kinds} URL (host, optional port 1-${MAX_PORT}); ${shown(`${JSON.stringify(value)} does not parse`)}`;
  }
  if (!schemes.includes(u.protocol)) return `must be an ${kinds} URL, not ${opts.secret ? "another scheme" : u.protocol.slice(0, -1)}`;
  if (!schemes.some((s) => value.startsWith(`${s}//`))) return `must start with ${schemes.map((s) => `${s}//`).join(" or ")} literally (lowercase, with '//')`;
  if (u.username !== "" || u.password !== "" || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value))
    return `must not carry userinfo (user@): it connects to ${opts.secret ? "the host after '@'" : u.host}, not to the name before '@'`;
  if (/\s/.test(value)) return "must not contain whitespace";
  const forbidden = forbiddenIpProblem(u.hostname);
  if (forbidden) return opts.secret ? "host must not be a loopback, link-local or metadata address" : `host ${forbidden}`;
  if (isIpLiteral(u.hostname)) {
    if (!opts.allowIp) return `host must be a host name, not an IP address${opts.secret ? "" : ` (${u.hostname})`}`;
  } else {
    const hostProblem = hostNameProblem(u.hostname);
    if (hostProblem)
      return `host ${opts.secret ? "is not an RFC 1123 host name (labels of letters, digits and '-', 1-63 characters, not starting or ending with '-')" : hostProblem.replace(/^must be a host name without scheme or port /, "must be an RFC 1123 host name ")}`;
  }
  // The parser writes "/" for an empty path (before a query or fragment too); the value may leave it out.
  const withPath = value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)(?=[?#]|$)/i, "$1/");
  if (withPath !== u.href)
    return `must be written as the URL parser reads it (lowercase scheme and host, no default port, no '.' or '..' segments)${opts.secret ? "" : `: ${u.href}`}`;
  return undefined;
}

/** Why `value` is not `host:port` (port 1-65535, no userinfo, no path), or undefined. */
export function hostPortProblem(value: string): string | undefined {
  const port = /:(\d+)$/.exec(value)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > MAX_PORT)) return `port ${port} is not 1-${MAX_PORT}`;
  let u: URL;
  try {
    u = new URL(`tcp://${value}`);
  } catch {
    return `must be host:port with a port 1-${MAX_PORT}; ${JSON.stringify(value)} does not parse`;
  }
  if (value.includes("@")) return `must not carry userinfo (user@): it connects to ${u.host}`;
  if (u.port === "" && !/:\d+$/.test(value)) return "must be host:port (the port is required)";
  if (u.port === "") return `port must be 1-${MAX_PORT}`;
  if (/:0\d+$/.test(value)) return `port ${port} has a leading zero; write ${Number(port)}`;
  if (/[A-Z]/.test(value)) return `host must be lowercase, ${value.toLowerCase()} (names are compared as written: TLS certificates, allow-lists)`;
  const forbidden = forbiddenIpProblem(u.hostname);
  if (forbidden) return `host ${forbidden}`;
  if (u.pathname !== "" || u.search !== "" || u.hash !== "" || `${u.hostname}:${u.port}` !== value.toLowerCase()) return "must be host:port, nothing else";
  return undefined;
}

/**
 * KMS endpoints the masters may fetch the PKI from: the region's shared gateway (`kms.<region>.aliyuncs.com`),
 * its VPC endpoint (`kms-vpc.<region>.aliyuncs.com`, the program's default), or a KMS instance's own VPC endpoint
 * (`<kst-id>.cryptoservice.kms.aliyuncs.com`). Anything else receives role-signed requests and returns the PKI the
 * masters install (T1).
 */
export function kmsEndpointProblems(endpoint: string | undefined, region: string | undefined, instanceId: string | undefined): string[] {
  if (endpoint === undefined) return [];
  const key = `${PROJECT}:secretStore.endpoint`;
  const problem = httpUrlProblem(endpoint, ["https:"]);
  if (problem) return [`${key}: ${problem}`];
  const u = new URL(endpoint);
  if (u.pathname !== "/" || u.search !== "" || u.hash !== "") return [`${key}: must be an https URL with no path, query or fragment`];
  const allowed = [
    ...(region ? [`kms.${region}.aliyuncs.com`, `kms-vpc.${region}.aliyuncs.com`] : []),
    ...(instanceId ? [`${instanceId.toLowerCase()}.cryptoservice.kms.aliyuncs.com`] : []),
  ];
  if (u.port !== "" && u.port !== "443") return [`${key}: must use port 443, got ${u.port}`];
  return allowed.includes(u.hostname)
    ? []
    : [
        `${key}: host ${u.hostname} is not a KMS endpoint of this stack (${allowed.join(", ")}); the masters send role-signed requests there and install the PKI it returns`,
      ];
}

/**
 * Taint keys the node lifecycle and cloud controllers own (`node.kubernetes.io/not-ready`,
 * `node.cloudprovider.kubernetes.io/uninitialized`, ...): Kubernetes docs, "Taints and Tolerations",
 * taint-based evictions (kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/, read 2026-12-07).
 */
export const RESERVED_TAINT_PREFIXES = ["node.kubernetes.io/", "node.cloudprovider.kubernetes.io/"];

/**
 * Key prefixes Kubernetes reserves for its core components: kubernetes.io/ and k8s.io/, and their
 * subdomains (Kubernetes docs, "Labels and Selectors", syntax and character set:
 * kubernetes.io/docs/concepts/overview/working-with-objects/labels/, read 2026-12-07). A pool's taint
 * under them claims to be set by Kubernetes itself.
 */
export const RESERVED_KEY_DOMAINS = ["kubernetes.io", "k8s.io"];

/** The reserved domain a `prefix/name` key falls under, or undefined. */
export function reservedKeyDomain(key: string): string | undefined {
  const slash = key.indexOf("/");
  if (slash < 0) return undefined;
  const prefix = key.slice(0, slash).toLowerCase();
  return RESERVED_KEY_DOMAINS.find((d) => prefix === d || prefix.endsWith(`.${d}`));
}

/**
 * A pool's taints: a key owned by a controller, and two taints with the same key and effect (the API server
 * refuses a Node with both: core/validation ValidateNodeSpec checks taints unique by key and effect).
 */
export function taintSetProblems(key: string, taints: { key: string; value?: string; effect: string }[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  taints.forEach((t, i) => {
    const reserved = RESERVED_TAINT_PREFIXES.find((p) => t.key.startsWith(p));
    const domain = reservedKeyDomain(t.key);
    if (reserved) out.push(`${key}[${i}].key: ${t.key} is reserved (${reserved}* taints are set and removed by Kubernetes controllers)`);
    else if (domain)
      out.push(`${key}[${i}].key: ${t.key} is under ${domain}/, which Kubernetes reserves for its core components; use a key of your own (e.g. dedicated)`);
    const id = `${t.key}:${t.effect}`;
    if (seen.has(id)) out.push(`${key}[${i}]: duplicate taint ${t.key} with effect ${t.effect} (at most one per key and effect)`);
    seen.add(id);
  });
  return out;
}

/** A basic-auth user id: RFC 7617 section 2, "a user-id containing a colon character is invalid" (the colon ends it). */
export function basicAuthUserProblem(user: string): string | undefined {
  return user.includes(":") ? "must not contain ':' (HTTP basic auth splits user and password at the first colon, RFC 7617 section 2)" : undefined;
}

/**
 * The largest int32: Kubernetes API integers such as apps/v1 DeploymentSpec.replicas, autoscaling/v2
 * minReplicas/maxReplicas/averageUtilization and ContainerPort are int32 (k8s.io/api, apps/v1 and
 * autoscaling/v2 types.go); a larger value is refused by the API server or wraps.
 */
export const INT32_MAX = 2147483647;

// The reference grammar of distribution/reference v0.6.0 (reference.go's grammar comment, regexp.go):
//   name := [domain '/'] remote-name; domain := host [':' port]; domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//   path-component := alpha-numeric [separator alpha-numeric]*; alpha-numeric := [a-z0-9]+; separator := [_.] | __ | [-]+
//   tag := [\w][\w.-]{0,127}; the whole name at most 255 characters (NameTotalLengthMax).
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REPOSITORY = new RegExp(`^(${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*)(?::([0-9]+))?/(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)$`);
/** distribution/reference's NameTotalLengthMax. */
export const IMAGE_NAME_MAX = 255;

/**
 * Why `value` is not an image repository with a registry host and no tag or digest
 * (`harbor.livemall.internal/commerce/order-service`), by distribution's reference grammar, or undefined.
 */
export function imageRepositoryProblem(value: string): string | undefined {
  const example = "e.g. harbor.livemall.internal/commerce/order-service";
  if (value.length > IMAGE_NAME_MAX) return `is ${value.length} characters; an image name is at most ${IMAGE_NAME_MAX} (distribution's reference grammar)`;
  if (/[@]/.test(value) || /:[^/]*$/.test(value.slice(value.indexOf("/") + 1)))
    return `must be an image repository without a tag or digest (the tag is its own key), ${example}`;
  const m = REPOSITORY.exec(value);
  if (!m || !(m[1].includes(".") || m[2] !== undefined || m[1] === "localhost"))
    return `must be registry-host[:port]/path with lowercase path components separated by '.', '_', '__' or '-' (distribution's reference grammar), ${example}`;
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > MAX_PORT)) return `registry port ${m[2]} is not 1-${MAX_PORT}`;
  return undefined;
}

/**
 * Prometheus' duration (`15d`, `2w`): prometheus/common model.ParseDuration refuses a value past int64
 * nanoseconds ("duration out of range"), about 292 years (model/time.go). Zero is refused: prometheus
 * cmd/prometheus/main.go treats a zero retention time as unset (15d default without a size limit, no time
 * limit with one), so `0d` never means what it says.
 */
export function prometheusDurationProblem(value: string): string | undefined {
  const m = /^(\d+)([dhw])$/.exec(value);
  if (!m) return "must be a duration such as 15d";
  const unitMs: Record<string, number> = { h: 36e5, d: 864e5, w: 6048e5 };
  if (BigInt(m[1]) === 0n) return "must be more than 0d (Prometheus reads a zero --storage.tsdb.retention.time as not set)";
  const ns = BigInt(m[1]) * BigInt(unitMs[m[2]]) * 1000000n;
  return ns > 9223372036854775807n ? `${value} is past Prometheus' duration range (int64 nanoseconds, about 292 years)` : undefined;
}

/**
 * Why `value` is not a host name a resolver accepts (RFC 1123 section 2.1 over RFC 952: labels of letters,
 * digits and '-', not starting or ending with '-', 1-63 characters each, 253 in all), or undefined.
 */
export function hostNameProblem(value: string): string | undefined {
  if (value.length === 0 || value.length > 253) return `must be a host name of 1-253 characters, got ${value.length}`;
  const forbidden = forbiddenIpProblem(value);
  if (forbidden) return `must not be ${forbidden.replace(/^\S+ is /, "")}: ${value}`;
  const bad = value.split(".").find((l) => !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
  return bad === undefined
    ? undefined
    : `must be a host name without scheme or port (dot-separated labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'); ${JSON.stringify(bad)} is not a label`;
}

/** The largest int64: Kubernetes' resource.Quantity reads a value as int64 (Value(), MilliValue()), as the CRI's memory_limit_in_bytes and cpu_quota are. */
export const INT64_MAX = 9223372036854775807n;

const QUANTITY_SCALE: Record<string, bigint> = {
  "": 1n,
  k: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  E: 10n ** 18n,
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  Ei: 1024n ** 6n,
};

/**
 * Why `value` is not a Kubernetes quantity of `resource` within int64, or undefined. The grammar is
 * resource.Quantity's without signs and exponents (a decimal, then m, k, M, G, T, P, E or Ki..Ei); past int64 bytes (memory) or millicores
 * (cpu) the quantity no longer fits the int64 that Quantity.Value()/MilliValue() and the CRI's resources carry
 * (k8s.io/apimachinery pkg/api/resource quantity.go; cri-api LinuxContainerResources).
 */
export function quantityProblem(value: string, resource: "cpu" | "memory"): string | undefined {
  const m = /^(\d+)(?:\.(\d+))?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(value);
  if (!m) return "must be a Kubernetes quantity such as 500m, 2 or 4Gi";
  const [, whole, frac = "", suffix = ""] = m;
  const digits = BigInt(whole + frac);
  const unit = suffix === "m" ? 1n : QUANTITY_SCALE[suffix] * 1000n; // in thousandths
  // bytes (memory) or millicores (cpu), rounded up as Quantity does
  const thousandths = digits * unit;
  const den = 10n ** BigInt(frac.length) * (resource === "memory" ? 1000n : 1n);
  const v = (thousandths + den - 1n) / den;
  return v > INT64_MAX
    ? `${value} is past int64 ${resource === "memory" ? "bytes" : "millicores"} (${INT64_MAX}), the most a Kubernetes quantity carries`
    : undefined;
}

/**
 * Why `value` is not a registry prefix `host[:port][/path]` (kubeadm's imageRepository, the platform's mirror), or
 * undefined: a host name (RFC 1123), an optional port 1-65535, then path components of distribution's reference
 * grammar; no scheme, tag or digest.
 */
export function registryPrefixProblem(value: string, withPath = true): string | undefined {
  const example = withPath ? "such as mirror.livemall.internal or registry.example.com/google_containers" : "such as harbor.livemall.internal";
  const m = /^([^/:]*)(?::([^/]*))?((?:\/[^/]*)*)$/.exec(value);
  if (!m || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return `must be a registry host${withPath ? "[:port][/path]" : "[:port]"} without a scheme, ${example}`;
  const [, host, port, path] = m;
  if (hostNameProblem(host) !== undefined)
    return `must be a registry host${withPath ? "[:port][/path]" : "[:port]"}, ${example}; ${JSON.stringify(host)} is not a host name`;
  if (!host.includes(".") && port === undefined && host !== "localhost")
    return `must start with a registry host that has a '.' or a port, or is localhost (${example}): container runtimes read ${JSON.stringify(host)} as a Docker Hub path, docker.io/${host}/...`;
  if (port !== undefined && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= MAX_PORT)) return `registry port ${port} is not 1-${MAX_PORT}`;
  if (path !== "" && !withPath) return `must be a registry host[:port] with no path, ${example}`;
  // image references name the registry as written: harbor.livemall.internal:443/x is not in harbor.livemall.internal
  if (port === "443" && !withPath) return `must not give https' default port 443: image references name the registry as ${host}, ${example}`;
  const bad = path
    .split("/")
    .slice(1)
    .find((c) => !new RegExp(`^${PATH_COMPONENT}$`).test(c));
  if (bad !== undefined)
    return `path component ${JSON.stringify(bad)} is not lowercase letters and digits separated by '.', '_', '__' or '-' (distribution's reference grammar)`;
  return undefined;
}

/**
 * Why `value` is not an image tag, or undefined: distribution/reference v0.6.0's tag grammar `[\w][\w.-]{0,127}`
 * (so `-x` and `v2@sha256:...` are refused), and, since the tag is also the app.kubernetes.io/version label, a
 * label value (at most 63 characters, ending in a letter or digit: apimachinery validation IsValidLabelValue).
 */
export function imageTagProblem(value: string): string | undefined {
  if (!/^\w[\w.-]{0,127}$/.test(value))
    return `tag ${JSON.stringify(value)} is not an image tag (a letter, digit or '_', then up to 127 of those, '.' or '-': distribution's tag grammar)`;
  if (value.length > 63 || !/[A-Za-z0-9]$/.test(value))
    return `tag ${JSON.stringify(value)} must also fit the app.kubernetes.io/version label (at most 63 characters, ending in a letter or digit)`;
  return undefined;
}

/**
 * Why `value` is not a public IPv4 address, or undefined: dotted decimal without leading zeros, outside
 * RFC 1918 private space, 100.64.0.0/10 (RFC 6598 shared space, Alibaba Cloud's metadata 100.100.100.200 among it),
 * loopback, link-local, 0.0.0.0/8, multicast and 240.0.0.0/4 (IANA IPv4 Special-Purpose Address Registry).
 */
export function publicIpv4Problem(value: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  if (!m || m.slice(1).some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith("0"))))
    return `must be an IPv4 address in dotted decimal (four numbers 0-255 without leading zeros), got ${JSON.stringify(value)}`;
  const [a, b] = [Number(m[1]), Number(m[2])];
  const special: [boolean, string][] = [
    [a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168), "private (RFC 1918)"],
    [a === 100 && b >= 64 && b <= 127, "shared address space (RFC 6598, 100.64.0.0/10)"],
    [a === 127, "loopback"],
    [a === 169 && b === 254, "link-local"],
    [a === 0, "in 0.0.0.0/8 (this network)"],
    [a >= 224, "multicast or reserved (224.0.0.0/3)"],
  ];
  const hit = special.find(([is]) => is);
  return hit ? `must be a public IPv4 address; ${value} is ${hit[1]}` : undefined;
}
