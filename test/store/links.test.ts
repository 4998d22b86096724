/**
 * The link API's read path (LinkStore.callerView): on SQLite it may run synchronously on the
 * connection, which must never expose a write that has not committed. Its write path
 * (Store.writeLink): on SQLite one synchronous transaction when the connection is free, else the
 * queued kysely transaction; either way the transition and its audit entry commit together. On
 * PostgreSQL a write is four statements (BEGIN, the locking read, one write of intervals, record
 * and audit entry, COMMIT), and it stores exactly the rows SQLite stores.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { sql } from "kysely";
import { storeBackends } from "../support/stores.ts";
import type { Aggregates, AuditEntry, CallerLinkView, LinkDecision, Store } from "../../src/store/index.ts";
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once another session waits for a lock `tx` holds (PostgreSQL), so that a write issued
 * during `tx` is known to have sent its statement before `tx` commits; on SQLite after 20 ms (the
 * store's one connection queues every other transaction until `tx` ends).
 */
async function untilSomeoneWaitsFor(tx: Aggregates, store: Store): Promise<void> {
  if (store.dialect !== "postgres") return sleep(20);
  const pid = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(tx.db)).rows[0]?.pid;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(5)) {
    const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${pid} = ANY(pg_blocking_pids(pid))`.execute(store.db);
    if ((r.rows[0]?.n ?? 0) > 0) return;
  }
  throw new Error("no session waited for the transaction's lock");
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
        await untilSomeoneWaitsFor(tx, store);
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
        // Its refusal can settle before this transaction's commit resolves (PostgreSQL wakes the
        // waiting session as it releases the lock, before the COMMIT reply reaches us): handle it
        // now so that it is not an unhandled rejection; it is asserted below.
        queued.catch(() => undefined);
        await untilSomeoneWaitsFor(tx, store);
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
        await untilSomeoneWaitsFor(tx, store);
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

/** The statements `work` sends to PostgreSQL (each one round trip: node-postgres never pipelines). */
async function statementsSent(work: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    sent.push((typeof q === "string" ? q : (q as { text: string }).text).replace(/\s+/g, " ").trim());
    return query.apply(this, args);
  };
  try {
    await work();
  } finally {
    proto.query = query;
  }
  return sent;
}

for (const backend of storeBackends().filter((b) => b.name === "postgres")) {
  describe("link writes on PostgreSQL: round trips", () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await store.directory.putTenant({ id: TID, displayName: "Trips", domain: "trips.example", createdAt: 0 });
    });
    after(() => store.close());

    it("a link write sends four statements (BEGIN, the locking read, one write of intervals, record and audit entry, COMMIT); one that changes nothing three", async () => {
      const steps: [string, PartnerLinkCommand, number][] = [
        ["PUT (first write of the principal)", { kind: "create", partnerId: "4000001" }, 4],
        ["PATCH to another partner", { kind: "update", partnerId: "4000002" }, 4],
        ["PATCH to the same partner", { kind: "update", partnerId: "4000002" }, 3],
        ["DELETE", { kind: "delete", partnerId: "4000002" }, 4],
        ["DELETE when not linked", { kind: "delete", partnerId: "4000002" }, 3],
        ["PUT again", { kind: "create", partnerId: "4000001" }, 4],
      ];
      for (const [i, [name, command, expected]] of steps.entries()) {
        const sent = await statementsSent(() => store.writeLink(TID, OID, decider(command, NOW + i)));
        assert.equal(sent.length, expected, `${name}: ${sent.length} statements:\n${sent.join("\n")}`);
        assert.match(sent[0] as string, /^begin$/i, name);
        assert.match(sent.at(-1) as string, /^commit$/i, name);
      }
      assert.deepEqual((await store.links.history({ tenantId: TID, objectId: OID })).map((i) => [i.partnerId, i.validFrom, i.validTo]),
        [["4000001", NOW, NOW + 1], ["4000002", NOW + 1, NOW + 3], ["4000001", NOW + 5, null]]);
      assert.equal((await store.links.current(TID, OID)).version, 4);
    });
  });
}

/** Every row a link write stores (intervals, principal record, audit entries), as plain values. */
async function storedLinkRows(store: Store) {
  const numeric = new Set(["seq", "at", "valid_from", "valid_to", "version", "created_time", "updated_time"]);
  const rows = async (query: ReturnType<typeof sql.raw>) =>
    (await query.execute(store.db)).rows.map((r) => Object.fromEntries(Object.entries(r as Record<string, unknown>)
      .map(([k, v]) => [k, numeric.has(k) && v !== null ? Number(v) : v])));
  return {
    partnerLinks: await rows(sql.raw("SELECT seq, tenant_id, object_id, partner_id, valid_from, valid_to FROM partner_links ORDER BY seq")),
    principals: await rows(sql.raw("SELECT tenant_id, object_id, version, created_time, updated_time FROM partner_link_principals ORDER BY tenant_id, object_id")),
    audit: await rows(sql.raw("SELECT seq, at, tenant_id, actor_tenant_id, actor_object_id, action, target, request_id, details FROM audit_log ORDER BY seq")),
  };
}

describe("link writes store the same rows on every backend", () => {
  it("PUT, PATCH to another partner, PATCH to the same partner, DELETE, PUT store identical intervals, record and audit entries on SQLite and PostgreSQL", async () => {
    const sequence: PartnerLinkCommand[] = [
      { kind: "create", partnerId: "4000001" },
      { kind: "update", partnerId: "4000002" },
      { kind: "update", partnerId: "4000002" },
      { kind: "delete", partnerId: "4000002" },
      { kind: "create", partnerId: "4000001" },
    ];
    const dumps: { backend: string; rows: Awaited<ReturnType<typeof storedLinkRows>> }[] = [];
    for (const backend of storeBackends()) {
      const store = await backend.open();
      try {
        for (const [i, command] of sequence.entries()) await store.writeLink(TID, OID, decider(command, NOW + 10 * i));
        dumps.push({ backend: backend.name, rows: await storedLinkRows(store) });
      } finally {
        await store.close();
      }
    }
    const audit = (seq: number, at: number, change: string, target: string) => ({
      seq, at, tenant_id: TID, actor_tenant_id: TID, actor_object_id: OID, action: `partnerLink.${change}`, target, request_id: null, details: "{}",
    });
    const link = (seq: number, partnerId: string, from: number, to: number | null) => ({ seq, tenant_id: TID, object_id: OID, partner_id: partnerId, valid_from: from, valid_to: to });
    for (const { backend, rows } of dumps) {
      assert.deepEqual(rows, {
        partnerLinks: [link(1, "4000001", NOW, NOW + 10), link(2, "4000002", NOW + 10, NOW + 30), link(3, "4000001", NOW + 40, null)],
        principals: [{ tenant_id: TID, object_id: OID, version: 4, created_time: NOW, updated_time: NOW + 40 }],
        audit: [audit(1, NOW, "create", "4000001"), audit(2, NOW + 10, "update", "4000002"), audit(3, NOW + 30, "delete", "-"), audit(4, NOW + 40, "create", "4000001")],
      }, backend);
    }
    if (dumps.length > 1) assert.deepEqual(dumps[1]?.rows, dumps[0]?.rows, "PostgreSQL stored other rows than SQLite");
  });
});
