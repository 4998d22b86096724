/**
 * Event ids are persisted in the activity lake: an import recognises events it has seen by them
 * (the export's own id, else the MD5 of the normalised event). Any change to how they, or the
 * rows, are computed would make existing lakes take re-exported events as new ones. The digests
 * below (every column of every row of every month) were recorded with the import of 2026-12-02,
 * before it was made faster, and must not change without a migration.
 *
 * The cases take every path of the import: UPNs resolved through the directory or not (with and
 * without a control plane), tenants from the control plane, skipped rows, several months, events
 * repeated in the file and in the lake, a month already in the lake, and a clean file of one
 * month (openpal-activity-one-month.csv: values to trim, Unicode spaces, US timestamps, offsets),
 * which the import moves into place as it staged it; every month file must have the lake's columns.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { ACTIVITY_EVENT_COLUMNS, activityDir, activityEventsFile, activityMonths, importActivityFiles, type ActivityImportSummary } from "../../src/activity/index.ts";
import { applyWorld, type WorldFile } from "../../src/world/index.ts";
import { systemClock } from "../../src/domain/time.ts";
import { openStore, type Store } from "../../src/store/index.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/activity");
const WORLD = path.resolve(import.meta.dirname, "../fixtures/powerplatform/world.json");

let tmpRoot: string;
let store: Store;
before(async () => {
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), "openpal-event-ids-test-"));
  store = await openStore({ kind: "sqlite", sqlitePath: ":memory:" });
  const result = await applyWorld(store, JSON.parse(readFileSync(WORLD, "utf8")) as WorldFile, { clock: systemClock, actor: "test" });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
});
after(async () => {
  await store.close();
  rmSync(tmpRoot, { recursive: true, force: true });
});
let counter = 0;

/** MD5 over every row of the lake's events (month folder and all columns), sorted; and the row count. */
async function lakeDigest(dataDir: string): Promise<{ digest: string; rows: number }> {
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run("SET TimeZone = 'UTC'");
    const glob = path.join(activityDir(dataDir), "month=*", "events.parquet");
    const [r] = (await c.runAndReadAll(
      `SELECT md5(COALESCE(string_agg(x, '\n' ORDER BY x), '')) AS digest, count(*) AS n
       FROM (SELECT concat_ws('|', regexp_extract(filename, 'month=([0-9-]+)', 1), event_id, strftime("at", '%Y-%m-%dT%H:%M:%S'), tenant_id, workload, resource_id, user_object_id, operation, is_use, source) AS x
             FROM read_parquet(${`'${glob}'`}, hive_partitioning = false, filename = true))`,
    )).getRowObjectsJS();
    // Every month file has exactly the lake's columns and types, however it was written.
    for (const month of activityMonths(dataDir)) {
      const columns = (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${activityEventsFile(dataDir, month)}', hive_partitioning = false)`)).getRowObjectsJS();
      assert.deepEqual(columns.map((col) => [col.column_name, col.column_type]), ACTIVITY_EVENT_COLUMNS.map(([n, t]) => [n, t]), `columns of ${month}`);
    }
    return { digest: String(r?.digest), rows: Number(r?.n) };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

const brief = (s: ActivityImportSummary) => ({ read: s.read, kept: s.kept, skipped: s.skipped, months: s.months });

interface Case {
  readonly name: string;
  /** Files imported one after the other into one new lake (fixture names, or files written by `prepare`). */
  readonly files: readonly string[];
  readonly withStore: boolean;
  readonly maxBadRows?: number;
  readonly force?: boolean;
  readonly summary: ReturnType<typeof brief>;
  readonly digest: string;
  readonly rows: number;
}

/** A one-month file that repeats one of its events (written by the test from the clean one). */
function withRepeat(): string {
  const text = readFileSync(path.join(FIXTURES, "openpal-activity-one-month.csv"), "utf8");
  const lines = text.trimEnd().split("\n");
  const file = path.join(tmpRoot, "one-month-repeat.csv");
  writeFileSync(file, [...lines, lines[2]].join("\n") + "\n");
  return file;
}

const cases: readonly Case[] = [
  { name: "openpal-activity.csv (UPNs, skipped rows, a repeat, two months)", files: ["openpal-activity.csv"], withStore: true, summary: { read: 12, kept: 8, skipped: { "no resource id": 1, "unknown workload": 1, "unresolved user": 1, duplicate: 1 }, months: ["2026-09", "2026-10"] }, digest: "4ec6c145b49388350bcc5236073b6736", rows: 8 },
  { name: "openpal-activity.csv without a control plane (UPNs do not resolve)", files: ["openpal-activity.csv"], withStore: false, summary: { read: 12, kept: 6, skipped: { "no resource id": 1, "unknown workload": 1, "unresolved user": 3, duplicate: 1 }, months: ["2026-09", "2026-10"] }, digest: "877b8a8dde55cf107e7942752b7e1358", rows: 6 },
  { name: "openpal-activity-one-month.csv (clean, one month, values to trim)", files: ["openpal-activity-one-month.csv"], withStore: true, summary: { read: 5, kept: 5, skipped: {}, months: ["2026-11"] }, digest: "11f3eedd571ce6610612f1bf77aeadb7", rows: 5 },
  { name: "a one-month file repeating an event", files: ["<repeat>"], withStore: false, summary: { read: 6, kept: 5, skipped: { duplicate: 1 }, months: ["2026-11"] }, digest: "11f3eedd571ce6610612f1bf77aeadb7", rows: 5 },
  { name: "m365-audit-log.csv (the export's own ids)", files: ["m365-audit-log.csv"], withStore: true, summary: { read: 5, kept: 4, skipped: { "not business applications (other workload)": 1 }, months: ["2026-10"] }, digest: "6d25de197181872e2c9b6c6c7abda2b3", rows: 4 },
  { name: "powerbi-activity-events.json", files: ["powerbi-activity-events.json"], withStore: true, summary: { read: 5, kept: 3, skipped: { "no resource id": 1, "unresolved user": 1 }, months: ["2026-10"] }, digest: "9a4d418af2cd79494fcbc8eedd1ea3f5", rows: 3 },
  { name: "powerbi-pages-array.json", files: ["powerbi-pages-array.json"], withStore: true, summary: { read: 2, kept: 2, skipped: {}, months: ["2026-10"] }, digest: "83435354e22e4b38a64fe27a18b4f65b", rows: 2 },
  { name: "pp-analytics.csv then pp-analytics-no-tenant.csv (tenants from the control plane)", files: ["pp-analytics.csv", "pp-analytics-no-tenant.csv"], withStore: true, summary: { read: 5, kept: 4, skipped: { "no tenant id": 1 }, months: ["2026-10", "2026-11"] }, digest: "bd9bd4d319ed50f297a6a9ca347fcaec", rows: 4 },
  { name: "bad-timestamp.csv under --max-bad-rows 1", files: ["bad-timestamp.csv"], withStore: true, maxBadRows: 1, summary: { read: 3, kept: 2, skipped: { "bad timestamp": 1 }, months: ["2026-09", "2026-10"] }, digest: "5b6b031308c243d86a8d44ed13ea84c1", rows: 2 },
  { name: "pp-analytics.csv, then openpal-activity.csv into the same months, then openpal-activity-one-month.csv", files: ["pp-analytics.csv", "openpal-activity.csv", "openpal-activity-one-month.csv"], withStore: true, summary: { read: 20, kept: 16, skipped: { "no resource id": 1, "unknown workload": 1, "unresolved user": 1, duplicate: 1 }, months: ["2026-09", "2026-10", "2026-11"] }, digest: "2db5c95869727dbe4898e665af48959c", rows: 16 },
  { name: "openpal-activity.csv twice, the second time forced (everything a duplicate)", files: ["openpal-activity.csv", "openpal-activity.csv"], withStore: true, force: true, summary: { read: 24, kept: 8, skipped: { "no resource id": 2, "unknown workload": 2, "unresolved user": 2, duplicate: 10 }, months: ["2026-09", "2026-10"] }, digest: "4ec6c145b49388350bcc5236073b6736", rows: 8 },
];

describe("activity event ids and rows are identical to those recorded before the import was made faster (lakes already hold them)", () => {
  for (const c of cases) {
    it(`${c.name}: ${c.rows} events, digest ${c.digest}`, async () => {
      const dataDir = path.join(tmpRoot, `d${++counter}`);
      const files = c.files.map((f) => (f === "<repeat>" ? withRepeat() : path.join(FIXTURES, f)));
      const summary = await importActivityFiles({ ...(c.withStore ? { store } : {}), dataDir, files, maxBadRows: c.maxBadRows, force: c.force, threads: 2 });
      const got = await lakeDigest(dataDir);
      if (process.env.RECORD) process.stdout.write(`RECORD ${JSON.stringify({ name: c.name, summary: brief(summary), ...got })}\n`);
      assert.deepEqual(brief(summary), c.summary);
      assert.equal(got.rows, c.rows);
      assert.equal(got.digest, c.digest);
    });
  }
});
