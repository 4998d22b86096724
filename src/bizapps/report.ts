/**
 * The business-applications usage report (docs/POWER-PLATFORM.md, "Business-applications usage
 * report"): one row per (partner location, resource, month), named after Partner Center's
 * business-applications usage dataset and earnings rows. Read from the store's rollups
 * (`store.bizapps`), which the engine writes in the same transaction as the Azure month.
 *
 * `--production-only` keeps Production rows and the rows the requirement does not apply to
 * (NotApplicable: Power BI datasets, Customer Insights instances without an environment).
 */
import type { Store } from "../store/index.ts";
import type { BizappsRollup, BizappsRun } from "../store/bizapps.ts";
import type { UnknownResource } from "./engine.ts";
import { ReportError } from "../domain/report.ts";
import { PARTNER_REGISTRATION_HINT } from "../domain/partner-id.ts";

/** The report's columns, in order. */
export const BIZAPPS_USAGE_COLUMNS = [
  "PartnerId", "PGAPartnerId", "PartnerName", "CustomerTenantId", "CustomerName", "EnvironmentId", "EnvironmentName", "EnvironmentType",
  "Workload", "ResourceType", "ResourceId", "ResourceName", "Month", "PartnerAssociationType", "AttributedUserObjectId", "AttributedUserRole",
  "QuantityType", "Quantity", "MonthlyConsumptionValue",
] as const;

export type BizappsUsageRow = { readonly [K in (typeof BIZAPPS_USAGE_COLUMNS)[number]]: K extends "Quantity" ? number : K extends "EnvironmentId" | "EnvironmentName" ? string | null : string };

export interface BizappsUsageQuery {
  readonly month: string;
  /** A location id (one location's rows), or a global id (every location of the organisation). */
  readonly partnerId?: string;
  /** Every location of one organisation. */
  readonly globalId?: string;
  readonly productionOnly?: boolean;
}

export interface BizappsUsageReport {
  readonly month: string;
  /** When the rows were computed (the run's time): the data is "as of" then. */
  readonly asOf: string;
  readonly rows: BizappsUsageRow[];
  /** The run's activity on resources the control plane does not know (operator output only: every tenant's). */
  readonly unknownResources: RunUnknownResources;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** A run's activity on resources the control plane does not know, as stored in `bizapps_runs.details`. */
export interface RunUnknownResources {
  /** The busiest ones (at most UNKNOWN_RESOURCES_CAP), by events. */
  readonly listed: readonly UnknownResource[];
  /** Every unknown resource, listed or not. */
  readonly total: number;
  /** Those beyond the list, and their events ("and N more"). */
  readonly notListed: { readonly resources: number; readonly events: number };
}

/** Reads a run's unknown resources; a run recorded before the list was capped listed every one. */
export function unknownResourcesOf(run: Pick<BizappsRun, "details">): RunUnknownResources {
  const d = run.details as { unknownResources?: UnknownResource[]; unknownResourceCount?: number; unknownResourcesNotListed?: { resources: number; events: number } };
  const listed = Array.isArray(d.unknownResources) ? d.unknownResources : [];
  return { listed, total: d.unknownResourceCount ?? listed.length, notListed: d.unknownResourcesNotListed ?? { resources: 0, events: 0 } };
}

/**
 * One line about a run's unknown resources naming the first `show` of them and "and N more"
 * (every unknown resource counts, listed or not); "" when there is none.
 */
export function unknownResourcesLine(u: RunUnknownResources, show = 3): string {
  if (u.total === 0) return "";
  const named = u.listed.slice(0, show).map((r) => `${r.workload} ${r.resourceId}`);
  const more = u.total - named.length;
  return `${u.total} resource${u.total === 1 ? "" : "s"} with activity unknown to the control plane ${u.total === 1 ? "is" : "are"} not attributed: ${named.join(", ")}${more > 0 ? `, and ${more} more` : ""}` +
    `${u.notListed.resources > 0 ? ` (the run lists the ${u.listed.length} busiest; the other ${u.notListed.resources} had ${u.notListed.events} events)` : ""}.`;
}

/** The month's run, or a ReportError naming the command that computes it. */
export async function requireBizappsRun(store: Store, month: string): Promise<BizappsRun> {
  if (!MONTH.test(month)) throw new ReportError(`month "${month}" is not YYYY-MM; use e.g. 2026-10.`);
  const run = await store.bizapps.run(month);
  if (!run) {
    const months = await store.bizapps.months();
    throw new ReportError(`no business-applications results for ${month}: run \`openpal attribution run --month ${month}\` first` +
      (months.length ? ` (months with results: ${months.join(", ")}).` : " (no month has been attributed yet)."));
  }
  return run;
}

/** Resolves --partner-id / --global-id to a rollup filter, or a ReportError naming the fix. */
export async function partnerFilter(store: Store, q: { partnerId?: string; globalId?: string }): Promise<{ partnerLocationIds?: string[]; globalId?: string }> {
  if (q.partnerId && q.globalId) throw new ReportError("give a partner id or a global id, not both.");
  if (q.partnerId) {
    const found = await store.partners.lookup(q.partnerId.trim(), Date.now());
    if (found.kind === "unknown") throw new ReportError(`partner id ${q.partnerId} is not registered; use a location id or --global-id with the organisation's id. ${PARTNER_REGISTRATION_HINT}`);
    if (found.kind === "global") return { globalId: found.organisation.globalId };
    return { partnerLocationIds: [found.location.id] };
  }
  if (q.globalId) {
    const org = await store.partners.getOrganisation(q.globalId.trim());
    if (org) return { globalId: org.globalId };
    const found = await store.partners.lookup(q.globalId.trim(), Date.now());
    if (found.kind === "location") {
      throw new ReportError(`${q.globalId} is a location id of ${found.organisation.name}, not a global id; its global id is ${found.organisation.globalId}. ` +
        `Use --global-id ${found.organisation.globalId} for every location of ${found.organisation.name}, or --partner-id ${q.globalId} for this location only.`);
    }
    throw new ReportError(`global partner id ${q.globalId} is not registered; check the id (or use --partner-id with a location id). ${PARTNER_REGISTRATION_HINT}`);
  }
  return {};
}

/** What the run saw of an unknown resource's activity (operators only: it names other tenants' ids). */
export function unknownResourceHint(u: RunUnknownResources, resourceId: string, month: string): string {
  const hit = u.listed.find((r) => r.resourceId.toLowerCase() === resourceId.trim().toLowerCase());
  if (hit) {
    return ` The run of ${month} saw ${hit.events} ${hit.workload} event${hit.events === 1 ? "" : "s"} on it in tenant ${hit.tenantId} and could not attribute them: add the resource to the control plane ` +
      `(world file or \`openpal import powerplatform\`), then re-run \`openpal attribution run --month ${month}\`.`;
  }
  return u.notListed.resources > 0 ? ` ${unknownResourcesLine(u)} It may be one of those not listed.` : "";
}

export async function bizappsUsageReport(store: Store, q: BizappsUsageQuery): Promise<BizappsUsageReport> {
  const run = await requireBizappsRun(store, q.month);
  const who = await partnerFilter(store, q);
  const rollups = await store.bizapps.rollups({ month: q.month, ...who, ...(q.productionOnly ? { productionOnly: true } : {}) });
  return { month: q.month, asOf: new Date(run.ranAt).toISOString(), rows: toBizappsRows(rollups), unknownResources: unknownResourcesOf(run) };
}

/** Rollups → report rows (pure), ordered by partner, customer, workload, resource. */
export function toBizappsRows(rollups: readonly BizappsRollup[]): BizappsUsageRow[] {
  return rollups.map((r) => ({
    PartnerId: r.partnerLocationId,
    PGAPartnerId: r.globalId,
    PartnerName: r.partnerName,
    CustomerTenantId: r.customerTenantId,
    CustomerName: r.customerName,
    EnvironmentId: r.environmentId,
    EnvironmentName: r.environmentName,
    EnvironmentType: r.environmentType,
    Workload: r.workload,
    ResourceType: r.resourceType,
    ResourceId: r.resourceId,
    ResourceName: r.resourceName,
    Month: r.month,
    PartnerAssociationType: "PAL",
    AttributedUserObjectId: r.attributedUserObjectId,
    AttributedUserRole: r.attributedUserRole,
    QuantityType: r.quantityType,
    Quantity: r.quantity,
    MonthlyConsumptionValue: r.monthlyConsumptionValue,
  })).sort((a, b) => cmp(a.PartnerId, b.PartnerId) || cmp(a.CustomerName, b.CustomerName) || cmp(a.CustomerTenantId, b.CustomerTenantId)
    || cmp(a.Workload, b.Workload) || cmp(a.ResourceName, b.ResourceName) || cmp(a.ResourceId, b.ResourceId));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** CSV with the report's header (RFC 4180 quoting). */
export function bizappsCsv(rows: readonly BizappsUsageRow[]): string {
  const quote = (v: unknown) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [BIZAPPS_USAGE_COLUMNS.join(","), ...rows.map((r) => BIZAPPS_USAGE_COLUMNS.map((c) => quote(r[c])).join(","))].join("\n") + "\n";
}

/** The columns a terminal table shows (the ids that make rows wide are left to csv / json). */
export const BIZAPPS_TABLE_COLUMNS = [
  "PartnerId", "CustomerName", "EnvironmentName", "EnvironmentType", "Workload", "ResourceType", "ResourceName", "AttributedUserRole",
  "QuantityType", "Quantity", "MonthlyConsumptionValue",
] as const;
