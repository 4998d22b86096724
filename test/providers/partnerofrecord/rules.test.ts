/**
 * The partner of record (DPOR) endpoints, rule by rule (ATTRIBUTION-RULES.md 10–12), with raw
 * HTTPS requests on every store backend. Fixture: S.ea (EA, account owner Alice, the automation
 * SP is Owner, Bob's guest is Reader, Erin is UAA on a resource group inside), S.payg
 * (pay-as-you-go), S.contoso (EA of another tenant, account owner Bob).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { storeBackends } from "../../support/stores.ts";
import { arm, ERIN, mintToken, O, P, S, seedArmWorld, T } from "../authorization/fixture.ts";

const V = "api-version=2026-01-01";
const dpor = (s: string, name = "default") => `/subscriptions/${s}/providers/Microsoft.OpenPAL/partnerOfRecord/${name}?${V}`;
const VALIDATE = `/providers/Microsoft.OpenPAL/validatePartnerId?${V}`;
const json = { "content-type": "application/json" };
const body = (partnerId: string) => ({ body: JSON.stringify({ properties: { partnerId } }), headers: json });
type Dpor = { properties: { partnerId: string | null; partnerName: string | null; since: string | null; history: { partnerId: string; to: string | null; endReason: string | null }[] } };
const errorCode = (text: string) => (JSON.parse(text) as { error: { code: string } }).error.code;

for (const backend of storeBackends()) {
  describe(`partner of record (${backend.name})`, () => {
    let server: TestServer;
    const tok: Record<string, string> = {};
    before(async () => {
      server = await startTestServer({ backend });
      await seedArmWorld(server.openpal.context.store);
      tok.alice = await mintToken(server, { tid: T.fabrikam, oid: O.alice });
      tok.sp = await mintToken(server, { tid: T.fabrikam, oid: O.spFabrikam, idtyp: "app" });
      tok.guest = await mintToken(server, { tid: T.fabrikam, oid: O.bobGuest });
      tok.erin = await mintToken(server, { tid: T.fabrikam, oid: ERIN });
      tok.bob = await mintToken(server, { tid: T.contoso, oid: O.bob });
      tok.foreign = await mintToken(server, { tid: T.fabrikam, oid: O.alice, foreign: true, home_tid: T.contoso });
    });
    after(async () => server.close());

    describe("Validate ID shows the partner's name, or why the id cannot be used (PAL's PartnerIdInvalid words)", () => {
      it("an active location id is valid and named; global, inactive, unknown and malformed ids are not", async () => {
        const ok = await arm(server, "POST", VALIDATE, tok.guest, { body: JSON.stringify({ partnerId: P.contosoUs }), headers: json });
        assert.equal(ok.status, 200);
        assert.deepEqual(ok.json(), { partnerId: P.contosoUs, valid: true, partnerName: "Contoso Consulting", reason: null });
        const global = (await arm(server, "POST", VALIDATE, tok.guest, { body: JSON.stringify({ partnerId: P.contosoGlobal }), headers: json })).json() as { valid: boolean; reason: string };
        assert.equal(global.valid, false);
        // The same words as PAL's refusal of the same id.
        const pal = await arm(server, "PUT", `/providers/Microsoft.ManagementPartner/partners/${P.contosoGlobal}?api-version=2018-02-01`, tok.alice);
        assert.equal(global.reason, (pal.json().error as { message: string }).message);
        for (const id of [P.contosoRetired, "9999999", "abc"]) {
          const r = (await arm(server, "POST", VALIDATE, tok.guest, { body: JSON.stringify({ partnerId: id }), headers: json })).json() as { valid: boolean; reason: string };
          assert.equal(r.valid, false, id);
          assert.match(r.reason, /^The Partner ID is not valid/);
        }
        const missing = await arm(server, "POST", VALIDATE, tok.guest, { body: "{}", headers: json });
        assert.equal(missing.status, 400);
        assert.equal(errorCode(missing.text), "InvalidRequestContent");
      });
    });

    describe("only the EA account owner may set, change or remove it (rule 10)", () => {
      it("the subscription's Owner, a delegated-admin user and an account owner of another tenant are refused with 403 naming who can", async () => {
        const owner = await arm(server, "PUT", dpor(S.ea), tok.sp, body(P.contosoUs));
        assert.equal(owner.status, 403);
        assert.equal(errorCode(owner.text), "DporNotAccountOwner");
        assert.match(owner.text, new RegExp(`only the EA account owner \\(${O.alice}\\)`));
        const foreign = await arm(server, "PUT", dpor(S.ea), tok.foreign, body(P.contosoUs));
        assert.equal(foreign.status, 403);
        assert.match(foreign.text, /delegated-admin/);
        assert.equal((await arm(server, "DELETE", dpor(S.ea), tok.sp)).status, 403);
      });
      it("EA subscriptions only: 400 naming the offer", async () => {
        const r = await arm(server, "PUT", dpor(S.payg), tok.sp, body(P.contosoUs));
        assert.equal(r.status, 400);
        assert.equal(errorCode(r.text), "DporNotEnterpriseAgreement");
        assert.match(r.text, /offer type PayAsYouGo/);
      });
      it("the partner id must be an active location id: 400 PartnerIdInvalid", async () => {
        for (const id of [P.contosoGlobal, P.contosoRetired, "9999999"]) {
          const r = await arm(server, "PUT", dpor(S.ea), tok.alice, body(id));
          assert.equal(r.status, 400, id);
          assert.equal(errorCode(r.text), "PartnerIdInvalid");
        }
      });
    });

    describe("one partner at a time, effective-dated: set opens an interval, a change closes it and opens the next, remove closes it", () => {
      it("set, read by a Reader, change, remove, remove again", async () => {
        const set = await arm(server, "PUT", dpor(S.ea), tok.alice, body(P.contosoUs));
        assert.equal(set.status, 200, set.text);
        const first = set.json() as Dpor;
        assert.equal(first.properties.partnerId, P.contosoUs);
        assert.equal(first.properties.partnerName, "Contoso Consulting");
        assert.match(first.properties.since ?? "", /^\d{4}-\d\d-\d\dT/);

        const read = await arm(server, "GET", dpor(S.ea), tok.guest);
        assert.equal(read.status, 200);
        assert.equal((read.json() as Dpor).properties.partnerId, P.contosoUs);

        const changed = (await arm(server, "PUT", dpor(S.ea), tok.alice, body(P.northwindUs))).json() as Dpor;
        assert.equal(changed.properties.partnerId, P.northwindUs);
        assert.deepEqual(changed.properties.history.map((h) => [h.partnerId, h.to === null, h.endReason]), [[P.contosoUs, false, "changed"], [P.northwindUs, true, null]]);

        assert.equal((await arm(server, "PUT", dpor(S.ea), tok.alice, body(P.northwindUs))).status, 200, "setting the partner in effect again changes nothing");
        assert.equal((await arm(server, "DELETE", dpor(S.ea), tok.alice)).status, 200);
        assert.equal((await arm(server, "DELETE", dpor(S.ea), tok.alice)).status, 204);
        const after = (await arm(server, "GET", dpor(S.ea), tok.alice)).json() as Dpor;
        assert.equal(after.properties.partnerId, null);
        assert.equal(after.properties.history.at(-1)?.endReason, "removed");

        const audit = (await server.openpal.context.store.audit.list({ tenantId: T.fabrikam })).filter((e) => e.action.startsWith("partnerOfRecord."));
        assert.deepEqual(audit.map((e) => e.action), ["partnerOfRecord.set", "partnerOfRecord.change", "partnerOfRecord.remove"]);
        assert.ok(audit.every((e) => e.actorObjectId === O.alice));
      });
    });

    describe("reading needs a role on the subscription (or being its account owner)", () => {
      it("a role only inside the subscription is not enough; another tenant's token is 401; a wrong resource name is 400", async () => {
        const erin = await arm(server, "GET", dpor(S.ea), tok.erin);
        assert.equal(erin.status, 403);
        assert.equal(errorCode(erin.text), "AuthorizationFailed");
        const bob = await arm(server, "GET", dpor(S.ea), tok.bob);
        assert.equal(bob.status, 401);
        assert.equal(errorCode(bob.text), "InvalidAuthenticationTokenTenant");
        assert.equal((await arm(server, "GET", dpor(S.contoso), tok.bob)).status, 200, "Bob is Contoso's account owner and Owner");
        const named = await arm(server, "GET", dpor(S.ea, "other"), tok.alice);
        assert.equal(named.status, 400);
        assert.equal(errorCode(named.text), "InvalidRequestUri");
        const unknown = await arm(server, "GET", dpor("99999999-0000-4000-8000-000000000000"), tok.alice);
        assert.equal(unknown.status, 404);
      });
    });

    describe("leaving EA ends the partner of record (rule 12)", () => {
      it("after a move to Azure plan the GET shows none, and setting one is refused naming the offer", async () => {
        await arm(server, "PUT", dpor(S.contoso), tok.bob, body(P.contosoGb));
        const store = server.openpal.context.store;
        await store.resources.putSubscription({ tenantId: T.contoso, id: S.contoso, displayName: "Contoso EA", offerType: "AzurePlan", accountOwnerId: O.bob }, { at: Date.now() });
        const after = (await arm(server, "GET", dpor(S.contoso), tok.bob)).json() as Dpor;
        assert.equal(after.properties.partnerId, null);
        const refused = await arm(server, "PUT", dpor(S.contoso), tok.bob, body(P.contosoGb));
        assert.equal(refused.status, 400);
        assert.match(refused.text, /offer type AzurePlan/);
      });
    });
  });
}
