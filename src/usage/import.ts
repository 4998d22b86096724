/**
 * `importUsageFile`: one cost export → the usage lake, streamed through DuckDB.
 *
 * Order of work (under the lake lock):
 *   1. SHA-256 of the file, computed while 3 runs; a file already in the manifest (unless
 *      `force`) stops DuckDB there and nothing is written.
 *   2. Header → format → normalisation SQL (formats.ts).
 *   3. One streaming DuckDB pass: the file is read, normalised, keyed (MD5 of the identifying
 *      fields) and written as one Parquet file in the lake's own columns; a skipped row carries
 *      its reason in row_key. Nothing but the header is read in JavaScript and no table is built
 *      in memory.
 *   4. Counts by month and by reason (two columns of that file). Bad values: more than
 *      `maxBadRows` fail the file, naming file, row, column and value. Then the kept rows by
 *      month: the staged file itself when it is one month with nothing skipped, else split.
 *   5. Per month: keys repeated in the file get an occurrence number (so a file's own repeated
 *      rows are all kept); then the rows are compared with the lake's month: same key and same
 *      cost = duplicate (skipped); same key and different cost = updated (the new row replaces
 *      the old: open months change after export).
 *   6. A month new to the lake is moved into place as written in 3–4; a month already in it is
 *      written to a new file in the work directory and renamed over the old one; then the
 *      manifest entry is appended.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { DEFAULT_IMPORT_MEMORY_LIMIT, detectFormat, FormatProblem, Header, NORMALISATION_MACROS, planNormalisation, sqlString, USAGE_FORMATS, type ChargePeriod, type UsageFormat } from "./formats.ts";
import { appendManifest, lakeMonths, monthFile, readManifest, removeStaleWork, usageDir, withLakeLock, type ImportRecord } from "./lake.ts";
import { SkipReason, USAGE_COLUMN_NAMES } from "./schema.ts";
import { inspectSource, SourceProblem, sourceRelation } from "./source.ts";

export interface ImportUsageOptions {
  /** The data directory; the lake is `<dataDir>/usage`. */
  readonly dataDir: string;
  /** Input format; `auto` (default) detects it from the header. */
  readonly format?: UsageFormat | "auto";
  /** Input column to use as `cost` (default: EffectiveCost for FOCUS, CostInBillingCurrency/Cost for exports). */
  readonly costColumn?: string;
  /** Period covered by files whose rows have no date (AzGovViz consumption). */
  readonly period?: ChargePeriod;
  /** Rows with an unparsable value that are skipped (and counted) before the file fails. Default 0. */
  readonly maxBadRows?: number;
  /** Decimal separator of numbers; default `,` for `;`-separated CSV, else `.`. */
  readonly decimalSeparator?: "." | ",";
  /** Read the file even if the manifest says it was imported (row-level dedupe still applies). */
  readonly force?: boolean;
  /** Subscription ids the control plane knows (lower-case); unknown ones are reported. */
  readonly knownSubscriptionIds?: () => Promise<Set<string>>;
  /** Called with the current phase and its progress (0–1). */
  readonly onProgress?: (phase: ImportPhase, fraction: number) => void;
  /**
   * DuckDB memory limit (default DEFAULT_IMPORT_MEMORY_LIMIT, 512MB: the import streams, so only
   * the per-month key check can use more, and it spills); beyond it DuckDB spills to the lake's
   * work directory.
   */
  readonly memoryLimit?: string;
  /** DuckDB threads (default: DuckDB's choice, the number of cores). */
  readonly threads?: number;
}

/** `reading` covers the file's SHA-256 too (computed while DuckDB reads). */
export type ImportPhase = "reading" | "deduplicating" | "writing";

export interface BadValue {
  /** 1-based data row (the header is row 0; equals line − 1 when no field holds a newline). */
  readonly row: number;
  readonly column: string;
  readonly value: string | null;
}

export interface UsageImportSummary {
  readonly file: string;
  readonly format: UsageFormat;
  /** How the format was chosen. */
  readonly detectedBecause: string;
  readonly costMeasure: string;
  readonly sha256: string;
  /** True when the manifest already had this file's content: nothing was written (the read stopped once the hash matched). */
  readonly alreadyImported: boolean;
  readonly rowsRead: number;
  /** Rows written to the lake (new + updated). rowsRead = rowsKept + sum(skipped). */
  readonly rowsKept: number;
  /** Kept rows that replaced a lake row with the same key and a different cost. */
  readonly rowsUpdated: number;
  /** Skipped rows by reason, e.g. `not usage (Purchase)`, `bad value (Cost)`. */
  readonly skipped: Readonly<Record<string, number>>;
  /** First bad values (up to 5), when bad rows were skipped under maxBadRows. */
  readonly badValues: readonly BadValue[];
  /** Distinct subscriptions among kept rows. */
  readonly subscriptions: number;
  /** Kept rows' subscriptions the control plane does not know, or "not checked". */
  readonly unknownSubscriptions: readonly string[] | "not checked";
  /** Sum of `cost` of kept rows per billing currency, as exact decimal strings. */
  readonly costByCurrency: Readonly<Record<string, string>>;
  /** Months (YYYY-MM) of kept rows. */
  readonly months: readonly string[];
  readonly warnings: readonly string[];
}

/** Marks a skipped row's reason in the staged file's row_key (an MD5 is hex, so never starts with it). */
const SKIP_MARK = "!";
/** Up to this many months, a staged file is split by one filtered copy per month; beyond, by one partitioned copy. */
const SPLIT_BY_FILTER_MONTHS = 3;

/** An import that cannot proceed; the message names the file, and where possible row, column and fix. */
export class UsageImportError extends Error {}

/** SHA-256 (hex) and size of a file, streamed. */
export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

export async function rows(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

/** Runs `sql`, reporting DuckDB's own progress estimate while it runs. */
export async function runWithProgress(connection: DuckDBConnection, sql: string, report?: (fraction: number) => void): Promise<void> {
  if (!report) {
    await connection.run(sql);
    return;
  }
  report(0);
  const timer = setInterval(() => {
    const p = connection.progress.percentage;
    if (p >= 0) report(Math.min(p, 100) / 100);
  }, 200);
  try {
    await connection.run(sql);
    report(1);
  } finally {
    clearInterval(timer);
  }
}

function parsePeriodOrThrow(period: ChargePeriod | undefined): void {
  if (!period) return;
  for (const v of [period.start, period.end]) {
    if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?Z?$/.test(v)) {
      throw new UsageImportError(`--period: "${v}" is not a date; use START/END as YYYY-MM-DD (UTC), e.g. 2021-08-17/2021-08-18.`);
    }
  }
  if (new Date(period.end) <= new Date(period.start)) throw new UsageImportError(`--period: the end (${period.end}) must be after the start (${period.start}); the end is exclusive.`);
}

/** Imports one file into the lake. Throws UsageImportError for problems the user must fix. */
export async function importUsageFile(file: string, options: ImportUsageOptions): Promise<UsageImportSummary> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) throw new UsageImportError(`${absolute}: no such file.`);
  parsePeriodOrThrow(options.period);
  if (options.format && options.format !== "auto" && !USAGE_FORMATS.includes(options.format)) {
    throw new UsageImportError(`--format ${String(options.format)} is not known; use auto or one of ${USAGE_FORMATS.join(", ")}.`);
  }
  return withLakeLock(options.dataDir, async () => {
    removeStaleWork(options.dataDir);
    const imports = readManifest(options.dataDir).imports;
    // The file's SHA-256 is computed while DuckDB reads it (the hash runs on this thread, DuckDB
    // on its own); a file the manifest already has is then abandoned (importWith).
    const hashing = sha256File(absolute);
    hashing.catch(() => undefined); // awaited in importWith; a read error surfaces there
    const previousImport = (sha256: string) => (options.force ? undefined : imports.find((r) => r.sha256 === sha256));
    const importId = `${new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${randomUUID().slice(0, 8)}`;
    const work = path.join(usageDir(options.dataDir), `_work-${importId}`);
    mkdirSync(path.join(work, "spill"), { recursive: true });
    const config: Record<string, string> = {
      memory_limit: options.memoryLimit ?? DEFAULT_IMPORT_MEMORY_LIMIT,
      temp_directory: path.join(work, "spill"),
      preserve_insertion_order: "false",
    };
    if (options.threads) config.threads = String(options.threads);
    const instance = await DuckDBInstance.create(":memory:", config);
    const connection = await instance.connect();
    try {
      return await importWith(connection, absolute, { hashing, previousImport }, importId, work, options);
    } catch (error) {
      // A file whose content was imported before is recognised whatever the options say, as
      // before any reading: e.g. a --cost-column that its header lacks does not matter then.
      const known = error instanceof UsageImportError ? await hashing.catch(() => undefined) : undefined;
      const previous = known ? previousImport(known.sha256) : undefined;
      if (known && previous) return alreadyImported(absolute, known.sha256, previous);
      throw error;
    } finally {
      connection.closeSync();
      instance.closeSync();
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/** What an import answers for a file whose content the manifest already has: nothing is written. */
function alreadyImported(file: string, sha256: string, previous: ImportRecord): UsageImportSummary {
  return {
    file,
    format: previous.format as UsageFormat,
    detectedBecause: `already imported on ${previous.importedAt} (import ${previous.importId}, same SHA-256)`,
    costMeasure: previous.costMeasure,
    sha256,
    alreadyImported: true,
    rowsRead: previous.rowsRead,
    rowsKept: 0,
    rowsUpdated: 0,
    skipped: previous.rowsRead > 0 ? { [SkipReason.duplicate]: previous.rowsRead } : {},
    badValues: [],
    subscriptions: 0,
    unknownSubscriptions: [],
    costByCurrency: {},
    months: [],
    warnings: ["this file's content was imported before; nothing was written. Use --force to read it again (rows are still deduplicated)."],
  };
}

/** Imports several files in order; stops at the first that fails (earlier ones stay imported). */
export async function importUsageFiles(files: readonly string[], options: ImportUsageOptions): Promise<UsageImportSummary[]> {
  const out: UsageImportSummary[] = [];
  for (const f of files) out.push(await importUsageFile(f, options));
  return out;
}

/** The file's content hash, being computed, and the manifest's earlier import of a content (unless `force`). */
interface ContentCheck {
  readonly hashing: Promise<{ sha256: string; bytes: number }>;
  readonly previousImport: (sha256: string) => ImportRecord | undefined;
}

async function importWith(
  connection: DuckDBConnection,
  file: string,
  content: ContentCheck,
  importId: string,
  work: string,
  options: ImportUsageOptions,
): Promise<UsageImportSummary> {
  const warnings: string[] = [];
  await connection.run("SET TimeZone = 'UTC'");
  for (const macro of NORMALISATION_MACROS) await connection.run(macro);

  // --- 2. format
  let source;
  try {
    source = await inspectSource(file, connection, options.decimalSeparator);
  } catch (error) {
    if (error instanceof SourceProblem) throw new UsageImportError(error.message);
    throw new UsageImportError(`${file}: cannot be read as Parquet (${(error as Error).message}).`);
  }
  const header = new Header(source.columns);
  let format: UsageFormat;
  let because: string;
  if (options.format && options.format !== "auto") {
    format = options.format;
    because = "chosen with --format";
  } else {
    const detection = detectFormat(header, path.basename(file));
    if (!detection) {
      const shown = source.columns.slice(0, 12).join(", ") + (source.columns.length > 12 ? ", …" : "");
      throw new UsageImportError(
        `${file}: the format cannot be recognised from the header (${shown}). Known formats: FOCUS (ChargePeriodStart, ChargeCategory, EffectiveCost…), ` +
          `Cost Management EA/MCA/MPA exports (Date, SubscriptionId, CostInBillingCurrency or Cost, ChargeType…), AzGovViz consumption (PreTaxCost, SubscriptionMgPath…). ` +
          `Pass --format if the file is one of these with renamed columns.`,
      );
    }
    format = detection.format;
    because = detection.because;
    if (detection.warning) warnings.push(detection.warning);
  }
  let plan;
  try {
    plan = planNormalisation(format, header, { costColumn: options.costColumn, period: options.period, decimalComma: source.decimalComma }, because);
  } catch (error) {
    if (error instanceof FormatProblem) throw new UsageImportError(`${file}: ${error.message}`);
    throw error;
  }

  // --- 3. one streaming pass: the file → normalised rows in one Parquet file. DuckDB reads,
  // normalises, keys and writes in one pipeline (no table in memory). Kept rows are written
  // exactly as the lake stores them (the lake's columns, row_key = the MD5 of the identifying
  // fields), so a file of one month with nothing skipped (a typical monthly export) is moved into
  // place as it is. A skipped row keeps its reason in row_key behind SKIP_MARK (an MD5 is hex, so
  // never starts with it); it is only counted. The file is not partitioned by month here:
  // DuckDB's PARTITION_BY costs as much again as the normalisation, and most files hold one month.
  const normalised = (withRowNumber: boolean) =>
    `SELECT *, ${plan.skipReasonSql} AS skip_reason FROM (SELECT ${plan.selectItems.join(", ")}${withRowNumber ? ", __row" : ""} FROM (SELECT *${plan.trimItems.map((t) => `, ${t}`).join("")} FROM ${sourceRelation(source, withRowNumber)}))`;
  const staged = path.join(work, "staged.parquet");
  const costUsdSql = "COALESCE(cost_usd_parsed, CASE WHEN billing_currency = 'USD' THEN cost END)";
  const constants: Record<string, string> = {
    row_key: `CASE WHEN skip_reason IS NULL THEN md5(${plan.keySql}) ELSE ${sqlString(SKIP_MARK)} || skip_reason END`,
    source_file: sqlString(file),
    source_format: sqlString(format),
    cost_measure: sqlString(plan.costMeasure),
    cost_usd: costUsdSql,
  };
  const stagedColumns = USAGE_COLUMN_NAMES.map((c) => (constants[c] ? `${constants[c]} AS ${c}` : c)).join(", ");
  const copying = runWithProgress(
    connection,
    `COPY (SELECT ${stagedColumns} FROM (${normalised(false)})) TO ${sqlString(staged)} (FORMAT parquet, COMPRESSION zstd)`,
    (f) => options.onProgress?.("reading", f),
  );
  copying.catch(() => undefined); // awaited below, unless the content was imported before
  let hashed: { sha256: string; bytes: number };
  try {
    hashed = await content.hashing;
  } catch (error) {
    connection.interrupt();
    await copying.catch(() => undefined);
    throw new UsageImportError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
  const { sha256, bytes } = hashed;
  const previous = content.previousImport(sha256);
  if (previous) {
    // The same content is in the lake already: stop DuckDB and write nothing.
    connection.interrupt();
    await copying.catch(() => undefined);
    return alreadyImported(file, sha256, previous);
  }
  try {
    await copying;
  } catch (error) {
    throw new UsageImportError(`${file}: DuckDB could not read it as ${source.kind === "csv" ? `CSV (delimiter ${JSON.stringify(source.delimiter)})` : "Parquet"}: ${(error as Error).message}`);
  }
  const parquetList = (files: readonly string[]) => `read_parquet([${files.map(sqlString).join(", ")}])`;
  const isSkipped = `starts_with(row_key, ${sqlString(SKIP_MARK)})`;
  const monthOf = "strftime(charge_period_start, '%Y-%m')";

  // --- 4. counts by month and by reason (two columns of the staged file), bad values
  const skipped: Record<string, number> = {};
  const monthRows = new Map<string, number>();
  let rowsRead = 0;
  if (existsSync(staged)) {
    const counts = await rows(
      connection,
      `SELECT CASE WHEN ${isSkipped} THEN substr(row_key, ${SKIP_MARK.length + 1}) END AS reason, CASE WHEN NOT ${isSkipped} THEN ${monthOf} END AS month, count(*) AS n
       FROM read_parquet(${sqlString(staged)}) GROUP BY ALL ORDER BY ALL`,
    );
    for (const r of counts) {
      const n = Number(r.n);
      rowsRead += n;
      if (r.reason !== null) skipped[String(r.reason)] = n;
      else monthRows.set(String(r.month), n);
    }
  }
  const months = [...monthRows.keys()].sort();
  const badTotal = Object.entries(skipped)
    .filter(([k]) => k.startsWith(SkipReason.badValue))
    .reduce((s, [, n]) => s + n, 0);
  let badValues: BadValue[] = [];
  if (badTotal > 0) {
    badValues = (
      await rows(
        connection,
        `SELECT __row AS row, skip_reason AS reason, ${plan.badValueSql} AS value FROM (${normalised(true)}) WHERE skip_reason LIKE ${sqlString(SkipReason.badValue + "%")} ORDER BY __row LIMIT 5`,
      )
    ).map((r) => ({ row: Number(r.row), column: String(r.reason).replace(/^bad value \((.*)\)$/, "$1"), value: r.value === null ? null : String(r.value) }));
    const maxBad = options.maxBadRows ?? 0;
    if (badTotal > maxBad) {
      const first = badValues[0];
      const where = first ? `row ${first.row}, column ${first.column}: ${first.value === null ? "empty value" : JSON.stringify(first.value)} is not a valid ${/date|period|start|end/i.test(first.column) ? "date" : /cost|price/i.test(first.column) ? "number" : "value"}` : "";
      throw new UsageImportError(
        `${file}: ${where} (format ${format}; ${badTotal} row(s) with bad values${badValues.length > 1 ? `, also at rows ${badValues.slice(1).map((b) => `${b.row} (${b.column})`).join(", ")}` : ""}). ` +
          `Fix the value(s) and import again, or pass --max-bad-rows ${badTotal} to skip and count such rows. Nothing was written.`,
      );
    }
  }

  // Month → its rows' files (after the bad-value check: a file that fails is not split). One
  // month and nothing skipped: the staged file is that month as it is. Otherwise the kept rows
  // are split by month: a filtered copy per month for up to SPLIT_BY_FILTER_MONTHS months (each
  // reads the staged file once), else one partitioned copy.
  const stagedFiles = new Map<string, string[]>();
  if (months.length === 1 && Object.keys(skipped).length === 0) {
    stagedFiles.set(months[0] as string, [staged]);
  } else if (months.length > 0 && months.length <= SPLIT_BY_FILTER_MONTHS) {
    for (const month of months) {
      const target = path.join(work, `staged-${month}.parquet`);
      await connection.run(
        `COPY (SELECT ${USAGE_COLUMN_NAMES.join(", ")} FROM read_parquet(${sqlString(staged)}) WHERE NOT ${isSkipped} AND ${monthOf} = ${sqlString(month)})
         TO ${sqlString(target)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      stagedFiles.set(month, [target]);
    }
  } else if (months.length > 0) {
    const split = path.join(work, "split");
    await connection.run(
      `COPY (SELECT ${USAGE_COLUMN_NAMES.join(", ")}, ${monthOf} AS month FROM read_parquet(${sqlString(staged)}) WHERE NOT ${isSkipped})
       TO ${sqlString(split)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (month))`,
    );
    for (const name of readdirSync(split).sort()) {
      const month = /^month=(.+)$/.exec(name)?.[1];
      const files = readdirSync(path.join(split, name)).filter((f) => f.endsWith(".parquet")).map((f) => path.join(split, name, f));
      if (month !== undefined && files.length > 0) stagedFiles.set(month, files);
    }
  }

  // --- 5. row keys and comparison with the lake, month by month (the key holds the charge
  // period's start, so equal keys are always in one month).
  options.onProgress?.("deduplicating", 0);
  const orderForOccurrence = "cost, cost_usd, billing_currency, subscription_name, resource_group, resource_type, service_name";
  const columns = USAGE_COLUMN_NAMES.join(", ");
  const existingMonths = new Set(lakeMonths(options.dataDir));
  /** Per month: the incoming rows (files) with final keys, and the written rows (duplicates of the lake excluded). */
  const incoming = new Map<string, string[]>();
  let duplicates = 0;
  let updated = 0;
  const rewrite = new Set<string>();
  await connection.run("CREATE TEMP TABLE matched (row_key VARCHAR, month VARCHAR, same BOOLEAN)");
  let step = 0;
  for (const month of months) {
    let files = stagedFiles.get(month) ?? [];
    // Rows identical in the identifying fields all stay: each repeated key gets an occurrence
    // number (ordered by the other values, so a re-export in another row order keys alike).
    const repeated = Number((await rows(connection, `SELECT count(*) AS n FROM (SELECT row_key FROM ${parquetList(files)} GROUP BY row_key HAVING count(*) > 1)`))[0]?.n ?? 0);
    if (repeated > 0) {
      const renumbered = path.join(work, `renumbered-${month}.parquet`);
      await connection.run(
        `COPY (
           WITH s AS (SELECT * FROM ${parquetList(files)}), r AS (SELECT row_key FROM s GROUP BY row_key HAVING count(*) > 1)
           SELECT ${USAGE_COLUMN_NAMES.map((c) => `s.${c}`).join(", ")} FROM s ANTI JOIN r ON r.row_key = s.row_key
           UNION ALL
           SELECT ${USAGE_COLUMN_NAMES.map((c) => (c === "row_key" ? `md5(s.row_key || '#' || row_number() OVER (PARTITION BY s.row_key ORDER BY ${orderForOccurrence})) AS row_key` : `s.${c}`)).join(", ")}
           FROM s SEMI JOIN r ON r.row_key = s.row_key
         ) TO ${sqlString(renumbered)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      files = [renumbered];
    }
    incoming.set(month, files);
    if (existingMonths.has(month)) {
      await connection.run(
        `INSERT INTO matched
         SELECT i.row_key, ${sqlString(month)}, (i.cost = e.cost AND i.cost_usd IS NOT DISTINCT FROM e.cost_usd AND i.billing_currency = e.billing_currency)
         FROM ${parquetList(files)} i JOIN read_parquet(${sqlString(monthFile(options.dataDir, month))}) e ON e.row_key = i.row_key`,
      );
      const r = (await rows(connection, `SELECT coalesce(sum(CASE WHEN same THEN 1 ELSE 0 END), 0) AS dup, coalesce(sum(CASE WHEN same THEN 0 ELSE 1 END), 0) AS upd, count(*) AS n FROM matched WHERE month = ${sqlString(month)}`))[0] ?? {};
      duplicates += Number(r.dup ?? 0);
      updated += Number(r.upd ?? 0);
      // A month needs rewriting when it receives at least one row that is not a duplicate.
      const incomingRows = Number((await rows(connection, `SELECT count(*) AS n FROM ${parquetList(files)}`))[0]?.n ?? 0);
      if (incomingRows > Number(r.dup ?? 0)) rewrite.add(month);
    } else {
      rewrite.add(month);
    }
    options.onProgress?.("deduplicating", ++step / months.length);
  }
  if (duplicates > 0) skipped[SkipReason.duplicate] = duplicates;

  // Totals of what is written (duplicates excluded).
  const writtenOf = (month: string) =>
    `(SELECT i.* FROM ${parquetList(incoming.get(month) ?? [])} i ANTI JOIN (SELECT row_key FROM matched WHERE same AND month = ${sqlString(month)}) d ON d.row_key = i.row_key)`;
  const written = months.length ? `(${months.map((m) => `SELECT *, ${sqlString(m)} AS month FROM ${writtenOf(m)}`).join(" UNION ALL ")})` : `(SELECT NULL AS billing_currency, NULL AS cost, NULL AS month, NULL AS subscription_id WHERE false)`;
  // One scan for the three totals: sum and count per currency, the months, the subscriptions.
  const costByCurrency: Record<string, string> = {};
  let rowsKept = 0;
  const monthsWritten: string[] = [];
  const subscriptionIds: string[] = [];
  const totals = await rows(
    connection,
    `SELECT GROUPING(billing_currency) = 0 AS by_currency, GROUPING(month) = 0 AS by_month, billing_currency AS c, month AS m, subscription_id AS s, CAST(sum(cost) AS VARCHAR) AS total, count(*) AS n
     FROM ${written} GROUP BY GROUPING SETS ((billing_currency), (month), (subscription_id)) ORDER BY ALL`,
  );
  for (const r of totals) {
    if (r.by_currency) {
      costByCurrency[String(r.c)] = String(r.total);
      rowsKept += Number(r.n);
    } else if (r.by_month) monthsWritten.push(String(r.m));
    else subscriptionIds.push(String(r.s));
  }
  monthsWritten.sort();
  let unknownSubscriptions: string[] | "not checked" = "not checked";
  if (options.knownSubscriptionIds) {
    const known = await options.knownSubscriptionIds();
    unknownSubscriptions = subscriptionIds.filter((s) => !known.has(s)).sort();
  }

  // --- 6. each month that changes: a new month's single file is moved into place as it is;
  // otherwise the month is written to a new file (old rows not replaced + new rows) and renamed
  // over the old one.
  const toWrite = months.filter((m) => rewrite.has(m));
  let done = 0;
  for (const month of toWrite) {
    const target = monthFile(options.dataDir, month);
    const files = incoming.get(month) ?? [];
    mkdirSync(path.dirname(target), { recursive: true });
    if (!existingMonths.has(month) && files.length === 1) {
      renameSync(files[0] as string, target);
    } else {
      const tmp = path.join(work, `month=${month}.parquet`);
      const incomingRows = `SELECT ${columns} FROM ${writtenOf(month)}`;
      const body = existingMonths.has(month)
        ? `SELECT ${columns} FROM read_parquet(${sqlString(target)}) e
             WHERE NOT EXISTS (SELECT 1 FROM ${writtenOf(month)} w WHERE w.row_key = e.row_key)
           UNION ALL ${incomingRows}`
        : incomingRows;
      await runWithProgress(connection, `COPY (${body}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`, (f) =>
        options.onProgress?.("writing", (done + f) / toWrite.length),
      );
      renameSync(tmp, target);
    }
    done++;
  }
  options.onProgress?.("writing", 1);
  appendManifest(options.dataDir, {
    importId,
    file,
    sha256,
    bytes,
    format,
    costMeasure: plan.costMeasure,
    importedAt: new Date().toISOString(),
    rowsRead,
    rowsKept,
    months: monthsWritten,
  });
  return {
    file,
    format,
    detectedBecause: because,
    costMeasure: plan.costMeasure,
    sha256,
    alreadyImported: false,
    rowsRead,
    rowsKept,
    rowsUpdated: updated,
    skipped,
    badValues,
    subscriptions: subscriptionIds.length,
    unknownSubscriptions,
    costByCurrency,
    months: monthsWritten,
    warnings,
  };
}
