import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { readWorldFile, type WorldFile } from "../../src/world/index.ts";
import { DEMO_MONTHS, DEMO_WORLD_FILE } from "../../src/insights/demo.ts";
import { activityEventId, demoActivity, seedDemoActivity } from "../../src/activity/demo.ts";
import { importActivityFiles } from "../../src/activity/index.ts";
import { openStore } from "../../src/store/index.ts";
import { ACTIVITY_EVENT_COLUMNS, ACTIVITY_METRIC_COLUMNS, activityEventsFile, activityMetricsFile } from "../../src/activity/lake.ts";

const FIELD_INSPECTIONS = "30000000-a000-4000-8000-000000000001";
const ALICE_FABRIKAM = "30000000-0001-4000-8000-000000000002"; // Contoso, owner from 2026-10-12
const DAVE_FABRIKAM = "30000000-0001-4000-8000-000000000005"; // Northwind, co-owner from 2026-09-12
const CAROL = "30000000-0001-4000-8000-000000000004"; // disabled from 2026-10-15
const CASE_MANAGEMENT = "30000000-a000-4000-8000-000000000002";
const CONTOSO_SP_FABRIKAM = "30000000-0002-4000-8000-000000000001"; // imported the solution on 2026-10-15

function demoWorld(): WorldFile {
  const parsed = readWorldFile(DEMO_WORLD_FILE);
  if (!parsed.ok) throw new Error("the demo world is invalid");
  return parsed.world;
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe("demo business-applications activity (src/activity/demo.ts)", () => {
  const world = demoWorld();
  const { events, metrics } = demoActivity(world, DEMO_MONTHS);

  it("is deterministic: the same world and months give the same rows", () => {
    assert.deepEqual(demoActivity(world, DEMO_MONTHS), { events, metrics });
    assert.ok(events.length > 1000, `a non-trivial demo (${events.length} events)`);
  });

  it("the two-partner contest: in October the owner (Contoso's guest) acts after Northwind's co-owner; in September only Northwind's guest acts", () => {
    const last = (user: string, month: string) => events.filter((e) => e.resourceId === FIELD_INSPECTIONS && e.userObjectId === user && e.timestamp.startsWith(month)).map((e) => e.timestamp).sort().at(-1);
    const alice = last(ALICE_FABRIKAM, "2026-10");
    const dave = last(DAVE_FABRIKAM, "2026-10");
    assert.ok(alice && dave, "both partners' identities act on the app in October");
    assert.ok(alice > dave, `alice's guest last acted at ${alice}, after dave's guest at ${dave}`);
    assert.ok(events.filter((e) => e.resourceId === FIELD_INSPECTIONS && e.userObjectId === ALICE_FABRIKAM).every((e) => e.timestamp >= "2026-10-12T00:00:00Z"), "alice's guest acts only once she owns the app");
    assert.ok(last(DAVE_FABRIKAM, "2026-09"), "dave's guest acts in September");
  });

  it("nobody acts while disabled, before a resource exists, or outside the relationship that lets them act", () => {
    assert.ok(events.some((e) => e.userObjectId === CAROL), "carol acts before she is disabled");
    assert.ok(events.filter((e) => e.userObjectId === CAROL).every((e) => e.timestamp < "2026-10-15T00:00:00Z"));
    const loyalty = events.filter((e) => e.resourceId === "40000000-a000-4000-8000-000000000003"); // created 2026-09-26
    assert.ok(loyalty.length > 0 && loyalty.every((e) => e.timestamp >= "2026-09-26T00:00:00Z"));
    const sp = events.filter((e) => e.resourceId === CASE_MANAGEMENT && e.userObjectId === CONTOSO_SP_FABRIKAM);
    assert.ok(sp.length > 0 && sp.every((e) => e.timestamp >= "2026-10-15T00:00:00Z"), "the service account acts on the solution's app from its import");
  });

  it("metrics: a MonthlyActiveUsers value per running flow and UnifiedProfiles per Customer Insights instance, each demo month; none for a stopped flow", () => {
    for (const month of DEMO_MONTHS) {
      assert.ok(metrics.some((m) => m.month === month && m.workload === "PowerAutomate" && m.metric === "MonthlyActiveUsers" && m.value > 0));
      assert.equal(metrics.filter((m) => m.month === month && m.metric === "UnifiedProfiles").length, 2);
    }
    assert.ok(!metrics.some((m) => m.resourceId === "30000000-f000-4000-8000-000000000003"), "Expense sync is stopped");
  });

  it("seeding writes the activity lake in lake.ts's columns and types, the CSVs beside it, and seeding again changes nothing", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-demo-activity-"));
    try {
      const first = await seedDemoActivity(world, DEMO_MONTHS, dir);
      assert.ok(first);
      assert.match(readFileSync(first.files.activity, "utf8"), /^Timestamp,TenantId,Workload,ResourceId,UserObjectId,Operation\r\n/);
      assert.match(readFileSync(first.files.metrics, "utf8"), /^Month,TenantId,Workload,ResourceId,Metric,Value\r\n/);
      const file = activityEventsFile(dir, "2026-10");
      const described = await query(`DESCRIBE SELECT * FROM read_parquet('${file}', hive_partitioning = false)`);
      assert.deepEqual(described.map((r) => [r.column_name, r.column_type]), ACTIVITY_EVENT_COLUMNS.map(([n, t]) => [n, t]));
      const metricCols = await query(`DESCRIBE SELECT * FROM read_parquet('${activityMetricsFile(dir, "2026-10")}', hive_partitioning = false)`);
      assert.deepEqual(metricCols.map((r) => [r.column_name, r.column_type]), ACTIVITY_METRIC_COLUMNS.map(([n, t]) => [n, t]));
      const count = async () => Number((await query(`SELECT count(*) AS n FROM read_parquet('${path.join(dir, "activity", "month=*", "events.parquet")}')`))[0]?.n);
      assert.equal(await count(), events.length);
      const someEvent = events.find((e) => e.timestamp.startsWith("2026-10"))!;
      const [row] = await query(`SELECT operation, is_use, source FROM read_parquet('${file}') WHERE event_id = '${activityEventId(someEvent)}'`);
      assert.equal(row?.operation, someEvent.operation, "event ids are the MD5 of the normalised row");
      await seedDemoActivity(world, DEMO_MONTHS, dir);
      assert.equal(await count(), events.length, "re-seeding adds nothing");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("importing the demo's activity CSV with `openpal activity import` adds nothing: the demo's event ids are the importer's", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-demo-activity-"));
    const store = await openStore({ kind: "sqlite", sqlitePath: ":memory:" });
    try {
      const seeded = await seedDemoActivity(world, DEMO_MONTHS, dir);
      assert.ok(seeded);
      const summary = await importActivityFiles({ store, dataDir: dir, files: [seeded.files.activity] });
      assert.equal(summary.read, events.length);
      assert.equal(summary.kept, 0, `every demo event is already in the lake under the importer's id (skipped: ${JSON.stringify(summary.skipped)})`);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a metric already in the lake (an import) wins over the demo's, and imported events are kept", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-demo-activity-"));
    try {
      const target = metrics.find((m) => m.month === "2026-10" && m.metric === "UnifiedProfiles")!;
      mkdirSync(path.dirname(activityMetricsFile(dir, "2026-10")), { recursive: true });
      await query(`COPY (SELECT '${target.tenantId}' AS tenant_id, '${target.workload}' AS workload, '${target.resourceId}' AS resource_id, 'UnifiedProfiles' AS metric, CAST(7 AS BIGINT) AS value, 'openpal-metrics' AS source) TO '${activityMetricsFile(dir, "2026-10")}' (FORMAT parquet)`);
      await query(`COPY (SELECT 'imported-1' AS event_id, TIMESTAMP '2026-10-02 10:00:00' AS "at", '${target.tenantId}' AS tenant_id, 'PowerApps' AS workload, 'x' AS resource_id, 'u' AS user_object_id, 'LaunchPowerApp' AS operation, true AS is_use, 'pp-analytics' AS source) TO '${activityEventsFile(dir, "2026-10")}' (FORMAT parquet)`);
      await seedDemoActivity(world, DEMO_MONTHS, dir);
      const [m] = await query(`SELECT value FROM read_parquet('${activityMetricsFile(dir, "2026-10")}') WHERE resource_id = '${target.resourceId}'`);
      assert.equal(Number(m?.value), 7);
      const kept = await query(`SELECT source FROM read_parquet('${activityEventsFile(dir, "2026-10")}') WHERE event_id = 'imported-1'`);
      assert.equal(kept.length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
