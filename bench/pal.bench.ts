/**
 * PAL API throughput and p99 over HTTPS with real token verification, on the embedded store as
 * `openpal serve` runs it (SQLite file, WAL), against a bare fastify HTTPS endpoint measured in
 * the same run (ratios, not absolute numbers, are what compare across these shared machines).
 *
 * Each server runs in its own process and the load generator (autocannon) in this one, as real
 * clients are: a load generator sharing the server's event loop adds its own work to every
 * measured latency. Both servers get the same requests from the same client code: same paths,
 * the same rotating bearer tokens, the same per-request setup; the baseline thus differs only in
 * what the server does. Then PATCH at half its measured peak rate for the p99 of issue 14, item
 * 16: an evenly paced open-loop load (paced-load.ts; autocannon's rate mode sends each second's
 * quota in one burst), sent to both servers, latency counted from each request's due time.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { testOptions } from "../src/options/index.ts";
import { startServer } from "../src/server/index.ts";
import { httpLoad, startBareHttpsServer, type Benchmark, type HttpLoadResult } from "./lib.ts";
import { pacedLoad } from "./paced-load.ts";

const thisFile = fileURLToPath(import.meta.url);
const TID = "aaaaaaaa-0000-4000-8000-0000000000b1";
const SECONDS = Number(process.env.OPENPAL_BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.OPENPAL_BENCH_ROUNDS ?? 2);
/** One principal per connection, so PATCHes contend only as real tenants' callers would. */
const CONNECTIONS = 20;

/** What a server child reports once it listens. */
interface Ready {
  readonly origin: string;
  /** OpenPAL child: one bearer token per connection's principal. */
  readonly tokens?: string[];
  /** OpenPAL child: the PAL GET's response headers to replay from the bare server. */
  readonly replay?: { body: string; headers: Record<string, string> };
}

/** Child: OpenPAL on a file store in `dataDir`, seeded with a tenant, partner ids and linked principals. */
async function openpalChild(dataDir: string): Promise<{ ready: Ready; close(): Promise<void> }> {
  const server = await startServer(testOptions({ port: 0, dataDir, logLevel: "silent" }));
  const store = server.openpal.context.store;
  await store.directory.putTenant({ id: TID, displayName: "Bench", domain: "bench.example", createdAt: 0 });
  await store.partners.putOrganisation({ globalId: "4000000", name: "Contoso Consulting", tenantIds: [], createdAt: 0 });
  await store.partners.putLocation({ id: "4000001", globalId: "4000000", country: "US", name: null, createdAt: 0 });
  await store.partners.putLocation({ id: "4000002", globalId: "4000000", country: "GB", name: null, createdAt: 0 });
  const tokens: string[] = [];
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < CONNECTIONS; i++) {
    const oid = `bbbbbbbb-0000-4000-8000-${String(i).padStart(12, "0")}`;
    await store.directory.putUser({ tenantId: TID, id: oid, userPrincipalName: `u${i}@bench.example`, displayName: `u${i}`, kind: "member", passwordHash: null, homeTenantId: null, homeObjectId: null, createdAt: 0, deletedAt: null });
    tokens.push(await server.openpal.identity.keys.sign({ iss: server.openpal.identity.issuerFor(TID), aud: "https://management.azure.com/", tid: TID, oid, sub: oid, ver: "2.0", idtyp: "user", iat: now, nbf: now, exp: now + 3600 }));
  }
  const base = `${server.url}/providers/Microsoft.ManagementPartner/partners`;
  for (const token of tokens) await fetch(`${base}/4000001?api-version=2018-02-01`, { method: "PUT", headers: { authorization: `Bearer ${token}` } });
  // The baseline replays the PAL GET's exact response (body and ARM headers): same bytes on the
  // wire, none of the work (no token, no store, no logging).
  const sample = await fetch(`${base}?api-version=2018-02-01`, { headers: { authorization: `Bearer ${tokens[0]}` } });
  const headers: Record<string, string> = {};
  for (const name of ["content-type", "cache-control", "pragma", "expires", "x-ms-request-id", "x-ms-correlation-request-id"]) {
    const value = sample.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { ready: { origin: server.url, tokens, replay: { body: await sample.text(), headers } }, close: () => server.close() };
}

/** Runs in a child process: starts one server, reports Ready over IPC, closes on "close". */
async function child(kind: string, dataDir: string, replay: string | undefined): Promise<void> {
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the seeding fetches trust the server's local CA
  const started = kind === "openpal" ? await openpalChild(dataDir) : await startBareHttpsServer(dataDir, replay ? JSON.parse(replay) : undefined).then((b) => ({ ready: { origin: b.origin }, close: b.close }));
  process.on("message", (m) => {
    if (m === "close") void started.close().then(() => process.exit(0));
    if (m === "cpu") process.send?.({ cpuSeconds: mainThreadCpuSeconds() });
  });
  process.send?.(started.ready);
}

/**
 * CPU seconds of this process's main thread (the event loop's), from /proc on Linux; elsewhere the
 * whole process's (worker threads included).
 */
function mainThreadCpuSeconds(): number {
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (Number.isFinite(ticks)) return ticks / 100;
  } catch {
    // not Linux
  }
  const used = process.cpuUsage();
  return (used.user + used.system) / 1e6;
}

/**
 * OPENPAL_BENCH_PAL_IN_PROCESS=1 runs both servers in this process, beside the load generator:
 * how this bench measured before (and how issue 14's 0.21× was measured), for comparison only.
 */
const IN_PROCESS = process.env.OPENPAL_BENCH_PAL_IN_PROCESS === "1";

interface ServerChild {
  readonly ready: Ready;
  /** The server's event-loop thread's CPU seconds so far (undefined when it shares this process). */
  cpuSeconds(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** Starts a server child and waits for its Ready. */
async function startChild(kind: "openpal" | "bare", dataDir: string, replay?: Ready["replay"]): Promise<ServerChild> {
  if (IN_PROCESS) {
    const cpuSeconds = async () => undefined;
    if (kind === "openpal") return { ...(await openpalChild(dataDir)), cpuSeconds };
    const b = await startBareHttpsServer(dataDir, replay);
    return { ready: { origin: b.origin }, cpuSeconds, close: b.close };
  }
  const proc: ChildProcess = fork(thisFile, ["server-child", kind, dataDir, replay ? JSON.stringify(replay) : ""], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const ready = await new Promise<Ready>((resolve, reject) => {
    proc.once("message", (m) => resolve(m as Ready));
    proc.once("exit", (code) => reject(new Error(`bench ${kind} server exited with ${code} before listening`)));
  });
  return {
    ready,
    cpuSeconds: () =>
      new Promise<number>((resolve) => {
        const onMessage = (m: unknown) => {
          if (typeof m === "object" && m !== null && "cpuSeconds" in m) {
            proc.off("message", onMessage);
            resolve((m as { cpuSeconds: number }).cpuSeconds);
          }
        };
        proc.on("message", onMessage);
        proc.send("cpu");
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.send("close");
        setTimeout(() => proc.kill("SIGKILL"), 10_000).unref();
      }),
  };
}

const bench: Benchmark = {
  name: "pal",
  description: "PAL GET and PATCH over HTTPS with token verification (SQLite file store) vs a bare fastify HTTPS endpoint that gets the same requests and replays the same response bytes; each server in its own process, the load generator in another",
  async run() {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bench-"));
    let openpal: ServerChild | undefined;
    let bare: ServerChild | undefined;
    // autocannon uses its own TLS stack; the server's CA is local, so trust is skipped for the load only.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
    try {
      openpal = await startChild("openpal", dataDir);
      bare = await startChild("bare", dataDir, openpal.ready.replay);
      const tokens = openpal.ready.tokens ?? [];
      let n = 0;
      const rotate = (method: string, pathFor: (i: number) => string) => (req: { method?: string; path?: string; headers?: Record<string, string> }) => {
        const i = n++;
        return { ...req, method, path: pathFor(i), headers: { ...req.headers, authorization: `Bearer ${tokens[i % CONNECTIONS]}` } };
      };

      // Warm-ups first (JIT), then ROUNDS alternations keeping the best of each (the machine is
      // shared and noisy).
      const getPath = () => "/providers/Microsoft.ManagementPartner/partners?api-version=2018-02-01";
      // Alternating ids per principal: every PATCH is a real write (interval closed and opened, audit appended).
      const patchPath = (i: number) => `/providers/Microsoft.ManagementPartner/partners/${Math.floor(i / CONNECTIONS) % 2 === 0 ? "4000002" : "4000001"}?api-version=2018-02-01`;
      const load = (origin: string, method: "GET" | "PATCH", seconds: number, overallRate?: number) =>
        httpLoad({ url: `${origin}${method === "GET" ? getPath() : patchPath(0)}`, method, seconds, connections: CONNECTIONS, overallRate, setupRequest: rotate(method, method === "GET" ? getPath : patchPath) });
      const best = (a: HttpLoadResult | undefined, b: HttpLoadResult) => (a && a.requestsPerSecond >= b.requestsPerSecond ? a : b);
      const bareOrigin = bare.ready.origin;
      const origin = openpal.ready.origin;
      await load(bareOrigin, "GET", 1);
      await load(origin, "GET", 1);
      await load(origin, "PATCH", 1);
      let bareGet: HttpLoadResult | undefined;
      let get: HttpLoadResult | undefined;
      let barePatch: HttpLoadResult | undefined;
      let patch: HttpLoadResult | undefined;
      const round = (x: number) => Math.round(x * 100) / 100;
      // Latency at half the peak PATCH rate (a fixed offered load, as a busy but not saturated
      // server sees): issue 14 item 16 wants p99 under 10 ms there. Evenly paced (paced-load.ts),
      // the same schedule to both servers, right after the round's own peak (the machine's speed
      // drifts within a run). Also how busy the server's event-loop thread really was at that
      // rate (0.5 when it is half its capacity) and its CPU per PATCH.
      const halfPeak = async (peak: HttpLoadResult) => {
        const rate = Math.max(1, Math.round(peak.requestsPerSecond / 2));
        const paced = (to: string) =>
          pacedLoad({
            origin: to, rate, seconds: SECONDS, connections: CONNECTIONS,
            request: (k) => ({ method: "PATCH", path: patchPath(k), headers: { authorization: `Bearer ${tokens[k % CONNECTIONS]}` } }),
          });
        // The server thread's CPU over the phase (the warm-up second included, so per PATCH it is
        // over every request sent); measured alike on both servers.
        const measuredOn = async (server: ServerChild | undefined, to: string) => {
          const cpuBefore = await server?.cpuSeconds();
          const wallBefore = process.hrtime.bigint();
          const result = await paced(to);
          const cpuAfter = await server?.cpuSeconds();
          const wallSeconds = Number(process.hrtime.bigint() - wallBefore) / 1e9;
          const measured = cpuBefore !== undefined && cpuAfter !== undefined && result.requests > 0;
          const sent = result.requests + Math.round(rate * 1); // pacedLoad's one-second warm-up
          return { ...result, serverThreadBusy: measured ? round((cpuAfter - cpuBefore) / wallSeconds) : null, cpuMicrosPerPatch: measured ? Math.round(((cpuAfter - cpuBefore) * 1e6) / sent) : null };
        };
        const bareAt = await measuredOn(bare, bareOrigin);
        const at = await measuredOn(openpal, origin);
        return { pal: at, bare: bareAt };
      };
      type HalfPeak = Awaited<ReturnType<typeof halfPeak>>;
      const halfPeakRounds: HalfPeak[] = [];
      let patchHalf: HalfPeak | undefined;
      for (let r = 0; r < ROUNDS; r++) {
        bareGet = best(bareGet, await load(bareOrigin, "GET", SECONDS));
        get = best(get, await load(origin, "GET", SECONDS));
        barePatch = best(barePatch, await load(bareOrigin, "PATCH", SECONDS));
        const roundPatch = await load(origin, "PATCH", SECONDS);
        const half = await halfPeak(roundPatch);
        halfPeakRounds.push(half);
        if (!patch || roundPatch.requestsPerSecond > patch.requestsPerSecond) {
          patch = roundPatch;
          patchHalf = half;
        }
      }
      if (!bareGet || !get || !barePatch || !patch || !patchHalf) throw new Error("OPENPAL_BENCH_ROUNDS must be at least 1");
      const patchAtHalf = patchHalf.pal;
      const bareAtHalf = patchHalf.bare;
      // The same rate through autocannon's rate mode, which this bench used before: each second's
      // quota in one burst at full concurrency (paced-load.ts says why that misstates p99).
      const burstAtHalf = await load(origin, "PATCH", SECONDS, patchAtHalf.offeredRps);
      return {
        connections: CONNECTIONS, seconds: SECONDS,
        bareGet: { rps: round(bareGet.requestsPerSecond), p99Ms: bareGet.latencyP99Ms },
        palGet: { rps: round(get.requestsPerSecond), p99Ms: get.latencyP99Ms, non2xx: get.non2xx, errors: get.errors },
        barePatch: { rps: round(barePatch.requestsPerSecond), p99Ms: barePatch.latencyP99Ms },
        palPatch: { rps: round(patch.requestsPerSecond), p99Ms: patch.latencyP99Ms, non2xx: patch.non2xx, errors: patch.errors },
        ratioGetVsBare: round(get.requestsPerSecond / bareGet.requestsPerSecond),
        ratioPatchVsBare: round(patch.requestsPerSecond / barePatch.requestsPerSecond),
        // The half-peak phase of the round with the best PATCH peak, then every round's in brief.
        palPatchAtHalfPeak: patchAtHalf,
        barePatchAtHalfPeak: bareAtHalf,
        halfPeakRounds: halfPeakRounds.map((h) => ({
          offeredRps: h.pal.offeredRps, p50Ms: h.pal.p50Ms, p99Ms: h.pal.p99Ms, serviceP99Ms: h.pal.serviceP99Ms, serverThreadBusy: h.pal.serverThreadBusy, cpuMicrosPerPatch: h.pal.cpuMicrosPerPatch,
          bareP99Ms: h.bare.p99Ms, bareServerThreadBusy: h.bare.serverThreadBusy, bareCpuMicrosPerPatch: h.bare.cpuMicrosPerPatch,
        })),
        ratioP99AtHalfPeakVsBare: round(patchAtHalf.p99Ms / Math.max(0.01, bareAtHalf.p99Ms)),
        palPatchAtHalfPeakInBursts: { p50Ms: burstAtHalf.latencyP50Ms, p99Ms: burstAtHalf.latencyP99Ms, load: "autocannon overallRate: each second's quota sent at once" },
        rounds: ROUNDS,
        loadGenerator: IN_PROCESS ? "in the servers' process (OPENPAL_BENCH_PAL_IN_PROCESS=1)" : "its own process",
        loadAverage: os.loadavg().map((x) => Math.round(x * 10) / 10),
        target: { getRatioAtLeast: 0.5, patchRatioAtLeast: 0.25, patchP99AtHalfPeakMsBelow: 10 },
      };
    } finally {
      delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      await bare?.close();
      await openpal?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

export default bench;

if (process.argv[1] === thisFile && process.argv[2] === "server-child") {
  await child(process.argv[3] ?? "", process.argv[4] ?? "", process.argv[5] || undefined);
}
