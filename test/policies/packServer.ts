// Starts a policy pack folder the way the Pulumi CLI does and talks to it as the
// engine would. The CLI's nodejs policy host runs
// `node ./node_modules/@pulumi/pulumi/cmd/run-policy-pack <engine> <pack>` in the
// pack's folder: ts-node type-checks and compiles index.ts, the PolicyPack
// starts a gRPC server on 127.0.0.1 and prints its port.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { createRequire } from "module";
import * as path from "path";

export const START_TIMEOUT_MS = 60_000;

/** The pack's own copies of the gRPC and protobuf modules, so messages match the server's. */
export interface PackProtos {
  grpc: any;
  pb: any;
  services: any;
  structPb: any;
  emptyPb: any;
}

export function runPolicyPackScript(packDir: string): string {
  return path.join(packDir, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
}

/** Loads analyzer messages and the gRPC client from the pack's node_modules. */
export function loadProtos(packDir: string): PackProtos {
  const packRequire = createRequire(path.join(packDir, "package.json"));
  const protoRequire = createRequire(packRequire.resolve("@pulumi/pulumi/proto/analyzer_grpc_pb"));
  return {
    grpc: protoRequire("@grpc/grpc-js"),
    pb: protoRequire("./analyzer_pb.js"),
    services: protoRequire("./analyzer_grpc_pb.js"),
    structPb: protoRequire("google-protobuf/google/protobuf/struct_pb.js"),
    emptyPb: protoRequire("google-protobuf/google/protobuf/empty_pb.js"),
  };
}

export interface RunningPack {
  port: number;
  client: any;
  protos: PackProtos;
  /** Everything the pack printed on stderr so far. */
  stderr(): string;
  /** Calls one Analyzer method with a 20 s deadline. */
  call<T>(method: string, request: unknown): Promise<T>;
  /** Closes the client and ends the pack process (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** Starts the pack in `packDir` like the CLI; rejects if it exits or prints no port in time. */
export async function startPack(packDir: string): Promise<RunningPack> {
  const script = runPolicyPackScript(packDir);
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`npm ci\` in policies/ (.ci/run does)`);
  const protos = loadProtos(packDir);
  let stderr = "";
  let child: ChildProcess | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    child = spawn(process.execPath, [script, "127.0.0.1:0", "."], { cwd: packDir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    const timer = setTimeout(() => {
      child?.kill("SIGKILL");
      reject(new Error(`the pack printed no port within ${START_TIMEOUT_MS / 1000}s; stderr:\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout!.on("data", (d) => {
      stdout += d;
      const m = /^(\d+)\s*$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the pack exited with ${code} before printing its port; stdout:\n${stdout}\nstderr:\n${stderr}`));
    });
  });
  const client = new protos.services.AnalyzerClient(`127.0.0.1:${port}`, protos.grpc.credentials.createInsecure());
  return {
    port,
    client,
    protos,
    stderr: () => stderr,
    call<T>(method: string, request: unknown): Promise<T> {
      return new Promise((resolve, reject) => {
        const deadline = new Date(Date.now() + 20_000);
        client[method](request, { deadline }, (err: Error | null, res: T) => (err ? reject(err) : resolve(res)));
      });
    },
    async stop() {
      client.close();
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        const timer = setTimeout(() => c.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
