/**
 * A link belongs to exactly one (tenant, object): the key comes from the verified token, so no
 * principal can see or change another's link. Concurrent writes by one principal serialise.
 * Both store backends.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { storeBackends } from "../../support/stores.ts";
import { overlaps } from "../../../src/domain/interval.ts";
import { arm, mintToken, O, P, PAL, seedWorld, T, V } from "./fixture.ts";

for (const backend of storeBackends()) {
  describe(`tenant isolation and concurrency (${backend.name})`, () => {
    let server: TestServer;
    const token = (tid: string, oid: string, idtyp: "user" | "app" = "user") => mintToken(server, { tid, oid, idtyp });
    const call = async (method: string, id: string | undefined, t: string) => arm(server, method, `${PAL}/partners${id === undefined ? "" : `/${id}`}?${V}`, t);

    before(async () => {
      server = await startTestServer({ backend });
      await seedWorld(server.openpal.context.store);
    });
    after(async () => server.close());

    describe("the same person as a member in one tenant and a guest in another has two independent links", () => {
      it("links differ by tenant and deleting one leaves the other", async () => {
        const home = await token(T.contoso, O.bob);
        const guest = await token(T.fabrikam, O.bobGuest);
        assert.equal((await call("PUT", P.contosoUs, home)).status, 200);
        assert.equal((await call("GET", undefined, guest)).status, 404);
        const g = (await call("PUT", P.contosoGb, guest)).json() as { properties: { tenantId: string; objectId: string; version: number } };
        assert.deepEqual([g.properties.tenantId, g.properties.objectId, g.properties.version], [T.fabrikam, O.bobGuest, 1]);
        await call("DELETE", P.contosoUs, home);
        assert.equal(((await call("GET", undefined, guest)).json() as { name: string }).name, P.contosoGb);
        await call("DELETE", P.contosoGb, guest);
      });
    });

    describe("a multi-tenant app's service principals in two tenants have independent links", () => {
      it("each SP sees only its own", async () => {
        const inContoso = await token(T.contoso, O.spContoso, "app");
        const inFabrikam = await token(T.fabrikam, O.spFabrikam, "app");
        await call("PUT", P.contosoUs, inContoso);
        await call("PUT", P.northwindUs, inFabrikam);
        assert.equal(((await call("GET", undefined, inContoso)).json() as { name: string }).name, P.contosoUs);
        assert.equal(((await call("GET", undefined, inFabrikam)).json() as { name: string }).name, P.northwindUs);
        await call("DELETE", P.contosoUs, inContoso);
        await call("DELETE", P.northwindUs, inFabrikam);
      });
    });

    describe("no token of one principal can read or change another's link", () => {
      it("alice's link is invisible and untouchable to another principal in the same tenant", async () => {
        const alice = await token(T.fabrikam, O.alice);
        const other = await token(T.fabrikam, O.bobGuest);
        await call("PUT", P.contosoUs, alice);
        assert.equal((await call("GET", P.contosoUs, other)).status, 404);
        assert.equal((await call("PATCH", P.contosoGb, other)).status, 404);
        assert.equal((await call("DELETE", P.contosoUs, other)).status, 200); // not linked: nothing to delete
        const mine = (await call("GET", undefined, alice)).json() as { name: string; properties: { version: number } };
        assert.deepEqual([mine.name, mine.properties.version], [P.contosoUs, 1]);
        // A token for alice's object id issued in another tenant is another key, not alice.
        assert.equal((await call("GET", undefined, await token(T.contoso, O.alice))).status, 403);
        await call("DELETE", P.contosoUs, alice);
      });
    });

    describe("50 concurrent PATCHes by one principal leave version = number of writes and no overlapping intervals", () => {
      it("serialises on the principal's row", async () => {
        const sp = await token(T.fabrikam, O.spFabrikam, "app");
        const start = (await call("PUT", P.contosoUs, sp)).json() as { properties: { version: number } };
        const ids = [P.contosoUs, P.contosoGb, P.northwindUs];
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call("PATCH", ids[i % 3], sp)));
        assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
        const store = server.openpal.context.store;
        const audit = (await store.audit.list({ tenantId: T.fabrikam, limit: 100000 })).filter((a) => a.actorObjectId === O.spFabrikam && a.action === "partnerLink.update");
        const current = await store.links.current(T.fabrikam, O.spFabrikam);
        assert.ok(audit.length >= 1);
        assert.equal(current.version, start.properties.version + audit.length);
        const history = await store.links.history({ tenantId: T.fabrikam, objectId: O.spFabrikam });
        // The earlier test's closed link, the PUT's interval, then one per PATCH that wrote.
        assert.equal(history.length, 1 + 1 + audit.length);
        assert.equal(history.filter((h) => h.validTo === null).length, 1);
        for (const h of history) assert.ok(h.validTo === null || (h.validFrom ?? 0) <= h.validTo, "no interval ends before it begins");
        for (let i = 0; i < history.length; i++) {
          for (let j = i + 1; j < history.length; j++) {
            const a = history[i]!, b = history[j]!;
            assert.ok(!overlaps({ from: a.validFrom, to: a.validTo }, { from: b.validFrom, to: b.validTo }), `intervals ${i} and ${j} overlap`);
          }
        }
        // Each successful write reported a distinct version.
        const versions = results.map((r) => (r.json() as { properties: { version: number } }).properties.version);
        assert.equal(Math.max(...versions), current.version);
      });
    });
  });
}
