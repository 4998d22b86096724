/**
 * `openpal insights …` against a running server, signed in as a partner user: create a query,
 * run a report now, list its executions and download the file by its link (no token); the
 * downloaded ACR equals `openpal report azure-usage`'s for the same partner and month.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestServer, type TestServer } from "../support/server.ts";
import { applyScenarioWorld, daily, runScenario } from "../scenarios/support.ts";
import { ALICE_GUEST, ALICE_HOME, BOB_HOME, CONTOSO_TENANT, FABRIKAM_TENANT, PROD, SUB_PROD, baseWorld, vm } from "../scenarios/world.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { azureUsageReport } from "../../src/attribution/index.ts";
import { parseScope } from "../../src/identity/index.ts";
import { insightsCommand, PARTNER_CENTER_SCOPE, type InsightsSession } from "../../src/cli/commands/insights.ts";
import { PARTNER_CENTER_AUDIENCE } from "../../src/partner-insights/index.ts";
import { CliError, ExitCode } from "../../src/cli/errors.ts";
import { DirectoryRole } from "../../src/graph/roles.ts";
import { grantReportViewer, pcToken, runDue } from "./support.ts";

const MONTH = "2026-10";

describe("openpal insights (CLI)", () => {
  let server: TestServer;
  let session: InsightsSession;
  let dir: string;
  const clock = new ManualClock("2026-11-20T08:00:00Z");
  before(async () => {
    server = await startTestServer({ deps: { clock } });
    await applyScenarioWorld(server.openpal.context.store, baseWorld({ roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: PROD }] },
      { links: [{ tenantId: FABRIKAM_TENANT, objectId: ALICE_GUEST, partnerId: "4000001" }] }));
    await runScenario(server.openpal.context.store, daily(MONTH, () => ({ subscription: SUB_PROD, resource: vm(SUB_PROD, "rg", "vm1"), cost: 2.5 })), MONTH, "pec", server.dataDir);
    await grantReportViewer(server.openpal.context.store, CONTOSO_TENANT, ALICE_HOME);
    const token = await pcToken(server, CONTOSO_TENANT, ALICE_HOME);
    session = {
      fetch: (p, init = {}) => server.fetch(p, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } }),
      download: (url) => server.fetch(url),
    };
    dir = mkdtempSync(path.join(os.tmpdir(), "openpal-insights-cli-"));
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const runAs = async (as: InsightsSession, args: string[]): Promise<string> => {
    let out = "";
    await insightsCommand(async () => as, (t) => (out += t)).exitOverride().parseAsync(args, { from: "user" });
    return out;
  };
  const run = (...args: string[]): Promise<string> => runAs(session, args);

  it("the CLI asks for tokens whose audience is Partner Center's", () => {
    assert.equal(parseScope(PARTNER_CENTER_SCOPE).audience, PARTNER_CENTER_AUDIENCE);
  });

  it("query create → report create --execute-now → executions → download: ACR equals the CLI report", async () => {
    const q = JSON.parse(await run("query", "create", "--name", "acr", "--query", "SELECT MpnId, IsACRDuplicateAtPGALevel, TotalACR FROM AzureUsage TIMESPAN LAST_MONTH", "-o", "json")) as { queryId: string }[];
    const queryId = q[0]!.queryId;
    assert.match(await run("query", "list", "--no-system"), /acr/);
    const test = JSON.parse(await run("query", "test", "--query-id", queryId, "-o", "json")) as Record<string, unknown>[];
    assert.deepEqual(test, [{ MpnId: "4000001", IsACRDuplicateAtPGALevel: 0, TotalACR: "77.50" }]);
    const r = JSON.parse(await run("report", "create", "--name", "now", "--query-id", queryId, "--execute-now", "-o", "json")) as { reportId: string }[];
    const reportId = r[0]!.reportId;
    await runDue(server);
    assert.match(await run("executions", "--report-id", reportId), /Completed/);
    const file = path.join(dir, "acr.csv");
    await run("download", "--report-id", reportId, "--out", file);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    assert.equal(lines[0], "MpnId,IsACRDuplicateAtPGALevel,TotalACR");
    const cli = await azureUsageReport(server.openpal.context.store, { month: MONTH, partnerId: "4000001" });
    assert.deepEqual(lines.slice(1), cli.map((x) => `${x.PartnerId},${x.IsACRDuplicateAtPGALevel ? 1 : 0},${x.ACR}`));
    assert.match(await run("report", "pause", "--report-id", reportId), /Inactive|Paused/);
    assert.match(await run("report", "delete", "--report-id", reportId), /now/);
    await run("query", "delete", "--query-id", queryId);
    assert.match(await run("datasets"), /AzureUsage/);
  });

  it("errors carry the server's message and an exit code", async () => {
    await assert.rejects(run("query", "create", "--name", "x", "--query", "SELECT Nope FROM AzureUsage"),
      (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.usage && /Incorrect column name/.test(e.message));
    await assert.rejects(run("report", "list", "--report-id", "00000000-0000-4000-8000-000000000000"),
      (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.notFound);
  });

  it("the report table shows why the scheduler paused a report (pausedReason), and the executions table a Failed execution's errorMessage", async () => {
    const store = server.openpal.context.store;
    // Bob (Global Administrator) reads the report once Alice, its user, lost the role.
    await store.directoryRoles.grant(CONTOSO_TENANT, DirectoryRole.GlobalAdministrator, BOB_HOME, null);
    // A token minted at each call: the clock moves past a token's lifetime.
    const bob: InsightsSession = {
      fetch: async (p, init = {}) => server.fetch(p, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${await pcToken(server, CONTOSO_TENANT, BOB_HOME)}` } }),
      download: (url) => server.fetch(url),
    };
    const q = JSON.parse(await run("query", "create", "--name", "profile", "--query", "SELECT MpnId FROM Profile", "-o", "json")) as { queryId: string }[];
    const start = clock.now() + 5 * 3_600_000;
    const r = JSON.parse(await run("report", "create", "--name", "paused-later", "--query-id", q[0]!.queryId, "--start-time", new Date(start).toISOString().replace(/\.\d{3}Z$/, "Z"), "--interval", "4", "-o", "json")) as { reportId: string }[];
    const reportId = r[0]!.reportId;
    const active = await run("report", "list", "--report-id", reportId);
    assert.doesNotMatch(active, /pausedReason/, "no pausedReason column while no listed report is paused");

    await store.directoryRoles.revoke(CONTOSO_TENANT, DirectoryRole.ExecutiveReportViewer, ALICE_HOME, clock.now());
    clock.set(start + 60_000);
    try {
      assert.equal(await runDue(server), 1);
      const table = await runAs(bob, ["report", "list", "--report-id", reportId]);
      const [header, , row] = table.split("\n");
      assert.match(header!, /reportStatus .*pausedReason/);
      assert.match(row!, /Paused .*Access denied: the report's user \S+ .*produced no report and the report was paused/);
      const executions = await runAs(bob, ["executions", "--report-id", reportId, "--status", "Failed"]);
      assert.match(executions.split("\n")[0]!, /executionStatus .*errorMessage/);
      assert.match(executions, /Failed .*Access denied: the report's user \S+ /);
    } finally {
      await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
    }
  });
});
