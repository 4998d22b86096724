/**
 * Benchmark toolkit. Every benchmark compares against a baseline measured in the same run on the
 * same machine (these machines are shared and noisy), and reports ratios, not just times.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import autocannon from "autocannon";
import Fastify, { type FastifyReply } from "fastify";
import { loadTlsMaterial } from "../src/server/tls.ts";

export interface HttpLoadResult {
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** Drives `url` with autocannon over HTTPS for `seconds` with `connections` concurrent clients. */
export async function httpLoad(opts: {
  url: string;
  method?: "GET" | "PUT" | "PATCH" | "POST" | "DELETE";
  headers?: Record<string, string>;
  body?: string;
  seconds?: number;
  connections?: number;
  /** Requests per second over all connections (a fixed offered load); unset: as fast as answered. */
  overallRate?: number;
  /** Per-request setup (e.g. rotating tokens or ids). */
  setupRequest?: (req: { method?: string; path?: string; headers?: Record<string, string>; body?: string }) => typeof req;
}): Promise<HttpLoadResult> {
  const result = await autocannon({
    url: opts.url,
    method: opts.method ?? "GET",
    headers: opts.headers,
    body: opts.body,
    duration: opts.seconds ?? 5,
    connections: opts.connections ?? 20,
    ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
    requests: opts.setupRequest ? [{ setupRequest: opts.setupRequest as never }] : undefined,
  } as autocannon.Options);
  return {
    requestsPerSecond: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/**
 * The baseline: a bare fastify HTTPS server on the same machine, answering a fixed small JSON
 * body at `/bare` and, for GET, PUT and PATCH, at every other path too (so that a load can send
 * it exactly the requests it sends the real endpoint). Returns its URL and a close function.
 */
export async function startBareHttpsServer(
  dataDir: string,
  /**
   * The exact response to replay (body and headers), so the baseline sends the same bytes as the
   * endpoint it is compared with and the ratio measures the work, not the payload size.
   */
  response?: { body: string; headers: Record<string, string> },
): Promise<{ url: string; origin: string; close(): Promise<void> }> {
  const tls = await loadTlsMaterial({ dataDir });
  const app = Fastify({ https: { cert: tls.cert, key: tls.key } });
  const body = response?.body ?? JSON.stringify({ id: "/providers/microsoft.managementpartner/partners/4000001", name: "4000001" });
  const headers = response?.headers ?? { "content-type": "application/json; charset=utf-8" };
  const answer = async (_req: unknown, reply: FastifyReply) => reply.headers(headers).send(body);
  app.route({ method: ["GET", "PUT", "PATCH"], url: "/*", handler: answer });
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  return { url: `${address}/bare`, origin: address, close: () => app.close() };
}

/** Calls `fn` repeatedly for `seconds` (at `concurrency` in flight) and reports operations per second. */
export async function opsPerSecond(fn: () => Promise<unknown>, opts: { seconds?: number; concurrency?: number } = {}): Promise<{ opsPerSecond: number; operations: number }> {
  const until = Date.now() + (opts.seconds ?? 3) * 1000;
  let operations = 0;
  const worker = async () => {
    while (Date.now() < until) {
      await fn();
      operations++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: opts.concurrency ?? 1 }, worker));
  return { opsPerSecond: operations / ((Date.now() - started) / 1000), operations };
}

/** Samples resident memory every 50 ms while `fn` runs; returns its result and the peak in MiB. */
export async function withPeakMemory<T>(fn: () => Promise<T>): Promise<{ result: T; peakRssMiB: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakRssMiB: Math.round(peak / 1024 / 1024) };
  } finally {
    clearInterval(timer);
  }
}

/** One benchmark file's default export. */
export interface Benchmark {
  readonly name: string;
  readonly description: string;
  /** Returns measurements; include `ratio*` keys comparing with the in-run baseline. */
  run(): Promise<Record<string, unknown>>;
}

/** What a bench's child process measured of one run (its own JSON line, printed last). */
export interface ChildRun {
  readonly seconds: number;
  /** User + system CPU of the whole child (DuckDB's threads included): steadier than wall time. */
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
}

/**
 * Runs `benchFile` in a child process (`node --import tsx benchFile child ...args`), so that its
 * peak RSS is its own, and returns the JSON of the last line it printed.
 */
export function runBenchChild<T extends ChildRun>(benchFile: string, args: readonly string[]): T {
  const out = spawnSync(process.execPath, ["--import", "tsx", benchFile, "child", ...args], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (out.status !== 0) throw new Error(`bench child ${args.join(" ")} failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").pop() ?? "{}") as T;
}

/**
 * A baseline's figures and the measured run's ratios to it, for a bench's result:
 * `${name}CopySeconds`, `${name}CpuSeconds`, `${name}PeakRssMiB`, `ratioImportTo${Name}Time` and
 * `ratioImportTo${Name}Cpu` (ratios and CPU seconds to two decimals).
 */
export function comparedTo(name: string, baseline: ChildRun, imported: ChildRun): Record<string, number> {
  const round = (x: number) => Math.round(x * 100) / 100;
  const ratio = `ratioImportTo${name[0]?.toUpperCase() ?? ""}${name.slice(1)}`;
  return {
    [`${name}CopySeconds`]: baseline.seconds,
    [`${name}CpuSeconds`]: round(baseline.cpuSeconds),
    [`${name}PeakRssMiB`]: baseline.peakRssMiB,
    [`${ratio}Time`]: round(imported.seconds / baseline.seconds),
    [`${ratio}Cpu`]: round(imported.cpuSeconds / baseline.cpuSeconds),
  };
}

/** The faster of two runs (rounds alternate and keep the best of each: the machine is shared). */
export function faster<T extends ChildRun>(a: T | undefined, b: T): T {
  return a && a.seconds <= b.seconds ? a : b;
}

/** `root/name`, emptied (created if missing). */
export function emptyDir(root: string, name: string): string {
  const dir = path.join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}
