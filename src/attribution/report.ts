/**
 * The Azure usage report in the shape of Partner Center's dataset (rule 16): one row per
 * (partner location, attribution type, subscription, month, role) — split further by the
 * duplicate flags, so that summing the rows whose flag is false never counts one usage row twice
 * within the organisation (docs/ATTRIBUTION.md, "Duplicate flags"). Read from the store's rollups.
 *
 * Visibility (rule 13): a DPOR row carries customer, subscription and consumption only — it has
 * no AdminType. `visibleTo` limits rows to what one partner organisation may see.
 */
import type { AttributionRollup, Store } from "../store/index.ts";
import { formatDecimal, sumDecimals } from "../domain/attribution.ts";
import type { Policy } from "./coverage.ts";
import type { AzureUsageRow } from "./wire.ts";
import { PARTNER_REGISTRATION_HINT } from "../domain/partner-id.ts";
import { ReportError } from "../domain/report.ts";
export type { AzureUsageRow } from "./wire.ts";

/** Partner Center's column names, in its order. */
export const AZURE_USAGE_COLUMNS = [
  "PartnerId", "PGAPartnerId", "PartnerName", "CustomerTenantId", "CustomerName", "SubscriptionId", "SubscriptionName", "Month",
  "PartnerAttributionType", "AdminType", "ACR", "BillingCurrency", "ACR_USD",
  "IsACRDuplicateAtPGALevel", "IsACRDuplicateAtPGAAttachTypeLevel", "IsACRDuplicateAtMPNLevel",
] as const;

export interface AzureUsageQuery {
  readonly month: string;
  readonly policy?: Policy;
  /** A location id (one location's rows) … */
  readonly partnerId?: string;
  /** … or a global id (every location of the organisation). */
  readonly globalId?: string;
  /** Include the facts credited through ineligible roles only (default: eligible only, rule 5). */
  readonly includeIneligible?: boolean;
  /** Digits after the decimal point in ACR (default 2). */
  readonly decimals?: number;
}

/** The report rows, or a ReportError naming the fix (no run for the month, unknown partner id). */
export async function azureUsageReport(store: Store, q: AzureUsageQuery): Promise<AzureUsageRow[]> {
  const policy = q.policy ?? "pec";
  const run = await store.attribution.run(q.month, policy);
  if (!run) {
    throw new ReportError(`no attribution results for ${q.month} under policy ${policy}: run \`openpal attribution run --month ${q.month}${policy === "pec" ? "" : ` --policy ${policy}`}\` first.`);
  }
  let locationIds: string[] | undefined;
  if (q.partnerId) {
    const found = await store.partners.lookup(q.partnerId, Date.now());
    if (found.kind === "unknown") throw new ReportError(`partner id ${q.partnerId} is not registered; use a location id or --global-id with the organisation's id. ${PARTNER_REGISTRATION_HINT}`);
    if (found.kind === "global") locationIds = (await store.partners.listLocations(q.partnerId)).map((l) => l.id);
    else locationIds = [q.partnerId];
  }
  if (q.globalId) {
    const org = await store.partners.getOrganisation(q.globalId);
    if (!org) {
      const found = await store.partners.lookup(q.globalId, Date.now());
      if (found.kind === "location") {
        throw new ReportError(`${q.globalId} is a location id of ${found.organisation.name}, not a global id; its global id is ${found.organisation.globalId}. ` +
          `Use --global-id ${found.organisation.globalId} for every location of ${found.organisation.name}, or --partner-id ${q.globalId} for this location only.`);
      }
    }
    if (!org) throw new ReportError(`global partner id ${q.globalId} is not registered; check the id (or use --partner-id with a location id). ${PARTNER_REGISTRATION_HINT}`);
  }
  const rollups = await store.attribution.rollups({
    month: q.month, policy, ...(locationIds ? { partnerLocationIds: locationIds } : {}), ...(q.globalId ? { globalId: q.globalId } : {}),
  });
  return toReportRows(store, rollups.filter((r) => q.includeIneligible || r.eligible), q.decimals ?? 2);
}

/** Collapses rollups to report keys (eligible and ineligible parts of one key stay apart) and names them. */
export async function toReportRows(store: Store, rollups: readonly AttributionRollup[], decimals = 2): Promise<AzureUsageRow[]> {
  const names = await nameLookup(store);
  const groups = new Map<string, AttributionRollup[]>();
  for (const r of rollups) {
    const k = [r.partnerLocationId, r.attributionType, r.subscriptionId, r.month, r.adminType, r.eligible, r.dupPga, r.dupPgaAttachType, r.dupMpn, r.billingCurrency, r.customerTenantId].join("|");
    const list = groups.get(k) ?? [];
    list.push(r);
    groups.set(k, list);
  }
  const rows: AzureUsageRow[] = [];
  for (const list of groups.values()) {
    const r = list[0] as AttributionRollup;
    const usdKnown = list.every((x) => x.acrUsd !== null);
    rows.push({
      PartnerId: r.partnerLocationId,
      PGAPartnerId: r.globalId,
      PartnerName: names.partner(r.partnerLocationId, r.globalId),
      CustomerTenantId: r.customerTenantId,
      CustomerName: names.tenant(r.customerTenantId),
      SubscriptionId: r.subscriptionId,
      SubscriptionName: names.subscription(r.subscriptionId),
      Month: r.month,
      PartnerAttributionType: r.attributionType,
      AdminType: r.attributionType === "DPOR" ? "" : r.adminType,
      ACR: formatDecimal(sumDecimals(list.map((x) => x.acr)), decimals),
      BillingCurrency: r.billingCurrency,
      ACR_USD: usdKnown ? formatDecimal(sumDecimals(list.map((x) => x.acrUsd)), decimals) : null,
      IsACRDuplicateAtPGALevel: r.dupPga,
      IsACRDuplicateAtPGAAttachTypeLevel: r.dupPgaAttachType,
      IsACRDuplicateAtMPNLevel: r.dupMpn,
    });
  }
  return rows.sort((a, b) => cmp(a.PartnerId, b.PartnerId) || cmp(a.PartnerAttributionType, b.PartnerAttributionType) || cmp(a.CustomerName, b.CustomerName)
    || cmp(a.SubscriptionId, b.SubscriptionId) || cmp(a.AdminType, b.AdminType) || Number(a.IsACRDuplicateAtPGALevel) - Number(b.IsACRDuplicateAtPGALevel)
    || Number(a.IsACRDuplicateAtMPNLevel) - Number(b.IsACRDuplicateAtMPNLevel));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function nameLookup(store: Store) {
  const [orgs, locations, tenants, subs] = await Promise.all([
    store.partners.listOrganisations(), store.partners.listLocations(), store.directory.listTenants(), store.resources.subscriptionHistory(),
  ]);
  const orgName = new Map(orgs.map((o) => [o.globalId, o.name]));
  const locName = new Map(locations.map((l) => [l.id, l.name]));
  const tenantName = new Map(tenants.map((t) => [t.id.toLowerCase(), t.displayName]));
  const subName = new Map<string, string>();
  for (const s of subs) subName.set(s.id.toLowerCase(), s.displayName); // history is oldest first: the latest name wins
  return {
    partner: (loc: string, global: string) => locName.get(loc) ?? orgName.get(global) ?? global,
    tenant: (id: string) => tenantName.get(id.toLowerCase()) ?? "",
    subscription: (id: string) => subName.get(id.toLowerCase()) ?? "",
  };
}

/** CSV with Partner Center's header (RFC 4180 quoting). */
export function reportCsv(rows: readonly AzureUsageRow[]): string {
  const quote = (v: unknown) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [AZURE_USAGE_COLUMNS.join(","), ...rows.map((r) => AZURE_USAGE_COLUMNS.map((c) => quote(r[c])).join(","))].join("\n") + "\n";
}

/** An aligned text table (for terminals). */
export function formatTable(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? "" : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (vals: readonly string[]) => vals.map((v, i) => v.padEnd(widths[i] as number)).join("  ").trimEnd();
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n") + "\n";
}
