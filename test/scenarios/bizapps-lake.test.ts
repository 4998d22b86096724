/**
 * The scenario harness writes the activity lake exactly as src/activity/lake.ts describes it:
 * what it writes reads back through `activityEventsRelation` / `activityMetricsRelation` with the
 * contract's columns, types and lower-cased ids.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { ACTIVITY_EVENT_COLUMNS, ACTIVITY_METRIC_COLUMNS, activityEventsRelation, activityMetricsRelation } from "../../src/activity/lake.ts";
import { scenarioDir, writeActivityEvents, writeActivityMetrics } from "./bizapps-lake.ts";

async function query(sql: string): Promise<{ columns: [string, string][]; rows: Record<string, unknown>[] }> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    const r = await c.runAndReadAll(sql);
    return { columns: r.columnNames().map((n, i) => [n, r.columnTypes()[i]!.toString()]), rows: r.getRowObjectsJS() };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe("bizapps scenario harness: the activity lake it writes", () => {
  const dir = scenarioDir();
  after(() => dir.cleanup());

  it("events read back through activityEventsRelation with the contract's columns, UTC times and lower-cased ids", async () => {
    await writeActivityEvents(dir.dataDir, "2026-10", [
      { at: "2026-10-31T23:59:59Z", tenant: "FA000000-0000-4000-8000-000000000001", workload: "PowerApps", resource: "A0000000-0000-4000-8000-000000000001", user: "E5000000-0000-4000-8000-000000000001" },
      { at: "2026-10-02T09:00:00Z", tenant: "fa000000-0000-4000-8000-000000000001", workload: "PowerApps", resource: "a0000000-0000-4000-8000-000000000001", user: "e5000000-0000-4000-8000-000000000002", operation: "EditApp", use: false },
    ]);
    const { columns, rows } = await query(`SELECT * FROM ${activityEventsRelation(dir.dataDir, "2026-10")} ORDER BY "at"`);
    // read_parquet also infers the hive partition column `month` from the path (month=YYYY-MM): the contract's columns come first.
    assert.deepEqual(columns.slice(0, ACTIVITY_EVENT_COLUMNS.length), ACTIVITY_EVENT_COLUMNS.map(([n, t]) => [n, t]));
    assert.deepEqual(rows.map((r) => [(r.at as Date).toISOString(), r.tenant_id, r.resource_id, r.user_object_id, r.operation, r.is_use]), [
      ["2026-10-02T09:00:00.000Z", "fa000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000001", "e5000000-0000-4000-8000-000000000002", "EditApp", false],
      ["2026-10-31T23:59:59.000Z", "fa000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000001", "e5000000-0000-4000-8000-000000000001", "LaunchPowerApp", true],
    ]);
    assert.equal(new Set(rows.map((r) => r.event_id)).size, 2, "event ids are distinct");
  });

  it("metrics read back through activityMetricsRelation; a month without files is an empty relation with the same columns", async () => {
    await writeActivityMetrics(dir.dataDir, "2026-10", [{ tenant: "FA000000-0000-4000-8000-000000000001", workload: "CustomerInsights", resource: "C1000000-0000-4000-8000-000000000001", metric: "UnifiedProfiles", value: 12345 }]);
    const m = await query(`SELECT * FROM ${activityMetricsRelation(dir.dataDir, "2026-10")}`);
    assert.deepEqual(m.columns.slice(0, ACTIVITY_METRIC_COLUMNS.length), ACTIVITY_METRIC_COLUMNS.map(([n, t]) => [n, t]));
    assert.deepEqual(m.rows.map((r) => [r.resource_id, r.metric, Number(r.value)]), [["c1000000-0000-4000-8000-000000000001", "UnifiedProfiles", 12345]]);
    const empty = await query(`SELECT * FROM ${activityEventsRelation(dir.dataDir, "2026-11")}`);
    assert.deepEqual(empty.columns, ACTIVITY_EVENT_COLUMNS.map(([n, t]) => [n, t]));
    assert.equal(empty.rows.length, 0);
  });
});
