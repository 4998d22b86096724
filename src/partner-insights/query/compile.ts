/**
 * Parsed query + dataset allow-list → parameterised DuckDB SQL.
 *
 * Only names from the dataset's allow-list reach the SQL text (looked up case-insensitively, then
 * written in their canonical spelling, quoted); every value from the query is a bound parameter.
 * Metrics aggregate over the distinct non-metric columns selected (GROUP BY those columns).
 */
import type { DuckDBValue } from "@duckdb/node-api";
import type { Condition, Literal, Name, ReportQueryAst } from "./ast.ts";
import { parseReportQuery, QuerySyntaxError, where } from "./parser.ts";
import { DEFAULT_TIMESPAN, isTimespan, timespanWindow, type Timespan } from "./timespan.ts";
import type { Dataset, DatasetColumn, DatasetMetric, SourceRelation, TimeWindow } from "../datasets/dataset.ts";
import type { DatasetRegistry } from "../datasets/registry.ts";

/** A query the API refuses: `message` starts with Partner Center's wording where it has one. */
export class QueryError extends Error {
  override readonly name = "QueryError";
}

export interface OutputColumn {
  readonly name: string;
  readonly kind: "column" | "money" | "count";
  readonly type?: DatasetColumn["type"];
}

export interface CompiledQuery {
  readonly dataset: Dataset;
  readonly columns: readonly OutputColumn[];
  readonly timespan: Timespan;
  readonly needs: ReadonlySet<string>;
  /** The window for `now` (or the explicit override). */
  window(now: number, override?: TimeWindow): TimeWindow;
  /** SQL and parameters around the dataset's relation. */
  sql(source: SourceRelation): { text: string; params: DuckDBValue[] };
}

const quoteIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** Parses and checks a query against the registry; throws QueryError / QuerySyntaxError. */
export function compileReportQuery(text: string, registry: DatasetRegistry, opts: { maxLimit?: number } = {}): CompiledQuery {
  let ast: ReportQueryAst;
  try {
    ast = parseReportQuery(text);
  } catch (error) {
    if (error instanceof QuerySyntaxError) throw new QueryError(`Invalid query: ${error.message}`);
    throw error;
  }
  const dataset = registry.get(ast.from.text);
  if (!dataset) {
    throw new QueryError(`Invalid table name: '${ast.from.text}' at ${where(ast.from.at)} is not a dataset; use one of ${registry.list().map((d) => d.name).join(", ")} (GET /insights/v1/mpn/ScheduledDataset lists them).`);
  }
  const columns = new Map(dataset.columns.map((c) => [c.name.toLowerCase(), c]));
  const metrics = new Map(dataset.metrics.map((m) => [m.name.toLowerCase(), m]));
  const incorrect = (n: Name, what: string) =>
    new QueryError(`Incorrect column name: '${n.text}' at ${where(n.at)} is not ${what} of ${dataset.name}; its columns and metrics are listed by GET /insights/v1/mpn/ScheduledDataset?datasetName=${dataset.name}.`);

  const selectedColumns: DatasetColumn[] = [];
  const selectedMetrics: DatasetMetric[] = [];
  const seen = new Set<string>();
  for (const n of ast.select) {
    const key = n.text.toLowerCase();
    if (seen.has(key)) throw new QueryError(`Invalid query: '${n.text}' at ${where(n.at)} is selected twice; select each column once.`);
    seen.add(key);
    const c = columns.get(key);
    const m = metrics.get(key);
    if (c) selectedColumns.push(c);
    else if (m) selectedMetrics.push(m);
    else throw incorrect(n, "a column or metric");
  }

  const conds: { sql: string; params: DuckDBValue[] }[] = [];
  const needs = new Set<string>();
  for (const c of [...selectedColumns, ...selectedMetrics]) if (c.needs) needs.add(c.needs);
  for (const cond of ast.where) {
    const col = columns.get(cond.column.text.toLowerCase());
    if (!col) {
      if (metrics.has(cond.column.text.toLowerCase())) {
        throw new QueryError(`Invalid query: '${cond.column.text}' at ${where(cond.column.at)} is a metric; WHERE filters columns only.`);
      }
      throw incorrect(cond.column, "a column");
    }
    if (col.needs) needs.add(col.needs);
    conds.push(condition(cond, col));
  }

  const selectedNames = new Map<string, OutputColumn>();
  for (const c of selectedColumns) selectedNames.set(c.name.toLowerCase(), { name: c.name, kind: "column", type: c.type });
  for (const m of selectedMetrics) selectedNames.set(m.name.toLowerCase(), { name: m.name, kind: m.type });
  const order = ast.orderBy.map((o) => {
    const out = selectedNames.get(o.column.text.toLowerCase());
    if (!out) {
      if (columns.has(o.column.text.toLowerCase()) || metrics.has(o.column.text.toLowerCase())) {
        throw new QueryError(`Invalid query: ORDER BY '${o.column.text}' at ${where(o.column.at)} is not selected; order by a selected column or metric.`);
      }
      throw incorrect(o.column, "a column or metric");
    }
    return `${quoteIdent(out.name)} ${o.direction}`;
  });

  const maxLimit = opts.maxLimit;
  let limit: number | undefined;
  if (ast.limit) {
    const v = ast.limit.value;
    if (!Number.isSafeInteger(v) || v < 1) throw new QueryError(`Invalid query: LIMIT ${v} at ${where(ast.limit.at)} must be a positive whole number.`);
    limit = v;
  }
  if (maxLimit !== undefined) limit = Math.min(limit ?? maxLimit, maxLimit);

  let timespan: Timespan = DEFAULT_TIMESPAN;
  if (ast.timespan) {
    const t = ast.timespan.text.toUpperCase();
    if (!isTimespan(t) || !dataset.availableDateRanges.includes(t)) {
      throw new QueryError(`Invalid TIMESPAN: '${ast.timespan.text}' at ${where(ast.timespan.at)} is not available for ${dataset.name}; use one of ${dataset.availableDateRanges.join(", ")}.`);
    }
    timespan = t;
  } else if (!dataset.availableDateRanges.includes(timespan)) {
    timespan = dataset.availableDateRanges[0] as Timespan;
  }

  const output: OutputColumn[] = ast.select.map((n) => selectedNames.get(n.text.toLowerCase()) as OutputColumn);
  const colSql = (c: DatasetColumn) => `d.${quoteIdent(c.name)}`;
  return {
    dataset,
    columns: output,
    timespan,
    needs,
    window: (now, override) => (!dataset.timed ? { from: undefined, to: undefined } : override ?? timespanWindow(timespan, now)),
    sql(source) {
      const select = ast.select.map((n) => {
        const key = n.text.toLowerCase();
        const c = columns.get(key);
        if (c) return `${colSql(c)} AS ${quoteIdent(c.name)}`;
        const m = metrics.get(key) as DatasetMetric;
        return `${m.sql} AS ${quoteIdent(m.name)}`;
      });
      const grouped = selectedMetrics.length > 0;
      const parts = [
        `SELECT ${!grouped ? "DISTINCT " : ""}${select.join(", ")}`,
        `FROM (${source.sql}) AS d`,
      ];
      if (conds.length) parts.push(`WHERE ${conds.map((c) => c.sql).join(" AND ")}`);
      if (grouped && selectedColumns.length) parts.push(`GROUP BY ${selectedColumns.map(colSql).join(", ")}`);
      // A stable order after the user's: every selected output, so equal keys do not shuffle.
      const tail = output.map((o) => `${quoteIdent(o.name)} ASC`);
      parts.push(`ORDER BY ${[...order, ...tail].join(", ")}`);
      const params: DuckDBValue[] = [...source.params, ...conds.flatMap((c) => c.params)];
      if (limit !== undefined) {
        parts.push("LIMIT ?");
        params.push(limit);
      }
      return { text: parts.join("\n"), params };
    },
  };
}

function literalFor(col: DatasetColumn, lit: Literal, cond: Condition): DuckDBValue {
  if (col.type === "string") return lit.kind === "string" ? lit.value : String(lit.value);
  if (lit.kind === "number") {
    if (col.type === "flag" && lit.value !== 0 && lit.value !== 1) {
      throw new QueryError(`Invalid query: ${col.name} is a flag; compare it with 0 or 1 (${where(lit.at)}).`);
    }
    return lit.value;
  }
  const num = Number(lit.value);
  if (lit.value.trim() !== "" && Number.isFinite(num)) return num;
  throw new QueryError(`Invalid query: ${col.name} is a number; '${lit.value}' at ${where(lit.at)} is not (in ${cond.column.text}).`);
}

function condition(cond: Condition, col: DatasetColumn): { sql: string; params: DuckDBValue[] } {
  const ref = `d.${quoteIdent(col.name)}`;
  if (cond.kind === "compare") {
    const op = cond.op === "!=" ? "<>" : cond.op;
    return { sql: `${ref} ${op} ?`, params: [literalFor(col, cond.value, cond)] };
  }
  if (cond.kind === "like") {
    if (col.type !== "string" || cond.pattern.kind !== "string") {
      throw new QueryError(`Invalid query: LIKE at ${where(cond.pattern.at)} needs a text column and a quoted pattern, e.g. ${col.name} LIKE '%value%'.`);
    }
    return { sql: `${ref} ${cond.negated ? "NOT LIKE" : "LIKE"} ?`, params: [cond.pattern.value] };
  }
  const values = cond.values.map((v) => literalFor(col, v, cond));
  return { sql: `${ref} ${cond.negated ? "NOT IN" : "IN"} (${values.map(() => "?").join(", ")})`, params: values };
}
