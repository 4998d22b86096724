/**
 * The link API's read path (LinkStore.callerView): on SQLite it may run synchronously on the
 * connection, which must never expose a write that has not committed.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeBackends } from "../support/stores.ts";
import type { CallerLinkView, Store } from "../../src/store/index.ts";
import { namedSql } from "../../src/store/database.ts";
import { decidePartnerLink } from "../../src/domain/partner-link.ts";

const TID = "aaaaaaaa-0000-4000-8000-00000000c001";
const OID = "bbbbbbbb-0000-4000-8000-00000000c001";
const NOW = Date.parse("2026-10-05T12:00:00Z");

for (const backend of storeBackends()) {
  describe(`link reads (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await store.directory.putTenant({ id: TID, displayName: "Reads", domain: "reads.example", createdAt: 0 });
      await store.directory.putUser({ tenantId: TID, id: OID, userPrincipalName: "u@reads.example", displayName: "u", kind: "member", passwordHash: null, homeTenantId: null, homeObjectId: null, createdAt: 0, deletedAt: null });
      await store.partners.putOrganisation({ globalId: "4000000", name: "Contoso Consulting", tenantIds: [], createdAt: 0 });
      await store.partners.putLocation({ id: "4000001", globalId: "4000000", country: "US", name: null, createdAt: 0 });
    });
    after(() => store.close());

    it("a read issued while a link write is uncommitted never sees it, and sees it once committed", async () => {
      const write = (commit: boolean) => {
        let during: Promise<CallerLinkView> | undefined;
        const done = store.transaction(async (tx) => {
          const outcome = decidePartnerLink(await tx.links.lockState(TID, OID), { kind: "create", partnerId: "4000001" }, NOW);
          assert.equal(outcome.kind, "write");
          if (outcome.kind !== "write") return;
          await tx.links.apply(TID, OID, outcome.previous, outcome.next, NOW);
          during = store.links.callerView(TID, OID, NOW); // outside the transaction, while it is open
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (!commit) throw new Error("roll back");
        }).catch((error: Error) => assert.equal(error.message, "roll back"));
        return { done, during: () => during as Promise<CallerLinkView> };
      };

      const rolledBack = write(false);
      await rolledBack.done;
      const seen = await rolledBack.during();
      assert.equal(seen.state.partnerId, null, "the rolled-back link was visible to a concurrent read");
      assert.equal(seen.principalType, "User");

      const committed = write(true);
      await committed.done;
      const after = await store.links.callerView(TID, OID, NOW);
      assert.equal(after.state.partnerId, "4000001");
      assert.equal(after.partnerName, "Contoso Consulting");
      assert.equal(after.state.version, 1);
    });

    it("namedSql binds values as parameters (a quote in a value is data, not SQL) and names a missing one", async () => {
      const r = await namedSql<{ v: string; n: number }>("SELECT :v AS v, :n + 1 AS n", { v: "x' OR '1'='1", n: 41 }).execute(store.db);
      assert.deepEqual(r.rows.map((row) => ({ v: row.v, n: Number(row.n) })), [{ v: "x' OR '1'='1", n: 42 }]);
      assert.throws(() => namedSql("SELECT :missing", {}), /no value for :missing/);
    });
  });
}
