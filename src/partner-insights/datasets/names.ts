/**
 * Small lookup tables a dataset joins to name things (partner, customer tenant, subscription),
 * loaded into the query's DuckDB connection with an appender. Partner names are loaded for the
 * caller's organisation only.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Store } from "../../store/index.ts";

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));

async function fill(connection: DuckDBConnection, table: string, columns: readonly string[], rows: readonly (readonly (string | null)[])[]): Promise<void> {
  await connection.run(`CREATE OR REPLACE TEMP TABLE ${table} (${columns.map((c) => `${c} VARCHAR`).join(", ")})`);
  const a = await connection.createAppender(table);
  for (const r of rows) {
    for (const v of r) {
      if (v === null) a.appendNull();
      else a.appendVarchar(v);
    }
    a.endRow();
  }
  a.closeSync();
}

/** ins_locations(id, name): the organisation's locations (a location without a name takes the organisation's). */
export async function loadPartnerNames(connection: DuckDBConnection, store: Store, globalId: string): Promise<void> {
  const [org, locations] = await Promise.all([store.partners.getOrganisation(globalId), store.partners.listLocations(globalId)]);
  const orgName = org?.name ?? globalId;
  await fill(connection, "ins_locations", ["id", "name"], [[globalId, orgName], ...locations.map((l) => [l.id, l.name ?? orgName] as const)]);
}

/** ins_tenants(id lower-case, name). */
export async function loadTenantNames(connection: DuckDBConnection, store: Store): Promise<void> {
  const tenants = await store.directory.listTenants();
  await fill(connection, "ins_tenants", ["id", "name"], tenants.map((t) => [t.id.toLowerCase(), t.displayName]));
}

/** ins_subscriptions(id, start_date, end_date, state): first and last version of each subscription. */
export async function loadSubscriptions(connection: DuckDBConnection, store: Store): Promise<void> {
  const history = await store.resources.subscriptionHistory();
  const byId = new Map<string, { start: number | null; end: number | null; state: string }>();
  for (const s of history) {
    // History is oldest first: the first version's start, the latest version's end and state.
    const id = s.id.toLowerCase();
    const prev = byId.get(id);
    byId.set(id, { start: prev ? prev.start : s.validFrom, end: s.validTo, state: s.validTo === null ? s.state : "Deleted" });
  }
  await fill(connection, "ins_subscriptions", ["id", "start_date", "end_date", "state"], [...byId].map(([id, s]) => [id, iso(s.start), iso(s.end), s.state]));
}
