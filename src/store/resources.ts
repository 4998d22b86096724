/**
 * Resource aggregate: management groups, subscriptions, resource groups and resources, all
 * effective-dated (migration 0004). A put that changes nothing is a no-op; a put that changes
 * something closes the open row at `at` and opens a new one from `at`; a delete closes the open
 * row. So "current state" is the open rows and history stays queryable (`at` arguments).
 *
 * Ids are matched case-insensitively (ARM); the display form is kept as first written.
 */
import type { Generated, Kysely, Selectable } from "kysely";
import type { Database } from "./schema.ts";

export type OfferType = "EA" | "AzurePlan" | "CSP" | "PayAsYouGo";
export const OFFER_TYPES: readonly OfferType[] = ["EA", "AzurePlan", "CSP", "PayAsYouGo"];

interface Dated {
  seq: Generated<number>;
  tenant_id: string;
  valid_from: number | null;
  valid_to: number | null;
}
export interface ResourceTables {
  management_groups: Dated & { id: string; id_key: string; display_name: string; parent_id: string | null };
  subscriptions: Dated & { id: string; display_name: string; offer_type: string; account_owner_id: string | null; management_group_id: string | null; state: string };
  resource_groups: Dated & { subscription_id: string; name: string; name_key: string; location: string; tags: string };
  resources: Dated & { subscription_id: string; id: string; id_key: string; resource_group_key: string | null; type: string; name: string; location: string; tags: string };
}
type Db = Kysely<Database & ResourceTables>;

/** What a put did: nothing (same values), opened a first row, or closed one and opened another. */
export type PutOutcome = "unchanged" | "created" | "updated";

export interface EffectiveDating {
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

export interface ManagementGroup extends EffectiveDating {
  readonly tenantId: string;
  readonly id: string;
  readonly displayName: string;
  /** null only for the tenant root group (whose id is the tenant id). */
  readonly parentId: string | null;
}

export interface Subscription extends EffectiveDating {
  readonly tenantId: string;
  /** Lower-case GUID. */
  readonly id: string;
  readonly displayName: string;
  readonly offerType: OfferType;
  /** EA account owner (object id): the only identity that may set DPOR. */
  readonly accountOwnerId: string | null;
  /** Holding group; null = the tenant root group. */
  readonly managementGroupId: string | null;
  readonly state: string;
}

export interface ResourceGroup extends EffectiveDating {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly name: string;
  readonly location: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface Resource extends EffectiveDating {
  readonly tenantId: string;
  readonly subscriptionId: string;
  /** Full ARM id, as written. */
  readonly id: string;
  readonly resourceGroup: string | null;
  readonly type: string;
  readonly name: string;
  readonly location: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** When the write takes effect, and (for a first row) since when the fact held. */
export interface WriteTime {
  readonly at: number;
  /** For a fact not seen before: since when it held (null = since always). Defaults to `at`. */
  readonly since?: number | null;
}

export const TENANT_ROOT_GROUP_NAME = "Tenant Root Group";

const n = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));
const dating = (r: { valid_from: number | null; valid_to: number | null }): EffectiveDating => ({ validFrom: n(r.valid_from), validTo: n(r.valid_to) });
/** Row open at `at` (or currently open when `at` is undefined). */
export function openAtTime<T extends { valid_from: number | null; valid_to: number | null }>(rows: readonly T[], at?: number): T | undefined {
  if (at === undefined) return rows.find((r) => r.valid_to === null);
  return rows.find((r) => (r.valid_from === null || Number(r.valid_from) <= at) && (r.valid_to === null || Number(r.valid_to) > at));
}
const toMg = (r: Selectable<ResourceTables["management_groups"]>): ManagementGroup => ({ tenantId: r.tenant_id, id: r.id, displayName: r.display_name, parentId: r.parent_id, ...dating(r) });
const toSub = (r: Selectable<ResourceTables["subscriptions"]>): Subscription => ({
  tenantId: r.tenant_id, id: r.id, displayName: r.display_name, offerType: r.offer_type as OfferType, accountOwnerId: r.account_owner_id,
  managementGroupId: r.management_group_id, state: r.state, ...dating(r),
});
const toRg = (r: Selectable<ResourceTables["resource_groups"]>): ResourceGroup => ({ tenantId: r.tenant_id, subscriptionId: r.subscription_id, name: r.name, location: r.location, tags: JSON.parse(r.tags) as Record<string, string>, ...dating(r) });
const toRes = (r: Selectable<ResourceTables["resources"]>, rgName: string | null): Resource => ({
  tenantId: r.tenant_id, subscriptionId: r.subscription_id, id: r.id, resourceGroup: rgName, type: r.type, name: r.name, location: r.location,
  tags: JSON.parse(r.tags) as Record<string, string>, ...dating(r),
});
/** Tags serialised with sorted keys, so equal tag sets compare equal. */
export function tagsJson(tags: Readonly<Record<string, string>> | undefined): string {
  return JSON.stringify(Object.fromEntries(Object.entries(tags ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))));
}

export class ResourceStore {
  readonly #db: Db;
  constructor(db: Kysely<Database>) {
    this.#db = db as unknown as Db;
  }

  // --- management groups ----------------------------------------------------------------------

  /**
   * Creates or changes a management group. A group without a parent hangs under the tenant root
   * group, which is created on first use (its id is the tenant id).
   */
  async putManagementGroup(g: { tenantId: string; id: string; displayName: string; parentId?: string | null }, when: WriteTime): Promise<PutOutcome> {
    const isRoot = g.id.toLowerCase() === g.tenantId.toLowerCase();
    if (!isRoot) await this.#ensureRootGroup(g.tenantId, when);
    const parentId = isRoot ? null : (g.parentId ?? g.tenantId);
    if (parentId !== null && parentId.toLowerCase() !== g.tenantId.toLowerCase()) {
      const parent = await this.getManagementGroup(g.tenantId, parentId);
      if (!parent) throw new Error(`management group "${g.id}": parent "${parentId}" does not exist in tenant ${g.tenantId}; create the parent first`);
    }
    const rows = await this.#db.selectFrom("management_groups").selectAll()
      .where("tenant_id", "=", g.tenantId).where("id_key", "=", g.id.toLowerCase()).execute();
    const open = openAtTime(rows);
    if (open && open.display_name === g.displayName && (open.parent_id ?? "").toLowerCase() === (parentId ?? "").toLowerCase()) return "unchanged";
    if (open) await this.#db.updateTable("management_groups").set({ valid_to: when.at }).where("seq", "=", open.seq).execute();
    await this.#db.insertInto("management_groups").values({
      tenant_id: g.tenantId, id: open?.id ?? g.id, id_key: g.id.toLowerCase(), display_name: g.displayName, parent_id: parentId,
      valid_from: open || rows.length ? when.at : (when.since === undefined ? when.at : when.since), valid_to: null,
    }).execute();
    return open ? "updated" : "created";
  }

  async #ensureRootGroup(tenantId: string, when: WriteTime): Promise<void> {
    if (await this.getManagementGroup(tenantId, tenantId)) return;
    await this.putManagementGroup({ tenantId, id: tenantId, displayName: TENANT_ROOT_GROUP_NAME }, when);
  }

  async getManagementGroup(tenantId: string, id: string, at?: number): Promise<ManagementGroup | undefined> {
    const rows = await this.#db.selectFrom("management_groups").selectAll()
      .where("tenant_id", "=", tenantId).where("id_key", "=", id.toLowerCase()).execute();
    const r = openAtTime(rows, at);
    return r ? toMg(r) : undefined;
  }

  /** Groups of a tenant as they stood at `at` (default: now, the open rows). */
  async listManagementGroups(tenantId: string, at?: number): Promise<ManagementGroup[]> {
    const rows = await this.#db.selectFrom("management_groups").selectAll().where("tenant_id", "=", tenantId).orderBy("id_key").orderBy("seq").execute();
    return rows.filter((r) => openAtTime([r], at)).map(toMg);
  }

  /** Every row, history included, of every group (or one tenant's). */
  async managementGroupHistory(tenantId?: string): Promise<ManagementGroup[]> {
    let q = this.#db.selectFrom("management_groups").selectAll();
    if (tenantId) q = q.where("tenant_id", "=", tenantId);
    return (await q.orderBy("seq").execute()).map(toMg);
  }

  /** Closes the group. Refused while it holds groups or subscriptions (as Azure refuses). */
  async deleteManagementGroup(tenantId: string, id: string, at: number): Promise<boolean> {
    const key = id.toLowerCase();
    const children = (await this.listManagementGroups(tenantId)).filter((g) => g.parentId?.toLowerCase() === key);
    const subs = (await this.listSubscriptions({ tenantId })).filter((s) => s.managementGroupId?.toLowerCase() === key);
    if (children.length || subs.length) {
      throw new Error(`management group "${id}" still holds ${children.length} group(s) and ${subs.length} subscription(s); move or delete them first`);
    }
    const r = await this.#db.updateTable("management_groups").set({ valid_to: at })
      .where("tenant_id", "=", tenantId).where("id_key", "=", key).where("valid_to", "is", null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  // --- subscriptions --------------------------------------------------------------------------

  /**
   * Creates or changes a subscription. Offer type, account owner, holding group, name and state
   * are effective-dated: moving EA → AzurePlan closes the EA row (DPOR ends with it, rule 12).
   */
  async putSubscription(s: { tenantId: string; id: string; displayName: string; offerType: OfferType; accountOwnerId?: string | null; managementGroupId?: string | null; state?: string }, when: WriteTime): Promise<PutOutcome> {
    if (!OFFER_TYPES.includes(s.offerType)) throw new Error(`subscription ${s.id}: offer type "${s.offerType}" is not one of ${OFFER_TYPES.join(", ")}`);
    const id = s.id.toLowerCase();
    await this.#ensureRootGroup(s.tenantId, when);
    let mg = s.managementGroupId ?? null;
    if (mg !== null && mg.toLowerCase() === s.tenantId.toLowerCase()) mg = null;
    if (mg !== null) {
      const group = await this.getManagementGroup(s.tenantId, mg);
      if (!group) throw new Error(`subscription ${s.id}: management group "${mg}" does not exist in tenant ${s.tenantId}; create it first`);
      mg = group.id;
    }
    const row = { tenant_id: s.tenantId, id, display_name: s.displayName, offer_type: s.offerType, account_owner_id: s.accountOwnerId ?? null, management_group_id: mg, state: s.state ?? "Enabled" };
    const rows = await this.#db.selectFrom("subscriptions").selectAll().where("id", "=", id).execute();
    const open = openAtTime(rows);
    if (open && open.tenant_id === row.tenant_id && open.display_name === row.display_name && open.offer_type === row.offer_type
      && open.account_owner_id === row.account_owner_id && open.management_group_id === row.management_group_id && open.state === row.state) return "unchanged";
    if (open) await this.#db.updateTable("subscriptions").set({ valid_to: when.at }).where("seq", "=", open.seq).execute();
    await this.#db.insertInto("subscriptions").values({ ...row, valid_from: open || rows.length ? when.at : (when.since === undefined ? when.at : when.since), valid_to: null }).execute();
    return open ? "updated" : "created";
  }

  async getSubscription(id: string, at?: number): Promise<Subscription | undefined> {
    const rows = await this.#db.selectFrom("subscriptions").selectAll().where("id", "=", id.toLowerCase()).execute();
    const r = openAtTime(rows, at);
    return r ? toSub(r) : undefined;
  }

  async listSubscriptions(filter: { tenantId?: string; at?: number } = {}): Promise<Subscription[]> {
    let q = this.#db.selectFrom("subscriptions").selectAll();
    if (filter.tenantId) q = q.where("tenant_id", "=", filter.tenantId);
    const rows = await q.orderBy("id").orderBy("seq").execute();
    return rows.filter((r) => openAtTime([r], filter.at)).map(toSub);
  }

  /** Every row of one subscription (or all), oldest first: its offer and placement history. */
  async subscriptionHistory(id?: string): Promise<Subscription[]> {
    let q = this.#db.selectFrom("subscriptions").selectAll();
    if (id) q = q.where("id", "=", id.toLowerCase());
    return (await q.orderBy("seq").execute()).map(toSub);
  }

  async deleteSubscription(id: string, at: number): Promise<boolean> {
    const r = await this.#db.updateTable("subscriptions").set({ valid_to: at }).where("id", "=", id.toLowerCase()).where("valid_to", "is", null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  // --- resource groups -----------------------------------------------------------------------

  async putResourceGroup(g: { tenantId: string; subscriptionId: string; name: string; location: string; tags?: Record<string, string> }, when: WriteTime): Promise<PutOutcome> {
    const sub = g.subscriptionId.toLowerCase();
    const rows = await this.#db.selectFrom("resource_groups").selectAll()
      .where("tenant_id", "=", g.tenantId).where("subscription_id", "=", sub).where("name_key", "=", g.name.toLowerCase()).execute();
    const open = openAtTime(rows);
    const tags = tagsJson(g.tags);
    if (open && open.location === g.location && open.tags === tags) return "unchanged";
    if (open) await this.#db.updateTable("resource_groups").set({ valid_to: when.at }).where("seq", "=", open.seq).execute();
    await this.#db.insertInto("resource_groups").values({
      tenant_id: g.tenantId, subscription_id: sub, name: open?.name ?? g.name, name_key: g.name.toLowerCase(), location: g.location, tags,
      valid_from: open || rows.length ? when.at : (when.since === undefined ? when.at : when.since), valid_to: null,
    }).execute();
    return open ? "updated" : "created";
  }

  async getResourceGroup(subscriptionId: string, name: string, at?: number): Promise<ResourceGroup | undefined> {
    const rows = await this.#db.selectFrom("resource_groups").selectAll()
      .where("subscription_id", "=", subscriptionId.toLowerCase()).where("name_key", "=", name.toLowerCase()).execute();
    const r = openAtTime(rows, at);
    return r ? toRg(r) : undefined;
  }

  async listResourceGroups(subscriptionId: string, at?: number): Promise<ResourceGroup[]> {
    const rows = await this.#db.selectFrom("resource_groups").selectAll().where("subscription_id", "=", subscriptionId.toLowerCase()).orderBy("name_key").orderBy("seq").execute();
    return rows.filter((r) => openAtTime([r], at)).map(toRg);
  }

  /** Closes the group and every resource in it (Azure deletes the contents with the group). */
  async deleteResourceGroup(subscriptionId: string, name: string, at: number): Promise<boolean> {
    const sub = subscriptionId.toLowerCase();
    const r = await this.#db.updateTable("resource_groups").set({ valid_to: at })
      .where("subscription_id", "=", sub).where("name_key", "=", name.toLowerCase()).where("valid_to", "is", null).executeTakeFirst();
    await this.#db.updateTable("resources").set({ valid_to: at })
      .where("subscription_id", "=", sub).where("resource_group_key", "=", name.toLowerCase()).where("valid_to", "is", null).execute();
    return Number(r.numUpdatedRows) > 0;
  }

  // --- resources -----------------------------------------------------------------------------

  async putResource(r: { tenantId: string; id: string; type: string; name: string; location: string; resourceGroup: string | null; subscriptionId: string; tags?: Record<string, string> }, when: WriteTime): Promise<PutOutcome> {
    const key = r.id.toLowerCase();
    const rows = await this.#db.selectFrom("resources").selectAll().where("tenant_id", "=", r.tenantId).where("id_key", "=", key).execute();
    const open = openAtTime(rows);
    const tags = tagsJson(r.tags);
    if (open && open.type === r.type && open.location === r.location && open.tags === tags) return "unchanged";
    if (open) await this.#db.updateTable("resources").set({ valid_to: when.at }).where("seq", "=", open.seq).execute();
    await this.#db.insertInto("resources").values({
      tenant_id: r.tenantId, subscription_id: r.subscriptionId.toLowerCase(), id: open?.id ?? r.id, id_key: key,
      resource_group_key: r.resourceGroup?.toLowerCase() ?? null, type: r.type, name: r.name, location: r.location, tags,
      valid_from: open || rows.length ? when.at : (when.since === undefined ? when.at : when.since), valid_to: null,
    }).execute();
    return open ? "updated" : "created";
  }

  async getResource(tenantId: string, id: string, at?: number): Promise<Resource | undefined> {
    const rows = await this.#db.selectFrom("resources").selectAll().where("tenant_id", "=", tenantId).where("id_key", "=", id.toLowerCase()).execute();
    const r = openAtTime(rows, at);
    return r ? toRes(r, rgOf(r.id)) : undefined;
  }

  async listResources(filter: { tenantId: string; subscriptionId?: string; resourceGroup?: string; at?: number }): Promise<Resource[]> {
    let q = this.#db.selectFrom("resources").selectAll().where("tenant_id", "=", filter.tenantId);
    if (filter.subscriptionId) q = q.where("subscription_id", "=", filter.subscriptionId.toLowerCase());
    if (filter.resourceGroup) q = q.where("resource_group_key", "=", filter.resourceGroup.toLowerCase());
    const rows = await q.orderBy("id_key").orderBy("seq").execute();
    return rows.filter((r) => openAtTime([r], filter.at)).map((r) => toRes(r, rgOf(r.id)));
  }

  async deleteResource(tenantId: string, id: string, at: number): Promise<boolean> {
    const r = await this.#db.updateTable("resources").set({ valid_to: at })
      .where("tenant_id", "=", tenantId).where("id_key", "=", id.toLowerCase()).where("valid_to", "is", null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

function rgOf(id: string): string | null {
  const m = /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)/i.exec(id);
  return m ? (m[1] as string) : null;
}
