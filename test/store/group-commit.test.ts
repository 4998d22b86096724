/**
 * Group commit of link writes (src/store/group-commit.ts): writes issued in one event-loop turn
 * share one SQLite transaction, each under its own savepoint. The rules: every write is committed
 * before its promise resolves; a refused write rolls back alone; writes of one principal in one
 * batch apply in order, each on the state the previous left; a failed commit fails the batch; and
 * while another transaction holds the connection, writes take the queued kysely path instead.
 * The Store-level rules run on both stores (PostgreSQL has no group commit: same outcomes).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { storeBackends } from "../support/stores.ts";
import type { AuditEntry, LinkDecision, Store } from "../../src/store/index.ts";
import { openDatabase, type SyncReader, type SyncStatements } from "../../src/store/database.ts";
import { GroupCommit, MAX_GROUP_COMMIT } from "../../src/store/group-commit.ts";
import { sql } from "kysely";
import { decidePartnerLink, type PartnerLinkCommand, type PartnerLinkState } from "../../src/domain/partner-link.ts";

const TID = "aaaaaaaa-0000-4000-8000-00000000d001";
const NOW = Date.parse("2026-10-05T12:00:00Z");
const oid = (i: number) => `bbbbbbbb-0000-4000-8000-${String(i).padStart(12, "0")}`;

function decider(objectId: string, command: PartnerLinkCommand, now: number) {
  return (state: PartnerLinkState): LinkDecision<PartnerLinkState> => {
    const outcome = decidePartnerLink(state, command, now);
    if (outcome.kind === "unchanged") return { result: outcome.state };
    if (outcome.kind !== "write") throw new Error(`refused: ${outcome.kind}`);
    const audit: AuditEntry = { at: now, tenantId: TID, actorTenantId: TID, actorObjectId: objectId, action: `partnerLink.${outcome.change}`, target: outcome.next.partnerId ?? "-", requestId: null };
    return { result: outcome.next, change: { previous: outcome.previous, next: outcome.next, at: now, audit } };
  };
}

async function seed(store: Store): Promise<void> {
  await store.directory.putTenant({ id: TID, displayName: "Group", domain: "group.example", createdAt: 0 });
  await store.partners.putOrganisation({ globalId: "4000000", name: "Contoso Consulting", tenantIds: [], createdAt: 0 });
  await store.partners.putLocation({ id: "4000001", globalId: "4000000", country: "US", name: null, createdAt: 0 });
  await store.partners.putLocation({ id: "4000002", globalId: "4000000", country: "GB", name: null, createdAt: 0 });
}

for (const backend of storeBackends()) {
  describe(`concurrent link writes (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await seed(store);
    });
    after(() => store.close());

    it("writes issued together all commit with their audit entries; a refused one among them rolls back alone", async () => {
      const writes = Array.from({ length: 12 }, (_, i) => store.writeLink(TID, oid(i), decider(oid(i), { kind: "create", partnerId: "4000001" }, NOW + i)));
      // Principal 3 is refused after it has decided: nothing of its write may remain.
      const refused = store.writeLink(TID, oid(100), (state) => {
        decider(oid(100), { kind: "create", partnerId: "4000001" }, NOW)(state);
        throw new Error("refused late");
      });
      const results = await Promise.allSettled([...writes, refused]);
      assert.deepEqual(results.map((r) => r.status), [...Array(12).fill("fulfilled"), "rejected"]);
      for (let i = 0; i < 12; i++) {
        const now = await store.links.current(TID, oid(i));
        assert.deepEqual([now.partnerId, now.version], ["4000001", 1], oid(i));
      }
      assert.equal((await store.links.current(TID, oid(100))).partnerId, null);
      const audit = await store.audit.list({ tenantId: TID });
      assert.equal(audit.filter((e) => e.action === "partnerLink.create").length, 12);
      assert.ok(!audit.some((e) => e.actorObjectId === oid(100)), "the refused write left an audit entry");
    });

    // On PostgreSQL concurrent transactions take the row lock in whatever order they reach it:
    // any serial order is correct there, so issue order is a rule of the SQLite batch only.
    const sqliteOnly = backend.name === "sqlite" ? {} : { skip: "PostgreSQL orders concurrent writes by lock acquisition" };
    it("one principal's writes issued together apply in the order issued, each on the state the previous one left (SQLite)", sqliteOnly, async () => {
      const p = oid(200);
      const results = await Promise.allSettled([
        store.writeLink(TID, p, decider(p, { kind: "create", partnerId: "4000001" }, NOW + 1)),
        store.writeLink(TID, p, decider(p, { kind: "create", partnerId: "4000002" }, NOW + 2)), // already linked: refused
        store.writeLink(TID, p, decider(p, { kind: "update", partnerId: "4000002" }, NOW + 3)),
        store.writeLink(TID, p, decider(p, { kind: "update", partnerId: "4000001" }, NOW + 4)),
      ]);
      assert.deepEqual(results.map((r) => (r.status === "fulfilled" ? `${r.value.partnerId} v${r.value.version}` : String((r.reason as Error).message))),
        ["4000001 v1", "refused: alreadyLinked", "4000002 v2", "4000001 v3"]);
      assert.deepEqual((await store.links.history({ tenantId: TID, objectId: p })).map((i) => [i.partnerId, i.validFrom, i.validTo]),
        [["4000001", NOW + 1, NOW + 3], ["4000002", NOW + 3, NOW + 4], ["4000001", NOW + 4, null]]);
    });
  });
}

describe("group commit on SQLite", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "openpal-group-commit-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes issued in one event-loop turn share one commit, and each is committed when its promise resolves", async () => {
    const opened = await openDatabase({ kind: "sqlite", sqlitePath: path.join(dir, "a.db") });
    try {
      const reader = opened.syncReader as SyncReader;
      const group = new GroupCommit(reader);
      await opened.db.schema.createTable("t").addColumn("v", "integer").execute();
      const insert = (v: number) => (s: SyncStatements) => {
        s.run("INSERT INTO t (v) VALUES (:v)", { v });
        return v;
      };
      const fallback = () => Promise.reject(new Error("fallback taken"));
      const values = await Promise.all([1, 2, 3, 4, 5].map((v) => group.write(insert(v), fallback)));
      assert.deepEqual(values, [1, 2, 3, 4, 5]);
      assert.deepEqual(group.stats, { batches: 1, writes: 5 });
      // Committed: a second connection to the file sees every row.
      const other = await openDatabase({ kind: "sqlite", sqlitePath: path.join(dir, "a.db") });
      const seen = reader.tryGet<{ n: number }>("SELECT count(*) AS n FROM t", {});
      const seenElsewhere = other.syncReader?.tryGet<{ n: number }>("SELECT count(*) AS n FROM t", {});
      await other.close();
      assert.equal(Number(seen?.row?.n), 5);
      assert.equal(Number(seenElsewhere?.row?.n), 5);
      // Writes issued in a later turn form a new batch; one that fails after writing rolls back
      // alone (its savepoint), the others of its batch commit.
      const mixed = await Promise.allSettled([
        group.write(insert(6), fallback),
        group.write((st) => {
          insert(7)(st);
          throw new Error("refused after writing");
        }, fallback),
        group.write(insert(8), fallback),
      ]);
      assert.deepEqual(mixed.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
      assert.deepEqual(group.stats, { batches: 2, writes: 8 });
      assert.deepEqual(await opened.db.selectFrom("t" as never).select("v" as never).orderBy("v" as never).execute().then((rows) => rows.map((r) => Number((r as { v: number }).v))), [1, 2, 3, 4, 5, 6, 8]);
    } finally {
      await opened.close();
    }
  });

  it(`a burst of more than ${MAX_GROUP_COMMIT} writes commits in several transactions, in order, every write committed`, async () => {
    const opened = await openDatabase({ kind: "sqlite", sqlitePath: path.join(dir, "burst.db") });
    try {
      const reader = opened.syncReader as SyncReader;
      const group = new GroupCommit(reader);
      await opened.db.schema.createTable("t").addColumn("v", "integer").execute();
      const n = MAX_GROUP_COMMIT * 2 + 50;
      const fallback = () => Promise.reject(new Error("fallback taken"));
      const values = await Promise.all(Array.from({ length: n }, (_, v) => group.write((st) => {
        st.run("INSERT INTO t (v) VALUES (:v)", { v });
        return v;
      }, fallback)));
      assert.deepEqual(values, Array.from({ length: n }, (_, v) => v));
      assert.deepEqual(group.stats, { batches: 3, writes: n });
      const rowsInOrder = await opened.db.selectFrom("t" as never).select("v" as never).execute();
      assert.deepEqual(rowsInOrder.map((r) => Number((r as { v: number }).v)), values);
    } finally {
      await opened.close();
    }
  });

  it("a batch's savepoint journals stay in memory: committing 200 link writes opens no temporary file (Linux)", { skip: process.platform !== "linux" }, async () => {
    // SQLite keeps a savepoint's journal in memory only up to 64 KiB unless temp_store is MEMORY;
    // past that it creates (and at once unlinks) a file in /var/tmp, inside the commit the
    // requests wait for. The file is open while the batch runs, so the last write looks for it.
    const { openStore } = await import("../../src/store/index.ts");
    const store = await openStore({ kind: "sqlite", sqlitePath: path.join(dir, "journal.db") });
    try {
      await seed(store);
      const openTempFiles = () => readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).includes("etilqs_");
        } catch {
          return false; // closed meanwhile
        }
      }).length;
      let seenInBatch = -1;
      const n = MAX_GROUP_COMMIT;
      await Promise.all(Array.from({ length: n }, (_, i) => store.writeLink(TID, oid(1000 + i), (state) => {
        const decided = decider(oid(1000 + i), { kind: "create", partnerId: "4000001" }, NOW + i)(state);
        if (i === n - 1) seenInBatch = openTempFiles();
        return decided;
      })));
      assert.equal(seenInBatch, 0, "no temporary journal file may be open while the batch commits");
      const links = await store.links.history({ tenantId: TID });
      assert.equal(links.filter((l) => l.objectId >= oid(1000)).length, n, "every write of the batch committed");
    } finally {
      await store.close();
    }
  });

  it("a failed commit fails every write of the batch and writes none of them", async () => {
    const opened = await openDatabase({ kind: "sqlite", sqlitePath: path.join(dir, "b.db") });
    try {
      const reader = opened.syncReader as SyncReader;
      await opened.db.schema.createTable("t").addColumn("v", "integer").execute();
      // A deferred foreign key fails only at COMMIT: the whole batch must fail with it.
      await sql`CREATE TABLE parent (id INTEGER PRIMARY KEY)`.execute(opened.db);
      await sql`CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`.execute(opened.db);
      const group = new GroupCommit(reader);
      const fallback = () => Promise.reject(new Error("fallback taken"));
      const results = await Promise.allSettled([
        group.write((s) => s.run("INSERT INTO t (v) VALUES (:v)", { v: 1 }), fallback),
        group.write((s) => s.run("INSERT INTO child (pid) VALUES (:p)", { p: 42 }), fallback),
      ]);
      assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
      assert.match(String((results[0] as PromiseRejectedResult).reason), /FOREIGN KEY/);
      assert.equal(Number(reader.tryGet<{ n: number }>("SELECT count(*) AS n FROM t", {})?.row?.n), 0);
    } finally {
      await opened.close();
    }
  });

  it("a write alone in its batch that throws after writing leaves nothing written and is rejected with its own error", async () => {
    const opened = await openDatabase({ kind: "sqlite", sqlitePath: path.join(dir, "d.db") });
    try {
      const reader = opened.syncReader as SyncReader;
      await opened.db.schema.createTable("t").addColumn("v", "integer").execute();
      const group = new GroupCommit(reader);
      const fallback = () => Promise.reject(new Error("fallback taken"));
      await assert.rejects(
        group.write((s) => {
          s.run("INSERT INTO t (v) VALUES (:v)", { v: 1 });
          throw new Error("refused after writing");
        }, fallback),
        /refused after writing/,
      );
      assert.equal(Number(reader.tryGet<{ n: number }>("SELECT count(*) AS n FROM t", {})?.row?.n), 0);
      // The next lone write commits as usual.
      await group.write((s) => s.run("INSERT INTO t (v) VALUES (:v)", { v: 2 }), fallback);
      assert.equal(Number(reader.tryGet<{ n: number }>("SELECT count(*) AS n FROM t", {})?.row?.n), 1);
      assert.deepEqual(group.stats, { batches: 1, writes: 1 });
    } finally {
      await opened.close();
    }
  });

  it("while another transaction holds the connection, the batch's writes take the fallback path", async () => {
    const opened = await openDatabase({ kind: "sqlite", sqlitePath: path.join(dir, "c.db") });
    try {
      const group = new GroupCommit(opened.syncReader as SyncReader);
      let outcome: string | undefined;
      await opened.db.transaction().execute(async () => {
        // Held open until the batch has flushed: this fallback does not wait for the connection.
        // (A 10 ms timer here let a loaded machine commit the transaction before the flush.)
        outcome = await group.write(() => "fast", async () => "fallback");
      });
      assert.equal(outcome, "fallback");
      assert.deepEqual(group.stats, { batches: 0, writes: 0 });
    } finally {
      await opened.close();
    }
  });
});
