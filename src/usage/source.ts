/**
 * What an input file is (CSV or Parquet) and how DuckDB should read it. Only the first 64 KiB of
 * a CSV are read here (for the header); the rows themselves are only ever read by DuckDB.
 */
import { openSync, readSync, closeSync } from "node:fs";
import { parse } from "csv-parse/sync";
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlString } from "./formats.ts";

export interface SourceFile {
  readonly path: string;
  readonly kind: "csv" | "parquet";
  readonly columns: readonly string[];
  /** CSV only. */
  readonly delimiter?: string;
  /** Numbers written with a decimal comma (`0,0011`): assumed for `;`-separated files. */
  readonly decimalComma: boolean;
}

const HEAD_BYTES = 64 * 1024;

function readHead(file: string): Buffer {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Counts each candidate delimiter outside double quotes on the header line; the most frequent wins. */
export function detectDelimiter(headerLine: string): string {
  const counts = new Map<string, number>([[",", 0], [";", 0], ["\t", 0], ["|", 0]]);
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ",";
  let bestCount = 0;
  for (const [d, c] of counts) {
    if (c > bestCount) {
      best = d;
      bestCount = c;
    }
  }
  return best;
}

/** The header line of a CSV (a header with a quoted newline is not supported), without BOM. */
function headerLineOf(head: Buffer): string {
  let text = head.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const end = text.search(/\r?\n/);
  return end === -1 ? text : text.slice(0, end);
}

export class SourceProblem extends Error {}

/** Inspects `file`: Parquet (by magic bytes) or CSV (delimiter and header sniffed here). */
export async function inspectSource(file: string, connection: DuckDBConnection, decimalSeparator?: "." | ","): Promise<SourceFile> {
  let head: Buffer;
  try {
    head = readHead(file);
  } catch (error) {
    throw new SourceProblem(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Check the path.`);
  }
  if (head.length === 0) throw new SourceProblem(`${file}: the file is empty; export again.`);
  if (head.subarray(0, 4).toString("latin1") === "PAR1") {
    const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
    const columns = reader.getRowObjectsJS().map((r) => String(r.column_name));
    return { path: file, kind: "parquet", columns, decimalComma: decimalSeparator === "," };
  }
  const line = headerLineOf(head);
  if (line.includes("\u0000")) throw new SourceProblem(`${file}: not a CSV or Parquet file (binary content). Export as CSV or Parquet.`);
  const delimiter = detectDelimiter(line);
  let columns: string[];
  try {
    const rows = parse(line, { delimiter, relax_quotes: true }) as string[][];
    columns = (rows[0] ?? []).map((c) => c.trim());
  } catch (error) {
    throw new SourceProblem(`${file}: row 0 (header): cannot be parsed as CSV (${(error as Error).message}).`);
  }
  if (columns.length < 2) throw new SourceProblem(`${file}: row 0 (header) has ${columns.length} column; expected a CSV header (delimiter , ; or tab).`);
  return { path: file, kind: "csv", columns, delimiter, decimalComma: decimalSeparator ? decimalSeparator === "," : delimiter === ";" };
}

/**
 * A DuckDB table expression yielding every column as text (nulls: empty, `NULL`, `null`), plus
 * `__row` (1-based data row number) when `withRowNumber` is set.
 */
export function sourceRelation(source: SourceFile, withRowNumber: boolean): string {
  if (source.kind === "parquet") {
    const casts = source.columns.map((c) => `CAST("${c.replaceAll('"', '""')}" AS VARCHAR) AS "${c.replaceAll('"', '""')}"`).join(", ");
    const rowNumber = withRowNumber ? ", file_row_number + 1 AS __row" : "";
    return `(SELECT ${casts}${rowNumber} FROM read_parquet(${sqlString(source.path)}${withRowNumber ? ", file_row_number = true" : ""}))`;
  }
  const columnTypes = `{${source.columns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(", ")}}`;
  const csv =
    `read_csv(${sqlString(source.path)}, header = true, delim = ${sqlString(source.delimiter ?? ",")}, quote = '"', escape = '"', ` +
    `columns = ${columnTypes}, nullstr = ['', 'NULL', 'null'], auto_detect = false, strict_mode = true)`;
  // row_number() OVER () with no ORDER BY runs as DuckDB's streaming window in scan order; only
  // used when locating a bad row, never on the import path.
  return withRowNumber ? `(SELECT *, row_number() OVER () AS __row FROM ${csv})` : csv;
}
