/**
 * What one link write costs a SQLite file store in pages: a write committed on its own (the
 * link API at a modest rate) appends a WAL frame for every page it changes, each two syscalls,
 * so every index on its tables costs every write. The rule: a link write changes only the
 * b-trees its rows and the indexes some query reads live in — the interval (`partner_links`,
 * its principal index and its one-open-interval index, the sequence), the principal's record,
 * the audit entry and its tenant index, and the file's header. No index of links by partner id (dropped in migration
 * 0015: no query reads links by partner id alone).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import SQLite from "better-sqlite3";
import { openStore, type Store } from "../../src/store/index.ts";
import { decidePartnerLink } from "../../src/domain/partner-link.ts";

const TID = "aaaaaaaa-0000-4000-8000-00000000e001";
const oid = (i: number) => `bbbbbbbb-0000-4000-8000-${String(i % 20).padStart(12, "0")}`;

async function seed(store: Store): Promise<void> {
  await store.directory.putTenant({ id: TID, displayName: "Pages", domain: "pages.example", createdAt: 0 });
  await store.partners.putOrganisation({ globalId: "4000000", name: "Contoso Consulting", tenantIds: [], createdAt: 0 });
  await store.partners.putLocation({ id: "4000001", globalId: "4000000", country: "US", name: null, createdAt: 0 });
  await store.partners.putLocation({ id: "4000002", globalId: "4000000", country: "GB", name: null, createdAt: 0 });
}

/** Link write i: principal i % 20 links, or moves to the other partner id, at time `at`. */
function write(store: Store, i: number, at: number): Promise<unknown> {
  return store.writeLink(TID, oid(i), (state) => {
    const command = state.partnerId === null ? { kind: "create" as const, partnerId: "4000001" } : { kind: "update" as const, partnerId: state.partnerId === "4000001" ? "4000002" : "4000001" };
    const outcome = decidePartnerLink(state, command, at);
    if (outcome.kind !== "write") throw new Error(`unexpected ${outcome.kind}`);
    return { result: outcome.next, change: { previous: outcome.previous, next: outcome.next, at, audit: { at, tenantId: TID, actorTenantId: TID, actorObjectId: oid(i), action: `partnerLink.${outcome.change}`, target: outcome.next.partnerId ?? "-", requestId: null } } };
  });
}

describe("pages a link write changes (SQLite file store)", () => {
  it("a link write committed on its own changes only its rows' b-trees and the indexes queries read: none by partner id", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-pages-"));
    const file = path.join(dir, "openpal.db");
    // No background checkpoints: the WAL then holds every frame written since it was emptied.
    const store = await openStore({ kind: "sqlite", sqlitePath: file, walCheckpoint: { startDelayMs: 3_600_000 } });
    const side = new SQLite(file);
    try {
      await seed(store);
      let at = Date.parse("2026-10-01T00:00:00Z");
      for (let i = 0; i < 400; i++) await write(store, i, ++at); // tables past their first pages
      side.pragma("wal_checkpoint(TRUNCATE)");
      for (let i = 0; i < 200; i++) await write(store, i, ++at); // one commit each
      const wal = readFileSync(`${file}-wal`);
      const pageSize = wal.readUInt32BE(8);
      const pages = new Set<number>();
      for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) pages.add(wal.readUInt32BE(offset));
      const owners = new Map((side.prepare("SELECT pageno, name FROM dbstat").all() as { pageno: number; name: string }[]).map((r) => [r.pageno, r.name]));
      const written = [...new Set([...pages].map((p) => owners.get(p) ?? `page ${p}`))].sort();
      // sqlite_schema: page 1, which also holds the file's header (its page count grows with the file).
      assert.deepEqual(written, ["audit_log", "audit_log_tenant", "partner_link_principals", "partner_links", "partner_links_one_open", "partner_links_principal", "sqlite_schema"]);
    } finally {
      side.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
