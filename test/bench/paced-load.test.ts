/**
 * The benches' paced load (bench/paced-load.ts), whose p99 issue 14 item 16 is judged by. The
 * rules: requests arrive evenly over the run, not as one burst per second (autocannon's rate mode);
 * a request's latency counts from when it was due, so a server stall is charged to every request
 * that waited behind it, while the service latency counts from when it was really sent; the
 * warm-up is not counted.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pacedLoad } from "../../bench/paced-load.ts";

/** A plain HTTP server that records each request's arrival (ms) and lets `delayFor(n)` hold the n-th answer. */
async function server(delayFor: (n: number) => number = () => 0): Promise<{ origin: string; arrivals: number[]; close(): Promise<void> }> {
  const arrivals: number[] = [];
  const srv = http.createServer((req, res) => {
    const n = arrivals.push(performance.now()) - 1;
    req.resume();
    setTimeout(() => res.end("ok"), delayFor(n));
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    arrivals,
    close: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}

describe("paced load", () => {
  it("spreads a rate evenly over each second instead of sending each second's quota at once", async () => {
    const s = await server();
    try {
      const result = await pacedLoad({ origin: s.origin, rate: 200, seconds: 1, warmupSeconds: 0, connections: 10, request: () => ({ method: "GET", path: "/" }) });
      assert.equal(result.requests, 200);
      assert.equal(result.errors, 0);
      const first = s.arrivals[0] ?? 0;
      const span = (s.arrivals.at(-1) ?? 0) - first;
      assert.ok(span >= 900, `200 requests at 200/s must span about a second, spanned ${span.toFixed(0)} ms`);
      // 20 per 100 ms when even; a burst per second would put all 200 in the first few ms.
      let most = 0;
      for (let i = 0, j = 0; j < s.arrivals.length; j++) {
        while ((s.arrivals[j] ?? 0) - (s.arrivals[i] ?? 0) >= 100) i++;
        most = Math.max(most, j - i + 1);
      }
      assert.ok(most <= 40, `at most about 20 requests may arrive in any 100 ms, ${most} did`);
      assert.ok(result.maxSentPer100Ms <= 40, `the load's own evenness figure must agree, was ${result.maxSentPer100Ms}`);
    } finally {
      await s.close();
    }
  });

  it("charges a stall to every request due during it (latency from the due time), while service latency counts from the send", async () => {
    // One connection at 100/s: the 30th counted request is held 300 ms, so the ~30 due behind it
    // wait on the client. Measured from when they were sent they look fast; from when they were
    // due, they are not.
    const warmup = 10;
    const s = await server((n) => (n === warmup + 30 ? 300 : 0));
    try {
      const result = await pacedLoad({ origin: s.origin, rate: 100, seconds: 1, warmupSeconds: warmup / 100, connections: 1, request: () => ({ method: "GET", path: "/" }) });
      assert.equal(result.requests, 100, "the warm-up's requests are not counted");
      assert.ok(result.p99Ms >= 150, `p99 from the due time must include the wait behind the stall, was ${result.p99Ms} ms`);
      assert.ok(result.maxMs >= 290, `the stalled request itself took 300 ms, max was ${result.maxMs} ms`);
      assert.ok(result.serviceP99Ms < 100, `only one request was slow once sent: service p99 must stay low, was ${result.serviceP99Ms} ms`);
      assert.ok(result.p50Ms < 100, `half the requests were due outside the stall, p50 was ${result.p50Ms} ms`);
    } finally {
      await s.close();
    }
  });
});
