/**
 * The activity and metrics input formats: recognised from the header (CSV, Parquet) or the shape
 * (JSON), each turned into one DuckDB SELECT of raw text columns that import.ts normalises.
 *
 *   openpal-activity         Timestamp,TenantId,Workload,ResourceId,UserObjectId,Operation
 *   openpal-metrics          Month,TenantId,Workload,ResourceId,Metric,Value
 *   powerbi-activity-events  GET /v1.0/myorg/admin/activityevents pages (one or several per file)
 *   m365-audit-log           Microsoft 365 / Purview audit log CSV export (AuditData JSON column)
 *   pp-analytics             Power Platform self-service analytics (Data Lake) Power Apps usage
 *
 * docs/POWER-PLATFORM.md "Activity and metrics import" is the reference.
 */
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlString } from "../usage/formats.ts";
import { inspectSource, SourceProblem, sourceRelation, type SourceFile } from "../usage/source.ts";

export const ACTIVITY_FORMATS = ["openpal-activity", "openpal-metrics", "powerbi-activity-events", "m365-audit-log", "pp-analytics"] as const;
export type ActivityFormat = (typeof ACTIVITY_FORMATS)[number];

/** The lake's `source` value of each events format. */
export const SOURCE_OF: Readonly<Record<Exclude<ActivityFormat, "openpal-metrics">, string>> = {
  "openpal-activity": "openpal-activity",
  "powerbi-activity-events": "powerbi-activity-events",
  "m365-audit-log": "m365-audit-log",
  "pp-analytics": "pp-analytics",
};

/** A file that cannot be read as the format it is (message: file, line, problem and fix). */
export class ActivityFormatProblem extends Error {}

export const GUID_RE = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}";
/** The first GUID inside `expr` (an app id inside a resource path, a flow id inside a URL), else NULL. */
const guidIn = (expr: string) => `NULLIF(regexp_extract(${expr}, '(${GUID_RE})', 1), '')`;

/** What a file is: its format, why, and how to read it. */
export interface DetectedInput {
  readonly format: ActivityFormat;
  readonly because: string;
  /** CSV / Parquet inputs. */
  readonly source?: SourceFile;
}

function readHead(file: string, bytes = 4096): string {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    let text = buf.subarray(0, n).toString("utf8");
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return text;
  } finally {
    closeSync(fd);
  }
}

/** Case- and space-insensitive column lookup: quoted identifier of the column, or undefined. */
export class Columns {
  readonly #byKey = new Map<string, string>();
  constructor(readonly names: readonly string[]) {
    for (const n of names) this.#byKey.set(Columns.key(n), n);
  }
  static key(name: string): string {
    return name.toLowerCase().replace(/[^a-z0-9]/g, "");
  }
  has(...names: string[]): boolean {
    return names.every((n) => this.#byKey.has(Columns.key(n)));
  }
  /** The first present of `names`, quoted for SQL, or undefined. */
  find(...names: string[]): string | undefined {
    for (const n of names) {
      const actual = this.#byKey.get(Columns.key(n));
      if (actual !== undefined) return `"${actual.replaceAll('"', '""')}"`;
    }
    return undefined;
  }
  /** Like find, but NULL in SQL when absent. */
  sql(...names: string[]): string {
    return this.find(...names) ?? "CAST(NULL AS VARCHAR)";
  }
}

const REQUIRED: Readonly<Record<Exclude<ActivityFormat, "powerbi-activity-events">, readonly string[]>> = {
  "openpal-activity": ["Timestamp", "TenantId", "Workload", "ResourceId", "UserObjectId", "Operation"],
  "openpal-metrics": ["Month", "TenantId", "Workload", "ResourceId", "Metric", "Value"],
  "m365-audit-log": ["AuditData"],
  "pp-analytics": ["AppId", "ObjectID", "timeaccessed"],
};

/** Recognises the format of `file` (or checks the one forced with --format). */
export async function detectActivityInput(file: string, connection: DuckDBConnection, forced?: ActivityFormat): Promise<DetectedInput> {
  let head: string;
  try {
    head = readHead(file);
  } catch (error) {
    throw new ActivityFormatProblem(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Check the path.`);
  }
  if (head.trim() === "") throw new ActivityFormatProblem(`${file}: the file is empty; export it again.`);
  const first = head.trimStart()[0];
  const looksJson = first === "{" || first === "[";
  if (forced === "powerbi-activity-events" || (!forced && looksJson)) {
    if (!looksJson) throw new ActivityFormatProblem(`${file}:1: --format powerbi-activity-events expects JSON (pages of the admin activityevents API), but the file does not start with { or [. Drop --format to detect the format.`);
    return { format: "powerbi-activity-events", because: forced ? "chosen with --format" : "JSON (Power BI admin activity events pages)" };
  }
  let source: SourceFile;
  try {
    source = await inspectSource(file, connection);
  } catch (error) {
    if (error instanceof SourceProblem) throw new ActivityFormatProblem(error.message);
    throw new ActivityFormatProblem(`${file}: cannot be read as Parquet (${(error as Error).message}).`);
  }
  const columns = new Columns(source.columns);
  if (forced) {
    const missing = REQUIRED[forced as keyof typeof REQUIRED].filter((c) => !columns.has(c));
    if (missing.length > 0) throw new ActivityFormatProblem(`${file}:1: the header has no ${missing.join(", ")} column${missing.length > 1 ? "s" : ""}, which --format ${forced} needs (header: ${source.columns.slice(0, 10).join(", ")}). Rename the column(s) or pick another --format.`);
    return { format: forced, because: "chosen with --format", source };
  }
  for (const format of ["openpal-activity", "openpal-metrics", "m365-audit-log", "pp-analytics"] as const) {
    if (REQUIRED[format].every((c) => columns.has(c))) return { format, because: `header has ${REQUIRED[format].join(", ")}`, source };
  }
  const shown = source.columns.slice(0, 10).join(", ") + (source.columns.length > 10 ? ", …" : "");
  throw new ActivityFormatProblem(
    `${file}:1: the format cannot be recognised from the header (${shown}). Known: OpenPAL activity CSV (${REQUIRED["openpal-activity"].join(",")}), ` +
      `OpenPAL metrics CSV (${REQUIRED["openpal-metrics"].join(",")}), Microsoft 365 audit log export (AuditData column), ` +
      `Power Platform analytics export (AppId, ObjectID, timeaccessed), Power BI activity events JSON. Pass --format if the file is one of these with renamed columns.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Events: one SELECT of raw text columns per format.
//   line, src_id, at_raw, tenant_raw, workload_raw, resource_raw, user_raw, operation, bad_row

export interface EventsPlan {
  /** The SELECT; `withLine` adds the 1-based line of each event (slower: scan order kept). */
  select(withLine: boolean): string;
  /** Skip reason of events whose workload is not one of the four. */
  readonly unknownWorkloadReason: string;
  /** Name of the bad-row problem the format can report (rows the file fails on), if any. */
  readonly badRowReason?: string;
  readonly warnings: readonly string[];
  /** Counts the format adds to the summary (pages of a Power BI export). */
  readonly pages?: number;
}

function csvRows(source: SourceFile, withLine: boolean): string {
  // Data row n is line n + 1 (the header is line 1) when no field holds a line break.
  return withLine ? `(SELECT *, __row + 1 AS __line FROM ${sourceRelation(source, true)})` : `(SELECT *, CAST(NULL AS BIGINT) AS __line FROM ${sourceRelation(source, false)})`;
}

export function eventsPlan(format: Exclude<ActivityFormat, "openpal-metrics">, file: string, detected: DetectedInput, work: string): EventsPlan {
  if (format === "powerbi-activity-events") return powerBiPlan(file, work);
  const source = detected.source as SourceFile;
  const c = new Columns(source.columns);
  if (format === "openpal-activity") {
    return {
      select: (withLine) =>
        `SELECT __line AS line, CAST(NULL AS VARCHAR) AS src_id, ${c.sql("Timestamp")} AS at_raw, ${c.sql("TenantId")} AS tenant_raw, ${c.sql("Workload")} AS workload_raw,
                ${c.sql("ResourceId")} AS resource_raw, ${c.sql("UserObjectId")} AS user_raw, ${c.sql("Operation")} AS operation, false AS bad_row
         FROM ${csvRows(source, withLine)}`,
      unknownWorkloadReason: "unknown workload",
      warnings: [],
    };
  }
  if (format === "pp-analytics") {
    // Tenant: a TenantId (or OrganizationId) column when the export has one (SPEC-DEVIATIONS 122),
    // otherwise the tenant the control plane knows the app in.
    return {
      select: (withLine) =>
        `SELECT __line AS line, CAST(NULL AS VARCHAR) AS src_id, ${c.sql("timeaccessed")} AS at_raw, ${c.sql("TenantId", "OrganizationId", "Tenant")} AS tenant_raw,
                'PowerApps' AS workload_raw, ${guidIn(c.sql("AppId"))} AS resource_raw, ${c.sql("ObjectID")} AS user_raw, 'LaunchPowerApp' AS operation, false AS bad_row
         FROM ${csvRows(source, withLine)}`,
      unknownWorkloadReason: "unknown workload",
      warnings: c.find("TenantId", "OrganizationId", "Tenant") ? [] : ["the export has no TenantId column: each app's tenant is taken from the control plane; events of apps it does not know are skipped (no tenant id)."],
    };
  }
  // m365-audit-log: the row's AuditData JSON holds the event; the CSV's own columns are fallbacks.
  const audit = c.sql("AuditData");
  const j = (p: string) => `json_extract_string(a, '$.${p}')`;
  const userKey = j("UserKey");
  return {
    select: (withLine) =>
      `SELECT line, src_id, at_raw, tenant_raw, workload_raw,
              CASE lower(workload_raw)
                WHEN 'powerapps' THEN COALESCE(${guidIn(j("AppName"))}, ${guidIn(j("AppId"))}, ${guidIn(j("ObjectId"))})
                WHEN 'microsoftflow' THEN COALESCE(NULLIF(regexp_extract(${j("FlowDetailsUrl")}, '/flows/(${GUID_RE})', 1), ''), ${guidIn(j("FlowId"))}, ${guidIn(j("ObjectId"))})
                WHEN 'powerbi' THEN ${j("DatasetId")}
                ELSE ${j("ObjectId")}
              END AS resource_raw,
              CASE WHEN regexp_full_match(COALESCE(${userKey}, ''), '${GUID_RE}') THEN ${userKey} ELSE COALESCE(${j("UserId")}, user_col, ${userKey}) END AS user_raw,
              COALESCE(CASE WHEN lower(workload_raw) = 'powerbi' THEN ${j("Activity")} END, ${j("Operation")}, operation_col) AS operation,
              a IS NULL AS bad_row
       FROM (SELECT *, COALESCE(${j("Id")}, record_id) AS src_id, COALESCE(${j("CreationTime")}, creation_date) AS at_raw,
                    ${j("OrganizationId")} AS tenant_raw, ${j("Workload")} AS workload_raw
             FROM (SELECT __line AS line, CASE WHEN json_valid(${audit}) AND starts_with(ltrim(${audit}), '{') THEN ${audit} END AS a,
                          ${c.sql("RecordId", "Id")} AS record_id, ${c.sql("CreationDate", "CreationTime")} AS creation_date,
                          ${c.sql("UserId", "UserIds")} AS user_col, ${c.sql("Operation", "Operations")} AS operation_col
                   FROM ${csvRows(source, withLine)}))`,
    unknownWorkloadReason: "not business applications (other workload)",
    badRowReason: "bad AuditData JSON",
    warnings: [],
  };
}

/** A DuckDB table expression over the raw columns of a CSV/Parquet file (metrics). */
export function metricsSelect(detected: DetectedInput): string {
  const source = detected.source as SourceFile;
  const c = new Columns(source.columns);
  return `SELECT __row + 1 AS line, ${c.sql("Month")} AS month_raw, ${c.sql("TenantId")} AS tenant_raw, ${c.sql("Workload")} AS workload_raw,
                 ${c.sql("ResourceId")} AS resource_raw, ${c.sql("Metric")} AS metric_raw, ${c.sql("Value")} AS value_raw
          FROM ${sourceRelation(source, true)}`;
}

// ---------------------------------------------------------------------------------------------
// Power BI admin activity events: pages `{activityEventEntities: [...], continuationUri,
// continuationToken, lastResultSet}`, one per file, several concatenated, or a JSON array of pages
// (an array of entities, as some scripts save `activityEventEntities` alone, is one page). Parsed
// here (pages are bounded: one UTC day per request) and handed to DuckDB as newline-delimited JSON.

interface TopValue {
  readonly text: string;
  readonly line: number;
}

/** Splits concatenated top-level JSON values, each with the line it starts on. */
function topLevelValues(file: string, text: string): TopValue[] {
  const out: TopValue[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (ch === "\n") {
      line++;
      i++;
      continue;
    }
    if (ch === " " || ch === "\t" || ch === "\r" || ch === ",") {
      i++;
      continue;
    }
    if (ch !== "{" && ch !== "[") throw new ActivityFormatProblem(`${file}:${line}: expected a JSON object or array (a page of the activityevents API), found ${JSON.stringify(text.slice(i, i + 20))}. Save the API responses as they are, one after the other or in a JSON array.`);
    const start = i;
    const startLine = line;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const c = text[i];
      if (c === "\n") line++;
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) throw new ActivityFormatProblem(`${file}:${startLine}: the JSON value starting on this line does not end (the file is cut short?). Download the page again.`);
    out.push({ text: text.slice(start, i), line: startLine });
  }
  return out;
}

function parseAt(file: string, v: TopValue): unknown {
  try {
    return JSON.parse(v.text);
  } catch (error) {
    const message = (error as Error).message;
    const pos = /position (\d+)/.exec(message);
    const line = pos ? v.line + (v.text.slice(0, Number(pos[1])).match(/\n/g)?.length ?? 0) : v.line;
    throw new ActivityFormatProblem(`${file}:${line}: not valid JSON (${message}). Save the API response unchanged.`);
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const str = (x: unknown): string | null => (x === undefined || x === null ? null : typeof x === "string" ? x : typeof x === "number" || typeof x === "boolean" ? String(x) : null);

function powerBiPlan(file: string, work: string): EventsPlan {
  let text = readFileSync(file, "utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const pages: { entities: unknown[]; line: number; page: Record<string, unknown> | undefined }[] = [];
  for (const v of topLevelValues(file, text)) {
    const value = parseAt(file, v);
    const items = Array.isArray(value) ? value : [value];
    if (Array.isArray(value) && value.length > 0 && value.every((x) => isObject(x) && !("activityEventEntities" in x) && ("Activity" in x || "CreationTime" in x))) {
      pages.push({ entities: value, line: v.line, page: undefined });
      continue;
    }
    for (const item of items) {
      if (!isObject(item) || !Array.isArray(item.activityEventEntities)) {
        throw new ActivityFormatProblem(`${file}:${v.line}: this JSON value is not a page of the Power BI activityevents API (no activityEventEntities array). Save the API's responses as they are, or pick the right --format.`);
      }
      pages.push({ entities: item.activityEventEntities as unknown[], line: v.line, page: item });
    }
  }
  const warnings: string[] = [];
  const last = pages.at(-1)?.page;
  if (last && last.lastResultSet === false) {
    warnings.push(`the last page has lastResultSet false${typeof last.continuationToken === "string" ? " and a continuationToken" : ""}: the export is incomplete; fetch the remaining pages with continuationToken and import them too.`);
  }
  const lines: string[] = [];
  pages.forEach((p, pageIndex) => {
    p.entities.forEach((e, k) => {
      if (!isObject(e)) throw new ActivityFormatProblem(`${file}:${p.line}: page ${pageIndex + 1}, activityEventEntities[${k}] is not an object. Save the API response unchanged.`);
      lines.push(
        JSON.stringify({
          line: p.line,
          src_id: str(e.Id),
          at_raw: str(e.CreationTime),
          tenant_raw: str(e.OrganizationId),
          workload_raw: str(e.Workload) ?? "PowerBI",
          resource_raw: str(e.DatasetId),
          user_raw: str(e.UserId) ?? str(e.UserKey),
          operation: str(e.Activity) ?? str(e.Operation),
          bad_row: false,
        }),
      );
    });
  });
  const ndjson = `${work}/powerbi-events.ndjson`;
  writeFileSync(ndjson, lines.join("\n") + (lines.length ? "\n" : ""));
  const columns = `{line: 'BIGINT', src_id: 'VARCHAR', at_raw: 'VARCHAR', tenant_raw: 'VARCHAR', workload_raw: 'VARCHAR', resource_raw: 'VARCHAR', user_raw: 'VARCHAR', operation: 'VARCHAR', bad_row: 'BOOLEAN'}`;
  const select = lines.length
    ? `SELECT * FROM read_json(${sqlString(ndjson)}, format = 'newline_delimited', columns = ${columns})`
    : `SELECT * FROM (VALUES (CAST(NULL AS BIGINT), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), false)) t(line, src_id, at_raw, tenant_raw, workload_raw, resource_raw, user_raw, operation, bad_row) WHERE false`;
  return { select: () => select, unknownWorkloadReason: "unknown workload", warnings, pages: pages.length };
}
