/**
 * `importActivityFiles`: activity exports and metrics files → the activity lake (lake.ts), streamed
 * through DuckDB, one month file at a time, under the lake's one-writer lock.
 *
 * Per file:
 *   1. SHA-256; a file whose content the manifest already has is not read again (unless `force`).
 *      The hash is awaited first only when an import of the same size exists, else it is read
 *      beside DuckDB's own reading of the file.
 *   2. Format (formats.ts) → one streaming DuckDB pass into one staged Parquet file of normalised
 *      rows in the lake's columns (events; metrics are staged in a table), each marked ready,
 *      skipped (with its reason) or pending (a tenant or a user to resolve). Bad values
 *      (timestamps, months, metric values, AuditData JSON) fail the file with file:line unless
 *      `maxBadRows` allows them (then they are skipped and counted).
 *   3. Users given as UPNs are resolved through the directory (resolve.ts), once per distinct
 *      (tenant, UPN); what does not resolve is skipped and counted, never guessed.
 *   4. event_id: the export's own id when it has one, else the MD5 of the normalised event
 *      (stable across DuckDB versions; cheaper than SHA-256, which cost a third of the import).
 *      Events already in the file or in the lake are duplicates (skipped, counted).
 *   5. Every touched month is written beside the lake (a staged file of one new month whose rows
 *      are all written is that month as it is), then all are renamed into place, then the
 *      manifest entry is appended: a failure before the renames leaves the lake as it was.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { Store } from "../store/index.ts";
import { sqlString } from "../usage/formats.ts";
import { removeStaleWorkIn, withDirLock } from "../usage/lake.ts";
import { ACTIVITY_FORMATS, ActivityFormatProblem, detectActivityInput, eventsPlan, metricsSelect, SOURCE_OF, type ActivityFormat, type DetectedInput } from "./formats.ts";
import { ACTIVITY_EVENT_COLUMNS, ACTIVITY_METRIC_COLUMNS, activityDir, activityEventsFile, activityMetricsFile, appendActivityManifest, readActivityManifest } from "./lake.ts";
import { isUseSql, workloadSql, type Workload } from "./operations.ts";
import { loadControlPlane, resolveUsers, type ControlPlane } from "./resolve.ts";
import { rows, runWithProgress, sha256File } from "../usage/import.ts";

export type ActivityImportPhase = "hashing" | "reading" | "resolving" | "writing";

export interface ActivityProgress {
  readonly file: string;
  /** 0-based index of the file among `files`. */
  readonly index: number;
  readonly files: number;
  readonly phase: ActivityImportPhase;
  /** 0–1 within the phase. */
  readonly fraction: number;
}

export interface ImportActivityOptions {
  /** The control-plane store: users by UPN, known resources and principals. Without it UPNs do not resolve and nothing is checked. */
  readonly store?: Store;
  /** The data directory; the lake is `<dataDir>/activity`. */
  readonly dataDir: string;
  readonly files: readonly string[];
  /** Input format for every file; `auto` (default) recognises each from its header or shape. */
  readonly format?: ActivityFormat | "auto";
  /** Rows with a bad value (timestamp, month, metric value, AuditData JSON) skipped and counted before a file fails. Default 0. */
  readonly maxBadRows?: number;
  /** Read a file even if the manifest says its content was imported (events are still deduplicated). */
  readonly force?: boolean;
  readonly onProgress?: (progress: ActivityProgress) => void;
  /** DuckDB memory limit (default 2GB); beyond it DuckDB spills to the lake's work directory. */
  readonly memoryLimit?: string;
  readonly threads?: number;
}

/** Ids unknown to the control plane: how many, and the first few. */
export interface UnknownIds {
  readonly count: number;
  readonly sample: readonly string[];
}

export interface ActivityFileSummary {
  readonly file: string;
  readonly format: ActivityFormat;
  readonly detectedBecause: string;
  readonly sha256: string;
  /** Events files fill `events.parquet`, metrics files `metrics.parquet`. */
  readonly kind: "events" | "metrics";
  /** True when the manifest already had this content: nothing was read or written. */
  readonly alreadyImported: boolean;
  /** Events (metric rows) read. read = kept + sum(skipped) (+ updated for metrics, which are kept). */
  readonly read: number;
  /** Written to the lake (new events; new or changed metric rows). */
  readonly kept: number;
  /** Metric rows that replaced a different value of the same key. */
  readonly updated: number;
  /** Skipped by reason: bad timestamp, unknown workload, no resource id, unresolved user, duplicate… */
  readonly skipped: Readonly<Record<string, number>>;
  /** First bad rows, `file:line: reason (value)`, when bad rows were skipped under maxBadRows. */
  readonly badRows: readonly string[];
  /** Distinct UPNs (tenant/UPN) that did not resolve to a directory object. */
  readonly unresolvedUsers: UnknownIds;
  /**
   * Kept events' / metric rows' resources the control plane does not know — no resource of that
   * (tenant, workload, id), deviation 143 — listed as `tenant/workload/id` (kept in the lake), or
   * "not checked" without a store.
   */
  readonly unknownResources: UnknownIds | "not checked";
  /** Kept events' users (object ids) the directory does not know (kept in the lake), or "not checked". */
  readonly unknownUsers: UnknownIds | "not checked";
  readonly useEvents: number;
  readonly resources: number;
  readonly users: number;
  readonly pages?: number;
  readonly months: readonly string[];
  readonly warnings: readonly string[];
}

export interface ActivityImportSummary {
  readonly files: readonly ActivityFileSummary[];
  readonly read: number;
  readonly kept: number;
  readonly skipped: Readonly<Record<string, number>>;
  /** Months written by any file, ascending. */
  readonly months: readonly string[];
}

/** An import that cannot proceed; the message names the file (and line) and the fix. Nothing of that file was written. */
export class ActivityImportError extends Error {}

export const SKIP = {
  badTimestamp: "bad timestamp",
  badMonth: "bad month",
  badValue: "bad value",
  noTenant: "no tenant id",
  noResource: "no resource id",
  noUser: "no user",
  noOperation: "no operation",
  unresolvedUser: "unresolved user",
  unknownMetric: "unknown metric",
  metricNotForWorkload: "metric does not apply to the workload",
  duplicate: "duplicate",
  superseded: "superseded by a later row of the file",
} as const;

/** Marks a skipped row in the staged file's `source` column (followed by the reason); no source starts with it. */
const SKIP_MARK = "!";
/** A staged row whose tenant or user is still to be resolved (`source` column). */
const PENDING = "?";

const MONTH_SQL = `'^\\d{4}-(0[1-9]|1[0-2])$'`;

/**
 * `trim(expr)` (spaces, Unicode ones included), computed only when the value can have any: DuckDB's
 * trim costs more than the rest of the normalisation, and almost no exported value needs it.
 */
function trimSql(expr: string): string {
  return `(CASE WHEN starts_with(${expr}, ' ') OR ends_with(${expr}, ' ') OR strlen(${expr}) <> length(${expr}) THEN trim(${expr}) ELSE ${expr} END)`;
}

/**
 * ISO 8601 (with or without zone: UTC assumed; 7-digit fractions of the audit log too), else US
 * `M/D/YYYY h:mm:ss AM`. `t` is trimmed already. A TIMESTAMPTZ becomes the UTC TIMESTAMP through
 * its epoch microseconds (the same value as a cast under TimeZone UTC, without ICU's per-value cost).
 */
function timestampSql(t: string): string {
  return `date_trunc('second', COALESCE(
    make_timestamp(epoch_us(TRY_CAST(${t} AS TIMESTAMPTZ))),
    make_timestamp(epoch_us(TRY_CAST(regexp_replace(${t}, '(\\.\\d{6})\\d+', '\\1') AS TIMESTAMPTZ))),
    try_strptime(${t}, ['%m/%d/%Y %I:%M:%S %p', '%m/%d/%Y %H:%M:%S', '%m/%d/%Y %H:%M'])))`;
}

/** Imports `files` in order; stops at the first that fails (earlier ones stay imported). */
export async function importActivityFiles(options: ImportActivityOptions): Promise<ActivityImportSummary> {
  if (options.format && options.format !== "auto" && !ACTIVITY_FORMATS.includes(options.format)) {
    throw new ActivityImportError(`--format ${String(options.format)} is not known; use auto or one of ${ACTIVITY_FORMATS.join(", ")}.`);
  }
  const maxBad = options.maxBadRows ?? 0;
  if (!Number.isSafeInteger(maxBad) || maxBad < 0) throw new ActivityImportError(`maxBadRows ${String(maxBad)}: use a whole number ≥ 0.`);
  const summaries: ActivityFileSummary[] = [];
  let controlPlane: ControlPlane | undefined;
  for (const [index, file] of options.files.entries()) {
    const absolute = path.resolve(file);
    if (!existsSync(absolute) || !statSync(absolute).isFile()) throw new ActivityImportError(`${absolute}: no such file. Check the path.`);
    const progress = (phase: ActivityImportPhase, fraction: number) => options.onProgress?.({ file: absolute, index, files: options.files.length, phase, fraction });
    const bytes = statSync(absolute).size;
    // The SHA-256 of the file (the manifest's key) is read beside DuckDB's own reading: it is
    // awaited first only when an import of the same size exists (content of another size cannot
    // be the same), so an already-imported file is still not read again.
    const hashing = sha256File(absolute).then((h) => h.sha256);
    hashing.catch(() => undefined);
    const summary = await withDirLock(activityDir(options.dataDir), "activity lake", async () => {
      removeStaleWorkIn(activityDir(options.dataDir));
      const imports = readActivityManifest(options.dataDir).imports;
      if (imports.some((r) => r.bytes === bytes)) {
        progress("hashing", 0);
        const sha256 = await hashing;
        progress("hashing", 1);
        const previous = imports.find((r) => r.sha256 === sha256);
        if (previous && !options.force) return alreadyImported(absolute, sha256, previous.format as ActivityFormat, previous.importedAt, previous.importId, previous.read);
      }
      controlPlane ??= options.store ? await loadControlPlane(options.store) : undefined;
      const importId = `${new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${randomUUID().slice(0, 8)}`;
      const work = path.join(activityDir(options.dataDir), `_work-${importId}`);
      mkdirSync(path.join(work, "spill"), { recursive: true });
      const config: Record<string, string> = { memory_limit: options.memoryLimit ?? "2GB", temp_directory: path.join(work, "spill"), preserve_insertion_order: "false" };
      if (options.threads) config.threads = String(options.threads);
      const instance = await DuckDBInstance.create(":memory:", config);
      const connection = await instance.connect();
      try {
        await connection.run("SET TimeZone = 'UTC'");
        let detected: DetectedInput;
        try {
          detected = await detectActivityInput(absolute, connection, options.format === "auto" ? undefined : options.format);
        } catch (error) {
          if (error instanceof ActivityFormatProblem) throw new ActivityImportError(error.message);
          throw error;
        }
        const context: FileContext = { connection, file: absolute, sha256: hashing, bytes, importId, work, options, maxBad, controlPlane, store: options.store, progress, detected };
        const result = detected.format === "openpal-metrics" ? await importMetrics(context) : await importEvents(context);
        return result;
      } catch (error) {
        if (error instanceof ActivityImportError) throw error;
        if (error instanceof ActivityFormatProblem) throw new ActivityImportError(error.message);
        throw new ActivityImportError(`${absolute}: cannot be imported (${(error as Error).message}). Nothing of this file was written.`);
      } finally {
        connection.closeSync();
        instance.closeSync();
        rmSync(work, { recursive: true, force: true });
      }
    });
    summaries.push(summary);
  }
  const skipped: Record<string, number> = {};
  for (const s of summaries) for (const [k, n] of Object.entries(s.skipped)) skipped[k] = (skipped[k] ?? 0) + n;
  return {
    files: summaries,
    read: summaries.reduce((n, s) => n + s.read, 0),
    kept: summaries.reduce((n, s) => n + s.kept, 0),
    skipped,
    months: [...new Set(summaries.flatMap((s) => s.months))].sort(),
  };
}

function alreadyImported(file: string, sha256: string, format: ActivityFormat, at: string, importId: string, read: number): ActivityFileSummary {
  return {
    file,
    format,
    detectedBecause: `already imported on ${at} (import ${importId}, same SHA-256)`,
    sha256,
    kind: format === "openpal-metrics" ? "metrics" : "events",
    alreadyImported: true,
    read,
    kept: 0,
    updated: 0,
    skipped: read > 0 ? { [SKIP.duplicate]: read } : {},
    badRows: [],
    unresolvedUsers: { count: 0, sample: [] },
    unknownResources: { count: 0, sample: [] },
    unknownUsers: { count: 0, sample: [] },
    useEvents: 0,
    resources: 0,
    users: 0,
    months: [],
    warnings: ["this file's content was imported before; nothing was read. Use --force to read it again (events are still deduplicated)."],
  };
}

interface FileContext {
  readonly connection: DuckDBConnection;
  readonly file: string;
  /** The file's SHA-256, being read beside the import. */
  readonly sha256: Promise<string>;
  readonly bytes: number;
  readonly importId: string;
  readonly work: string;
  readonly options: ImportActivityOptions;
  readonly maxBad: number;
  readonly controlPlane: ControlPlane | undefined;
  readonly store: Store | undefined;
  readonly progress: (phase: ActivityImportPhase, fraction: number) => void;
  readonly detected: DetectedInput;
}

async function countBy(connection: DuckDBConnection, table: string): Promise<{ read: number; skipped: Record<string, number> }> {
  const skipped: Record<string, number> = {};
  let read = 0;
  for (const r of await rows(connection, `SELECT skip_reason AS reason, count(*) AS n FROM ${table} GROUP BY ALL ORDER BY ALL`)) {
    read += Number(r.n);
    if (r.reason !== null) skipped[String(r.reason)] = Number(r.n);
  }
  return { read, skipped };
}

/**
 * Loads the control plane's ids into DuckDB tables `known_resources(tenant_id, workload,
 * resource_id)` (a resource is (tenant, workload, id), deviation 143) and `known_principals(id)`.
 */
async function loadKnown(connection: DuckDBConnection, controlPlane: ControlPlane | undefined): Promise<void> {
  await connection.run("CREATE TABLE known_resources (tenant_id VARCHAR, workload VARCHAR, resource_id VARCHAR)");
  await connection.run("CREATE TABLE known_principals (id VARCHAR)");
  if (!controlPlane) return;
  const resources = await connection.createAppender("known_resources");
  for (const r of controlPlane.resources) {
    resources.appendVarchar(r.tenantId);
    resources.appendVarchar(r.workload);
    resources.appendVarchar(r.id);
    resources.endRow();
  }
  resources.closeSync();
  const principals = await connection.createAppender("known_principals");
  for (const id of controlPlane.principals) {
    principals.appendVarchar(id);
    principals.endRow();
  }
  principals.closeSync();
}

/**
 * The tenant of a row without one: the one tenant where the control plane knows a resource of the
 * row's workload and id (none when no tenant or several do). Joined as `k` on `s`.
 */
const KNOWN_TENANT_JOIN =
  "LEFT JOIN (SELECT workload, resource_id, min(tenant_id) AS tenant_id FROM known_resources GROUP BY workload, resource_id HAVING count(*) = 1) k " +
  "ON s.tenant_id IS NULL AND k.workload = s.workload AND k.resource_id = s.resource_id";

/** `tenant/workload/id` of a resource, as the summary lists unknown ones. */
const RESOURCE_LABEL = (t: string) => `${t}.tenant_id || '/' || ${t}.workload || '/' || ${t}.resource_id`;

async function unknownIds(connection: DuckDBConnection, sql: string): Promise<UnknownIds> {
  const [r] = await rows(connection, `WITH q AS MATERIALIZED (${sql}) SELECT (SELECT count(*) FROM q) AS n, (SELECT list(id ORDER BY id) FROM (SELECT id FROM q ORDER BY id LIMIT 10)) AS sample`);
  return { count: Number(r?.n ?? 0), sample: ((r?.sample ?? []) as unknown[]).map(String) };
}

/** Fails the file when bad rows exceed maxBadRows, naming file:line of the first ones. */
async function checkBadRows(ctx: FileContext, skipped: Record<string, number>, badReasons: readonly string[], locate: () => Promise<{ line: number | null; reason: string; value: string | null | undefined }[]>, fix: string): Promise<string[]> {
  const total = badReasons.reduce((n, r) => n + (skipped[r] ?? 0), 0);
  if (total === 0) return [];
  await ctx.connection.run("SET preserve_insertion_order = true");
  const found = await locate();
  const where = found.map((b) => `${ctx.file}:${b.line ?? "?"}: ${b.reason}${b.value === undefined ? "" : b.value === null ? " (empty)" : ` ${JSON.stringify(b.value.length > 80 ? b.value.slice(0, 80) + "…" : b.value)}`}`);
  if (total > ctx.maxBad) {
    throw new ActivityImportError(
      `${where[0] ?? ctx.file}${total > 1 ? ` (${total} bad rows in all${where.length > 1 ? `; also ${where.slice(1).map((w) => w.slice(ctx.file.length + 1).split(":")[0]).map((l) => `line ${l}`).join(", ")}` : ""})` : ""}. ` +
        `${fix} Or pass --max-bad-rows ${total} to skip and count such rows. Nothing was written.`,
    );
  }
  return where;
}

// ---------------------------------------------------------------------------------------------
// Events

async function importEvents(ctx: FileContext): Promise<ActivityFileSummary> {
  const { connection, file } = ctx;
  const format = ctx.detected.format as Exclude<ActivityFormat, "openpal-metrics">;
  const plan = eventsPlan(format, file, ctx.detected, ctx.work);
  const source = SOURCE_OF[format];
  const eventIdSql = (user: string) => `COALESCE(src_id, md5(concat_ws('|', ${sqlString(source)}, CAST(epoch("at") AS BIGINT), tenant_id, workload, resource_id, ${user}, operation)))`;
  const normalised = (withLine: boolean) => `
    SELECT line, src_id, at_raw, "at", tenant_id, workload, resource_id, user_value, CAST(TRY_CAST(user_value AS UUID) AS VARCHAR) AS object_id, operation, lower(operation) AS operation_lower,
      CASE WHEN bad_row THEN ${sqlString(plan.badRowReason ?? "bad row")}
           WHEN "at" IS NULL THEN '${SKIP.badTimestamp}'
           WHEN workload IS NULL THEN ${sqlString(plan.unknownWorkloadReason)}
           WHEN resource_id IS NULL THEN '${SKIP.noResource}'
           WHEN user_value IS NULL THEN '${SKIP.noUser}'
           WHEN operation IS NULL THEN '${SKIP.noOperation}'
      END AS skip_reason
    FROM (SELECT line, bad_row, NULLIF(lower(src_id), '') AS src_id, at_raw, ${timestampSql("at_trimmed")} AS "at",
                 NULLIF(lower(tenant_raw), '') AS tenant_id, ${workloadSql("workload_raw")} AS workload,
                 NULLIF(lower(resource_raw), '') AS resource_id, NULLIF(user_raw, '') AS user_value, NULLIF(operation, '') AS operation
          FROM (SELECT line, bad_row, ${trimSql("src_id")} AS src_id, at_raw, ${trimSql("at_raw")} AS at_trimmed, ${trimSql("tenant_raw")} AS tenant_raw, workload_raw,
                       ${trimSql("resource_raw")} AS resource_raw, ${trimSql("user_raw")} AS user_raw, ${trimSql("operation")} AS operation
                FROM (${plan.select(withLine)})))`;
  // --- one streaming pass: the file → one staged Parquet file in the lake's own columns, no table.
  // A row that needs nothing more (an object id and a tenant) gets its event id here. `source`
  // holds each row's state: the format's source (ready to write), SKIP_MARK + the skip reason, or
  // PENDING (a tenant or a user still to resolve: `event_id` then holds the export's own id, if
  // any, and `user_object_id` the object id or, without one, the user as the file gave it). A file
  // of one month whose rows are all ready (the common case) is then moved into place as written.
  // (Not partitioned by month: DuckDB's PARTITION_BY costs about as much again as this pass; the
  // rarer files of several months are split by one filtered copy per month.)
  const stagedFile = path.join(ctx.work, "staged.parquet");
  const ready = "skip_reason IS NULL AND object_id IS NOT NULL AND tenant_id IS NOT NULL";
  try {
    await runWithProgress(
      connection,
      `COPY (
         SELECT CASE WHEN ${ready} THEN ${eventIdSql("object_id")} ELSE src_id END AS event_id,
                "at", tenant_id, workload, resource_id, COALESCE(object_id, user_value) AS user_object_id, operation,
                ${isUseSql("workload", "operation_lower", true)} AS is_use,
                CASE WHEN skip_reason IS NOT NULL THEN ${sqlString(SKIP_MARK)} || skip_reason WHEN ${ready} THEN ${sqlString(source)} ELSE ${sqlString(PENDING)} END AS source
         FROM (${normalised(false)})
       ) TO ${sqlString(stagedFile)} (FORMAT parquet, COMPRESSION zstd)`,
      (f) => ctx.progress("reading", f),
    );
  } catch (error) {
    throw new ActivityImportError(`${file}: DuckDB could not read it as ${format}: ${(error as Error).message}. Check that the file is a complete export.`);
  }
  const stagedRel = `read_parquet(${sqlString(stagedFile)}, hive_partitioning = false)`;
  const isPending = `source = ${sqlString(PENDING)}`;
  const isKept = `source = ${sqlString(source)}`;
  // UPN rows: pending rows whose user is not an object id.
  const isUpn = `${isPending} AND TRY_CAST(user_object_id AS UUID) IS NULL`;
  // One scan counts the rows by state (skip reason, pending, ready) and, among the pending ones,
  // those missing a tenant and those given by UPN.
  const skipped: Record<string, number> = {};
  let read = 0;
  let tenantless = 0;
  let upnRows = 0;
  let pending = 0;
  for (const r of await rows(
    connection,
    `SELECT CASE WHEN starts_with(source, ${sqlString(SKIP_MARK)}) THEN substr(source, ${SKIP_MARK.length + 1}) END AS reason, ${isPending} AS pending, count(*) AS n,
            count(*) FILTER (WHERE ${isPending} AND tenant_id IS NULL) AS tenantless, count(*) FILTER (WHERE ${isUpn}) AS upn_rows
     FROM ${stagedRel} GROUP BY ALL ORDER BY ALL`,
  )) {
    read += Number(r.n);
    if (r.reason !== null) skipped[String(r.reason)] = Number(r.n);
    else if (r.pending) [pending, tenantless, upnRows] = [Number(r.n), Number(r.tenantless), Number(r.upn_rows)];
  }
  const everyRowReady = pending === 0 && Object.keys(skipped).length === 0;
  const badReasons = [SKIP.badTimestamp, ...(plan.badRowReason ? [plan.badRowReason] : [])];
  const badRows = await checkBadRows(
    ctx,
    skipped,
    badReasons,
    async () =>
      (await rows(connection, `SELECT line, skip_reason AS reason, at_raw AS value FROM (${normalised(true)}) WHERE skip_reason IN (${badReasons.map(sqlString).join(", ")}) ORDER BY line LIMIT 5`)).map((r) => ({
        line: r.line === null ? null : Number(r.line),
        reason: String(r.reason),
        value: r.reason === SKIP.badTimestamp ? (r.value === null ? null : String(r.value)) : undefined,
      })),
    skipped[SKIP.badTimestamp]
      ? "Fix the timestamp(s): ISO 8601, UTC unless an offset is given, e.g. 2026-10-01T09:30:00Z; then import again."
      : "The AuditData cell must hold the JSON object the audit log export wrote (quotes doubled inside the quoted cell): export the audit log again.",
  );

  // --- users and tenants (pending rows only)
  ctx.progress("resolving", 0);
  await loadKnown(connection, ctx.controlPlane);
  // A missing tenant is the tenant the control plane knows the resource in (joined only when needed).
  const tenantJoin = tenantless > 0 ? KNOWN_TENANT_JOIN : "";
  const tenant = tenantless > 0 ? "COALESCE(s.tenant_id, k.tenant_id)" : "s.tenant_id";
  const upns =
    upnRows === 0
      ? []
      : (await rows(connection, `SELECT DISTINCT ${tenant} AS tenant_id, s.user_object_id AS user_value FROM (SELECT * FROM ${stagedRel} WHERE ${isUpn}) s ${tenantJoin} WHERE ${tenant} IS NOT NULL`)).map((r) => ({ tenantId: String(r.tenant_id), upn: String(r.user_value) }));
  const resolved = await resolveUsers(ctx.store, upns);
  await connection.run("CREATE TABLE user_map (tenant_id VARCHAR, user_value VARCHAR, object_id VARCHAR)");
  if (resolved.length > 0) {
    const appender = await connection.createAppender("user_map");
    for (const r of resolved) {
      appender.appendVarchar(r.tenantId);
      appender.appendVarchar(r.upn);
      if (r.objectId === null) appender.appendNull();
      else appender.appendVarchar(r.objectId);
      appender.endRow();
    }
    appender.closeSync();
  }
  const unresolved = resolved.filter((r) => r.objectId === null).map((r) => `${r.tenantId}/${r.upn}`).sort();
  ctx.progress("resolving", 0.3);

  // --- event ids of pending rows (the export's own, else an MD5 of the normalised event). The
  // keyed rows: the staged file itself when nothing is pending, else a table of its ready rows and
  // its pending rows resolved (or skipped, marked as above).
  let keyedRel = stagedRel;
  if (pending > 0) {
    const userJoin = resolved.length > 0 ? "LEFT JOIN user_map m ON l.object_id IS NULL AND m.tenant_id = l.tenant_id AND m.user_value = l.user_value" : "";
    await runWithProgress(
      connection,
      `CREATE TEMP TABLE keyed AS
       SELECT CASE WHEN skip_reason IS NULL THEN ${eventIdSql("user_object_id")} END AS event_id,
              "at", tenant_id, workload, resource_id, user_object_id, operation, is_use,
              CASE WHEN skip_reason IS NULL THEN ${sqlString(source)} ELSE ${sqlString(SKIP_MARK)} || skip_reason END AS source
       FROM (SELECT *, CASE WHEN tenant_id IS NULL THEN '${SKIP.noTenant}' WHEN user_object_id IS NULL THEN '${SKIP.unresolvedUser}' END AS skip_reason
             FROM (SELECT l.src_id, l."at", l.tenant_id, l.workload, l.resource_id, l.operation, l.is_use, ${resolved.length > 0 ? "COALESCE(l.object_id, m.object_id)" : "l.object_id"} AS user_object_id
                   FROM (SELECT s.src_id, s."at", ${tenant} AS tenant_id, s.workload, s.resource_id, s.operation, s.is_use, s.object_id, s.user_value
                         FROM (SELECT event_id AS src_id, "at", tenant_id, workload, resource_id, operation, is_use,
                                      CAST(TRY_CAST(user_object_id AS UUID) AS VARCHAR) AS object_id, CASE WHEN TRY_CAST(user_object_id AS UUID) IS NULL THEN user_object_id END AS user_value
                               FROM ${stagedRel} WHERE ${isPending}) s ${tenantJoin}) l ${userJoin}))
       UNION ALL
       SELECT * FROM ${stagedRel} WHERE ${isKept}`,
      (f) => ctx.progress("resolving", 0.3 + f * 0.5),
    );
    keyedRel = "keyed";
    for (const r of await rows(connection, `SELECT substr(source, ${SKIP_MARK.length + 1}) AS reason, count(*) AS n FROM keyed WHERE starts_with(source, ${sqlString(SKIP_MARK)}) GROUP BY ALL ORDER BY ALL`)) {
      skipped[String(r.reason)] = (skipped[String(r.reason)] ?? 0) + Number(r.n);
    }
  }

  // --- duplicates in the file, then in the lake
  // Most files repeat no event: as many distinct 64-bit hashes of the ids as rows proves it
  // (cheaper than comparing the ids), and the kept rows are then the incoming rows as they are.
  // The same scan counts what is written (recounted only when duplicates are removed); months are
  // collected as date_trunc (arithmetic) and formatted once each, not strftime per row.
  const totalsSql = (relation: string) =>
    `SELECT count(*) AS kept, count(DISTINCT hash(event_id)) AS hashes, count(*) FILTER (WHERE is_use) AS use_events,
            list_transform(list(DISTINCT date_trunc('month', "at")), m -> strftime(m, '%Y-%m')) AS months
     FROM ${relation}`;
  let incoming = keyedRel === stagedRel && everyRowReady ? stagedRel : `(SELECT * FROM ${keyedRel} WHERE ${isKept})`;
  let [totals] = await rows(connection, totalsSql(incoming));
  const keyedCount = Number(totals?.kept ?? 0);
  let duplicates = 0;
  if (keyedCount !== Number(totals?.hashes ?? 0)) {
    await connection.run(`CREATE TEMP TABLE incoming_distinct AS SELECT DISTINCT ON (event_id) * FROM ${incoming}`);
    incoming = "incoming_distinct";
    const [{ n }] = (await rows(connection, `SELECT count(*) AS n FROM ${incoming}`)) as [{ n: unknown }];
    duplicates = keyedCount - Number(n);
  }
  const existing = ((totals?.months ?? []) as unknown[]).map(String).filter((m) => existsSync(activityEventsFile(ctx.options.dataDir, m)));
  if (existing.length > 0) {
    const files = `read_parquet([${existing.map((m) => sqlString(activityEventsFile(ctx.options.dataDir, m))).join(", ")}], hive_partitioning = false)`;
    const [{ n }] = (await rows(connection, `SELECT count(*) AS n FROM ${incoming} i SEMI JOIN ${files} e ON e.event_id = i.event_id`)) as [{ n: unknown }];
    if (Number(n) > 0) {
      await connection.run(`CREATE TEMP TABLE incoming_new AS SELECT i.* FROM ${incoming} i ANTI JOIN ${files} e ON e.event_id = i.event_id`);
      incoming = "incoming_new";
      duplicates += Number(n);
    }
  }
  if (duplicates > 0) {
    skipped[SKIP.duplicate] = duplicates;
    [totals] = await rows(connection, totalsSql(incoming));
  }
  ctx.progress("resolving", 1);

  // --- what is written, and what the control plane does not know: the distinct resources
  // (tenant, workload, id) and users in one scan (GROUPING SETS), then the unknown ones among those.
  const kept = Number(totals?.kept ?? 0);
  const monthsWritten = ((totals?.months ?? []) as unknown[]).map(String).sort();
  await connection.run(
    `CREATE TEMP TABLE written AS
     SELECT CASE WHEN GROUPING(resource_id) = 0 THEN 'resource' ELSE 'user' END AS kind, tenant_id, workload, resource_id, user_object_id AS id
     FROM ${incoming} GROUP BY GROUPING SETS ((tenant_id, workload, resource_id), (user_object_id))`,
  );
  const [written] = await rows(connection, "SELECT count(*) FILTER (WHERE kind = 'resource') AS resources, count(*) FILTER (WHERE kind = 'user') AS users FROM written");
  const unknownResources = ctx.controlPlane ? await unknownIds(
        connection,
        `SELECT ${RESOURCE_LABEL("w")} AS id FROM written w
         ANTI JOIN known_resources k ON k.tenant_id = w.tenant_id AND k.workload = w.workload AND k.resource_id = w.resource_id WHERE w.kind = 'resource'`,
      ) : "not checked";
  const unknownUsers = ctx.controlPlane ? await unknownIds(connection, "SELECT id FROM written w ANTI JOIN known_principals k ON k.id = w.id WHERE w.kind = 'user'") : "not checked";

  // --- every month beside the lake, then all renamed into place. The staged file is the month as
  // it is when it holds only that month's rows, all written, and the lake has no such month;
  // otherwise each month is written (the lake's rows of the month and the new ones).
  const columns = ACTIVITY_EVENT_COLUMNS.map(([name]) => `"${name}"`).join(", ");
  const staged: [string, string][] = [];
  for (const [i, month] of monthsWritten.entries()) {
    const target = activityEventsFile(ctx.options.dataDir, month);
    if (incoming === stagedRel && monthsWritten.length === 1 && !existsSync(target)) {
      staged.push([stagedFile, target]);
      continue;
    }
    const tmp = path.join(ctx.work, `events-${month}.parquet`);
    const from = `TIMESTAMP '${month}-01'`;
    const fresh = `SELECT ${columns} FROM ${incoming} WHERE "at" >= ${from} AND "at" < ${from} + INTERVAL 1 MONTH`;
    const body = existsSync(target) ? `SELECT ${columns} FROM read_parquet(${sqlString(target)}, hive_partitioning = false) UNION ALL ${fresh}` : fresh;
    await runWithProgress(connection, `COPY (${body}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`, (f) => ctx.progress("writing", (i + f) / monthsWritten.length));
    staged.push([tmp, target]);
  }
  for (const [tmp, target] of staged) {
    mkdirSync(path.dirname(target), { recursive: true });
    renameSync(tmp, target);
  }
  ctx.progress("writing", 1);
  const sha256 = await ctx.sha256;
  appendActivityManifest(ctx.options.dataDir, { importId: ctx.importId, file, sha256, bytes: ctx.bytes, format, importedAt: new Date().toISOString(), read, kept, months: monthsWritten });
  return {
    file,
    format,
    detectedBecause: ctx.detected.because,
    sha256,
    kind: "events",
    alreadyImported: false,
    read,
    kept,
    updated: 0,
    skipped,
    badRows,
    unresolvedUsers: { count: unresolved.length, sample: unresolved.slice(0, 10) },
    unknownResources,
    unknownUsers,
    useEvents: Number(totals?.use_events ?? 0),
    resources: Number(written?.resources ?? 0),
    users: Number(written?.users ?? 0),
    ...(plan.pages !== undefined ? { pages: plan.pages } : {}),
    months: monthsWritten,
    warnings: [...plan.warnings],
  };
}

// ---------------------------------------------------------------------------------------------
// Metrics: keyed by (month, tenant, workload, resource, metric); the last row of a file wins, and a
// file's row replaces the lake's row of the same key.

const METRICS: Readonly<Record<string, { metric: string; workloads: readonly Workload[] }>> = {
  monthlyactiveusers: { metric: "MonthlyActiveUsers", workloads: ["PowerApps", "PowerAutomate", "PowerBI"] },
  mau: { metric: "MonthlyActiveUsers", workloads: ["PowerApps", "PowerAutomate", "PowerBI"] },
  unifiedprofiles: { metric: "UnifiedProfiles", workloads: ["CustomerInsights"] },
};

async function importMetrics(ctx: FileContext): Promise<ActivityFileSummary> {
  const { connection, file } = ctx;
  // The last row of a key wins: keep the file's order.
  await connection.run("SET preserve_insertion_order = true");
  const metricCase = `(CASE regexp_replace(lower(trim(metric_raw)), '[^a-z]', '', 'g') ${Object.entries(METRICS).map(([k, v]) => `WHEN '${k}' THEN '${v.metric}'`).join(" ")} END)`;
  const fits = Object.values(METRICS)
    .flatMap((v) => v.workloads.map((w) => `'${v.metric}|${w}'`))
    .filter((x, i, a) => a.indexOf(x) === i);
  const month = `CASE WHEN regexp_full_match(trim(month_raw), ${MONTH_SQL}) THEN trim(month_raw) WHEN regexp_full_match(trim(month_raw), '^\\d{4}-(0[1-9]|1[0-2])-01([T ].*)?$') THEN left(trim(month_raw), 7) END`;
  try {
    await runWithProgress(
      connection,
      `CREATE TEMP TABLE staged AS
       SELECT *, CASE WHEN month IS NULL THEN '${SKIP.badMonth}' WHEN value IS NULL OR value < 0 THEN '${SKIP.badValue}'
                      WHEN workload IS NULL THEN 'unknown workload' WHEN metric IS NULL THEN '${SKIP.unknownMetric}'
                      WHEN NOT list_contains([${fits.join(", ")}], metric || '|' || workload) THEN '${SKIP.metricNotForWorkload}'
                      WHEN resource_id IS NULL THEN '${SKIP.noResource}' END AS skip_reason
       FROM (SELECT line, month_raw, value_raw, ${month} AS month, NULLIF(lower(trim(tenant_raw)), '') AS tenant_id, ${workloadSql("workload_raw")} AS workload,
                    NULLIF(lower(trim(resource_raw)), '') AS resource_id, ${metricCase} AS metric, TRY_CAST(trim(value_raw) AS BIGINT) AS value
             FROM (${metricsSelect(ctx.detected)}))`,
      (f) => ctx.progress("reading", f),
    );
  } catch (error) {
    throw new ActivityImportError(`${file}: DuckDB could not read it as openpal-metrics: ${(error as Error).message}. Check that the file is a complete CSV.`);
  }
  const { read, skipped } = await countBy(connection, "staged");
  const badRows = await checkBadRows(
    ctx,
    skipped,
    [SKIP.badMonth, SKIP.badValue],
    async () =>
      (await rows(connection, `SELECT line, skip_reason AS reason, CASE WHEN skip_reason = '${SKIP.badMonth}' THEN month_raw ELSE value_raw END AS value FROM staged WHERE skip_reason IN ('${SKIP.badMonth}', '${SKIP.badValue}') ORDER BY line LIMIT 5`)).map((r) => ({
        line: Number(r.line),
        reason: String(r.reason),
        value: r.value === null ? null : String(r.value),
      })),
    "Fix the value(s) (Month as YYYY-MM, Value as a whole number ≥ 0) and import again.",
  );
  ctx.progress("resolving", 0);
  await loadKnown(connection, ctx.controlPlane);
  await connection.run(
    `CREATE TEMP TABLE candidates AS
     SELECT s.line, s.month, COALESCE(s.tenant_id, k.tenant_id) AS tenant_id, s.workload, s.resource_id, s.metric, s.value
     FROM staged s ${KNOWN_TENANT_JOIN}
     WHERE s.skip_reason IS NULL`,
  );
  const [{ n: noTenant }] = (await rows(connection, "SELECT count(*) AS n FROM candidates WHERE tenant_id IS NULL")) as [{ n: unknown }];
  if (Number(noTenant) > 0) skipped[SKIP.noTenant] = Number(noTenant);
  // Last row of a key in the file wins; earlier ones are superseded (counted as duplicates).
  await connection.run(
    `CREATE TEMP TABLE incoming AS
     SELECT month, tenant_id, workload, resource_id, metric, value, 'openpal-metrics' AS source
     FROM candidates WHERE tenant_id IS NOT NULL
     QUALIFY row_number() OVER (PARTITION BY month, tenant_id, workload, resource_id, metric ORDER BY line DESC) = 1`,
  );
  const [{ n: candidateCount }] = (await rows(connection, "SELECT count(*) AS n FROM candidates WHERE tenant_id IS NOT NULL")) as [{ n: unknown }];
  const [{ n: incomingCount }] = (await rows(connection, "SELECT count(*) AS n FROM incoming")) as [{ n: unknown }];
  const superseded = Number(candidateCount) - Number(incomingCount);
  if (superseded > 0) skipped[SKIP.superseded] = superseded;
  let duplicates = 0;
  let updated = 0;
  const months = (await rows(connection, "SELECT DISTINCT month FROM incoming ORDER BY month")).map((r) => String(r.month));
  const rewrite: string[] = [];
  const key = "tenant_id, workload, resource_id, metric";
  for (const m of months) {
    const target = activityMetricsFile(ctx.options.dataDir, m);
    if (!existsSync(target)) {
      rewrite.push(m);
      continue;
    }
    const [r] = await rows(
      connection,
      `SELECT count(*) FILTER (WHERE e.value = i.value) AS same, count(*) FILTER (WHERE e.value IS NOT NULL AND e.value <> i.value) AS changed, count(*) FILTER (WHERE e.value IS NULL) AS fresh
       FROM (SELECT * FROM incoming WHERE month = ${sqlString(m)}) i LEFT JOIN read_parquet(${sqlString(target)}, hive_partitioning = false) e USING (${key})`,
    );
    duplicates += Number(r?.same ?? 0);
    updated += Number(r?.changed ?? 0);
    if (Number(r?.changed ?? 0) + Number(r?.fresh ?? 0) > 0) rewrite.push(m);
    await connection.run(
      `DELETE FROM incoming USING read_parquet(${sqlString(target)}, hive_partitioning = false) e
       WHERE incoming.month = ${sqlString(m)} AND incoming.tenant_id = e.tenant_id AND incoming.workload = e.workload AND incoming.resource_id = e.resource_id AND incoming.metric = e.metric AND incoming.value = e.value`,
    );
  }
  if (duplicates > 0) skipped[SKIP.duplicate] = duplicates;
  const [totals] = await rows(connection, "SELECT count(*) AS kept, count(DISTINCT (tenant_id, workload, resource_id)) AS resources FROM incoming");
  const unknownResources = ctx.controlPlane ? await unknownIds(
        connection,
        `SELECT DISTINCT ${RESOURCE_LABEL("i")} AS id FROM incoming i
         ANTI JOIN known_resources k ON k.tenant_id = i.tenant_id AND k.workload = i.workload AND k.resource_id = i.resource_id`,
      ) : "not checked";
  const columns = ACTIVITY_METRIC_COLUMNS.map(([name]) => name).join(", ");
  const staged: [string, string][] = [];
  for (const [i, m] of rewrite.entries()) {
    const target = activityMetricsFile(ctx.options.dataDir, m);
    const tmp = path.join(ctx.work, `metrics-${m}.parquet`);
    const fresh = `SELECT ${columns} FROM incoming WHERE month = ${sqlString(m)}`;
    const body = existsSync(target)
      ? `SELECT ${columns} FROM read_parquet(${sqlString(target)}, hive_partitioning = false) e WHERE NOT EXISTS (SELECT 1 FROM incoming i WHERE i.month = ${sqlString(m)} AND i.tenant_id = e.tenant_id AND i.workload = e.workload AND i.resource_id = e.resource_id AND i.metric = e.metric) UNION ALL ${fresh}`
      : fresh;
    await runWithProgress(connection, `COPY (${body}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`, (f) => ctx.progress("writing", (i + f) / rewrite.length));
    staged.push([tmp, target]);
  }
  for (const [tmp, target] of staged) {
    mkdirSync(path.dirname(target), { recursive: true });
    renameSync(tmp, target);
  }
  ctx.progress("writing", 1);
  const kept = Number(totals?.kept ?? 0);
  const sha256 = await ctx.sha256;
  appendActivityManifest(ctx.options.dataDir, { importId: ctx.importId, file, sha256, bytes: ctx.bytes, format: "openpal-metrics", importedAt: new Date().toISOString(), read, kept, months: rewrite });
  return {
    file,
    format: "openpal-metrics",
    detectedBecause: ctx.detected.because,
    sha256,
    kind: "metrics",
    alreadyImported: false,
    read,
    kept,
    updated,
    skipped,
    badRows,
    unresolvedUsers: { count: 0, sample: [] },
    unknownResources,
    unknownUsers: { count: 0, sample: [] },
    useEvents: 0,
    resources: Number(totals?.resources ?? 0),
    users: 0,
    months: rewrite,
    warnings: [],
  };
}
