import { cleanupTls, freePorts, selfSignedTls, startFakeApiServers } from "../support/fakeApiServers";
import { waitForApiServer } from "../../components/cluster/readiness";
import { MOCK_CERT_PEM } from "../../components/preview/fixtures";

describe("readiness gate: waitForApiServer", () => {
  afterAll(() => cleanupTls());

  test("opens once the api-server answers /readyz with a certificate from the cluster CA", async () => {
    const tls = selfSignedTls();
    const set = await startFakeApiServers(1, tls);
    try {
      const r = await waitForApiServer({
        url: `https://127.0.0.1:${set.servers[0].port}/readyz`,
        caPem: tls.cert.toString(),
        timeoutMs: 5000,
        intervalMs: 100,
      });
      expect(r.attempts).toBe(1);
    } finally {
      await set.stopAll();
    }
  });

  test("keeps polling while the api-server is down, then opens when it comes up", async () => {
    const tls = selfSignedTls();
    const set = await startFakeApiServers(1, tls);
    const server = set.servers[0];
    await server.stop();
    setTimeout(() => void server.start(), 600);
    try {
      const r = await waitForApiServer({ url: `https://127.0.0.1:${server.port}/readyz`, caPem: tls.cert.toString(), timeoutMs: 10_000, intervalMs: 200 });
      expect(r.attempts).toBeGreaterThan(1);
    } finally {
      await set.stopAll();
    }
  });

  test("times out with a clear error naming the URL and the last failure", async () => {
    const [port] = await freePorts(1);
    await expect(
      waitForApiServer({ url: `https://127.0.0.1:${port}/readyz`, caPem: selfSignedTls().cert.toString(), timeoutMs: 1000, intervalMs: 200 }),
    ).rejects.toThrow(
      new RegExp(`^api-server not ready: https://127.0.0.1:${port}/readyz did not answer 200 within 1s \\(\\d+ attempts; last: connect ECONNREFUSED`),
    );
  });

  test("refuses an api-server whose certificate is not from the cluster CA", async () => {
    const set = await startFakeApiServers(1, selfSignedTls());
    const otherCa = MOCK_CERT_PEM;
    try {
      await expect(
        waitForApiServer({ url: `https://127.0.0.1:${set.servers[0].port}/readyz`, caPem: otherCa, timeoutMs: 800, intervalMs: 200 }),
      ).rejects.toThrow(/last: (self[- ]signed certificate|unable to verify)/);
    } finally {
      await set.stopAll();
    }
  });
});
