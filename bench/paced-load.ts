/**
 * An open-loop load at a fixed rate, evenly paced: request k is due at `k / rate` seconds after
 * the start, whether or not earlier answers have come back, and its latency counts from that due
 * time (not from when a free connection finally sent it), so a server that stalls is charged for
 * every request that waited behind the stall (no coordinated omission, as wrk2 measures).
 *
 * Why not autocannon's `overallRate`: autocannon gives each connection a quota per second and
 * lets it send that quota back to back as soon as the second starts, then idle until the next
 * one. Half the peak rate thus arrives as full-speed bursts of about half a second at full
 * concurrency; its latencies are those of a saturated server. Its coordinated-omission correction
 * then adds synthetic samples every millisecond below each recorded latency, which inflates the
 * tail further. "p99 at half the peak rate" means a steady offered load, which is what this sends.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Pool } from "undici";

export interface PacedLoadResult {
  /** Requests per second offered (the schedule's rate). */
  readonly offeredRps: number;
  /** Answers per second over the run (offered, when the server keeps up). */
  readonly rps: number;
  readonly requests: number;
  /** Latency from each request's due time to the end of its answer's body. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Latency from when the request was really sent (what the server alone adds). */
  readonly serviceP99Ms: number;
  /** The largest number of requests sent in any 100 ms window (evenness: about rate / 10). */
  readonly maxSentPer100Ms: number;
  readonly non2xx: number;
  readonly errors: number;
  /**
   * The load generator's own event-loop delay, p99 (ms): when it is close to the measured p99,
   * the tail is the generator's, not the server's.
   */
  readonly generatorLoopDelayP99Ms: number;
  /** Its longest event-loop delay (ms): a stall of the generator itself shows here. */
  readonly generatorLoopDelayMaxMs: number;
}

export interface PacedRequest {
  readonly method: "GET" | "PUT" | "PATCH" | "POST" | "DELETE";
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** Value at quantile `q` of ascending `sorted` (nearest rank), rounded to 0.01 ms. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  return Math.round(v * 100) / 100;
}

/**
 * Sends `rate` requests per second to `origin` for `seconds`, over at most `connections`
 * keep-alive connections (TLS certificates are not checked: the bench servers use a local CA).
 * `request(k)` builds the k-th request. The first `warmupSeconds` (default 1) of the same schedule
 * run first and are not counted: they open the connections (TLS handshakes) and warm the JIT.
 */
export async function pacedLoad(opts: {
  origin: string;
  rate: number;
  seconds: number;
  connections: number;
  warmupSeconds?: number;
  request: (k: number) => PacedRequest;
}): Promise<PacedLoadResult> {
  const warmup = Math.round(opts.rate * (opts.warmupSeconds ?? 1));
  const total = warmup + Math.max(1, Math.round(opts.rate * opts.seconds));
  const intervalMs = 1000 / opts.rate;
  const pool = new Pool(opts.origin, { connections: opts.connections, pipelining: 1, connect: { rejectUnauthorized: false } });
  const latencies: number[] = [];
  const service: number[] = [];
  const sentAt: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  let measuredFrom = 0;
  const start = performance.now();
  const dueAt = (k: number) => start + k * intervalMs;
  // Requests due but not yet sent wait here for a free connection (the pool never queues one), so
  // the time a request is sent is when a connection really took it.
  let due = 0;
  let sent = 0;
  let busy = 0;
  let finished = 0;
  let allFinished: () => void = () => {};
  const done = new Promise<void>((resolve) => (allFinished = resolve));
  const send = async (k: number): Promise<void> => {
    const sentTime = performance.now();
    const counted = k >= warmup;
    if (counted) sentAt.push(sentTime - start);
    try {
      const { method, path, headers, body } = opts.request(k);
      const answer = await pool.request({ method, path, headers, body });
      await answer.body.dump();
      const end = performance.now();
      if (!counted) return;
      if (answer.statusCode < 200 || answer.statusCode > 299) non2xx++;
      latencies.push(end - dueAt(k));
      service.push(end - sentTime);
    } catch {
      if (counted) errors++;
    }
  };
  const pump = (): void => {
    while (busy < opts.connections && sent < due) {
      busy++;
      void send(sent++).finally(() => {
        busy--;
        if (++finished === total) allFinished();
        else pump();
      });
    }
  };
  try {
    while (due < total) {
      const now = performance.now();
      // Everything due by now is released now; the timer's granularity (about 1 ms) is the only
      // unevenness.
      while (due < total && dueAt(due) <= now) {
        if (due === warmup) {
          measuredFrom = performance.now();
          loopDelay.enable();
        }
        due++;
      }
      pump();
      if (due < total) {
        const wait = dueAt(due) - performance.now();
        await new Promise((resolve) => (wait > 1 ? setTimeout(resolve, Math.floor(wait)) : setImmediate(resolve)));
      }
    }
    await done;
  } finally {
    loopDelay.disable();
    await pool.close();
  }
  const elapsedSeconds = (performance.now() - measuredFrom) / 1000;
  latencies.sort((a, b) => a - b);
  service.sort((a, b) => a - b);
  sentAt.sort((a, b) => a - b);
  let maxSentPer100Ms = 0;
  for (let i = 0, j = 0; j < sentAt.length; j++) {
    while ((sentAt[j] ?? 0) - (sentAt[i] ?? 0) >= 100) i++;
    maxSentPer100Ms = Math.max(maxSentPer100Ms, j - i + 1);
  }
  return {
    offeredRps: opts.rate,
    rps: Math.round((latencies.length / elapsedSeconds) * 100) / 100,
    requests: latencies.length,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: quantile(latencies, 1),
    serviceP99Ms: quantile(service, 0.99),
    maxSentPer100Ms,
    non2xx,
    errors,
    generatorLoopDelayP99Ms: Math.round((loopDelay.percentile(99) / 1e6) * 100) / 100,
    generatorLoopDelayMaxMs: Math.round((loopDelay.max / 1e6) * 100) / 100,
  };
}
