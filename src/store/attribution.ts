/**
 * Attribution results aggregate (migration 0007): monthly rollups and run records. The engine
 * (src/attribution) replaces a (month, policy) with `replaceMonth` in ONE transaction, so a
 * reader sees the old month or the new one, never a mix. Reports and insights read from here.
 */
import type { Generated, Kysely, Selectable } from "kysely";
import type { Database } from "./schema.ts";

export interface AttributionRollupsTable {
  seq: Generated<number>;
  customer_tenant_id: string;
  month: string;
  policy: string;
  partner_location_id: string;
  global_id: string;
  attribution_type: string;
  subscription_id: string;
  admin_type: string;
  eligible: number;
  dup_pga: number;
  dup_pga_attach_type: number;
  dup_mpn: number;
  billing_currency: string;
  acr: string;
  acr_usd: string | null;
  usage_rows: number;
}

export interface AttributionRunsTable {
  month: string;
  policy: string;
  policy_version: string;
  ran_at: number;
  usage_rows: number;
  attributed_rows: number;
  facts: number;
  facts_path: string | null;
  unknown_subscriptions: string;
  details: string;
}

export type AttributionTables = { attribution_rollups: AttributionRollupsTable; attribution_runs: AttributionRunsTable };
type Db = Kysely<Database & AttributionTables>;

export interface AttributionRollup {
  readonly customerTenantId: string;
  readonly month: string;
  readonly policy: string;
  readonly partnerLocationId: string;
  readonly globalId: string;
  readonly attributionType: "PAL" | "DPOR";
  readonly subscriptionId: string;
  /** Role name (PAL); "" for DPOR. */
  readonly adminType: string;
  readonly eligible: boolean;
  readonly dupPga: boolean;
  readonly dupPgaAttachType: boolean;
  readonly dupMpn: boolean;
  readonly billingCurrency: string;
  /** Exact decimal text. */
  readonly acr: string;
  readonly acrUsd: string | null;
  readonly usageRows: number;
}

export interface UnknownSubscription {
  readonly subscriptionId: string;
  readonly rows: number;
  /** Cost per billing currency, exact decimal text. */
  readonly cost: Readonly<Record<string, string>>;
}

export interface AttributionRun {
  readonly month: string;
  readonly policy: string;
  readonly policyVersion: string;
  readonly ranAt: number;
  readonly usageRows: number;
  readonly attributedRows: number;
  readonly facts: number;
  readonly factsPath: string | null;
  readonly unknownSubscriptions: readonly UnknownSubscription[];
  readonly details: Readonly<Record<string, unknown>>;
}

export interface RollupFilter {
  readonly month?: string;
  readonly policy?: string;
  readonly partnerLocationIds?: readonly string[];
  readonly globalId?: string;
  readonly customerTenantId?: string;
  readonly subscriptionId?: string;
}

const toRollup = (r: Selectable<AttributionRollupsTable>): AttributionRollup => ({
  customerTenantId: r.customer_tenant_id, month: r.month, policy: r.policy, partnerLocationId: r.partner_location_id, globalId: r.global_id,
  attributionType: r.attribution_type as "PAL" | "DPOR", subscriptionId: r.subscription_id, adminType: r.admin_type, eligible: Boolean(Number(r.eligible)),
  dupPga: Boolean(Number(r.dup_pga)), dupPgaAttachType: Boolean(Number(r.dup_pga_attach_type)), dupMpn: Boolean(Number(r.dup_mpn)),
  billingCurrency: r.billing_currency, acr: r.acr, acrUsd: r.acr_usd, usageRows: Number(r.usage_rows),
});

/** Rows per INSERT: well under SQLite's 32766 bound parameters (17 columns each). */
const BATCH = 500;

export class AttributionStore {
  readonly #db: Db;
  constructor(db: Kysely<Database>) {
    this.#db = db as unknown as Db;
  }

  /**
   * Replaces the rollups and the run record of (month, policy). Call inside `store.transaction`
   * so the delete and the inserts commit together.
   */
  async replaceMonth(run: AttributionRun, rollups: readonly AttributionRollup[]): Promise<void> {
    await this.#db.deleteFrom("attribution_rollups").where("month", "=", run.month).where("policy", "=", run.policy).execute();
    await this.#db.deleteFrom("attribution_runs").where("month", "=", run.month).where("policy", "=", run.policy).execute();
    for (let i = 0; i < rollups.length; i += BATCH) {
      await this.#db.insertInto("attribution_rollups").values(rollups.slice(i, i + BATCH).map((r) => ({
        customer_tenant_id: r.customerTenantId, month: r.month, policy: r.policy, partner_location_id: r.partnerLocationId, global_id: r.globalId,
        attribution_type: r.attributionType, subscription_id: r.subscriptionId, admin_type: r.adminType, eligible: r.eligible ? 1 : 0,
        dup_pga: r.dupPga ? 1 : 0, dup_pga_attach_type: r.dupPgaAttachType ? 1 : 0, dup_mpn: r.dupMpn ? 1 : 0,
        billing_currency: r.billingCurrency, acr: r.acr, acr_usd: r.acrUsd, usage_rows: r.usageRows,
      }))).execute();
    }
    await this.#db.insertInto("attribution_runs").values({
      month: run.month, policy: run.policy, policy_version: run.policyVersion, ran_at: run.ranAt, usage_rows: run.usageRows,
      attributed_rows: run.attributedRows, facts: run.facts, facts_path: run.factsPath,
      unknown_subscriptions: JSON.stringify(run.unknownSubscriptions), details: JSON.stringify(run.details),
    }).execute();
  }

  async rollups(filter: RollupFilter = {}): Promise<AttributionRollup[]> {
    let q = this.#db.selectFrom("attribution_rollups").selectAll();
    if (filter.month) q = q.where("month", "=", filter.month);
    if (filter.policy) q = q.where("policy", "=", filter.policy);
    if (filter.partnerLocationIds) {
      if (filter.partnerLocationIds.length === 0) return [];
      q = q.where("partner_location_id", "in", [...filter.partnerLocationIds]);
    }
    if (filter.globalId) q = q.where("global_id", "=", filter.globalId);
    if (filter.customerTenantId) q = q.where("customer_tenant_id", "=", filter.customerTenantId);
    if (filter.subscriptionId) q = q.where("subscription_id", "=", filter.subscriptionId.toLowerCase());
    const rows = await q.orderBy("month").orderBy("partner_location_id").orderBy("attribution_type").orderBy("customer_tenant_id")
      .orderBy("subscription_id").orderBy("admin_type").orderBy("dup_pga").orderBy("dup_pga_attach_type").orderBy("dup_mpn").orderBy("billing_currency").execute();
    return rows.map(toRollup);
  }

  async run(month: string, policy: string): Promise<AttributionRun | undefined> {
    const r = await this.#db.selectFrom("attribution_runs").selectAll().where("month", "=", month).where("policy", "=", policy).executeTakeFirst();
    if (!r) return undefined;
    return {
      month: r.month, policy: r.policy, policyVersion: r.policy_version, ranAt: Number(r.ran_at), usageRows: Number(r.usage_rows),
      attributedRows: Number(r.attributed_rows), facts: Number(r.facts), factsPath: r.facts_path,
      unknownSubscriptions: JSON.parse(r.unknown_subscriptions) as UnknownSubscription[], details: JSON.parse(r.details) as Record<string, unknown>,
    };
  }

  /** Months that have results for `policy`, ascending. */
  async months(policy: string): Promise<string[]> {
    const rows = await this.#db.selectFrom("attribution_runs").select("month").where("policy", "=", policy).orderBy("month").execute();
    return rows.map((r) => r.month);
  }
}
