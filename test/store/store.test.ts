import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { openStore, type Store } from "../../src/store/index.ts";
import { storeBackends } from "../support/stores.ts";

const T1 = "11111111-1111-1111-1111-111111111111";
const T = (iso: string) => Date.parse(iso);

for (const backend of storeBackends()) {
  describe(`store (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await store.directory.putTenant({ id: T1, displayName: "Fabrikam", domain: "fabrikam.example", createdAt: 1 });
    });
    after(async () => store.close());

    it("finds a tenant by id or by domain, case-insensitively", async () => {
      assert.equal((await store.directory.findTenant("FABRIKAM.example"))?.id, T1);
      assert.equal((await store.directory.findTenant(T1.toUpperCase()))?.displayName, "Fabrikam");
      assert.equal(await store.directory.findTenant("nowhere.example"), undefined);
    });

    it("finds users by UPN case-insensitively and keeps guests pointing at their home object", async () => {
      await store.directory.putUser({ tenantId: T1, id: "u1", userPrincipalName: "Alice@fabrikam.example", displayName: "Alice", kind: "member", passwordHash: "h", homeTenantId: null, homeObjectId: null, createdAt: 1, deletedAt: null });
      await store.directory.putUser({ tenantId: T1, id: "g1", userPrincipalName: "bob_contoso.example#EXT#@fabrikam.example", displayName: "Bob", kind: "guest", passwordHash: null, homeTenantId: "home", homeObjectId: "bob-home", createdAt: 1, deletedAt: null });
      assert.equal((await store.directory.findUserByUpn(T1, "alice@FABRIKAM.example"))?.id, "u1");
      assert.equal((await store.directory.findGuestOf(T1, "home", "bob-home"))?.id, "g1");
      assert.deepEqual((await store.directory.listGuestsOf("home", "bob-home")).map((g) => g.tenantId), [T1]);
    });

    it("membership is effective-dated: removing closes the interval, history is kept", async () => {
      await store.directory.putGroup({ tenantId: T1, id: "grp", displayName: "Engineers", createdAt: 1, deletedAt: null });
      await store.directory.addMember(T1, "grp", "u1", T("2026-10-01T00:00:00Z"));
      assert.equal(await store.directory.removeMember(T1, "grp", "u1", T("2026-10-15T00:00:00Z")), true);
      assert.equal(await store.directory.removeMember(T1, "grp", "u1", T("2026-10-16T00:00:00Z")), false);
      const m = (await store.directory.listMemberships(T1)).filter((x) => x.groupId === "grp");
      assert.deepEqual(m.map((x) => [x.validFrom, x.validTo]), [[T("2026-10-01T00:00:00Z"), T("2026-10-15T00:00:00Z")]]);
    });

    it("disabling opens an interval and enabling closes it", async () => {
      assert.equal(await store.directory.disable(T1, "u1", T("2026-10-10T00:00:00Z")), true);
      assert.equal(await store.directory.disable(T1, "u1", T("2026-10-11T00:00:00Z")), false);
      assert.equal(await store.directory.isDisabled(T1, "u1", T("2026-10-12T00:00:00Z")), true);
      await store.directory.enable(T1, "u1", T("2026-10-20T00:00:00Z"));
      assert.equal(await store.directory.isDisabled(T1, "u1", T("2026-10-21T00:00:00Z")), false);
      assert.equal(await store.directory.isDisabled(T1, "u1", T("2026-10-09T00:00:00Z")), false);
    });

    it("the audit log appends and refuses updates and deletes", async () => {
      await store.audit.append({ at: 5, tenantId: T1, actorTenantId: T1, actorObjectId: "u1", action: "test.write", target: "/x", requestId: "r1", details: { n: 1 } });
      const entries = await store.audit.list({ tenantId: T1 });
      assert.equal(entries.at(-1)?.action, "test.write");
      assert.deepEqual(entries.at(-1)?.details, { n: 1 });
      await assert.rejects(sql`UPDATE audit_log SET action = 'rewritten'`.execute(store.db), /append-only/);
      await assert.rejects(sql`DELETE FROM audit_log`.execute(store.db), /append-only/);
    });

    it("a transaction commits all of its writes or none of them", async () => {
      await assert.rejects(store.transaction(async (tx) => {
        await tx.directory.putTenant({ id: "22222222-2222-2222-2222-222222222222", displayName: "Rolled back", domain: "rb.example", createdAt: 1 });
        throw new Error("boom");
      }), /boom/);
      assert.equal(await store.directory.getTenant("22222222-2222-2222-2222-222222222222"), undefined);
    });

    it("a grant moves from one status to another only once under concurrent redemption", async () => {
      await store.grants.add({ tenantId: T1, handleHash: "h1", kind: "authorization_code", clientId: "c", userCode: null, status: "approved", objectId: "u1", details: {}, createdAt: 1, expiresAt: 10 });
      const results = await Promise.all(Array.from({ length: 10 }, () => store.grants.transition("h1", "approved", "redeemed")));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it("the partner registry tells location ids from global ids, with effective-dated activity", async () => {
      await store.partners.putOrganisation({ globalId: "4000000", name: "Contoso Consulting", tenantIds: [T1], createdAt: 1 });
      await store.partners.putLocation({ id: "4000001", globalId: "4000000", country: "US", name: null, createdAt: 1 });
      await store.partners.setLocationActive("4000001", false, T("2026-10-15T00:00:00Z"));
      const before = await store.partners.lookup("4000001", T("2026-10-01T00:00:00Z"));
      const after = await store.partners.lookup("4000001", T("2026-10-20T00:00:00Z"));
      assert.equal(before.kind, "location");
      assert.equal(before.kind === "location" && before.active, true);
      assert.equal(after.kind === "location" && after.active, false);
      assert.equal((await store.partners.lookup("4000000", 0)).kind, "global");
      assert.equal((await store.partners.lookup("999", 0)).kind, "unknown");
      assert.equal((await store.partners.findOrganisationByTenant(T1))?.name, "Contoso Consulting");
    });
  });
}

describe("store (postgres, two schemas in one database)", () => {
  const pgUrl = process.env.OPENPAL_TEST_POSTGRES_URL;
  it("each OpenPAL schema gets its own migration bookkeeping, so a second schema in the same database migrates too", { skip: !pgUrl }, async () => {
    const first = await storeBackends().find((b) => b.name === "postgres")?.open();
    const second = await storeBackends().find((b) => b.name === "postgres")?.open();
    try {
      for (const store of [first, second]) {
        await store?.directory.putTenant({ id: T1, displayName: "Fabrikam", domain: "fabrikam.example", createdAt: 1 });
        assert.equal((await store?.directory.getTenant(T1))?.displayName, "Fabrikam");
      }
    } finally {
      await first?.close();
      await second?.close();
    }
  });
});

describe("store (sqlite file)", () => {
  it("keeps its data across a restart on the same file", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-store-"));
    try {
      const file = path.join(dir, "openpal.db");
      const first = await openStore({ kind: "sqlite", sqlitePath: file });
      await first.directory.putTenant({ id: T1, displayName: "Fabrikam", domain: "fabrikam.example", createdAt: 1 });
      await first.close();
      const second = await openStore({ kind: "sqlite", sqlitePath: file });
      assert.equal((await second.directory.getTenant(T1))?.displayName, "Fabrikam");
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
