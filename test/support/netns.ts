// Shared by the tests that run traffic between network namespaces they made (test/cluster/podIpv6Guard.test.ts,
// test/k8s/networkPolicyEnforcement.test.ts).
import { spawn, spawnSync } from "node:child_process";

/** Runs a command; its stdout, or an error naming the command, its exit and its stderr. */
export function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// One node process per probe inside the namespace: connect, print the outcome (connected, refused, timeout or the
// error code), exit; its own connect timeout, so a slow start under load changes nothing.
const PROBE = `const [h,p,ms]=process.argv.slice(1);const s=require("net").connect({host:h,port:Number(p)});const done=(o)=>{process.stdout.write(o);process.exit(0);};setTimeout(()=>done("timeout"),Number(ms));s.on("connect",()=>done("connected"));s.on("error",(e)=>done(e.code==="ECONNREFUSED"?"refused":String(e.code)));`;

/**
 * The outcome of one TCP connection from network namespace `netns` to `host:port` within 10 s: "connected",
 * "refused", "timeout" or the error code. Asynchronous, so a server living in the calling process keeps running.
 */
export function tcpProbe(netns: string, host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", PROBE, host, String(port), "10000"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    c.stdout!.on("data", (d) => (out += d));
    c.stderr!.on("data", (d) => (out += d));
    // Only a backstop: the probe's own timeout answers long before.
    const backstop = setTimeout(() => c.kill("SIGKILL"), 120_000);
    c.on("close", () => {
      clearTimeout(backstop);
      resolve(out.trim() || "no answer");
    });
  });
}
