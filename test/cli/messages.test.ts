/**
 * Messages a user trips over (issue 13 item 6): trimmed partner ids, unknown ids that say how ids
 * are registered, --global-id given a location id, "set" vs "changed", bare command groups, and
 * one period at the end of a renewal failure.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Command } from "commander";
import { startTestServer, type TestServer } from "../support/server.ts";
import { arm, mintToken, O, P, PAL, seedWorld, T, V } from "../providers/managementpartner/fixture.ts";
import { buildProgram, trimPartnerIds } from "../../src/cli/program.ts";
import { describeDporSet, dporCommand, type FlatPartnerOfRecord } from "../../src/cli/commands/dpor.ts";
import { cliErrorFrom, type ArmSession } from "../../src/cli/commands/managementpartner.ts";
import { renewalFailure } from "../../src/cli/session.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { azureUsageReport, coverageReport, ReportError } from "../../src/attribution/index.ts";

describe("partner ids with surrounding whitespace are trimmed", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await seedWorld(server.openpal.context.store);
  });
  after(async () => server.close());

  it("PAL: PUT /partners/%204000001%20 links 4000001 (the resource's name and partnerId have no spaces)", async () => {
    const token = await mintToken(server, { tid: T.fabrikam, oid: O.alice });
    const put = await arm(server, "PUT", `${PAL}/partners/%20${P.contosoUs}%20?${V}`, token);
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json().name, P.contosoUs);
    assert.equal((put.json().properties as { partnerId: string }).partnerId, P.contosoUs);
    const get = await arm(server, "GET", `${PAL}/partners/${P.contosoUs}%09?${V}`, token);
    assert.equal(get.status, 200, get.text);
    assert.equal((await arm(server, "DELETE", `${PAL}/partners/%20${P.contosoUs}?${V}`, token)).status, 200);
  });

  it("the CLI trims --partner-id and --global-id before any command runs", async () => {
    const sent: unknown[] = [];
    const session: ArmSession = {
      account: { tenantId: T.fabrikam },
      async fetch(_path, init = {}) {
        sent.push(JSON.parse(String(init.body)));
        return new Response(JSON.stringify({ partnerId: P.contosoUs, valid: true, partnerName: "Contoso Consulting", reason: null }), { status: 200 });
      },
    };
    const program = new Command("openpal").exitOverride();
    program.addCommand(dporCommand(async () => session));
    program.hook("preAction", trimPartnerIds);
    const out = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      await program.parseAsync(["node", "openpal", "dpor", "validate", "--partner-id", ` ${P.contosoUs}\t`, "-o", "json"]);
    } finally {
      process.stdout.write = out;
    }
    assert.deepEqual(sent, [{ partnerId: P.contosoUs }]);
    const hooks = (buildProgram() as unknown as { _lifeCycleHooks: { preAction?: unknown[] } })._lifeCycleHooks.preAction ?? [];
    assert.ok(hooks.includes(trimPartnerIds), "buildProgram installs the hook");
  });

  it("an unknown partner id in the DPOR API and the insights API says how ids are registered in this instance", async () => {
    const token = await mintToken(server, { tid: T.fabrikam, oid: O.alice });
    const v = await arm(server, "POST", "/providers/Microsoft.OpenPAL/validatePartnerId?api-version=2026-01-01", token, { body: JSON.stringify({ partnerId: "9999999" }), headers: { "content-type": "application/json" } });
    assert.equal(v.status, 200, v.text);
    assert.match(String(v.json().reason), /'9999999' is not registered in this OpenPAL instance\. Partner ids are registered by the operator .*PUT \/admin\/partners\/\{globalId\}.*world file/);
    const contoso = await mintToken(server, { tid: T.contoso, oid: O.bob });
    const i = await server.fetch("/insights/partners/9999999/azureUsage?month=2026-10", { headers: { authorization: `Bearer ${contoso}` } });
    assert.equal(i.status, 404);
    assert.match(await i.text(), /PUT \/admin\/partners/);
  });

  it("PAL's own error for an unknown id stays the recorded bytes (the hint lives in the CLI, portal, reports and OpenPAL APIs)", async () => {
    const token = await mintToken(server, { tid: T.fabrikam, oid: O.alice });
    const r = await arm(server, "PUT", `${PAL}/partners/9999999?${V}`, token);
    assert.equal(r.status, 400);
    assert.equal((r.json() as { message: string }).message, "The Partner ID is not valid");
  });
});

describe("openpal managementpartner and an unregistered id", () => {
  it("adds how ids are registered to PAL's bare 'The Partner ID is not valid', and only to that", () => {
    const bare = cliErrorFrom(400, JSON.stringify({ error: { code: "PartnerIdInvalid", message: "The Partner ID is not valid" } }));
    assert.match(bare.message, /^\(PartnerIdInvalid\) The Partner ID is not valid: it is not registered in this OpenPAL instance\. Partner ids are registered by the operator/);
    const global = cliErrorFrom(400, JSON.stringify({ error: { code: "PartnerIdInvalid", message: "The Partner ID is not valid. '4000000' is the global id" } }));
    assert.doesNotMatch(global.message, /registered/);
  });
});

describe("report messages", () => {
  let store: Store;
  before(async () => {
    store = await openStore({ kind: "sqlite", sqlitePath: ":memory:" });
    await seedWorld(store);
    await store.attribution.replaceMonth({
      month: "2026-10", policy: "pec", policyVersion: "pec-test", ranAt: Date.now(), usageRows: 0, attributedRows: 0, facts: 0, factsPath: null, unknownSubscriptions: [], details: {},
    } as never, []);
  });
  after(async () => store.close());

  it("--global-id given a location id says so and names its global id", async () => {
    await assert.rejects(() => azureUsageReport(store, { month: "2026-10", globalId: P.contosoUs }), (e: Error) => {
      assert.ok(e instanceof ReportError);
      assert.match(e.message, /^4000001 is a location id of Contoso Consulting, not a global id; its global id is 4000000\. Use --global-id 4000000 .* or --partner-id 4000001/);
      return true;
    });
  });

  it("an unknown partner id in a report says how partner ids are registered", async () => {
    await assert.rejects(() => azureUsageReport(store, { month: "2026-10", partnerId: "9999999" }), /9999999 is not registered.*PUT \/admin\/partners\/\{globalId\}.*openpal world apply/);
    await assert.rejects(() => azureUsageReport(store, { month: "2026-10", globalId: "9999990" }), /9999990 is not registered.*PUT \/admin\/partners/);
    await assert.rejects(() => coverageReport(store, { partnerId: "9999999", dataDir: "/nonexistent", now: Date.now() }), /PUT \/admin\/partners/);
  });
});

describe("DPOR set says set, then changed", () => {
  const after = (partnerId: string): FlatPartnerOfRecord => ({ subscriptionId: "s1", subscriptionName: "fabrikam-prod", partnerId, partnerName: "Contoso Consulting", since: null, history: [] });
  it("the first assignment is 'set', another id is 'changed from', the same id is 'unchanged'", () => {
    assert.equal(describeDporSet(null, after("4000001")), "partner of record set: Contoso Consulting (4000001) is now the partner of record of fabrikam-prod.");
    assert.equal(describeDporSet("4000002", after("4000001")), "partner of record changed from 4000002 to Contoso Consulting (4000001) on fabrikam-prod.");
    assert.match(describeDporSet("4000001", after("4000001")), /^partner of record unchanged/);
  });
});

describe("command groups without a subcommand", () => {
  const capture = async (args: string[]): Promise<{ out: string; error?: unknown }> => {
    let out = "";
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => { out += chunk; return true; }) as typeof process.stdout.write;
    try {
      await buildProgram().parseAsync(["node", "openpal", ...args]);
      return { out };
    } catch (error) {
      return { out, error };
    } finally {
      process.stdout.write = write;
    }
  };
  for (const group of ["account", "report", "world", "usage", "attribution", "import", "dpor", "managementpartner"]) {
    it(`\`openpal ${group}\` prints its help to stdout and succeeds`, async () => {
      const r = await capture([group]);
      assert.equal(r.error, undefined);
      assert.match(r.out, new RegExp(`^Usage: openpal ${group} \\[options\\] \\[command\\]`));
      assert.match(r.out, /Commands:/);
    });
  }
  it("an unknown subcommand is a usage error naming the group's commands", async () => {
    const r = await capture(["account", "nope"]);
    assert.match(String((r.error as Error).message), /unknown command 'nope' for 'openpal account'; the commands are show/);
  });
});

describe("a failed token renewal reads as one sentence", () => {
  it("ends Entra's line with exactly one period (never 'token..')", () => {
    const message = renewalFailure("t1", { error: "invalid_grant", error_description: "AADSTS9002313: The provided value for the input parameter 'refresh_token' is not valid. Sign in again to get a new refresh token.\r\nTrace ID: x" });
    assert.doesNotMatch(message, /\.\./);
    assert.match(message, /get a new refresh token\. Run `openpal login` again/);
  });
});
