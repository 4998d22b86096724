/**
 * End to end: a world with a Power Platform estate and a month of activity → `attributeUsage`
 * (the engine writes facts and rollups) → the report, explain, diagnose and coverage read what it
 * wrote, and the CLI prints it (`openpal report bizapps-usage`, `explain --resource`,
 * `diagnose --resource`, `coverage`).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { attributeUsage } from "../../src/attribution/engine.ts";
import { activityEventsFile, activityMetricsFile } from "../../src/activity/lake.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { databaseConfigFrom, openStore, type Store } from "../../src/store/index.ts";
import { loadOptions } from "../../src/options/index.ts";
import { bizappsUsageReport } from "../../src/bizapps/report.ts";
import { explainBizappsResource } from "../../src/bizapps/explain.ts";
import { diagnoseBizappsResource } from "../../src/bizapps/diagnose.ts";
import { bizappsCoverage } from "../../src/bizapps/coverage.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { ALICE_GUEST, BOB_GUEST, FABRIKAM_TENANT, NORA_GUEST, g } from "../scenarios/world.ts";
import { APP1, APP5, DS3, FLOW2, FLOW6, MDA4, MONTH, bizWorld } from "./support.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const USER = g("0e", 7);

async function writeLake(dataDir: string): Promise<void> {
  mkdirSync(path.dirname(activityEventsFile(dataDir, MONTH)), { recursive: true });
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    const s = (v: string) => `'${v}'`;
    const ev: [string, string, string, string, boolean][] = [
      ["2026-10-20 10:00:00", APP1, ALICE_GUEST, "LaunchPowerApp", true],
      ["2026-10-25 08:00:00", APP1, NORA_GUEST, "LaunchPowerApp", true],
      ["2026-10-18 09:00:00", APP5, ALICE_GUEST, "LaunchPowerApp", true],
      ["2026-10-12 09:00:00", DS3, USER, "ViewReport", true],
      ["2026-10-13 09:00:00", DS3, ALICE_GUEST, "ViewReport", true],
    ];
    const rows = ev.map(([at, r, u, op, use], i) => `(${s(`e${i}`)}, TIMESTAMP ${s(at)}, ${s(FABRIKAM_TENANT)}, ${s(r === DS3 ? "PowerBI" : "PowerApps")}, ${s(r)}, ${s(u)}, ${s(op)}, ${use}, 'openpal-activity')`);
    await c.run(`COPY (SELECT * FROM (VALUES ${rows.join(", ")}) t(event_id, "at", tenant_id, workload, resource_id, user_object_id, operation, is_use, source)) TO ${s(activityEventsFile(dataDir, MONTH))} (FORMAT PARQUET)`);
    await c.run(`COPY (SELECT * FROM (VALUES (${s(FABRIKAM_TENANT)}, 'PowerAutomate', ${s(FLOW6)}, 'MonthlyActiveUsers', CAST(3 AS BIGINT), 'openpal-metrics'),
      (${s(FABRIKAM_TENANT)}, 'PowerAutomate', ${s(FLOW2)}, 'MonthlyActiveUsers', CAST(4 AS BIGINT), 'openpal-metrics')) t(tenant_id, workload, resource_id, metric, value, source))
      TO ${s(activityMetricsFile(dataDir, MONTH))} (FORMAT PARQUET)`);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

describe("business applications end to end: engine → report, explain, diagnose, coverage, CLI", () => {
  let store: Store;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bize2e-"));
    const resolved = loadOptions({ dataDir }, {});
    if (!resolved.ok) throw new Error(resolved.problems.join("; "));
    store = await openStore(databaseConfigFrom(resolved.options));
    await applyScenarioWorld(store, bizWorld());
    await writeLake(dataDir);
    await attributeUsage({ store, dataDir, month: MONTH, clock: new ManualClock("2026-11-02T03:00:00Z"), threads: 1, memoryLimit: "256MB" });
  });
  after(async () => {
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("the report credits the app to the partner that acted last, the dataset and flow to their only partner, and nothing for unlinked owners", async () => {
    const r = await bizappsUsageReport(store, { month: MONTH });
    assert.equal(r.asOf, "2026-11-02T03:00:00.000Z");
    assert.deepEqual(r.rows.map((x) => [x.ResourceId, x.PGAPartnerId, x.AttributedUserObjectId, x.Quantity]).sort(),
      [[APP1, "5000000", NORA_GUEST, 2], [DS3, "4000000", ALICE_GUEST, 2], [FLOW6, "4000000", ALICE_GUEST, 3]].sort());
    const prod = await bizappsUsageReport(store, { month: MONTH, productionOnly: true });
    assert.deepEqual(prod.rows.map((x) => x.ResourceId).sort(), [APP1, DS3].sort());
  });
  it("explain reads the engine's facts: both partners' last acts and the solution import behind the model-driven app's owner", async () => {
    const x = await explainBizappsResource(store, dataDir, { resourceId: APP1, month: MONTH });
    assert.deepEqual(x.partners.map((p) => [p.globalId, p.lastActAt]), [["5000000", "2026-10-25T08:00:00Z"], ["4000000", "2026-10-20T10:00:00Z"]]);
    assert.equal(x.credited?.decidedBy, "latestActivity");
    const m = await explainBizappsResource(store, dataDir, { resourceId: MDA4, month: MONTH });
    const bob = m.candidates.find((c) => c.principalId === BOB_GUEST);
    assert.equal(bob?.basis, "solutionImport");
    assert.equal(bob?.solution?.uniqueName, "fabrikam_cases");
    assert.equal(bob?.notQualifyingReason, "noLink");
  });
  it("diagnose and coverage tell Contoso why, with the fix", async () => {
    const codes = async (id: string) => (await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: id, month: MONTH })).reasons.map((r) => r.code);
    assert.deepEqual(await codes(APP1), ["anotherPartnerLater"]);
    assert.deepEqual(await codes(MDA4), ["noLink"]);
    assert.deepEqual(await codes(FLOW2), ["noRelationship"]);
    assert.deepEqual(await codes(DS3), []);
    const c = await bizappsCoverage(store, dataDir, { partnerId: "4000000", month: MONTH });
    const by = new Map(c.customers[0]!.resources.map((r) => [r.resourceId, [r.status, r.reason]]));
    assert.deepEqual(Object.fromEntries(by), {
      [APP1]: ["atRisk", "anotherPartnerLater"], [MDA4]: ["atRisk", "noLink"], [APP5]: ["atRisk", "usedByLinkedIdentity"],
      [DS3]: ["credited", null], [FLOW6]: ["credited", null], [FLOW2]: ["notCovered", null],
    });
    assert.deepEqual(c.customers[0]!.credited, { mau: 5, unifiedProfiles: 0, value: "1000.00" });
  });
  it("the CLI prints the report as JSON and CSV, explains, diagnoses and covers; bad input exits with the fix", () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, "bin/openpal.js"), ...args, "--data-dir", dataDir], { encoding: "utf8", timeout: 60_000 });
    const json = cli("report", "bizapps-usage", "--month", MONTH, "--global-id", "4000000", "--format", "json");
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as { ResourceId: string }[]).map((r) => r.ResourceId).sort(), [DS3, FLOW6].sort());
    const csv = cli("report", "bizapps-usage", "--month", MONTH, "--production-only", "--format", "csv");
    assert.equal(csv.stdout.trimEnd().split("\n").length, 3);
    const table = cli("report", "bizapps-usage", "--month", MONTH);
    assert.match(table.stdout, /as of 2026-11-02T03:00:00.000Z/);
    const explain = cli("explain", "--resource", APP1, "--month", MONTH);
    assert.equal(explain.status, 0, explain.stderr);
    assert.match(explain.stdout, /Northwind Traders acted last/);
    const diag = cli("diagnose", "--partner-id", "4000000", "--resource", MDA4, "--month", MONTH);
    assert.match(diag.stdout, /\[noLink\][\s\S]*fix: Sign in to tenant .* az managementpartner create --partner-id 4000001/);
    const cov = cli("coverage", "--partner-id", "4000000", "--month", MONTH);
    assert.equal(cov.status, 0, cov.stderr);
    assert.match(cov.stdout, /Business applications, 2026-10/);
    assert.match(cov.stdout, /AT RISK/);
    const none = cli("report", "bizapps-usage", "--month", "2026-09");
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /openpal attribution run --month 2026-09/);
    const neither = cli("explain", "--month", MONTH);
    assert.match(neither.stderr, /give --subscription <id> \(Azure\) or --resource <id>/);
  });
});
