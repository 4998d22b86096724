/**
 * One test per row of PAL-API.md's behaviour table, plus the version/createdTime rules and the
 * effective-dated history behind them. The whole suite runs on every store backend.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { storeBackends } from "../../support/stores.ts";
import { ManualClock } from "../../../src/domain/time.ts";
import { FOREIGN_PRINCIPAL_MESSAGE } from "../../../src/arm/index.ts";
import { arm, mintToken, O, P, PAL, seedWorld, T, V } from "./fixture.ts";

interface Resource {
  id: string; type: string; name: string; etag: number;
  properties: { partnerId: string; partnerName?: string; tenantId: string; objectId: string; version: number; updatedTime: string; createdTime: string; state: string };
}

const providerError = (code: string, message: string) => JSON.stringify({ error: { code, message }, code, message });

for (const backend of storeBackends()) {
  describe(`PAL behaviour table (${backend.name})`, () => {
    let server: TestServer;
    const clock = new ManualClock("2026-11-01T10:00:00.120Z");

    /** A new member of Fabrikam, so each rule starts from "never linked". */
    const freshMember = async (): Promise<{ oid: string; token: string }> => {
      const oid = randomUUID();
      await server.openpal.context.store.directory.putUser({
        tenantId: T.fabrikam, id: oid, userPrincipalName: `${oid}@fabrikam.example`, displayName: "member", kind: "member",
        passwordHash: null, homeTenantId: null, homeObjectId: null, createdAt: 0, deletedAt: null,
      });
      return { oid, token: await mintToken(server, { tid: T.fabrikam, oid }) };
    };
    const call = (method: string, id: string | undefined, token: string | undefined) =>
      arm(server, method, `${PAL}/partners${id === undefined ? "" : `/${id}`}?${V}`, token);
    const resource = (r: { json: () => Record<string, unknown> }) => r.json() as unknown as Resource;

    before(async () => {
      server = await startTestServer({ backend, deps: { clock } });
      await seedWorld(server.openpal.context.store);
    });
    after(async () => server.close());

    describe("PUT when not linked creates the link: 200, Active, version +1", () => {
      it("a first PUT answers the exact resource: version 1, etag = version, createdTime = updatedTime", async () => {
        const { oid, token } = await freshMember();
        const r = await call("PUT", P.contosoUs, token);
        assert.equal(r.status, 200);
        assert.equal(r.text, JSON.stringify({
          id: "/providers/microsoft.managementpartner/partners/4000001", type: "Microsoft.ManagementPartner/partners", name: "4000001", etag: 1,
          properties: { partnerId: "4000001", partnerName: "Contoso Consulting", tenantId: T.fabrikam, objectId: oid, version: 1,
            updatedTime: "2026-11-01T10:00:00.12Z", createdTime: "2026-11-01T10:00:00.12Z", state: "Active" },
        }));
      });

      it("DELETE bumps version, so the next PUT shows +2, and createdTime survives delete and re-create", async () => {
        const { token } = await freshMember();
        const created = resource(await call("PUT", P.contosoUs, token));
        clock.advance(1000);
        assert.equal((await call("DELETE", P.contosoUs, token)).status, 200);
        clock.advance(1000);
        const again = resource(await call("PUT", P.contosoGb, token));
        assert.equal(again.properties.version, created.properties.version + 2);
        assert.equal(again.etag, again.properties.version);
        assert.equal(again.properties.createdTime, created.properties.createdTime);
        assert.notEqual(again.properties.updatedTime, created.properties.updatedTime);
      });
    });

    describe("PUT when already Active is 409 PartnerAlreadyLinked, naming the linked id and PATCH", () => {
      it("answers 409 with code and message at both levels and changes nothing", async () => {
        const { token } = await freshMember();
        await call("PUT", P.contosoUs, token);
        const r = await call("PUT", P.northwindUs, token);
        assert.equal(r.status, 409);
        const body = r.json() as { code: string; message: string; error: { code: string; message: string } };
        assert.deepEqual(Object.keys(body), ["error", "code", "message"]);
        assert.equal(body.code, "PartnerAlreadyLinked");
        assert.equal(body.error.message, body.message);
        assert.match(body.message, /linked with Partner ID '4000001'/);
        assert.match(body.message, /PATCH/);
        assert.equal(resource(await call("GET", undefined, token)).properties.version, 1);
      });
    });

    describe("PUT with an id that is not a valid location id is 400 PartnerIdInvalid", () => {
      it("an unknown well-formed id gives exactly 'The Partner ID is not valid'", async () => {
        const { token } = await freshMember();
        const r = await call("PUT", "9999999", token);
        assert.equal(r.status, 400);
        assert.equal(r.text, providerError("PartnerIdInvalid", "The Partner ID is not valid"));
      });

      it("a malformed id (not 1 to 10 digits) says what a Partner ID looks like", async () => {
        const { token } = await freshMember();
        for (const bad of ["abc", "12345678901", "40000-1"]) {
          const r = await call("PUT", bad, token);
          assert.equal(r.status, 400, bad);
          assert.equal((r.json() as { code: string }).code, "PartnerIdInvalid");
          assert.match((r.json() as { message: string }).message, /^The Partner ID is not valid\. A Partner ID is 1 to 10 digits/);
        }
      });

      it("an inactive location id is refused, naming it inactive", async () => {
        const { token } = await freshMember();
        const r = await call("PUT", P.contosoRetired, token);
        assert.equal(r.status, 400);
        assert.match((r.json() as { message: string }).message, /'4000003' of Contoso Consulting is inactive/);
      });
    });

    describe("PUT with a global (headquarters) id is 400 PartnerIdInvalid, saying to use the Associated (location) Partner ID", () => {
      it("names the organisation and the fix", async () => {
        const { token } = await freshMember();
        const r = await call("PUT", P.contosoGlobal, token);
        assert.equal(r.status, 400);
        const message = (r.json() as { message: string }).message;
        assert.match(message, /global \(headquarters\) Partner ID of Contoso Consulting/);
        assert.match(message, /Associated \(location\) Partner ID/);
      });
    });

    describe("PATCH {newId} when Active switches the id, re-resolves partnerName, keeps createdTime, version +1", () => {
      it("answers the new resource", async () => {
        const { token } = await freshMember();
        const first = resource(await call("PUT", P.contosoUs, token));
        clock.advance(2500);
        const r = await call("PATCH", P.northwindUs, token);
        assert.equal(r.status, 200);
        const next = resource(r);
        assert.equal(next.id, "/providers/microsoft.managementpartner/partners/5000001");
        assert.equal(next.name, "5000001");
        assert.equal(next.properties.partnerId, "5000001");
        assert.equal(next.properties.partnerName, "Northwind Traders");
        assert.equal(next.properties.createdTime, first.properties.createdTime);
        assert.equal(next.properties.version, first.properties.version + 1);
        assert.equal(next.etag, next.properties.version);
      });

      it("closes one interval and opens the next at the same instant, and audits each write", async () => {
        const { oid, token } = await freshMember();
        await call("PUT", P.contosoUs, token);
        const switchedAt = clock.now() + 60_000;
        clock.set(switchedAt);
        await call("PATCH", P.contosoGb, token);
        const history = await server.openpal.context.store.links.history({ tenantId: T.fabrikam, objectId: oid });
        assert.equal(history.length, 2);
        assert.deepEqual(history.map((h) => [h.partnerId, h.validTo === null]), [["4000001", false], ["4000002", true]]);
        assert.equal(history[0]?.validTo, switchedAt);
        assert.equal(history[1]?.validFrom, switchedAt);
        const audit = (await server.openpal.context.store.audit.list({ tenantId: T.fabrikam, limit: 100000 })).filter((a) => a.actorObjectId === oid);
        assert.deepEqual(audit.map((a) => a.action), ["partnerLink.create", "partnerLink.update"]);
        assert.equal(audit[1]?.target, "/providers/Microsoft.ManagementPartner/partners/4000002");
      });
    });

    describe("PATCH to the id already linked is 200 with no change and no version bump", () => {
      it("returns the same version and updatedTime", async () => {
        const { token } = await freshMember();
        const before = resource(await call("PUT", P.contosoUs, token));
        clock.advance(5000);
        const r = await call("PATCH", P.contosoUs, token);
        assert.equal(r.status, 200);
        assert.equal(r.text, JSON.stringify(before));
      });
    });

    describe("PATCH or GET when not linked is 404 ManagementPartnerNotFound", () => {
      const notFound = providerError("ManagementPartnerNotFound", "This user or service principal is not linked with a Partner ID");
      it("never linked: PATCH, GET {id}, GET /partners and /partners/ all answer the exact 404", async () => {
        const { token } = await freshMember();
        for (const r of [await call("PATCH", P.contosoUs, token), await call("GET", P.contosoUs, token), await call("GET", undefined, token), await call("GET", "", token)]) {
          assert.equal(r.status, 404);
          assert.equal(r.text, notFound);
        }
      });

      it("after DELETE the link is not returned at all", async () => {
        const { token } = await freshMember();
        await call("PUT", P.contosoUs, token);
        await call("DELETE", P.contosoUs, token);
        assert.equal((await call("GET", P.contosoUs, token)).text, notFound);
        assert.equal((await call("PATCH", P.contosoGb, token)).status, 404);
      });
    });

    describe("GET {id} when linked to a different id is the same 404", () => {
      it("answers 404 while GET /partners still shows the real link", async () => {
        const { token } = await freshMember();
        await call("PUT", P.contosoUs, token);
        assert.equal((await call("GET", P.contosoGb, token)).status, 404);
        assert.equal(resource(await call("GET", undefined, token)).name, P.contosoUs);
      });
    });

    describe("DELETE when Active with that id: 200 with an empty body, state Deleted, version +1", () => {
      it("answers 200, no body, no Content-Type, and closes the interval", async () => {
        const { oid, token } = await freshMember();
        await call("PUT", P.contosoUs, token);
        clock.advance(1000);
        const r = await call("DELETE", P.contosoUs, token);
        assert.equal(r.status, 200);
        assert.equal(r.text, "");
        assert.equal(r.headers.get("content-type"), null);
        const state = await server.openpal.context.store.links.current(T.fabrikam, oid);
        assert.equal(state.partnerId, null);
        assert.equal(state.version, 2);
        const [interval] = await server.openpal.context.store.links.history({ tenantId: T.fabrikam, objectId: oid });
        assert.equal(interval?.validTo, clock.now());
      });
    });

    describe("DELETE when not linked is 200 with an empty body and writes nothing", () => {
      it("leaves no version and no audit entry", async () => {
        const { oid, token } = await freshMember();
        const r = await call("DELETE", P.contosoUs, token);
        assert.equal(r.status, 200);
        assert.equal(r.text, "");
        assert.equal((await server.openpal.context.store.links.current(T.fabrikam, oid)).version, 0);
        const audit = await server.openpal.context.store.audit.list({ tenantId: T.fabrikam, limit: 100000 });
        assert.equal(audit.filter((a) => a.actorObjectId === oid).length, 0);
      });
    });

    describe("DELETE {id} when linked to a different id is 404 and deletes nothing", () => {
      it("keeps the link", async () => {
        const { token } = await freshMember();
        await call("PUT", P.contosoUs, token);
        const r = await call("DELETE", P.contosoGb, token);
        assert.equal(r.status, 404);
        assert.equal((r.json() as { code: string }).code, "ManagementPartnerNotFound");
        assert.equal(resource(await call("GET", P.contosoUs, token)).properties.version, 1);
      });
    });

    describe("a caller without an enabled object in the tenant is refused with 403", () => {
      it("a foreign (delegated-admin) principal gets the exact documented message", async () => {
        const token = await mintToken(server, { tid: T.fabrikam, oid: O.bob, foreign: true, home_tid: T.contoso });
        for (const method of ["PUT", "GET", "PATCH", "DELETE"]) {
          const r = await call(method, P.contosoUs, token);
          assert.equal(r.status, 403, method);
          assert.equal(r.text, providerError("PrincipalNotInTenant", FOREIGN_PRINCIPAL_MESSAGE));
        }
      });

      it("a deleted user, or an object id the tenant does not know, gets the same 403", async () => {
        for (const oid of [O.dave, randomUUID()]) {
          const r = await call("PUT", P.contosoUs, await mintToken(server, { tid: T.fabrikam, oid }));
          assert.equal(r.status, 403);
          assert.equal((r.json() as { message: string }).message, FOREIGN_PRINCIPAL_MESSAGE);
        }
      });

      it("a disabled user gets 403 PrincipalDisabled, saying an administrator must enable it", async () => {
        const r = await call("PUT", P.contosoUs, await mintToken(server, { tid: T.fabrikam, oid: O.carol }));
        assert.equal(r.status, 403);
        assert.equal((r.json() as { code: string }).code, "PrincipalDisabled");
        assert.match((r.json() as { message: string }).message, /disabled.*enable it/);
      });
    });

    describe("api-version missing is 400 MissingApiVersionParameter (ARM envelope only)", () => {
      it("answers the exact body", async () => {
        const { token } = await freshMember();
        const r = await arm(server, "GET", `${PAL}/partners`, token);
        assert.equal(r.status, 400);
        assert.equal(r.text, JSON.stringify({ error: { code: "MissingApiVersionParameter", message: "The api-version query parameter (?api-version=) is required for all requests." } }));
      });
    });

    describe("api-version other than 2018-02-01 is 400 NoRegisteredProviderFound listing the supported version", () => {
      it("names 2018-02-01", async () => {
        const { token } = await freshMember();
        const r = await arm(server, "PUT", `${PAL}/partners/${P.contosoUs}?api-version=2020-01-01`, token);
        assert.equal(r.status, 400);
        const body = r.json() as { error: { code: string; message: string } };
        assert.deepEqual(Object.keys(body), ["error"]);
        assert.equal(body.error.code, "NoRegisteredProviderFound");
        assert.match(body.error.message, /The supported api-versions are '2018-02-01'/);
      });
    });

    describe("no Authorization header is 401 AuthenticationFailed with a WWW-Authenticate challenge", () => {
      it("points at the common authority and says invalid_token", async () => {
        const r = await call("GET", undefined, undefined);
        assert.equal(r.status, 401);
        assert.equal((r.json() as { error: { code: string } }).error.code, "AuthenticationFailed");
        assert.match(r.headers.get("www-authenticate") ?? "", new RegExp(`^Bearer authorization_uri="${server.url}/common", error="invalid_token", error_description="[^"]+"$`));
      });
    });

    describe("bad signature, wrong audience or issuer is 401 InvalidAuthenticationToken; expired is ExpiredAuthenticationToken", () => {
      it("rejects each, with the challenge pointing at the token's tenant", async () => {
        const good = await mintToken(server, { tid: T.fabrikam, oid: O.alice });
        const [h, p] = good.split(".");
        const tampered = `${h}.${p}.${Buffer.from("not the signature").toString("base64url")}`;
        const wrongAudience = await mintToken(server, { tid: T.fabrikam, oid: O.alice, aud: "https://graph.microsoft.com/" });
        const wrongIssuer = await server.openpal.identity.keys.sign({ ...JSON.parse(Buffer.from(p as string, "base64url").toString()), iss: "https://login.microsoftonline.com/x/v2.0" });
        for (const token of [tampered, wrongAudience, wrongIssuer, "not-a-jwt"]) {
          const r = await call("GET", undefined, token);
          assert.equal(r.status, 401);
          assert.equal((r.json() as { error: { code: string } }).error.code, "InvalidAuthenticationToken");
          assert.match(r.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
        }
        assert.match((await call("GET", undefined, tampered)).headers.get("www-authenticate") ?? "", new RegExp(`authorization_uri="${server.url}/${T.fabrikam}"`));
        const expired = await mintToken(server, { tid: T.fabrikam, oid: O.alice, expiresIn: -600 });
        const r = await call("GET", undefined, expired);
        assert.equal(r.status, 401);
        assert.equal((r.json() as { error: { code: string } }).error.code, "ExpiredAuthenticationToken");
      });
    });
  });
}
