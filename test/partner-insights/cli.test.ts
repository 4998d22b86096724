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
import { ALICE_GUEST, ALICE_HOME, CONTOSO_TENANT, FABRIKAM_TENANT, PROD, SUB_PROD, baseWorld, vm } from "../scenarios/world.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { azureUsageReport } from "../../src/attribution/index.ts";
import { parseScope } from "../../src/identity/index.ts";
import { insightsCommand, PARTNER_CENTER_SCOPE, type InsightsSession } from "../../src/cli/commands/insights.ts";
import { PARTNER_CENTER_AUDIENCE } from "../../src/partner-insights/index.ts";
import { CliError, ExitCode } from "../../src/cli/errors.ts";
import { grantReportViewer, pcToken, runDue } from "./support.ts";

const MONTH = "2026-10";

describe("openpal insights (CLI)", () => {
  let server: TestServer;
  let session: InsightsSession;
  let dir: string;
  before(async () => {
    server = await startTestServer({ deps: { clock: new ManualClock("2026-11-20T08:00:00Z") } });
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

  const run = async (...args: string[]): Promise<string> => {
    let out = "";
    await insightsCommand(async () => session, (t) => (out += t)).exitOverride().parseAsync(args, { from: "user" });
    return out;
  };

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
});
