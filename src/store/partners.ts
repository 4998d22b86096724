/**
 * Partner registry aggregate: partner organisations (global id, name, own tenants) and their
 * location ids, whose activity is effective-dated (a deactivated id stops attribution from then).
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";
import { openAt } from "./directory.ts";
import { namedSql, type SyncReader } from "./database.ts";

/**
 * What the link API needs to judge a PUT/PATCH target, in one statement: the organisation
 * owning the id as a location, whether that location has an inactive status open at :at, and
 * the organisation whose global id it is. Portable across SQLite and PostgreSQL.
 */
export const LINK_TARGET_SQL = `
  SELECT
    (SELECT org.name FROM partner_locations loc JOIN partners org ON org.global_id = loc.global_id WHERE loc.id = :partnerId) AS location_organisation,
    (SELECT COUNT(*) FROM partner_location_status s
      WHERE s.location_id = :partnerId AND s.active = 0
        AND (s.valid_from IS NULL OR s.valid_from <= :at) AND (s.valid_to IS NULL OR s.valid_to > :at)) AS inactive,
    (SELECT g.name FROM partners g WHERE g.global_id = :partnerId) AS global_organisation`;

export interface LinkTargetRow { location_organisation: string | null; inactive: number | string; global_organisation: string | null }

/** LinkTargetFacts from LINK_TARGET_SQL's row. */
export function linkTargetFactsOf(r: LinkTargetRow | undefined): LinkTargetFacts {
  if (r?.location_organisation != null) return { kind: "location", active: Number(r.inactive) === 0, organisationName: r.location_organisation };
  if (r?.global_organisation != null) return { kind: "global", organisationName: r.global_organisation };
  return { kind: "unknown" };
}

/** `lookup` narrowed to what judging a link target needs (see LINK_TARGET_SQL). */
export type LinkTargetFacts =
  | { readonly kind: "location"; readonly active: boolean; readonly organisationName: string }
  | { readonly kind: "global"; readonly organisationName: string }
  | { readonly kind: "unknown" };

export interface PartnerOrganisation {
  readonly globalId: string;
  readonly name: string;
  readonly tenantIds: readonly string[];
  readonly createdAt: number;
}

export interface PartnerLocation {
  readonly id: string;
  readonly globalId: string;
  readonly country: string | null;
  readonly name: string | null;
  readonly createdAt: number;
}

export interface LocationStatusInterval {
  readonly locationId: string;
  readonly active: boolean;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

/** What a partner id is, as the registry knows it at a time. */
export type PartnerIdLookup =
  | { readonly kind: "location"; readonly location: PartnerLocation; readonly organisation: PartnerOrganisation; readonly active: boolean }
  | { readonly kind: "global"; readonly organisation: PartnerOrganisation }
  | { readonly kind: "unknown" };

export class PartnerRegistryStore {
  readonly #db: Kysely<Database>;
  readonly #syncReader: SyncReader | undefined;
  /** `syncReader`: SQLite's synchronous reads, given only to the store outside transactions. */
  constructor(db: Kysely<Database>, syncReader?: SyncReader) {
    this.#db = db;
    this.#syncReader = syncReader;
  }

  /**
   * The facts `lookup` gives about a link target, in one statement (the link API's PUT/PATCH
   * path); synchronous on SQLite when no transaction holds the connection.
   */
  async linkTargetFacts(partnerId: string, at: number): Promise<LinkTargetFacts> {
    const params = { partnerId, at };
    const fast = this.#syncReader?.tryGet<LinkTargetRow>(LINK_TARGET_SQL, params);
    return linkTargetFactsOf(fast ? fast.row : (await namedSql<LinkTargetRow>(LINK_TARGET_SQL, params).execute(this.#db)).rows[0]);
  }

  async putOrganisation(p: { globalId: string; name: string; tenantIds: readonly string[]; createdAt: number }): Promise<void> {
    await this.#db.insertInto("partners").values({ global_id: p.globalId, name: p.name, created_at: p.createdAt })
      .onConflict((oc) => oc.column("global_id").doUpdateSet({ name: p.name })).execute();
    for (const tenantId of p.tenantIds) {
      await this.#db.insertInto("partner_tenants").values({ global_id: p.globalId, tenant_id: tenantId })
        .onConflict((oc) => oc.columns(["global_id", "tenant_id"]).doNothing()).execute();
    }
  }

  async putLocation(l: PartnerLocation): Promise<void> {
    await this.#db.insertInto("partner_locations")
      .values({ id: l.id, global_id: l.globalId, country: l.country, name: l.name, created_at: l.createdAt })
      .onConflict((oc) => oc.column("id").doUpdateSet({ global_id: l.globalId, country: l.country, name: l.name }))
      .execute();
  }

  /** Sets a location active or inactive from `at`: closes the open status row, opens a new one. */
  async setLocationActive(locationId: string, active: boolean, at: number | null): Promise<void> {
    const open = await this.#db.selectFrom("partner_location_status").selectAll()
      .where("location_id", "=", locationId).where("valid_to", "is", null).executeTakeFirst();
    if (open && Boolean(open.active) === active) return;
    if (open) {
      await this.#db.updateTable("partner_location_status").set({ valid_to: at }).where("seq", "=", open.seq).execute();
    }
    await this.#db.insertInto("partner_location_status")
      .values({ location_id: locationId, active: active ? 1 : 0, valid_from: at, valid_to: null }).execute();
  }

  async getOrganisation(globalId: string): Promise<PartnerOrganisation | undefined> {
    const r = await this.#db.selectFrom("partners").selectAll().where("global_id", "=", globalId).executeTakeFirst();
    if (!r) return undefined;
    const tenants = await this.#db.selectFrom("partner_tenants").select("tenant_id").where("global_id", "=", globalId).execute();
    return { globalId: r.global_id, name: r.name, tenantIds: tenants.map((t) => t.tenant_id), createdAt: Number(r.created_at) };
  }

  async listOrganisations(): Promise<PartnerOrganisation[]> {
    const rows = await this.#db.selectFrom("partners").selectAll().orderBy("global_id").execute();
    const tenants = await this.#db.selectFrom("partner_tenants").selectAll().execute();
    return rows.map((r) => ({
      globalId: r.global_id, name: r.name, createdAt: Number(r.created_at),
      tenantIds: tenants.filter((t) => t.global_id === r.global_id).map((t) => t.tenant_id),
    }));
  }

  async listLocations(globalId?: string): Promise<PartnerLocation[]> {
    let q = this.#db.selectFrom("partner_locations").selectAll().orderBy("id");
    if (globalId) q = q.where("global_id", "=", globalId);
    return (await q.execute()).map((r) => ({ id: r.id, globalId: r.global_id, country: r.country, name: r.name, createdAt: Number(r.created_at) }));
  }

  async listLocationStatus(locationId?: string): Promise<LocationStatusInterval[]> {
    let q = this.#db.selectFrom("partner_location_status").selectAll().orderBy("seq");
    if (locationId) q = q.where("location_id", "=", locationId);
    return (await q.execute()).map((r) => ({
      locationId: r.location_id, active: Boolean(r.active),
      validFrom: r.valid_from === null ? null : Number(r.valid_from), validTo: r.valid_to === null ? null : Number(r.valid_to),
    }));
  }

  /**
   * Whether a location id is active at `at`: it is unless a status row covering `at` says
   * inactive (a location is active from its registration until deactivated).
   */
  async isLocationActive(locationId: string, at: number): Promise<boolean> {
    const rows = await this.#db.selectFrom("partner_location_status").selectAll().where("location_id", "=", locationId).execute();
    return openAt(rows, at).every((r) => Boolean(r.active));
  }

  /** Resolves a partner id: a location id, a global (headquarters) id, or unknown. */
  async lookup(partnerId: string, at: number): Promise<PartnerIdLookup> {
    const loc = await this.#db.selectFrom("partner_locations").selectAll().where("id", "=", partnerId).executeTakeFirst();
    if (loc) {
      const organisation = await this.getOrganisation(loc.global_id);
      if (organisation) {
        return {
          kind: "location",
          location: { id: loc.id, globalId: loc.global_id, country: loc.country, name: loc.name, createdAt: Number(loc.created_at) },
          organisation,
          active: await this.isLocationActive(loc.id, at),
        };
      }
    }
    const organisation = await this.getOrganisation(partnerId);
    if (organisation) return { kind: "global", organisation };
    return { kind: "unknown" };
  }

  /** The partner organisation that owns `tenantId` as one of its own tenants, if any. */
  async findOrganisationByTenant(tenantId: string): Promise<PartnerOrganisation | undefined> {
    const r = await this.#db.selectFrom("partner_tenants").select("global_id").where("tenant_id", "=", tenantId).executeTakeFirst();
    return r ? this.getOrganisation(r.global_id) : undefined;
  }
}
