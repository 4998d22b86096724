/**
 * Runs compiled report queries in an embedded DuckDB (one instance per server, one connection
 * per query: the lookup tables a dataset loads are TEMP tables of that connection only) and
 * writes results as CSV or TSV.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Store } from "../store/index.ts";
import type { CompiledQuery, OutputColumn } from "./query/compile.ts";
import type { TimeWindow } from "./datasets/dataset.ts";

export type ResultRow = Record<string, string | number | null>;

export interface QueryResult {
  readonly columns: readonly OutputColumn[];
  readonly rows: readonly ResultRow[];
}

export class QueryRunner {
  #instance: Promise<DuckDBInstance> | undefined;
  constructor(private readonly store: Store, private readonly dataDir: string, private readonly opts: { threads?: number; memoryLimit?: string } = {}) {}

  #db(): Promise<DuckDBInstance> {
    this.#instance ??= DuckDBInstance.create(":memory:", {
      memory_limit: this.opts.memoryLimit ?? "1GB",
      ...(this.opts.threads ? { threads: String(this.opts.threads) } : {}),
    });
    return this.#instance;
  }

  /** The query's rows for one organisation and window. */
  async run(query: CompiledQuery, globalId: string, window: TimeWindow): Promise<QueryResult> {
    const connection = await (await this.#db()).connect();
    try {
      await connection.run(`SET TimeZone = 'UTC'`);
      const source = await query.dataset.source({ connection, store: this.store, dataDir: this.dataDir, globalId, window, needs: query.needs });
      const { text, params } = query.sql(source);
      const reader = await connection.runAndReadAll(text, params);
      const raw = reader.getRowObjectsJS();
      const rows = raw.map((r) => {
        const out: ResultRow = {};
        for (const c of query.columns) out[c.name] = jsonValue(r[c.name], c);
        return out;
      });
      return { columns: query.columns, rows };
    } finally {
      connection.closeSync();
    }
  }

  close(): void {
    void this.#instance?.then((i) => i.closeSync());
    this.#instance = undefined;
  }
}

function jsonValue(v: unknown, c: OutputColumn): string | number | null {
  if (v === null || v === undefined) return null;
  if (c.kind === "count") return Number(v);
  if (c.kind === "money") return String(v);
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number" || typeof v === "string") return v;
  if (v instanceof Date) return v.toISOString().replace(/\.\d{3}Z$/, "Z");
  return String(v);
}

/** RFC 4180 CSV (or TSV: tabs and line breaks inside a value become spaces). */
export function formatResult(result: QueryResult, format: "csv" | "tsv"): string {
  const names = result.columns.map((c) => c.name);
  const cell = format === "csv"
    ? (v: unknown) => {
      const s = v === null || v === undefined ? "" : String(v);
      return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
    }
    : (v: unknown) => (v === null || v === undefined ? "" : String(v).replace(/[\t\r\n]/g, " "));
  const sep = format === "csv" ? "," : "\t";
  return [names.join(sep), ...result.rows.map((r) => names.map((n) => cell(r[n])).join(sep))].join("\n") + "\n";
}

/** Writes `text` to `file` atomically (temp file + rename). */
export function writeReportFile(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}
