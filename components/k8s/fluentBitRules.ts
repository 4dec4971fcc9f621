// fluent-bit's rules on platform:logging, as a function returning problems;
// config validation runs it before anything is registered (fluentBitValues.ts
// keeps its assertions on the rendered config).
import { PROJECT } from "../config/keys";
import { forbiddenIpProblem } from "../config/kinds";

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Problems with a DNS host name or IPv4 address where only a host is allowed (no scheme, port, path or whitespace). */
export function hostProblems(key: string, host: string): string[] {
  if (/[\s]/.test(host)) return [`${key}: ${JSON.stringify(host)} contains whitespace or a newline; give the host name alone`];
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host))
    return [`${key}: ${JSON.stringify(host)} has a scheme; give the host name alone (tls and port are their own keys)`];
  if (/[:/?#@]/.test(host)) return [`${key}: ${JSON.stringify(host)} must be a host name alone, without port or path`];
  const forbidden = forbiddenIpProblem(host);
  if (forbidden) return [`${key}: ${forbidden}; give the store's host name`];
  if (host.length > 253 || !host.split(".").every((l) => LABEL.test(l))) {
    return [`${key}: ${JSON.stringify(host)} is not a DNS host name (labels of at most 63 letters, digits or "-", at most 253 characters)`];
  }
  return [];
}

type Logging = { output: "elasticsearch"; host: string; port?: number } | { output: "kafka"; brokers: string[] };

export function loggingProblems(l: Logging): string[] {
  const key = `${PROJECT}:logging`;
  if (l.output === "elasticsearch") return hostProblems(`${key}.host`, l.host);
  return l.brokers.flatMap((b, i) => {
    const colon = b.lastIndexOf(":");
    const port = Number(b.slice(colon + 1));
    const out = hostProblems(`${key}.brokers[${i}]`, b.slice(0, colon));
    if (!Number.isInteger(port) || port < 1 || port > 65535) out.push(`${key}.brokers[${i}]: port ${b.slice(colon + 1)} is not 1-65535`);
    return out;
  });
}
