import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { ActivityImportError, activityEventsFile, activityEventsRelation, activityMetricsFile, activityMetricsRelation, activityMonths, ACTIVITY_EVENT_COLUMNS, ACTIVITY_METRIC_COLUMNS, importActivityFiles, readActivityManifest, type ActivityFileSummary } from "../../src/activity/index.ts";
import { applyWorld, type WorldFile } from "../../src/world/index.ts";
import { systemClock } from "../../src/domain/time.ts";
import type { Store } from "../../src/store/index.ts";
import { storeBackends } from "../support/stores.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/activity");
const WORLD = path.resolve(import.meta.dirname, "../fixtures/powerplatform/world.json");
const fixture = (name: string) => path.join(FIXTURES, name);

const FAB = "fabf0000-0000-4000-8000-000000000000";
const APP1 = "faba0000-0000-4000-8000-000000000001";
const APP2 = "faba0000-0000-4000-8000-000000000002";
const FLOW1 = "fabc0000-0000-4000-8000-000000000001";
const DS = "fabd0000-0000-4000-8000-000000000001";
const CI = "fab1c000-0000-4000-8000-000000000001";
const ADMIN = "fabf0000-0001-4000-8000-000000000001";
const MAKER = "fabf0000-0001-4000-8000-000000000002";
const ERIN = "fabf0000-0001-4000-8000-000000000003";
const GUEST = "fabf0000-0001-4000-8000-000000000004";
const UNKNOWN_APP = "faba0000-0000-4000-8000-0000000000ff";
const CONTOSO = "c0c0c0c0-0000-4000-8000-000000000000";

let tmpRoot: string;
before(() => {
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), "openpal-activity-test-"));
});
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => path.join(tmpRoot, `d${++counter}`);
const write = (name: string, text: string) => {
  const file = path.join(tmpRoot, name);
  writeFileSync(file, text);
  return file;
};

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run("SET TimeZone = 'UTC'");
    return (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

async function events(dataDir: string, month: string): Promise<Record<string, unknown>[]> {
  return query(`SELECT event_id, strftime("at", '%Y-%m-%dT%H:%M:%SZ') AS at, tenant_id, workload, resource_id, user_object_id, operation, is_use, source FROM ${activityEventsRelation(dataDir, month)} ORDER BY "at", event_id`);
}

function accountedFor(s: ActivityFileSummary): void {
  assert.equal(s.kept + Object.values(s.skipped).reduce((a, b) => a + b, 0), s.read, `every row read is kept or counted under a skip reason: ${JSON.stringify(s)}`);
}

async function worldStore(open: () => Promise<Store>): Promise<Store> {
  const store = await open();
  const result = await applyWorld(store, JSON.parse(readFileSync(WORLD, "utf8")) as WorldFile, { clock: systemClock, actor: "test" });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return store;
}

for (const backend of storeBackends()) {
  describe(`activity import (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await worldStore(() => backend.open());
    });
    after(() => store.close());

    it("OpenPAL activity CSV (BOM, CRLF, UPNs, mixed case, 7-digit fractions, offsets): kept events land in the month of their UTC time; every skipped row is counted by reason", async () => {
      const dataDir = freshDir();
      const summary = await importActivityFiles({ store, dataDir, files: [fixture("openpal-activity.csv")] });
      const s = summary.files[0] as ActivityFileSummary;
      assert.equal(s.format, "openpal-activity");
      assert.equal(s.read, 12);
      assert.equal(s.kept, 8);
      assert.deepEqual(s.skipped, { "unknown workload": 1, "no resource id": 1, "unresolved user": 1, duplicate: 1 });
      accountedFor(s);
      assert.deepEqual(s.months, ["2026-09", "2026-10"]);
      assert.deepEqual(activityMonths(dataDir), ["2026-09", "2026-10"]);
      const sept = await events(dataDir, "2026-09");
      assert.equal(sept.length, 1);
      assert.equal(sept[0]?.at, "2026-09-30T23:59:59Z");
      const oct = await events(dataDir, "2026-10");
      assert.equal(oct.length, 7);
      // Erin given as "Erin@FABRIKAM-pp.example" and an upper-case tenant and app id: stored lower case, resolved to her object id.
      const upn = oct.find((e) => e.at === "2026-10-01T08:05:00Z");
      assert.deepEqual([upn?.tenant_id, upn?.resource_id, upn?.user_object_id, upn?.workload], [FAB, APP1, ERIN, "PowerApps"]);
      // The guest's #EXT# UPN resolves to the guest object; an edit is an act, not use.
      const edit = oct.find((e) => e.operation === "EditPowerApp");
      assert.deepEqual([edit?.user_object_id, edit?.is_use], [GUEST, false]);
      // +02:00 is converted to UTC.
      assert.ok(oct.some((e) => e.at === "2026-10-03T08:00:00Z" && e.resource_id === FLOW1 && e.is_use === true));
      // The unknown app is kept and reported.
      assert.ok(oct.some((e) => e.resource_id === UNKNOWN_APP));
      assert.deepEqual(s.unknownResources, { count: 1, sample: [`${FAB}/PowerApps/${UNKNOWN_APP}`] });
      assert.deepEqual(s.unresolvedUsers, { count: 1, sample: [`${FAB}/ghost@fabrikam-pp.example`] });
      assert.deepEqual(s.unknownUsers, { count: 0, sample: [] });
      assert.ok(oct.every((e) => e.source === "openpal-activity"));
      const cols = await query(`DESCRIBE SELECT * FROM ${activityEventsRelation(dataDir, "2026-10")}`);
      assert.deepEqual(cols.map((c) => [c.column_name, c.column_type]), ACTIVITY_EVENT_COLUMNS.map(([n, t]) => [n, t]));
    });

    it("importing the same file twice changes nothing: the manifest answers 'already imported', and with --force every event is a duplicate", async () => {
      const dataDir = freshDir();
      await importActivityFiles({ store, dataDir, files: [fixture("openpal-activity.csv")] });
      const before = await events(dataDir, "2026-10");
      const mtime = statSync(activityEventsFile(dataDir, "2026-10")).mtimeMs;
      const again = (await importActivityFiles({ store, dataDir, files: [fixture("openpal-activity.csv")] })).files[0] as ActivityFileSummary;
      assert.equal(again.alreadyImported, true);
      assert.equal(again.kept, 0);
      assert.equal(statSync(activityEventsFile(dataDir, "2026-10")).mtimeMs, mtime);
      const forced = (await importActivityFiles({ store, dataDir, files: [fixture("openpal-activity.csv")], force: true })).files[0] as ActivityFileSummary;
      assert.equal(forced.alreadyImported, false);
      assert.equal(forced.kept, 0);
      assert.equal(forced.skipped.duplicate, 9); // 8 in the lake + 1 repeated in the file
      assert.deepEqual(forced.months, []);
      assert.deepEqual(await events(dataDir, "2026-10"), before);
      assert.equal(readActivityManifest(dataDir).imports.length, 2);
    });

    it("Power BI activity events, two pages concatenated: resource = DatasetId, tenant = OrganizationId, a guest's home UPN resolves to the guest, events without a dataset are counted", async () => {
      const dataDir = freshDir();
      const s = (await importActivityFiles({ store, dataDir, files: [fixture("powerbi-activity-events.json")] })).files[0] as ActivityFileSummary;
      assert.equal(s.format, "powerbi-activity-events");
      assert.equal(s.pages, 2);
      assert.equal(s.read, 5);
      assert.deepEqual(s.skipped, { "no resource id": 1, "unresolved user": 1 });
      accountedFor(s);
      assert.deepEqual(s.warnings, []);
      const oct = await events(dataDir, "2026-10");
      assert.deepEqual(
        oct.map((e) => [e.event_id, e.resource_id, e.user_object_id, e.operation, e.is_use]),
        [
          ["e1a0c000-0000-4000-8000-000000000001", DS, ERIN, "ViewReport", true],
          ["e1a0c000-0000-4000-8000-000000000002", DS, GUEST, "ViewReport", true],
          ["e1a0c000-0000-4000-8000-000000000003", DS, ADMIN, "ShareReport", false],
        ],
      );
      assert.ok(oct.every((e) => e.tenant_id === FAB && e.workload === "PowerBI"));
    });

    it("Power BI pages in a JSON array whose last page has lastResultSet false: imported, with a warning that the export is incomplete", async () => {
      const s = (await importActivityFiles({ store, dataDir: freshDir(), files: [fixture("powerbi-pages-array.json")] })).files[0] as ActivityFileSummary;
      assert.equal(s.pages, 1);
      assert.equal(s.kept, 2);
      assert.match(s.warnings.join("\n"), /lastResultSet false and a continuationToken: the export is incomplete/);
    });

    it("Power BI pages given page by page (several files) are the same events as one file, and the audit log's copy of a Power BI event is a duplicate", async () => {
      const dataDir = freshDir();
      const text = readFileSync(fixture("powerbi-activity-events.json"), "utf8");
      const split = text.indexOf("\n{");
      const page1 = write(`page1-${counter}.json`, text.slice(0, split + 1));
      const page2 = write(`page2-${counter}.json`, text.slice(split + 1));
      const summary = await importActivityFiles({ store, dataDir, files: [page1, page2, fixture("m365-audit-log.csv")] });
      assert.equal(summary.files[0]?.kept, 2);
      assert.equal(summary.files[1]?.kept, 1);
      assert.equal(summary.files[2]?.skipped.duplicate, 1);
      assert.equal(summary.kept, 6);
      const pbi = (await events(dataDir, "2026-10")).filter((e) => e.workload === "PowerBI");
      assert.equal(pbi.length, 3);
    });

    it("M365 audit log export: AuditData JSON (doubled quotes, nested JSON string) gives LaunchPowerApp app ids from AppName, flow ids from FlowDetailsUrl, users from UserKey or UserId; other workloads are not business applications", async () => {
      const dataDir = freshDir();
      const s = (await importActivityFiles({ store, dataDir, files: [fixture("m365-audit-log.csv")] })).files[0] as ActivityFileSummary;
      assert.equal(s.format, "m365-audit-log");
      assert.deepEqual(s.skipped, { "not business applications (other workload)": 1 });
      accountedFor(s);
      const oct = await events(dataDir, "2026-10");
      assert.deepEqual(
        oct.map((e) => [e.at, e.workload, e.resource_id, e.user_object_id, e.operation, e.is_use]),
        [
          ["2026-10-02T07:15:00Z", "PowerApps", APP1, ERIN, "LaunchPowerApp", true],
          ["2026-10-03T07:15:00Z", "PowerApps", APP2, MAKER, "LaunchPowerApp", true],
          ["2026-10-04T07:15:00Z", "PowerAutomate", FLOW1, MAKER, "EditFlow", false],
          ["2026-10-04T11:00:00Z", "PowerBI", DS, ERIN, "ViewReport", true],
        ],
      );
      assert.equal(oct[0]?.event_id, "a0d1c000-0000-4000-8000-000000000001");
    });

    it("an unknown resource is an unknown (tenant, workload, id): an event or metric whose id the control plane knows only under another workload or in another tenant is reported unknown, one matching all three is not (deviation 143)", async () => {
      const eventsFile = write(
        `triple-events-${counter}.csv`,
        "Timestamp,TenantId,Workload,ResourceId,UserObjectId,Operation\n" +
          `2026-10-20T10:00:00Z,${FAB},PowerApps,${APP1},${ADMIN},LaunchPowerApp\n` +
          `2026-10-20T10:01:00Z,${FAB},PowerBI,${APP1},${ADMIN},ViewReport\n` +
          `2026-10-20T10:02:00Z,${CONTOSO},PowerApps,${APP1},${ADMIN},LaunchPowerApp\n`,
      );
      const s = (await importActivityFiles({ store, dataDir: freshDir(), files: [eventsFile] })).files[0] as ActivityFileSummary;
      assert.equal(s.kept, 3);
      assert.equal(s.resources, 3, "three resources: one id in two workloads and two tenants");
      assert.deepEqual(s.unknownResources, { count: 2, sample: [`${CONTOSO}/PowerApps/${APP1}`, `${FAB}/PowerBI/${APP1}`] });

      const metricsFile = write(
        `triple-metrics-${counter}.csv`,
        "Month,TenantId,Workload,ResourceId,Metric,Value\n" +
          `2026-10,${FAB},PowerAutomate,${FLOW1},MonthlyActiveUsers,5\n` +
          `2026-10,${FAB},PowerApps,${FLOW1},MonthlyActiveUsers,6\n` +
          `2026-10,${CONTOSO},PowerAutomate,${FLOW1},MonthlyActiveUsers,7\n` +
          // No tenant: the tenant is the one knowing a resource of the row's workload and id; FLOW1 is no Power BI dataset anywhere.
          `2026-10,,PowerBI,${FLOW1},MonthlyActiveUsers,8\n` +
          `2026-10,,PowerAutomate,${FLOW1},MonthlyActiveUsers,9\n`,
      );
      const m = (await importActivityFiles({ store, dataDir: freshDir(), files: [metricsFile] })).files[0] as ActivityFileSummary;
      assert.deepEqual(m.skipped, { "no tenant id": 1, "superseded by a later row of the file": 1 });
      assert.equal(m.resources, 3);
      assert.deepEqual(m.unknownResources, { count: 2, sample: [`${CONTOSO}/PowerAutomate/${FLOW1}`, `${FAB}/PowerApps/${FLOW1}`] });
    });

    it("Power Platform analytics export: AppId/ObjectID/timeaccessed are app launches; without a TenantId column the tenant comes from the control plane, and unknown apps then have none", async () => {
      const dataDir = freshDir();
      const summary = await importActivityFiles({ store, dataDir, files: [fixture("pp-analytics.csv"), fixture("pp-analytics-no-tenant.csv")] });
      const [withTenant, without] = summary.files as [ActivityFileSummary, ActivityFileSummary];
      assert.equal(withTenant.format, "pp-analytics");
      assert.equal(withTenant.kept, 3);
      assert.equal(withTenant.useEvents, 3);
      assert.equal(without.kept, 1);
      assert.deepEqual(without.skipped, { "no tenant id": 1 });
      assert.match(without.warnings.join(), /no TenantId column/);
      const nov = await events(dataDir, "2026-11");
      assert.deepEqual(nov.map((e) => [e.tenant_id, e.resource_id, e.user_object_id, e.operation, e.source]), [[FAB, APP1, ERIN, "LaunchPowerApp", "pp-analytics"]]);
      // No id in the export: the event id is the MD5 (hex) of the normalised event, so a re-export dedupes.
      assert.match(String(nov[0]?.event_id), /^[0-9a-f]{32}$/);
    });

    it("metrics CSV: one row per (tenant, workload, resource, metric) and month in metrics.parquet; the file's last row wins; a later file replaces changed values and counts unchanged ones as duplicates", async () => {
      const dataDir = freshDir();
      const s = (await importActivityFiles({ store, dataDir, files: [fixture("openpal-metrics.csv")] })).files[0] as ActivityFileSummary;
      assert.equal(s.kind, "metrics");
      assert.deepEqual(s.skipped, { "metric does not apply to the workload": 1, "unknown metric": 1, "superseded by a later row of the file": 1 });
      accountedFor(s);
      assert.deepEqual(s.months, ["2026-09", "2026-10"]);
      const read = async () => query(`SELECT resource_id, metric, value FROM read_parquet('${activityMetricsFile(dataDir, "2026-10")}') ORDER BY resource_id`);
      assert.deepEqual(await read(), [
        { resource_id: CI, metric: "UnifiedProfiles", value: 1200n },
        { resource_id: FLOW1, metric: "MonthlyActiveUsers", value: 42n },
      ]);
      const cols = await query(`DESCRIBE SELECT * FROM ${activityMetricsRelation(dataDir, "2026-10")}`);
      assert.deepEqual(cols.map((c) => [c.column_name, c.column_type]), ACTIVITY_METRIC_COLUMNS.map(([n, t]) => [n, t]));
      const u = (await importActivityFiles({ store, dataDir, files: [fixture("openpal-metrics-update.csv")] })).files[0] as ActivityFileSummary;
      assert.equal(u.updated, 1);
      assert.equal(u.skipped.duplicate, 1);
      assert.deepEqual(await read(), [
        { resource_id: CI, metric: "UnifiedProfiles", value: 1300n },
        { resource_id: FLOW1, metric: "MonthlyActiveUsers", value: 42n },
      ]);
    });

    it("a delegated administrator's home UPN resolves to its home object id when no guest exists (decision 7); without a store nothing resolves and nothing is checked", async () => {
      const dataDir = freshDir();
      // Remove the guest path: Contoso's dana in a tenant where she has no guest but Contoso is a delegated admin.
      const file = write(
        `delegated-${counter}.csv`,
        "Timestamp,TenantId,Workload,ResourceId,UserObjectId,Operation\n" +
          `2026-10-20T10:00:00Z,${FAB},PowerApps,${APP1},DANA@contoso-pp.example,LaunchPowerApp\n` +
          `2026-10-20T11:00:00Z,${FAB},PowerApps,${APP1},11111111-2222-4333-8444-555555555555,LaunchPowerApp\n`,
      );
      const s = (await importActivityFiles({ store, dataDir, files: [file] })).files[0] as ActivityFileSummary;
      const oct = await events(dataDir, "2026-10");
      // The guest exists in Fabrikam: the home UPN resolves to it first.
      assert.deepEqual(oct.map((e) => e.user_object_id).sort(), ["11111111-2222-4333-8444-555555555555", GUEST]);
      assert.deepEqual(s.unknownUsers, { count: 1, sample: ["11111111-2222-4333-8444-555555555555"] });
      const bare = (await importActivityFiles({ dataDir: freshDir(), files: [file] })).files[0] as ActivityFileSummary;
      assert.equal(bare.skipped["unresolved user"], 1);
      assert.equal(bare.unknownResources, "not checked");
      assert.equal(bare.unknownUsers, "not checked");
    });
  });
}

describe("activity import: bad files", () => {
  let store: Store;
  before(async () => {
    store = await worldStore(() => storeBackends()[0]!.open());
  });
  after(() => store.close());

  const cases: [string, RegExp][] = [
    ["bad-timestamp.csv", /bad-timestamp\.csv:3: bad timestamp "yesterday"\. Fix the timestamp\(s\): ISO 8601.*--max-bad-rows 1.*Nothing was written/],
    ["unknown-header.csv", /unknown-header\.csv:1: the format cannot be recognised from the header \(When, Who, What\).*Pass --format/],
    ["powerbi-truncated.json", /powerbi-truncated\.json:1: the JSON value starting on this line does not end/],
    ["bad-auditdata.csv", /bad-auditdata\.csv:3: bad AuditData JSON\. The AuditData cell must hold the JSON object/],
    ["bad-metrics.csv", /bad-metrics\.csv:3: bad month "October"\. Fix the value\(s\) \(Month as YYYY-MM/],
  ];
  for (const [name, message] of cases) {
    it(`${name}: the import fails naming file:line and the fix, and nothing is written`, async () => {
      const dataDir = freshDir();
      await assert.rejects(importActivityFiles({ store, dataDir, files: [fixture(name)] }), (e: Error) => {
        assert.ok(e instanceof ActivityImportError, String(e));
        assert.match(e.message, message);
        return true;
      });
      assert.deepEqual(activityMonths(dataDir), []);
      assert.equal(readActivityManifest(dataDir).imports.length, 0);
      const dir = path.join(dataDir, "activity");
      if (existsSync(dir)) assert.deepEqual(readdirSync(dir).filter((n) => n !== "_lock"), []);
    });
  }

  it("--max-bad-rows skips and counts bad timestamps instead of failing", async () => {
    const s = (await importActivityFiles({ store, dataDir: freshDir(), files: [fixture("bad-timestamp.csv")], maxBadRows: 1 })).files[0] as ActivityFileSummary;
    assert.equal(s.skipped["bad timestamp"], 1);
    assert.equal(s.kept, 2);
    assert.match(s.badRows[0] ?? "", /bad-timestamp\.csv:3: bad timestamp "yesterday"/);
  });

  it("invalid JSON names the line of the error inside the page", async () => {
    const file = write("broken.json", '{\n  "activityEventEntities": [\n    {"Id": "x",}\n  ]\n}\n');
    await assert.rejects(importActivityFiles({ store, dataDir: freshDir(), files: [file] }), /broken\.json:3: not valid JSON/);
  });

  it("--format is checked against the header, and a file that fails stops the files after it but keeps the ones before", async () => {
    const dataDir = freshDir();
    await assert.rejects(importActivityFiles({ store, dataDir, files: [fixture("openpal-activity.csv")], format: "pp-analytics" }), /openpal-activity\.csv:1: the header has no AppId, ObjectID, timeaccessed columns, which --format pp-analytics needs/);
    await assert.rejects(importActivityFiles({ store, dataDir, files: [fixture("pp-analytics.csv"), fixture("bad-timestamp.csv"), fixture("m365-audit-log.csv")] }), /bad-timestamp\.csv:3/);
    assert.deepEqual(readActivityManifest(dataDir).imports.map((r) => path.basename(r.file)), ["pp-analytics.csv"]);
  });

  it("an id-less event gets the same event id whether its file needs user resolution or not", async () => {
    const dataDir = freshDir();
    const header = "Timestamp,TenantId,Workload,ResourceId,UserObjectId,Operation\n";
    const row = `2026-10-21T10:00:00Z,${FAB},PowerApps,${APP1},${ERIN.toUpperCase()},LaunchPowerApp\n`;
    await importActivityFiles({ store, dataDir, files: [write(`ids-a-${counter}.csv`, header + row)] });
    const s = (await importActivityFiles({ store, dataDir, files: [write(`ids-b-${counter}.csv`, header + row + `2026-10-21T11:00:00Z,${FAB},PowerApps,${APP1},maker@fabrikam-pp.example,LaunchPowerApp\n`)] })).files[0] as ActivityFileSummary;
    assert.equal(s.skipped.duplicate, 1);
    assert.equal(s.kept, 1);
    const oct = await events(dataDir, "2026-10");
    assert.deepEqual(oct.map((e) => e.user_object_id), [ERIN, MAKER]);
  });

  it("a missing file is named with the fix", async () => {
    await assert.rejects(importActivityFiles({ store, dataDir: freshDir(), files: [path.join(tmpRoot, "nope.csv")] }), /nope\.csv: no such file\. Check the path\./);
  });

  it("the same events in a renamed copy of a file are duplicates (event ids, not file names, decide)", async () => {
    const dataDir = freshDir();
    await importActivityFiles({ store, dataDir, files: [fixture("pp-analytics.csv")] });
    const copy = path.join(tmpRoot, `copy-${counter}.csv`);
    copyFileSync(fixture("pp-analytics.csv"), copy);
    writeFileSync(copy, readFileSync(copy, "utf8") + "\n");
    const s = (await importActivityFiles({ store, dataDir, files: [copy] })).files[0] as ActivityFileSummary;
    assert.equal(s.alreadyImported, false);
    assert.equal(s.kept, 0);
    assert.equal(s.skipped.duplicate, 3);
  });
});
