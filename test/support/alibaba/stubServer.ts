// The loopback HTTP server under every Alibaba/Elastic contract stub: binds 127.0.0.1 on a free
// port, records each request (method, path, query, headers, body) and the stub's answer, and
// hands the request to the stub's handler. A stub refuses with the status, code and message the
// vendor documents; the rule and its source are written beside each refusal in the stub.
import * as http from "http";
import type { AddressInfo } from "net";

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Decoded query parameters (last value wins). */
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: Buffer;
  /** What the stub answered. */
  status: number;
  /** The refusal's code when the stub refused (e.g. SignatureDoesNotMatch). */
  refused?: string;
}

export interface StubAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Set by refusals: recorded with the request. */
  refused?: string;
}

export interface StubServer {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export type StubHandler = (req: Omit<RecordedRequest, "status" | "refused">) => StubAnswer | Promise<StubAnswer>;

export function json(status: number, body: unknown, refused?: string): StubAnswer {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(body), ...(refused ? { refused } : {}) };
}

export async function startStubServer(handler: StubHandler): Promise<StubServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://stub");
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : v;
      const incoming = { method: req.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body: Buffer.concat(chunks) };
      let answer: StubAnswer;
      try {
        answer = await handler(incoming);
      } catch (e) {
        answer = json(500, { Code: "StubError", Message: e instanceof Error ? e.message : String(e) }, "StubError");
      }
      requests.push({ ...incoming, status: answer.status, ...(answer.refused ? { refused: answer.refused } : {}) });
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
