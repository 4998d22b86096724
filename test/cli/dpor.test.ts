/**
 * `openpal dpor`: the command logic against a real server on every store backend, through a
 * session that fetches with the signed-in account's token (as src/cli/session.ts does).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";
import { storeBackends } from "../support/stores.ts";
import { runDporAction, validatePartnerId } from "../../src/cli/commands/dpor.ts";
import type { ArmSession } from "../../src/cli/commands/managementpartner.ts";
import { CliError, ExitCode } from "../../src/cli/errors.ts";
import { mintToken, O, P, S, seedArmWorld, T } from "../providers/authorization/fixture.ts";

for (const backend of storeBackends()) {
  describe(`openpal dpor (${backend.name})`, () => {
    let server: TestServer;
    const sessionOf = (tid: string, oid: string): ArmSession => ({
      account: { tenantId: tid },
      async fetch(path, init = {}) {
        const token = await mintToken(server, { tid, oid });
        return server.fetch(path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
      },
    });
    before(async () => {
      server = await startTestServer({ backend });
      await seedArmWorld(server.openpal.context.store);
    });
    after(async () => server.close());
    const fails = (p: Promise<unknown>, exit: number, text: RegExp) => assert.rejects(p, (e: unknown) => e instanceof CliError && e.exitCode === exit && text.test(e.message));

    it("validate names the partner, or says why not", async () => {
      const alice = sessionOf(T.fabrikam, O.alice);
      assert.deepEqual(await validatePartnerId(alice, P.contosoUs), { partnerId: P.contosoUs, valid: true, partnerName: "Contoso Consulting", reason: null });
      const global = await validatePartnerId(alice, P.contosoGlobal);
      assert.equal(global.valid, false);
      assert.match(global.reason ?? "", /Associated \(location\) Partner ID/);
    });

    it("the account owner sets, shows and removes; the history is kept", async () => {
      const alice = sessionOf(T.fabrikam, O.alice);
      const set = await runDporAction(alice, "set", S.ea, P.contosoUs);
      assert.equal(set.partnerId, P.contosoUs);
      assert.equal(set.partnerName, "Contoso Consulting");
      assert.equal((await runDporAction(alice, "show", S.ea)).partnerId, P.contosoUs);
      const removed = await runDporAction(alice, "remove", S.ea);
      assert.equal(removed.partnerId, null);
      assert.equal(removed.history.length, 1);
    });

    it("exit codes: 6 for someone other than the account owner, 2 for a non-EA subscription, a bad id or a missing flag, 4 for an unknown subscription", async () => {
      await fails(runDporAction(sessionOf(T.fabrikam, O.spFabrikam), "set", S.ea, P.contosoUs), ExitCode.forbidden, /DporNotAccountOwner.*only the EA account owner/);
      await fails(runDporAction(sessionOf(T.fabrikam, O.spFabrikam), "set", S.payg, P.contosoUs), ExitCode.usage, /PayAsYouGo/);
      await fails(runDporAction(sessionOf(T.fabrikam, O.alice), "set", S.ea, P.contosoRetired), ExitCode.usage, /PartnerIdInvalid/);
      await fails(runDporAction(sessionOf(T.fabrikam, O.alice), "set", S.ea), ExitCode.usage, /--partner-id is required/);
      await fails(runDporAction(sessionOf(T.fabrikam, O.alice), "show", undefined), ExitCode.usage, /--subscription is required/);
      await fails(runDporAction(sessionOf(T.fabrikam, O.alice), "show", "99999999-0000-4000-8000-000000000000"), ExitCode.notFound, /SubscriptionNotFound/);
    });
  });
}
