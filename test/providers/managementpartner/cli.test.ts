/**
 * `openpal managementpartner`: the command logic against a real server, through a session that
 * fetches with a token per tenant (as src/cli/session.ts does for the signed-in account).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { linkAll, runPartnerAction, formatTable, type ArmSession } from "../../../src/cli/commands/managementpartner.ts";
import { CliError, ExitCode } from "../../../src/cli/errors.ts";
import { arm, mintToken, O, P, PAL, seedWorld, T, V } from "./fixture.ts";

describe("openpal managementpartner", () => {
  let server: TestServer;
  /** Bob's session: his home object in Contoso, his guest objects elsewhere. */
  let bob: ArmSession;
  const objectIn: Record<string, string> = { [T.contoso]: O.bob, [T.fabrikam]: O.bobGuest, [T.woodgrove]: O.bobGuestWoodgrove };

  before(async () => {
    server = await startTestServer();
    await seedWorld(server.openpal.context.store);
    bob = {
      account: { tenantId: T.contoso },
      async fetch(path, init = {}) {
        const tid = init.tenantId ?? T.contoso;
        const token = await mintToken(server, { tid, oid: objectIn[tid] as string });
        return server.fetch(path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
      },
    };
  });
  after(async () => server.close());

  describe("create, show, update and delete print az's flattened object", () => {
    it("keys and values", async () => {
      const created = await runPartnerAction(bob, "create", P.contosoUs);
      assert.deepEqual(Object.keys(created ?? {}), ["createdTime", "etag", "id", "name", "objectId", "partnerId", "partnerName", "state", "tenantId", "type", "updatedTime", "version"]);
      assert.equal(created?.partnerName, "Contoso Consulting");
      assert.equal((await runPartnerAction(bob, "show", undefined))?.partnerId, P.contosoUs);
      assert.equal((await runPartnerAction(bob, "update", P.contosoGb))?.version, 2);
      assert.equal(await runPartnerAction(bob, "delete", P.contosoGb), undefined);
    });
  });

  describe("errors exit with a code a script can branch on and the server's message", () => {
    it("404 not linked, 409 already linked, 400 invalid id, missing --partner-id", async () => {
      const fails = (p: Promise<unknown>, exit: number, text: RegExp) => assert.rejects(p, (e: unknown) => e instanceof CliError && e.exitCode === exit && text.test(e.message));
      await fails(runPartnerAction(bob, "show", undefined), ExitCode.notFound, /not linked with a Partner ID/);
      await runPartnerAction(bob, "create", P.contosoUs);
      await fails(runPartnerAction(bob, "create", P.contosoGb), ExitCode.conflict, /PATCH/);
      await fails(runPartnerAction(bob, "update", P.contosoGlobal), ExitCode.usage, /Associated \(location\) Partner ID/);
      await fails(runPartnerAction(bob, "update", undefined), ExitCode.usage, /--partner-id is required/);
      await runPartnerAction(bob, "delete", P.contosoUs);
    });
  });

  describe("link-all links where missing, leaves the same id, reports a different id unless --overwrite", () => {
    it("walks every tenant from GET /tenants", async () => {
      await arm(server, "PUT", `${PAL}/partners/${P.contosoUs}?${V}`, await mintToken(server, { tid: T.fabrikam, oid: O.bobGuest }));
      await arm(server, "PUT", `${PAL}/partners/${P.northwindUs}?${V}`, await mintToken(server, { tid: T.woodgrove, oid: O.bobGuestWoodgrove }));
      const rows = await linkAll(bob, P.contosoUs, false);
      assert.deepEqual(rows.map((r) => [r.tenant, r.result, r.partnerId]), [["Contoso", "linked", "4000001"], ["Fabrikam", "unchanged", "4000001"], ["Woodgrove", "different", "5000001"]]);
      const again = await linkAll(bob, P.contosoUs, true);
      assert.deepEqual(again.map((r) => r.result), ["unchanged", "unchanged", "relinked"]);
      assert.match(formatTable(again as unknown as Record<string, unknown>[], ["tenant", "result"]), /^tenant +result\n-+ +-+\nContoso +unchanged\n/);
    });
  });
});
