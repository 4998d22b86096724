/**
 * Partner-of-record aggregate (DPOR, migration 0006): effective-dated partner location per EA
 * subscription. The ARM endpoints (another component) call these inside one store transaction,
 * after checking the caller with `checkDporPermission` (domain/partner-of-record.ts):
 *
 * @example
 * await store.transaction(async (tx) => {
 *   const sub = await tx.resources.getSubscription(subscriptionId);
 *   const verdict = checkDporPermission(caller, sub);          // 403 unless the EA account owner
 *   const partner = await tx.partnersOfRecord.validatePartnerId("4000001", now); // 400 unless ok
 *   await tx.partnersOfRecord.set(sub, "4000001", now, caller.objectId);
 * });
 */
import type { Generated, Kysely, Selectable } from "kysely";
import type { Database } from "./schema.ts";
import { PartnerRegistryStore } from "./partners.ts";
import { decideDpor, effectiveDporInterval } from "../domain/partner-of-record.ts";
import { isWellFormedPartnerId } from "../domain/partner-id.ts";
import type { Interval } from "../domain/interval.ts";
import type { ResourceTables } from "./resources.ts";

export interface PartnersOfRecordTable {
  seq: Generated<number>;
  tenant_id: string;
  subscription_id: string;
  partner_id: string;
  valid_from: number | null;
  valid_to: number | null;
  set_by: string | null;
  ended_by: string | null;
  end_reason: string | null;
}
export type PartnerOfRecordTables = { partners_of_record: PartnersOfRecordTable };
type Db = Kysely<Database & PartnerOfRecordTables & ResourceTables>;

export interface PartnerOfRecordInterval {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly partnerId: string;
  readonly validFrom: number | null;
  readonly validTo: number | null;
  readonly setBy: string | null;
  readonly endedBy: string | null;
  /** "changed", "removed", "offerChanged" (rule 12) or null while open. */
  readonly endReason: string | null;
}

/** The outcome of validating a partner id for DPOR ("Validate ID" in the portal). */
export type PartnerIdValidation =
  | { readonly ok: true; readonly partnerId: string; readonly partnerName: string; readonly globalId: string }
  | { readonly ok: false; readonly reason: "malformed" | "unknown" | "global" | "inactive"; readonly message: string };

export type DporWrite = "unchanged" | "set" | "changed" | "removed";

export class DporConflictError extends Error {
  override readonly name = "DporConflictError";
}

const n = (v: number | string | null): number | null => (v === null ? null : Number(v));
const toInterval = (r: Selectable<PartnersOfRecordTable>): PartnerOfRecordInterval => ({
  tenantId: r.tenant_id, subscriptionId: r.subscription_id, partnerId: r.partner_id, validFrom: n(r.valid_from), validTo: n(r.valid_to),
  setBy: r.set_by, endedBy: r.ended_by, endReason: r.end_reason,
});

export class PartnerOfRecordStore {
  readonly #db: Db;
  readonly #partners: PartnerRegistryStore;
  constructor(db: Kysely<Database>) {
    this.#db = db as unknown as Db;
    this.#partners = new PartnerRegistryStore(db);
  }

  /**
   * The partner of record in effect at `at` (default: now, the open row), honouring rule 12: an
   * open row whose subscription has since left EA is not in effect.
   */
  async current(subscriptionId: string, at?: number): Promise<PartnerOfRecordInterval | undefined> {
    const id = subscriptionId.toLowerCase();
    const rows = (await this.#db.selectFrom("partners_of_record").selectAll().where("subscription_id", "=", id).orderBy("seq").execute()).map(toInterval);
    const offers = await this.#offers(id);
    const t = at ?? Number.MAX_SAFE_INTEGER - 1;
    for (const r of rows) {
      const effective = effectiveDporInterval({ from: r.validFrom, to: r.validTo }, offers);
      if (effective.some((i) => (i.from ?? -Infinity) <= t && t < (i.to ?? Infinity))) return r;
    }
    return undefined;
  }

  /**
   * Sets (or changes) the partner of record from `at`: closes the open interval and opens a new
   * one. Setting the partner already in effect writes nothing. The caller has checked permission
   * and validated the id; this refuses a non-EA subscription as a last guard.
   */
  async set(subscription: { id: string; tenantId: string; offerType: string }, partnerId: string, at: number, setBy: string | null): Promise<DporWrite> {
    if (subscription.offerType !== "EA") throw new DporConflictError(`subscription ${subscription.id} is not an EA subscription; a partner of record needs an Enterprise Agreement.`);
    const id = subscription.id.toLowerCase();
    await this.#closeIfOfferLeftEa(id);
    const open = await this.#open(id);
    const outcome = decideDpor({ partnerId: open?.partner_id ?? null, since: n(open?.valid_from ?? null) }, { kind: "set", partnerId });
    if (outcome.kind === "unchanged") return "unchanged";
    if (outcome.close && open) await this.#close(open.seq, at, setBy, "changed");
    await this.#db.insertInto("partners_of_record").values({
      tenant_id: subscription.tenantId, subscription_id: id, partner_id: partnerId, valid_from: at, valid_to: null, set_by: setBy, ended_by: null, end_reason: null,
    }).execute();
    return open ? "changed" : "set";
  }

  /** Ends the partner of record at `at`; "unchanged" when there was none. */
  async remove(subscriptionId: string, at: number, removedBy: string | null): Promise<DporWrite> {
    const id = subscriptionId.toLowerCase();
    await this.#closeIfOfferLeftEa(id);
    const open = await this.#open(id);
    const outcome = decideDpor({ partnerId: open?.partner_id ?? null, since: null }, { kind: "remove" });
    if (outcome.kind === "unchanged" || !open) return "unchanged";
    await this.#close(open.seq, at, removedBy, "removed");
    return "removed";
  }

  /** Every interval (oldest first), of one subscription or of one partner location, or all. */
  async history(filter: { subscriptionId?: string; partnerId?: string; tenantId?: string } = {}): Promise<PartnerOfRecordInterval[]> {
    let q = this.#db.selectFrom("partners_of_record").selectAll().orderBy("seq");
    if (filter.subscriptionId) q = q.where("subscription_id", "=", filter.subscriptionId.toLowerCase());
    if (filter.partnerId) q = q.where("partner_id", "=", filter.partnerId);
    if (filter.tenantId) q = q.where("tenant_id", "=", filter.tenantId);
    return (await q.execute()).map(toInterval);
  }

  /**
   * The intervals that earn DPOR credit (rules 11–12): each stored interval cut at the first
   * moment its subscription was not EA. What the attribution engine reads.
   */
  async effectiveIntervals(range?: { from: number; to: number }): Promise<(PartnerOfRecordInterval & { readonly effective: readonly Interval[] })[]> {
    let q = this.#db.selectFrom("partners_of_record").selectAll().orderBy("seq");
    if (range) {
      q = q.where((eb) => eb.or([eb("valid_to", "is", null), eb("valid_to", ">", range.from)]))
        .where((eb) => eb.or([eb("valid_from", "is", null), eb("valid_from", "<", range.to)]));
    }
    const rows = (await q.execute()).map(toInterval);
    const subs = [...new Set(rows.map((r) => r.subscriptionId))];
    const offers = new Map<string, { offerType: string; validFrom: number | null; validTo: number | null }[]>();
    if (subs.length) {
      const all = await this.#db.selectFrom("subscriptions").select(["id", "offer_type", "valid_from", "valid_to"]).where("id", "in", subs).execute();
      for (const o of all) {
        const list = offers.get(o.id) ?? [];
        list.push({ offerType: o.offer_type, validFrom: n(o.valid_from), validTo: n(o.valid_to) });
        offers.set(o.id, list);
      }
    }
    return rows.map((r) => ({ ...r, effective: effectiveDporInterval({ from: r.validFrom, to: r.validTo }, offers.get(r.subscriptionId) ?? []) }));
  }

  /**
   * "Validate ID": a partner of record must be an active location id; returns the partner's name
   * (as the portal shows it before saving). Every refusal names the fix.
   */
  async validatePartnerId(partnerId: string, at: number): Promise<PartnerIdValidation> {
    const id = partnerId.trim();
    if (!isWellFormedPartnerId(id)) return { ok: false, reason: "malformed", message: `"${partnerId}" is not a partner id: use the numeric Associated (location) Partner ID shown on the partner's profile.` };
    const found = await this.#partners.lookup(id, at);
    if (found.kind === "unknown") return { ok: false, reason: "unknown", message: `partner id ${id} is not registered; check the id with the partner.` };
    if (found.kind === "global") return { ok: false, reason: "global", message: `${id} is the global (headquarters) id of ${found.organisation.name}; use one of its location ids instead.` };
    if (!found.active) return { ok: false, reason: "inactive", message: `partner id ${id} (${found.organisation.name}) is not active; ask the partner for an active location id.` };
    return { ok: true, partnerId: id, partnerName: found.location.name ?? found.organisation.name, globalId: found.organisation.globalId };
  }

  /**
   * Records a past (or still open) DPOR interval, for the world loader. Refuses overlap with a
   * stored interval of the same subscription (one partner at a time).
   */
  async insertHistorical(r: { tenantId: string; subscriptionId: string; partnerId: string; from: number | null; to: number | null }): Promise<void> {
    if (r.from !== null && r.to !== null && r.from >= r.to) throw new DporConflictError(`partner of record of ${r.subscriptionId}: "from" must be before "to".`);
    const id = r.subscriptionId.toLowerCase();
    const existing = await this.history({ subscriptionId: id });
    const clash = existing.find((e) => (e.validFrom ?? -Infinity) < (r.to ?? Infinity) && (r.from ?? -Infinity) < (e.validTo ?? Infinity));
    if (clash) throw new DporConflictError(`partner of record ${r.partnerId} of ${id} overlaps ${clash.partnerId}; a subscription has one partner of record at a time.`);
    await this.#db.insertInto("partners_of_record").values({
      tenant_id: r.tenantId, subscription_id: id, partner_id: r.partnerId, valid_from: r.from, valid_to: r.to, set_by: null, ended_by: null, end_reason: r.to === null ? null : "changed",
    }).execute();
  }

  /**
   * Rule 12 in the stored rows: when the subscription has left EA since the open interval began,
   * close it at that moment (reason "offerChanged"), so a later move back to EA does not revive
   * it. The engine applies the same rule when reading; this keeps `history` truthful. Call after
   * changing a subscription's offer (the resource component may call it directly).
   */
  async endIfOfferLeftEa(subscriptionId: string): Promise<boolean> {
    return this.#closeIfOfferLeftEa(subscriptionId.toLowerCase());
  }

  async #closeIfOfferLeftEa(id: string): Promise<boolean> {
    const open = await this.#open(id);
    if (!open) return false;
    const effective = effectiveDporInterval({ from: n(open.valid_from), to: null }, await this.#offers(id));
    const last = effective[effective.length - 1];
    if (last && last.to === null) return false;
    const endAt = last?.to ?? n(open.valid_from) ?? 0;
    await this.#close(open.seq, endAt, null, "offerChanged");
    return true;
  }

  async #open(id: string) {
    return this.#db.selectFrom("partners_of_record").selectAll().where("subscription_id", "=", id).where("valid_to", "is", null).executeTakeFirst();
  }

  async #close(seq: number, at: number, by: string | null, reason: string): Promise<void> {
    await this.#db.updateTable("partners_of_record").set({ valid_to: at, ended_by: by, end_reason: reason }).where("seq", "=", seq).execute();
  }

  async #offers(id: string) {
    const rows = await this.#db.selectFrom("subscriptions").select(["offer_type", "valid_from", "valid_to"]).where("id", "=", id).execute();
    return rows.map((o) => ({ offerType: o.offer_type, validFrom: n(o.valid_from), validTo: n(o.valid_to) }));
  }
}
