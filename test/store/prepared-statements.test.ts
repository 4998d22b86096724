/**
 * PostgreSQL: the link write's two statements (the locking read and the write with its audit
 * entry) run as named prepared statements, parsed and planned once per connection
 * (database.ts `preparedAs`); everything else stays unnamed, so a connection holds a few.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { openStore, type Store } from "../../src/store/index.ts";
import { freshPostgresUrl } from "../support/stores.ts";
import { decidePartnerLink, type PartnerLinkCommand } from "../../src/domain/partner-link.ts";

const PG = process.env.OPENPAL_TEST_POSTGRES_URL;
const TID = "aaaaaaaa-0000-4000-8000-00000000f001";
const OID = "bbbbbbbb-0000-4000-8000-00000000f001";
const NOW = Date.parse("2026-10-05T12:00:00Z");

function linkWrite(store: Store, command: PartnerLinkCommand, at: number) {
  return store.writeLink(TID, OID, (state) => {
    const o = decidePartnerLink(state, command, at);
    if (o.kind !== "write") return { result: o.kind };
    return { result: o.kind, change: { previous: o.previous, next: o.next, at, audit: { at, tenantId: TID, actorTenantId: TID, actorObjectId: OID, action: `partnerLink.${o.change}`, target: o.next.partnerId ?? "-", requestId: null } } };
  });
}

describe("named prepared statements for link writes (postgres)", { skip: PG ? false : "OPENPAL_TEST_POSTGRES_URL is not set" }, () => {
  let store: Store;
  let drop: () => Promise<void>;
  before(async () => {
    const fresh = await freshPostgresUrl(PG as string);
    drop = fresh.drop;
    // One connection, so that pg_prepared_statements (per session) shows what the writes prepared.
    store = await openStore({ kind: "postgres", postgresUrl: fresh.url, poolSize: 1 });
    await store.directory.putTenant({ id: TID, displayName: "Prepared", domain: "prepared.example", createdAt: 0 });
    await store.partners.putOrganisation({ globalId: "4000000", name: "Contoso Consulting", tenantIds: [], createdAt: 0 });
    await store.partners.putLocation({ id: "4000001", globalId: "4000000", country: "US", name: null, createdAt: 0 });
    await store.partners.putLocation({ id: "4000002", globalId: "4000000", country: "GB", name: null, createdAt: 0 });
  });
  after(async () => {
    await store.close();
    await drop();
  });

  const prepared = async () =>
    (await sql<{ name: string }>`SELECT name FROM pg_prepared_statements ORDER BY name`.execute(store.db)).rows.map((r) => r.name);

  it("a link's create, update and delete prepare the locking read and each write once, and nothing else", async () => {
    assert.deepEqual(await prepared(), []);
    assert.equal(await linkWrite(store, { kind: "create", partnerId: "4000001" }, NOW), "write");
    assert.equal(await linkWrite(store, { kind: "update", partnerId: "4000002" }, NOW + 1), "write");
    assert.equal(await linkWrite(store, { kind: "update", partnerId: "4000001" }, NOW + 2), "write");
    assert.equal(await linkWrite(store, { kind: "delete", partnerId: "4000001" }, NOW + 3), "write");
    assert.deepEqual(await prepared(), ["link_lock_state", "link_write_close", "link_write_close_open", "link_write_open"]);
  });

  it("the prepared writes store what the statements say: intervals closed and opened, one audit entry each", async () => {
    const history = await store.links.history();
    assert.deepEqual(history.map((h) => [h.partnerId, h.validFrom, h.validTo]), [["4000001", NOW, NOW + 1], ["4000002", NOW + 1, NOW + 2], ["4000001", NOW + 2, NOW + 3]]);
    const audit = (await sql<{ action: string }>`SELECT action FROM audit_log WHERE tenant_id = ${TID} ORDER BY seq`.execute(store.db)).rows.map((r) => r.action);
    assert.equal(audit.length, 4);
  });
});
