/**
 * PAL API throughput and p99 over HTTPS with real token verification, on the embedded store,
 * against a bare fastify HTTPS endpoint measured in the same run (ratios, not absolute numbers,
 * are what compare across these shared machines). The load generator (autocannon) runs in this
 * process for both, with the same requests: same paths, the same rotating bearer tokens, the
 * same per-request setup. The baseline thus differs only in what the server does. Then PATCH at
 * half its measured peak rate (fixed offered load) for the p99 of issue 14, item 16.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { testOptions } from "../src/options/index.ts";
import { startServer } from "../src/server/index.ts";
import { httpLoad, startBareHttpsServer, type Benchmark, type HttpLoadResult } from "./lib.ts";

const TID = "aaaaaaaa-0000-4000-8000-0000000000b1";
const SECONDS = Number(process.env.OPENPAL_BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.OPENPAL_BENCH_ROUNDS ?? 2);

const bench: Benchmark = {
  name: "pal",
  description: "PAL GET and PATCH over HTTPS with token verification (SQLite) vs a bare fastify HTTPS endpoint that gets the same requests and replays the same response bytes",
  async run() {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bench-"));
    const server = await startServer(testOptions({ port: 0, dataDir, inMemory: true, logLevel: "silent" }));
    let bare: Awaited<ReturnType<typeof startBareHttpsServer>> | undefined;
    // autocannon uses its own TLS stack; the server's CA is local, so trust is skipped for the load only.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
    try {
      const store = server.openpal.context.store;
      await store.directory.putTenant({ id: TID, displayName: "Bench", domain: "bench.example", createdAt: 0 });
      await store.partners.putOrganisation({ globalId: "4000000", name: "Contoso Consulting", tenantIds: [], createdAt: 0 });
      await store.partners.putLocation({ id: "4000001", globalId: "4000000", country: "US", name: null, createdAt: 0 });
      await store.partners.putLocation({ id: "4000002", globalId: "4000000", country: "GB", name: null, createdAt: 0 });
      // One principal per connection, so PATCHes contend only as real tenants' callers would.
      const connections = 20;
      const tokens: string[] = [];
      const now = Math.floor(Date.now() / 1000);
      for (let i = 0; i < connections; i++) {
        const oid = `bbbbbbbb-0000-4000-8000-${String(i).padStart(12, "0")}`;
        await store.directory.putUser({ tenantId: TID, id: oid, userPrincipalName: `u${i}@bench.example`, displayName: `u${i}`, kind: "member", passwordHash: null, homeTenantId: null, homeObjectId: null, createdAt: 0, deletedAt: null });
        tokens.push(await server.openpal.identity.keys.sign({ iss: server.openpal.identity.issuerFor(TID), aud: "https://management.azure.com/", tid: TID, oid, sub: oid, ver: "2.0", idtyp: "user", iat: now, nbf: now, exp: now + 3600 }));
      }
      const base = `${server.url}/providers/Microsoft.ManagementPartner/partners`;
      for (const token of tokens) await fetch(`${base}/4000001?api-version=2018-02-01`, { method: "PUT", headers: { authorization: `Bearer ${token}` } });
      // The baseline replays the PAL GET's exact response (body and ARM headers): same bytes on
      // the wire, none of the work (no token, no store, no logging).
      const sample = await fetch(`${base}?api-version=2018-02-01`, { headers: { authorization: `Bearer ${tokens[0]}` } });
      const replay: Record<string, string> = {};
      for (const name of ["content-type", "cache-control", "pragma", "expires", "x-ms-request-id", "x-ms-correlation-request-id"]) {
        const value = sample.headers.get(name);
        if (value !== null) replay[name] = value;
      }
      bare = await startBareHttpsServer(dataDir, { body: await sample.text(), headers: replay });
      let n = 0;
      const rotate = (method: string, pathFor: (i: number) => string) => (req: { method?: string; path?: string; headers?: Record<string, string> }) => {
        const i = n++;
        return { ...req, method, path: pathFor(i), headers: { ...req.headers, authorization: `Bearer ${tokens[i % connections]}` } };
      };

      // Both sides get the same requests from the same client code (path, rotating bearer
      // tokens, per-request setup), so the ratio measures the server's work only. Warm-ups first
      // (JIT), then ROUNDS alternations keeping the best of each (the machine is shared and noisy).
      const getPath = () => "/providers/Microsoft.ManagementPartner/partners?api-version=2018-02-01";
      const patchPath = (i: number) => `/providers/Microsoft.ManagementPartner/partners/${Math.floor(i / connections) % 2 === 0 ? "4000002" : "4000001"}?api-version=2018-02-01`;
      const load = (origin: string, method: "GET" | "PATCH", seconds: number, overallRate?: number) =>
        httpLoad({ url: `${origin}${method === "GET" ? getPath() : patchPath(0)}`, method, seconds, connections, overallRate, setupRequest: rotate(method, method === "GET" ? getPath : patchPath) });
      const best = (a: HttpLoadResult | undefined, b: HttpLoadResult) => (a && a.requestsPerSecond >= b.requestsPerSecond ? a : b);
      await load(bare.origin, "GET", 1);
      await load(server.url, "GET", 1);
      let bareGet: HttpLoadResult | undefined;
      let get: HttpLoadResult | undefined;
      let barePatch: HttpLoadResult | undefined;
      let patch: HttpLoadResult | undefined;
      for (let r = 0; r < ROUNDS; r++) {
        bareGet = best(bareGet, await load(bare.origin, "GET", SECONDS));
        get = best(get, await load(server.url, "GET", SECONDS));
        barePatch = best(barePatch, await load(bare.origin, "PATCH", SECONDS));
        // Alternating ids per principal: every PATCH is a real write (interval closed and opened, audit appended).
        patch = best(patch, await load(server.url, "PATCH", SECONDS));
      }
      if (!bareGet || !get || !barePatch || !patch) throw new Error("OPENPAL_BENCH_ROUNDS must be at least 1");
      // Latency at half the peak PATCH rate (a fixed offered load, as a busy but not saturated
      // server sees): issue 14 item 16 wants p99 under 10 ms there.
      const halfRate = Math.max(1, Math.round(patch.requestsPerSecond / 2));
      const patchAtHalf = await load(server.url, "PATCH", SECONDS, halfRate);
      const round = (x: number) => Math.round(x * 100) / 100;
      return {
        connections, seconds: SECONDS,
        bareGet: { rps: round(bareGet.requestsPerSecond), p99Ms: bareGet.latencyP99Ms },
        palGet: { rps: round(get.requestsPerSecond), p99Ms: get.latencyP99Ms, non2xx: get.non2xx, errors: get.errors },
        barePatch: { rps: round(barePatch.requestsPerSecond), p99Ms: barePatch.latencyP99Ms },
        palPatch: { rps: round(patch.requestsPerSecond), p99Ms: patch.latencyP99Ms, non2xx: patch.non2xx, errors: patch.errors },
        ratioGetVsBare: round(get.requestsPerSecond / bareGet.requestsPerSecond),
        ratioPatchVsBare: round(patch.requestsPerSecond / barePatch.requestsPerSecond),
        palPatchAtHalfPeak: { offeredRps: halfRate, rps: round(patchAtHalf.requestsPerSecond), p50Ms: patchAtHalf.latencyP50Ms, p99Ms: patchAtHalf.latencyP99Ms, non2xx: patchAtHalf.non2xx, errors: patchAtHalf.errors },
        rounds: ROUNDS,
        loadAverage: os.loadavg().map((x) => Math.round(x * 10) / 10),
        target: { getRatioAtLeast: 0.5, patchRatioAtLeast: 0.25, patchP99AtHalfPeakMsBelow: 10 },
      };
    } finally {
      delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      await bare?.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

export default bench;
