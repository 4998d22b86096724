/**
 * The link API's read path (LinkStore.callerView): on SQLite it may run synchronously on the
 * connection, which must never expose a write that has not committed. Its write path
 * (Store.writeLink): on SQLite one synchronous transaction when the connection is free, else the
 * queued kysely transaction; either way the transition and its audit entry commit together.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeBackends } from "../support/stores.ts";
import type { AuditEntry, CallerLinkView, LinkDecision, Store } from "../../src/store/index.ts";
import { namedSql } from "../../src/store/database.ts";
import { decidePartnerLink, type PartnerLinkCommand, type PartnerLinkState } from "../../src/domain/partner-link.ts";

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

/** The handlers' decision (without their ARM errors): the transition and its audit entry. */
function decider(command: PartnerLinkCommand, now: number, seen?: PartnerLinkState[]) {
  return (state: PartnerLinkState): LinkDecision<PartnerLinkState> => {
    seen?.push(state);
    const outcome = decidePartnerLink(state, command, now);
    if (outcome.kind === "unchanged") return { result: outcome.state };
    if (outcome.kind !== "write") throw new Error(`refused: ${outcome.kind}`);
    const audit: AuditEntry = { at: now, tenantId: TID, actorTenantId: TID, actorObjectId: OID, action: `partnerLink.${outcome.change}`, target: outcome.next.partnerId ?? "-", requestId: null };
    return { result: outcome.next, change: { previous: outcome.previous, next: outcome.next, at: now, audit } };
  };
}

for (const backend of storeBackends()) {
  describe(`link writes (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await store.directory.putTenant({ id: TID, displayName: "Writes", domain: "writes.example", createdAt: 0 });
      await store.partners.putOrganisation({ globalId: "4000000", name: "Contoso Consulting", tenantIds: [], createdAt: 0 });
      await store.partners.putLocation({ id: "4000001", globalId: "4000000", country: "US", name: null, createdAt: 0 });
      await store.partners.putLocation({ id: "4000002", globalId: "4000000", country: "GB", name: null, createdAt: 0 });
      await store.partners.putLocation({ id: "4000003", globalId: "4000000", country: "FR", name: null, createdAt: 0 });
      await store.partners.setLocationActive("4000003", false, NOW - 1000);
    });
    after(() => store.close());

    const audits = async () => (await store.audit.list({ tenantId: TID })).map((e) => `${e.action} ${e.target}`);

    it("writeLink commits the transition and its audit entry together; a refusal from decide writes neither", async () => {
      assert.equal((await store.writeLink(TID, OID, decider({ kind: "create", partnerId: "4000001" }, NOW))).version, 1);
      await assert.rejects(store.writeLink(TID, OID, decider({ kind: "create", partnerId: "4000002" }, NOW + 1)), /refused: alreadyLinked/);
      await assert.rejects(store.writeLink(TID, OID, (state) => {
        const decided = decider({ kind: "update", partnerId: "4000002" }, NOW + 2)(state);
        throw new Error(`refused after deciding version ${decided.result.version}`);
      }), /refused after deciding version 2/);
      assert.deepEqual((await store.links.history({ tenantId: TID, objectId: OID })).map((i) => [i.partnerId, i.validFrom, i.validTo]), [["4000001", NOW, null]]);
      assert.deepEqual(await audits(), ["partnerLink.create 4000001"]);
      const now = await store.links.current(TID, OID);
      assert.deepEqual([now.partnerId, now.version, now.createdTime, now.updatedTime], ["4000001", 1, NOW, NOW]);
    });

    it("a writeLink issued while a transaction holds the connection waits for it, then decides on its committed state", async () => {
      const seen: PartnerLinkState[] = [];
      let queued: Promise<PartnerLinkState> | undefined;
      await store.transaction(async (tx) => {
        const outcome = decidePartnerLink(await tx.links.lockState(TID, OID), { kind: "update", partnerId: "4000002" }, NOW + 10);
        assert.equal(outcome.kind, "write");
        if (outcome.kind !== "write") return;
        await tx.links.apply(TID, OID, outcome.previous, outcome.next, NOW + 10);
        queued = store.writeLink(TID, OID, decider({ kind: "update", partnerId: "4000001" }, NOW + 20, seen));
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(seen.length, 0, "the second write decided while the first was uncommitted");
      });
      const second = await (queued as Promise<PartnerLinkState>);
      assert.deepEqual([seen[0]?.partnerId, seen[0]?.version], ["4000002", 2]);
      assert.deepEqual([second.partnerId, second.version, second.updatedTime], ["4000001", 3, NOW + 20]);
      assert.deepEqual((await store.links.history({ tenantId: TID, objectId: OID })).map((i) => [i.partnerId, i.validFrom, i.validTo]),
        [["4000001", NOW, NOW + 10], ["4000002", NOW + 10, NOW + 20], ["4000001", NOW + 20, null]]);
      assert.deepEqual(await audits(), ["partnerLink.create 4000001", "partnerLink.update 4000001"]);
    });

    it("a principal's first writeLink issued while another first write of it is uncommitted waits for it, then decides on its committed state", async () => {
      const first = "bbbbbbbb-0000-4000-8000-00000000c0f1";
      const seen: PartnerLinkState[] = [];
      let queued: Promise<PartnerLinkState> | undefined;
      await store.transaction(async (tx) => {
        const outcome = decidePartnerLink(await tx.links.lockState(TID, first), { kind: "create", partnerId: "4000001" }, NOW);
        assert.equal(outcome.kind, "write");
        if (outcome.kind !== "write") return;
        await tx.links.apply(TID, first, outcome.previous, outcome.next, NOW);
        queued = store.writeLink(TID, first, decider({ kind: "create", partnerId: "4000002" }, NOW + 1, seen));
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(seen.length, 0, "the second write decided while the first was uncommitted");
      });
      await assert.rejects(queued as Promise<PartnerLinkState>, /refused: alreadyLinked/);
      assert.deepEqual([seen[0]?.partnerId, seen[0]?.version], ["4000001", 1]);
      assert.deepEqual((await store.links.history({ tenantId: TID, objectId: first })).map((i) => [i.partnerId, i.validFrom, i.validTo]), [["4000001", NOW, null]]);
    });

    it("a past link (world file) stored while a link write of the principal is uncommitted waits for it and continues its version sequence", async () => {
      const principal = "bbbbbbbb-0000-4000-8000-00000000c0f2";
      let world: Promise<void> | undefined;
      await store.transaction(async (tx) => {
        const outcome = decidePartnerLink(await tx.links.lockState(TID, principal), { kind: "create", partnerId: "4000001" }, NOW);
        if (outcome.kind !== "write") throw new Error(outcome.kind);
        await tx.links.apply(TID, principal, outcome.previous, outcome.next, NOW);
        world = store.transaction((w) => w.links.insertHistoricalLink(TID, principal, "4000002", NOW - 1000, NOW - 500));
        await new Promise((resolve) => setTimeout(resolve, 20));
      });
      await world;
      const now = await store.links.current(TID, principal);
      assert.deepEqual([now.partnerId, now.version, now.createdTime, now.updatedTime], ["4000001", 3, NOW - 1000, NOW]);
      assert.deepEqual((await store.links.history({ tenantId: TID, objectId: principal })).map((i) => [i.partnerId, i.validFrom, i.validTo]).sort(),
        [["4000001", NOW, null], ["4000002", NOW - 1000, NOW - 500]]);
    });

    it("linkTargetFacts says what lookup says: active or inactive location with its organisation, global id, unknown id", async () => {
      assert.deepEqual(await store.partners.linkTargetFacts("4000001", NOW), { kind: "location", active: true, organisationName: "Contoso Consulting" });
      assert.deepEqual(await store.partners.linkTargetFacts("4000003", NOW), { kind: "location", active: false, organisationName: "Contoso Consulting" });
      assert.deepEqual(await store.partners.linkTargetFacts("4000003", NOW - 2000), { kind: "location", active: true, organisationName: "Contoso Consulting" });
      assert.deepEqual(await store.partners.linkTargetFacts("4000000", NOW), { kind: "global", organisationName: "Contoso Consulting" });
      assert.deepEqual(await store.partners.linkTargetFacts("4999999", NOW), { kind: "unknown" });
      for (const id of ["4000001", "4000003", "4000000", "4999999"]) {
        const found = await store.partners.lookup(id, NOW);
        const facts = await store.partners.linkTargetFacts(id, NOW);
        assert.equal(facts.kind, found.kind, id);
        if (found.kind === "location" && facts.kind === "location") assert.equal(facts.active, found.active, id);
      }
    });

    it("callerViewForLink answers in one query what callerView and linkTargetFacts answer apart, for every kind of target and caller", async () => {
      const stranger = "bbbbbbbb-0000-4000-8000-00000000c0ff";
      for (const objectId of [OID, stranger]) {
        for (const id of ["4000001", "4000003", "4000000", "4999999", "not-an-id"]) {
          for (const at of [NOW, NOW - 2000]) {
            const { target, ...view } = await store.links.callerViewForLink(TID, objectId, id, at);
            assert.deepEqual(view, await store.links.callerView(TID, objectId, at), `${objectId} ${id}`);
            assert.deepEqual(target, await store.partners.linkTargetFacts(id, at), `${objectId} ${id} ${at}`);
          }
        }
      }
    });
  });
}

