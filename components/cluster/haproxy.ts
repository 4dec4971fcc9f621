// haproxy.cfg for the api-server front. An Alibaba internal SLB backend cannot
// reach the SLB itself (no hairpin), so masters and nodes cannot both sit
// behind one SLB: nodes talk to the SLB on 6443, the SLB's backends are two
// HAProxy VMs, and each HAProxy balances across the masters. The SLB
// health-checks each HAProxy on an HTTP check port that fails when that
// HAProxy sees no ready master, so the SLB drains it instead of blackholing
// kubelets. Pure: typed settings in, config text out, checked by `haproxy -c`.

import { parseCidr, parseIp } from "../../policies/rules/cidr";
import { API_SERVER_PORT, HAPROXY_CHECK_PORT, HAPROXY_STATS_PORT } from "../network/ports";

export interface HaproxyMaster {
  /** Node name, e.g. prod1-master-0; becomes the HAProxy server name seen in logs and stats. */
  name: string;
  /** Private IP of the master; an IP, not a name, so HAProxy never depends on DNS to start. */
  address: string;
  /** api-server port on the master; default 6443. */
  port?: number;
}

export interface HaproxySettings {
  /** Every control-plane node; the api-server backend balances across all of them. */
  masters: HaproxyMaster[];
  /** Frontend bind address; default "*" (the loopback test binds 127.0.0.1). */
  bindAddress?: string;
  /** api-server port HAProxy listens on, the SLB's backend port; default 6443. */
  apiServerPort?: number;
  /** HTTP check port for the SLB (monitor-uri /healthz); default 8081. */
  checkPort?: number;
  /** Stats page port; default 9000. Basic-auth protected, shows which masters are up. */
  statsPort?: number;
  /** Stats page user; default "admin". */
  statsUser?: string;
  /**
   * Stats page password; a secret, random from Pulumi. Rendered single-quoted, so it may hold `#`, `$` or `\`.
   * Without it there is no stats page (the default: `platform:apiServerFront.statsPage` is off).
   */
  statsPassword?: string;
  /**
   * With the stats page: the only source ranges it accepts connections from (the front's own
   * vswitches); every other source is rejected at connect, before any HTTP. Required with statsPassword.
   */
  statsAllowFrom?: string[];
  /**
   * The unprivileged user and group the workers run as, and their chroot: Debian's haproxy package
   * creates both (its postinst: `adduser --system --home /var/lib/haproxy --group haproxy`, and ships
   * the empty directory). The master process stays root to bind and reload. Default haproxy/haproxy,
   * /var/lib/haproxy.
   */
  runAs?: { user: string; group: string; chroot: string };
  /**
   * Max concurrent connections; sized for many kubelets and long-lived watches
   * (each node keeps a few connections open for hours). Default 20000.
   * Note: HAProxy needs about 2 file descriptors per connection and refuses to
   * start if it cannot raise its limit (started as root it raises it itself; a
   * non-root unit needs LimitNOFILE >= 2 x maxConn + a few dozen).
   */
  maxConn?: number;
  /**
   * Interval between health checks of each master, in ms; default 2000.
   * A master is marked down after 3 failed checks and up after 2 good ones, so
   * a dead master stops getting new connections within ~3 intervals.
   * The loopback test shortens it; production keeps the default.
   */
  checkIntervalMs?: number;
}

export const HAPROXY_DEFAULTS = {
  bindAddress: "*",
  apiServerPort: API_SERVER_PORT,
  masterPort: API_SERVER_PORT,
  checkPort: HAPROXY_CHECK_PORT,
  statsPort: HAPROXY_STATS_PORT,
  statsUser: "admin",
  runAs: { user: "haproxy", group: "haproxy", chroot: "/var/lib/haproxy" },
  maxConn: 20000,
  checkIntervalMs: 2000,
} as const;

/** Backend name; the check frontend's `nbsrv()` refers to it. */
export const HAPROXY_BACKEND = "kube_apiserver";
/** Path the SLB health check requests on the check port. */
export const HAPROXY_MONITOR_URI = "/healthz";
/** Path of the stats page on the stats port. */
export const HAPROXY_STATS_URI = "/stats";

const FALL = 3;
const RISE = 2;

function fail(field: string, message: string): never {
  throw new Error(`haproxy: ${field}: ${message}`);
}

function port(field: string, value: number | undefined, fallback: number): number {
  const p = value ?? fallback;
  if (!Number.isInteger(p) || p < 1 || p > 65535) fail(field, `not a port (1-65535): ${JSON.stringify(p)}`);
  return p;
}

function ipv4(field: string, value: string): string {
  try {
    parseIp(value);
  } catch {
    fail(field, `not an IPv4 address: ${JSON.stringify(value)}`);
  }
  return value;
}

// Server names appear unquoted in the config and in logs; keep them to
// DNS-label characters, which every node name already is.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
// Single-quoted HAProxy words are literal except for the quote itself;
// whitespace and control characters would still be fragile in an SLB/ops context.
const SAFE_SECRET = /^[\x21-\x26\x28-\x7e]+$/;

interface Resolved {
  masters: Required<HaproxyMaster>[];
  bindAddress: string;
  apiServerPort: number;
  checkPort: number;
  statsPort: number;
  statsUser: string;
  /** Undefined: no stats page. */
  stats: { password: string; allowFrom: string[] } | undefined;
  runAs: { user: string; group: string; chroot: string };
  maxConn: number;
  checkIntervalMs: number;
}

function resolve(s: HaproxySettings): Resolved {
  if (!Array.isArray(s.masters) || s.masters.length < 1) fail("masters", "at least one master is required");
  const seen = new Set<string>();
  const masters = s.masters.map((m, i) => {
    const f = `masters[${i}]`;
    if (typeof m.name !== "string" || !NAME.test(m.name)) {
      fail(`${f}.name`, `must be 1-63 letters, digits, '.', '_' or '-': ${JSON.stringify(m.name)}`);
    }
    if (seen.has(m.name)) fail(`${f}.name`, `duplicate master name ${JSON.stringify(m.name)}`);
    seen.add(m.name);
    return {
      name: m.name,
      address: ipv4(`${f}.address`, m.address),
      port: port(`${f}.port`, m.port, HAPROXY_DEFAULTS.masterPort),
    };
  });

  const bindAddress = s.bindAddress ?? HAPROXY_DEFAULTS.bindAddress;
  if (bindAddress !== "*") ipv4("bindAddress", bindAddress);

  const apiServerPort = port("apiServerPort", s.apiServerPort, HAPROXY_DEFAULTS.apiServerPort);
  const checkPort = port("checkPort", s.checkPort, HAPROXY_DEFAULTS.checkPort);
  const statsPort = port("statsPort", s.statsPort, HAPROXY_DEFAULTS.statsPort);
  // The three listeners share one bind address, so they must not share a port.
  if (checkPort === apiServerPort) fail("checkPort", `must differ from apiServerPort (${apiServerPort})`);
  if (statsPort === apiServerPort) fail("statsPort", `must differ from apiServerPort (${apiServerPort})`);
  if (statsPort === checkPort) fail("statsPort", `must differ from checkPort (${checkPort})`);

  const statsUser = s.statsUser ?? HAPROXY_DEFAULTS.statsUser;
  // `stats auth user:password` splits at the first ':', so the user cannot hold one.
  if (typeof statsUser !== "string" || !/^[A-Za-z0-9._-]+$/.test(statsUser)) {
    fail("statsUser", `must be non-empty letters, digits, '.', '_' or '-': ${JSON.stringify(statsUser)}`);
  }
  const stats = resolveStats(s);
  const runAs = s.runAs ?? HAPROXY_DEFAULTS.runAs;
  for (const k of ["user", "group"] as const) {
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(runAs[k])) fail(`runAs.${k}`, `not a system user or group name: ${JSON.stringify(runAs[k])}`);
  }
  if (!/^\/[A-Za-z0-9._/-]+$/.test(runAs.chroot) || runAs.chroot === "/")
    fail("runAs.chroot", `must be an absolute directory other than /: ${JSON.stringify(runAs.chroot)}`);

  const maxConn = s.maxConn ?? HAPROXY_DEFAULTS.maxConn;
  if (!Number.isInteger(maxConn) || maxConn < 100 || maxConn > 1_000_000) {
    fail("maxConn", `must be an integer between 100 and 1000000: ${JSON.stringify(maxConn)}`);
  }
  const checkIntervalMs = s.checkIntervalMs ?? HAPROXY_DEFAULTS.checkIntervalMs;
  if (!Number.isInteger(checkIntervalMs) || checkIntervalMs < 100 || checkIntervalMs > 60_000) {
    fail("checkIntervalMs", `must be an integer between 100 and 60000: ${JSON.stringify(checkIntervalMs)}`);
  }

  return { masters, bindAddress, apiServerPort, checkPort, statsPort, statsUser, stats, runAs, maxConn, checkIntervalMs };
}

function resolveStats(s: HaproxySettings): Resolved["stats"] {
  const password = s.statsPassword;
  if (password === undefined) {
    if (s.statsAllowFrom !== undefined) fail("statsAllowFrom", "is only for the stats page; set statsPassword to enable it");
    return undefined;
  }
  if (typeof password !== "string" || password.length === 0) fail("statsPassword", "must not be empty");
  if (!SAFE_SECRET.test(password)) {
    // Never echo the secret itself.
    fail("statsPassword", "must be printable ASCII without whitespace or single quotes");
  }
  const allowFrom = s.statsAllowFrom;
  if (!Array.isArray(allowFrom) || allowFrom.length === 0) fail("statsAllowFrom", "the stats page needs at least one source range (the front's subnet)");
  for (const [i, c] of allowFrom.entries()) {
    try {
      parseCidr(c);
    } catch {
      fail(`statsAllowFrom[${i}]`, `not an IPv4 CIDR: ${JSON.stringify(c)}`);
    }
    if (c.endsWith("/0")) fail(`statsAllowFrom[${i}]`, `must not be open to every address: ${JSON.stringify(c)}`);
  }
  return { password, allowFrom };
}

/** Renders /etc/haproxy/haproxy.cfg for one HAProxy VM of the api-server front. */
export function renderHaproxyCfg(s: HaproxySettings): string {
  const r = resolve(s);
  const bind = (p: number) => `${r.bindAddress}:${p}`;
  const servers = r.masters.map((m) => `  server ${m.name} ${m.address}:${m.port} check check-ssl verify none`);

  return [
    "# Generated by components/cluster/haproxy.ts; edits are overwritten.",
    "# api-server front: SLB (TCP 6443) -> this HAProxy -> masters.",
    "global",
    // stdout goes to the journal under systemd (haproxy -Ws), so no rsyslog
    // or chroot'ed /dev/log socket is needed on the VM.
    "  log stdout format raw local0 info",
    // The master process (root) binds the ports; the workers that handle traffic
    // run as an unprivileged user, confined to an empty directory.
    `  user ${r.runAs.user}`,
    `  group ${r.runAs.group}`,
    `  chroot ${r.runAs.chroot}`,
    `  maxconn ${r.maxConn}`,
    "",
    "defaults",
    "  mode tcp",
    "  log global",
    "  option tcplog",
    "  option dontlognull",
    `  maxconn ${r.maxConn}`,
    // A master that refuses a connection before its checks mark it down:
    // retry, and redispatch every retry to another master.
    "  retries 3",
    "  option redispatch 1",
    "  timeout connect 5s",
    // Watches are long-lived: the api-server ends them after 30-60 min
    // (--min-request-timeout 1800s, randomised up to 2x), and client-go keeps
    // HTTP/2 connections open for hours. Shorter timeouts cut watches early
    // and cause relist storms.
    "  timeout client 1h",
    "  timeout server 1h",
    "  timeout tunnel 1h",
    "  timeout client-fin 30s",
    "  timeout server-fin 30s",
    `  timeout check ${r.checkIntervalMs}ms`,
    "",
    // TLS passthrough: clients verify the api-server certificate end to end,
    // and client certificates (kubelets, admins) reach the api-server intact.
    "frontend kube_apiserver_front",
    `  bind ${bind(r.apiServerPort)}`,
    "  mode tcp",
    `  default_backend ${HAPROXY_BACKEND}`,
    "",
    `backend ${HAPROXY_BACKEND}`,
    "  mode tcp",
    // Watches pin connections for a long time; leastconn evens them out
    // after a master comes back, round-robin would not.
    "  balance leastconn",
    // /readyz, not a TCP connect: a starting api-server accepts connections
    // before it can serve (etcd, informers). Anonymous access to /readyz is
    // allowed by the default system:public-info-viewer role. verify none: the
    // check carries no secret, and the masters' certificates are issued by the
    // cluster CA, which this VM need not hold.
    "  option httpchk GET /readyz HTTP/1.1",
    "  http-check send hdr Host kubernetes",
    "  http-check expect status 200",
    // shutdown-sessions: a watch on a dead master would otherwise hang until
    // TCP gives up; closing it makes clients reconnect to a live master now.
    // slowstart: a master that comes back is not flooded by every relist.
    `  default-server inter ${r.checkIntervalMs}ms downinter ${r.checkIntervalMs}ms fall ${FALL} rise ${RISE} slowstart 60s on-marked-down shutdown-sessions`,
    ...servers,
    "",
    // What the SLB health-checks: 200 while at least one master is up here,
    // 503 otherwise, so the SLB drains this HAProxy.
    "frontend slb_health_check",
    `  bind ${bind(r.checkPort)}`,
    "  mode http",
    // Requests matching monitor-uri are answered and never logged, so the
    // SLB's probes do not flood the journal; anything else is logged and denied.
    "  option httplog",
    "  timeout client 10s",
    "  timeout http-request 5s",
    `  monitor-uri ${HAPROXY_MONITOR_URI}`,
    `  monitor fail if { nbsrv(${HAPROXY_BACKEND}) lt 1 }`,
    "  http-request deny deny_status 404",
    "",
    ...statsSection(r, bind(r.statsPort)),
  ].join("\n");
}

/** The basic-auth stats page, only from its allowed ranges; nothing when it is off. */
function statsSection(r: Resolved, bind: string): string[] {
  if (r.stats === undefined) return [];
  return [
    "listen stats",
    `  bind ${bind}`,
    "  mode http",
    "  option httplog",
    "  timeout client 30s",
    "  timeout server 30s",
    // Rejected at connect, before a byte of HTTP: the security group allows the same ranges only.
    `  acl stats_from src ${r.stats.allowFrom.join(" ")}`,
    "  tcp-request connection reject unless stats_from",
    "  stats enable",
    `  stats uri ${HAPROXY_STATS_URI}`,
    "  stats refresh 10s",
    "  stats hide-version",
    '  stats realm "HAProxy api-server front"',
    `  stats auth '${r.statsUser}:${r.stats.password}'`,
    "",
  ];
}
