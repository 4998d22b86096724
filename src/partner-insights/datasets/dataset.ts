/**
 * What a dataset is to the insights API: a name, an allow-list of columns and metrics, the date
 * ranges it answers, and a `source` that builds one partner organisation's rows in DuckDB.
 *
 * The registry (registry.ts) holds every dataset; the query compiler only ever writes the names
 * listed here into SQL, and only ever reads rows through `source`, which filters by the caller's
 * organisation. A new dataset is one more `Dataset` registered with `DatasetRegistry.register`
 * (as AzureUsage, Profile and BusinessApplicationsUsage are in `defaultDatasets()`).
 */
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import type { Store } from "../../store/index.ts";

export type ColumnType = "string" | "number" | "flag";

export interface DatasetColumn {
  /** The column name as Partner Center spells it; also the column name of `source`'s relation. */
  readonly name: string;
  readonly type: ColumnType;
  /** Joins the relation needs for this column (sources add them only when a query uses it). */
  readonly needs?: string;
}

export interface DatasetMetric {
  readonly name: string;
  /** Aggregate SQL over the relation `d` (constant text written by us, never by a user). */
  readonly sql: string;
  /** JSON value type of the result (money is exact text in CSV, a number in JSON). */
  readonly type: "money" | "count";
  readonly needs?: string;
}

/** A half-open time window [from, to) in epoch ms; undefined bounds mean "no bound". */
export interface TimeWindow {
  readonly from: number | undefined;
  readonly to: number | undefined;
}

export interface SourceRequest {
  readonly connection: DuckDBConnection;
  readonly store: Store;
  readonly dataDir: string;
  /** The caller's organisation: the only rows the relation may hold. */
  readonly globalId: string;
  readonly window: TimeWindow;
  /** Joins the query's columns and metrics need (their `needs`). */
  readonly needs: ReadonlySet<string>;
}

/** A relation (SQL table expression) with its bound parameters, in order of appearance. */
export interface SourceRelation {
  readonly sql: string;
  readonly params: readonly DuckDBValue[];
}

export interface SystemQuery {
  readonly queryId: string;
  readonly name: string;
  readonly description: string;
  readonly query: string;
}

export interface Dataset {
  readonly name: string;
  readonly columns: readonly DatasetColumn[];
  readonly metrics: readonly DatasetMetric[];
  readonly availableDateRanges: readonly string[];
  /** Hours. */
  readonly minimumRecurrenceInterval: number;
  /** Whether TIMESPAN filters rows (Profile has no time dimension). */
  readonly timed: boolean;
  readonly systemQueries: readonly SystemQuery[];
  source(req: SourceRequest): Promise<SourceRelation>;
}
