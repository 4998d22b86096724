/**
 * Metrics in the Prometheus text format (prom-client): HTTP requests by route pattern and status,
 * token issuance by grant, store pool statistics, and the timings of lake imports and attribution
 * runs done in this process.
 *
 * Two registries: one per app (HTTP, tokens, store pool — tests build many apps in one process)
 * and one per process (Node's default metrics, lake import and attribution timings, which happen
 * outside any request). A scrape merges both.
 *
 * @example
 * const metrics = new ServerMetrics(() => store.poolStats());
 * metrics.observeRequest("GET", "/healthz", 200, 0.001);
 * const text = await metrics.scrape();
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface PoolStats {
  /** Connections open (idle or in use). */
  readonly total: number;
  readonly idle: number;
  /** Queries waiting for a connection. */
  readonly waiting: number;
  /** SQLite group commit (src/store/group-commit.ts): batches committed and link writes they carried, since start. */
  readonly linkWriteBatches?: number;
  readonly linkWritesBatched?: number;
  /** SQLite file store's background WAL checkpoints (src/store/wal-checkpointer.ts): those that copied frames, the frames, the failures. */
  readonly walCheckpoints?: number;
  readonly walFramesCheckpointed?: number;
  readonly walCheckpointFailures?: number;
}

/** Seconds; spans a cached GET (sub-millisecond) to a slow report (seconds). */
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; imports and attribution runs take from milliseconds to minutes. */
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

let processRegistry: Registry | undefined;
let lakeImportSeconds: Histogram<"format"> | undefined;
let lakeImportRows: Counter<"format"> | undefined;
let attributionSeconds: Histogram<"step"> | undefined;
let attributionRuns: Counter<"outcome"> | undefined;

/** The process-wide registry, created once (default metrics register timers and observers). */
function processMetrics(): Registry {
  if (processRegistry) return processRegistry;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "openpal_process_" });
  lakeImportSeconds = new Histogram({ name: "openpal_lake_import_seconds", help: "Duration of usage imports into the lake run by this process.", labelNames: ["format"], buckets: JOB_BUCKETS, registers: [registry] });
  lakeImportRows = new Counter({ name: "openpal_lake_import_rows_total", help: "Usage rows written to the lake by imports run by this process.", labelNames: ["format"], registers: [registry] });
  attributionSeconds = new Histogram({ name: "openpal_attribution_step_seconds", help: "Duration of attribution runs (step=total) and of their steps, in this process.", labelNames: ["step"], buckets: JOB_BUCKETS, registers: [registry] });
  attributionRuns = new Counter({ name: "openpal_attribution_runs_total", help: "Attribution runs started by this process, by outcome.", labelNames: ["outcome"], registers: [registry] });
  processRegistry = registry;
  return registry;
}

/** Records one lake import (call after it finished). */
export function observeLakeImport(format: string, seconds: number, rows: number): void {
  processMetrics();
  lakeImportSeconds?.observe({ format }, seconds);
  lakeImportRows?.inc({ format }, rows);
}

/** Records one attribution run: its total and each step's time (the summary's `timings`, ms). */
export function observeAttribution(outcome: "ok" | "failed", seconds: number, stepTimingsMs: Readonly<Record<string, number>> = {}): void {
  processMetrics();
  attributionRuns?.inc({ outcome });
  attributionSeconds?.observe({ step: "total" }, seconds);
  for (const [step, ms] of Object.entries(stepTimingsMs)) attributionSeconds?.observe({ step }, ms / 1000);
}

/** Runs an attribution and records its timings, whatever its result type (it must carry `timings`). */
export async function timedAttribution<T extends { readonly timings?: Readonly<Record<string, number>> }>(work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    const result = await work();
    observeAttribution("ok", (performance.now() - t0) / 1000, result.timings ?? {});
    return result;
  } catch (error) {
    observeAttribution("failed", (performance.now() - t0) / 1000);
    throw error;
  }
}

/** The metrics of one server (app): its requests, its token issuance and its store's pool. */
export class ServerMetrics {
  readonly #registry = new Registry();
  readonly #requests: Counter<"method" | "route" | "status">;
  readonly #duration: Histogram<"method" | "route" | "status">;
  readonly #tokens: Counter<"grant_type">;
  readonly #inFlight: Gauge;

  constructor(poolStats: () => PoolStats | undefined, storeKind: string) {
    const registers = [this.#registry];
    this.#requests = new Counter({ name: "openpal_http_requests_total", help: "HTTP requests answered, by method, route pattern and status.", labelNames: ["method", "route", "status"], registers });
    this.#duration = new Histogram({ name: "openpal_http_request_duration_seconds", help: "Time to answer HTTP requests, by method, route pattern and status.", labelNames: ["method", "route", "status"], buckets: HTTP_BUCKETS, registers });
    this.#tokens = new Counter({ name: "openpal_tokens_issued_total", help: "Access tokens issued by the token endpoint, by grant type.", labelNames: ["grant_type"], registers });
    this.#inFlight = new Gauge({ name: "openpal_http_requests_in_flight", help: "HTTP requests being answered now.", registers });
    const pool = (pick: (s: PoolStats) => number) => function collect(this: Gauge) {
      const stats = poolStats();
      this.reset();
      if (stats) this.set({ store: storeKind }, pick(stats));
    };
    new Gauge({ name: "openpal_store_connections", help: "Store connections open (idle or in use).", labelNames: ["store"], registers, collect: pool((s) => s.total) });
    new Gauge({ name: "openpal_store_connections_idle", help: "Store connections open and idle.", labelNames: ["store"], registers, collect: pool((s) => s.idle) });
    new Gauge({ name: "openpal_store_waiting_queries", help: "Store queries waiting for a connection.", labelNames: ["store"], registers, collect: pool((s) => s.waiting) });
    // Counters read from the store's own tallies at each scrape (incremented by what changed).
    const tally = (pick: (s: PoolStats) => number | undefined) => {
      let seen = 0;
      return function collect(this: Counter<"store">) {
        const stats = poolStats();
        const value = stats ? pick(stats) : undefined;
        if (value === undefined || value < seen) return;
        this.inc({ store: storeKind }, value - seen);
        seen = value;
      };
    };
    new Counter({ name: "openpal_store_link_write_batches_total", help: "Group commits of link writes (SQLite): transactions committed.", labelNames: ["store"], registers, collect: tally((s) => s.linkWriteBatches) });
    new Counter({ name: "openpal_store_link_writes_batched_total", help: "Link writes carried by group commits (SQLite); divided by the batches, the mean batch size.", labelNames: ["store"], registers, collect: tally((s) => s.linkWritesBatched) });
    new Counter({ name: "openpal_store_wal_checkpoints_total", help: "Background WAL checkpoints that copied pages into the database file (SQLite file store).", labelNames: ["store"], registers, collect: tally((s) => s.walCheckpoints) });
    new Counter({ name: "openpal_store_wal_pages_checkpointed_total", help: "WAL pages the background checkpoints copied into the database file (SQLite file store).", labelNames: ["store"], registers, collect: tally((s) => s.walFramesCheckpointed) });
    new Counter({ name: "openpal_store_wal_checkpoint_failures_total", help: "Background WAL checkpoints that failed (retried at the next tick; the connection's automatic checkpoint is the safety net).", labelNames: ["store"], registers, collect: tally((s) => s.walCheckpointFailures) });
  }

  requestStarted(): void {
    this.#inFlight.inc();
  }

  /** A request started is over: answered, or abandoned by its client before its answer. */
  requestEnded(): void {
    this.#inFlight.dec();
  }

  /** `route` is the route pattern (e.g. /:tenant/oauth2/v2.0/token), never the raw URL. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.#requests.inc(labels);
    this.#duration.observe(labels, seconds);
  }

  tokenIssued(grantType: string): void {
    this.#tokens.inc({ grant_type: grantType });
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The exposition text: this server's metrics, then the process's. */
  async scrape(): Promise<string> {
    return Registry.merge([this.#registry, processMetrics()]).metrics();
  }
}
