/**
 * Business-applications attribution results (migration 0011): the credited rows of a month, one
 * per (partner location, resource), and the run record. The engine replaces a month with
 * `replaceMonth` inside the same transaction as the Azure month (`store.transaction`), so a reader
 * sees the old month or the new one, never a mix. Reports, insights, coverage and the partner
 * insights API read from here.
 */
import type { Generated, Kysely, Selectable } from "kysely";
import type { Database } from "./schema.ts";

interface BizappsRollupsTable {
  seq: Generated<number>;
  month: string;
  customer_tenant_id: string;
  customer_name: string;
  partner_location_id: string;
  global_id: string;
  partner_name: string;
  environment_id: string | null;
  environment_name: string | null;
  environment_type: string;
  workload: string;
  resource_type: string;
  resource_id: string;
  resource_name: string;
  attributed_user_object_id: string;
  attributed_user_role: string;
  link_path: string;
  quantity_type: string;
  quantity: number;
  quantity_source: string;
  monthly_consumption_value: string;
  decided_by: string;
  last_act_at: number | null;
}

interface BizappsRunsTable {
  month: string;
  ran_at: number;
  events_read: number;
  resources: number;
  credited: number;
  facts: number;
  facts_path: string | null;
  details: string;
}

export type BizappsTables = { bizapps_rollups: BizappsRollupsTable; bizapps_runs: BizappsRunsTable };
type Db = Kysely<Database & BizappsTables>;

export type BizappsWorkload = "PowerApps" | "PowerAutomate" | "PowerBI" | "CustomerInsights";
export type BizappsResourceType = "CanvasApp" | "ModelDrivenApp" | "Flow" | "Dataset" | "Instance";
export type BizappsQuantityType = "MAU" | "UnifiedProfiles";
/** How the one credited partner was chosen (decision 4). */
export type BizappsDecision = "onlyPartner" | "latestActivity" | "latestRelationship";

/** One credited row: a resource's metric for a month, credited to one partner location. */
export interface BizappsRollup {
  readonly month: string;
  readonly customerTenantId: string;
  readonly customerName: string;
  readonly partnerLocationId: string;
  /** PGAPartnerId. */
  readonly globalId: string;
  readonly partnerName: string;
  readonly environmentId: string | null;
  readonly environmentName: string | null;
  /** Production | Sandbox | Trial | Developer | Default | NotApplicable (decision 6). */
  readonly environmentType: string;
  readonly workload: BizappsWorkload;
  readonly resourceType: BizappsResourceType;
  readonly resourceId: string;
  readonly resourceName: string;
  readonly attributedUserObjectId: string;
  /** Owner | CoOwner | Creator | Publisher | SolutionImporter | ActiveUser. */
  readonly attributedUserRole: string;
  /** "home": linked in the resource's tenant; "delegatedAdmin": linked in its home tenant (decision 7). */
  readonly linkPath: "home" | "delegatedAdmin";
  readonly quantityType: BizappsQuantityType;
  readonly quantity: number;
  /** "metrics": a metrics file gave it; "activity": distinct users with a use event; "none": no metric (quantity 0, e.g. unified profiles without a metrics file). */
  readonly quantitySource: "metrics" | "activity" | "none";
  /** Exact decimal text: quantity × the configured rate. */
  readonly monthlyConsumptionValue: string;
  readonly decidedBy: BizappsDecision;
  /** The credited candidate's last act on the resource in the month while qualifying (epoch ms). */
  readonly lastActAt: number | null;
}

export interface BizappsRun {
  readonly month: string;
  readonly ranAt: number;
  readonly eventsRead: number;
  /** Resources the control plane knows in the month's tenants (considered). */
  readonly resources: number;
  /** Rows credited. */
  readonly credited: number;
  /** Candidate facts written to Parquet. */
  readonly facts: number;
  readonly factsPath: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface BizappsFilter {
  readonly month?: string;
  readonly partnerLocationIds?: readonly string[];
  readonly globalId?: string;
  readonly customerTenantId?: string;
  readonly resourceId?: string;
  /** Keeps Production rows and rows where the requirement does not apply (NotApplicable). */
  readonly productionOnly?: boolean;
}

const toRollup = (r: Selectable<BizappsRollupsTable>): BizappsRollup => ({
  month: r.month, customerTenantId: r.customer_tenant_id, customerName: r.customer_name, partnerLocationId: r.partner_location_id,
  globalId: r.global_id, partnerName: r.partner_name, environmentId: r.environment_id, environmentName: r.environment_name,
  environmentType: r.environment_type, workload: r.workload as BizappsWorkload, resourceType: r.resource_type as BizappsResourceType,
  resourceId: r.resource_id, resourceName: r.resource_name, attributedUserObjectId: r.attributed_user_object_id,
  attributedUserRole: r.attributed_user_role, linkPath: r.link_path as "home" | "delegatedAdmin", quantityType: r.quantity_type as BizappsQuantityType,
  quantity: Number(r.quantity), quantitySource: r.quantity_source as BizappsRollup["quantitySource"], monthlyConsumptionValue: r.monthly_consumption_value,
  decidedBy: r.decided_by as BizappsDecision, lastActAt: r.last_act_at === null ? null : Number(r.last_act_at),
});

/** Rows per INSERT: well under SQLite's 32766 bound parameters (23 columns each). */
const BATCH = 500;

export class BizappsStore {
  readonly #db: Db;
  constructor(db: Kysely<Database>) {
    this.#db = db as unknown as Db;
  }

  /** Replaces the rows and the run record of `run.month`. Call inside `store.transaction`. */
  async replaceMonth(run: BizappsRun, rollups: readonly BizappsRollup[]): Promise<void> {
    await this.#db.deleteFrom("bizapps_rollups").where("month", "=", run.month).execute();
    await this.#db.deleteFrom("bizapps_runs").where("month", "=", run.month).execute();
    for (let i = 0; i < rollups.length; i += BATCH) {
      await this.#db.insertInto("bizapps_rollups").values(rollups.slice(i, i + BATCH).map((r) => ({
        month: r.month, customer_tenant_id: r.customerTenantId, customer_name: r.customerName, partner_location_id: r.partnerLocationId,
        global_id: r.globalId, partner_name: r.partnerName, environment_id: r.environmentId, environment_name: r.environmentName,
        environment_type: r.environmentType, workload: r.workload, resource_type: r.resourceType, resource_id: r.resourceId,
        resource_name: r.resourceName, attributed_user_object_id: r.attributedUserObjectId, attributed_user_role: r.attributedUserRole,
        link_path: r.linkPath, quantity_type: r.quantityType, quantity: r.quantity, quantity_source: r.quantitySource,
        monthly_consumption_value: r.monthlyConsumptionValue, decided_by: r.decidedBy, last_act_at: r.lastActAt,
      }))).execute();
    }
    await this.#db.insertInto("bizapps_runs").values({
      month: run.month, ran_at: run.ranAt, events_read: run.eventsRead, resources: run.resources, credited: run.credited,
      facts: run.facts, facts_path: run.factsPath, details: JSON.stringify(run.details),
    }).execute();
  }

  async rollups(filter: BizappsFilter = {}): Promise<BizappsRollup[]> {
    let q = this.#db.selectFrom("bizapps_rollups").selectAll();
    if (filter.month) q = q.where("month", "=", filter.month);
    if (filter.partnerLocationIds) {
      if (filter.partnerLocationIds.length === 0) return [];
      q = q.where("partner_location_id", "in", [...filter.partnerLocationIds]);
    }
    if (filter.globalId) q = q.where("global_id", "=", filter.globalId);
    if (filter.customerTenantId) q = q.where("customer_tenant_id", "=", filter.customerTenantId.toLowerCase());
    if (filter.resourceId) q = q.where("resource_id", "=", filter.resourceId.toLowerCase());
    if (filter.productionOnly) q = q.where("environment_type", "in", ["Production", "NotApplicable"]);
    const rows = await q.orderBy("month").orderBy("partner_location_id").orderBy("customer_tenant_id").orderBy("workload").orderBy("resource_id").execute();
    return rows.map(toRollup);
  }

  async run(month: string): Promise<BizappsRun | undefined> {
    const r = await this.#db.selectFrom("bizapps_runs").selectAll().where("month", "=", month).executeTakeFirst();
    if (!r) return undefined;
    return {
      month: r.month, ranAt: Number(r.ran_at), eventsRead: Number(r.events_read), resources: Number(r.resources), credited: Number(r.credited),
      facts: Number(r.facts), factsPath: r.facts_path, details: JSON.parse(r.details) as Record<string, unknown>,
    };
  }

  /** Months with business-applications results, ascending. */
  async months(): Promise<string[]> {
    const rows = await this.#db.selectFrom("bizapps_runs").select("month").orderBy("month").execute();
    return rows.map((r) => r.month);
  }
}
