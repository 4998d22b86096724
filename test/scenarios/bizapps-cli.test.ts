/**
 * Business-applications attribution through the real CLI process: `openpal attribution run
 * --month M` on a data dir (SQLite store + activity lake) credits the business-applications
 * resources with the same month's Azure run, at the rates given as options; `openpal report
 * bizapps-usage --production-only` then leaves the Sandbox app out.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { openStore } from "../../src/store/index.ts";
import { applyScenarioWorld } from "./support.ts";
import { brief, scenarioDir, writeActivityEvents, writeActivityMetrics } from "./bizapps-lake.ts";
import { ALICE_GUEST, END, ENV_PROD, ENV_SANDBOX, NAMES, NORA_GUEST, app, bizWorld, ci, g, link, profiles } from "./bizapps-world.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const OCT = "2026-10";
const APP = g("a0", 2);
const INSTANCE = g("c1", 1);
const SANDBOX_APP = g("a0", 7);

describe("business applications through `openpal attribution run`", () => {
  const dir = scenarioDir();
  after(() => dir.cleanup());

  it("the CLI run credits apps and instances at the configured rates (150 per MAU, 0.25 per profile); the report with --production-only drops the Sandbox app", async () => {
    const store = await openStore({ kind: "sqlite", sqlitePath: path.join(dir.dataDir, "openpal.db") });
    try {
      await applyScenarioWorld(store, bizWorld({
        // "Service desk": alice (Contoso) owner, nora (Northwind) co-owner; "Customer 360": alice and nora instance users.
        // "Sandbox trial app": alice's, in the Sandbox environment.
        apps: [
          { id: APP, environment: ENV_PROD, displayName: "Service desk", kind: "canvas", createdBy: ALICE_GUEST, createdAt: "2026-08-01T00:00:00Z", coOwners: [{ principalId: NORA_GUEST, from: "2026-09-01T00:00:00Z" }] },
          { id: SANDBOX_APP, environment: ENV_SANDBOX, displayName: "Sandbox trial app", kind: "canvas", createdBy: ALICE_GUEST, createdAt: "2026-08-01T00:00:00Z" },
        ],
        customerInsights: { instances: [{ id: INSTANCE, displayName: "Customer 360", environment: ENV_PROD, users: [
          { principalId: ALICE_GUEST, role: "Administrator", from: "2026-09-01T00:00:00Z" }, { principalId: NORA_GUEST, role: "Viewer", from: "2026-09-01T00:00:00Z" },
        ] }] },
      }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] }));
    } finally {
      await store.close();
    }
    await writeActivityEvents(dir.dataDir, OCT, [
      app(APP, ALICE_GUEST, "2026-10-20T10:00:00Z"), app(APP, NORA_GUEST, "2026-10-25T08:00:00Z"), app(APP, END[0]!, "2026-10-26T12:00:00Z"),
      ci(INSTANCE, NORA_GUEST, "2026-10-05T09:00:00Z"), ci(INSTANCE, ALICE_GUEST, "2026-10-18T09:00:00Z"),
      app(SANDBOX_APP, END[1]!, "2026-10-03T09:00:00Z"), app(SANDBOX_APP, END[2]!, "2026-10-04T09:00:00Z"),
    ]);
    await writeActivityMetrics(dir.dataDir, OCT, [profiles(INSTANCE, 12345)]);

    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith("OPENPAL_")) delete env[k];
    const openpal = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, "bin/openpal.js"), ...args, "--data-dir", dir.dataDir], { env, encoding: "utf8", timeout: 120_000 });
    const r = openpal("attribution", "run", "--month", OCT, "--json", "--bizapps-rate-power-apps", "150", "--bizapps-rate-customer-insights", "0.25");
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { month: string; bizapps: { credited: number } };
    assert.equal(summary.month, OCT);
    assert.equal(summary.bizapps.credited, 3);

    const after = await openStore({ kind: "sqlite", sqlitePath: path.join(dir.dataDir, "openpal.db") });
    try {
      // Service desk: nora acted last (Oct 25) → Northwind; MAU {alice, nora, end1} = 3 × 150 = 450.00.
      // Customer 360: alice acted last (Oct 18) → Contoso; 12,345 profiles × 0.25 = 3086.25.
      // Sandbox trial app: alice alone; MAU {end2, end3} = 2 × 150 = 300.00, EnvironmentType Sandbox.
      assert.deepEqual(brief(await after.bizapps.rollups({ month: OCT }), NAMES), [
        "4000001 CanvasApp Sandbox trial app Owner alice 2 MAU 300.00 Sandbox onlyPartner",
        "4000001 Instance Customer 360 ActiveUser alice 12345 UnifiedProfiles 3086.25 Production latestActivity",
        "5000001 CanvasApp Service desk CoOwner nora 3 MAU 450.00 Production latestActivity",
      ]);
    } finally {
      await after.close();
    }

    // The report: every row, then --production-only without the Sandbox app.
    const report = (...extra: string[]) => {
      const out = openpal("report", "bizapps-usage", "--month", OCT, "--format", "json", ...extra);
      assert.equal(out.status, 0, out.stderr);
      return (JSON.parse(out.stdout) as Record<string, unknown>[])
        .map((x) => [x.PartnerId, x.PartnerAssociationType, x.Month, x.EnvironmentType, x.ResourceName, x.AttributedUserRole, x.QuantityType, x.Quantity, Number(x.MonthlyConsumptionValue).toFixed(2)].join(" ")).sort();
    };
    const sandbox = "4000001 PAL 2026-10 Sandbox Sandbox trial app Owner MAU 2 300.00";
    const production = ["4000001 PAL 2026-10 Production Customer 360 ActiveUser UnifiedProfiles 12345 3086.25", "5000001 PAL 2026-10 Production Service desk CoOwner MAU 3 450.00"];
    assert.deepEqual(report(), [...production, sandbox].sort());
    assert.deepEqual(report("--production-only"), production);
  });

  it("`--policy pec,all-roles` attributes both policies in one run, business applications once (same credit); a bad policy is refused with the fix", () => {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith("OPENPAL_")) delete env[k];
    const openpal = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, "bin/openpal.js"), ...args, "--data-dir", dir.dataDir], { env, encoding: "utf8", timeout: 120_000 });
    const r = openpal("attribution", "run", "--month", OCT, "--policy", "pec,all-roles", "--json", "--bizapps-rate-power-apps", "150", "--bizapps-rate-customer-insights", "0.25");
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { month: string; policies: { policy: string; bizapps?: unknown }[]; bizapps: { credited: number }; timings: Record<string, number> };
    assert.deepEqual(out.policies.map((p) => [p.policy, p.bizapps]), [["pec", undefined], ["all-roles", undefined]]);
    assert.equal(out.bizapps.credited, 3);
    assert.ok("bizapps" in out.timings && "facts (pec)" in out.timings && "facts (all-roles)" in out.timings);
    const text = openpal("attribution", "run", "--month", OCT, "--policy", "pec,all-roles");
    assert.equal(text.status, 0, text.stderr);
    assert.equal(text.stdout.match(/^business applications/gm)?.length, 1);
    assert.equal(text.stdout.match(/^attributed 2026-10 \(policy /gm)?.length, 2);
    const bad = openpal("attribution", "run", "--month", OCT, "--policy", "pec,owners");
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--policy "pec,owners": use pec, all-roles, or both comma-separated \(pec,all-roles\)/);
  });
});
