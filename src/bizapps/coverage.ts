/**
 * Business-applications coverage of one partner organisation, per customer tenant: the MAU and
 * unified profiles credited to it, and every resource where credit is **at risk** — its attributed
 * user is an identity of the partner that does not qualify (no link, link not active, inactive
 * location, disabled, inactive instance user), an unlinked account while a linked identity of the
 * partner is the one using it (activity in the month), or another partner won the "latest" choice
 * over a qualifying identity of ours — each with the fix. Resources whose attributed users are
 * only the customer's own accounts are listed as **not covered**.
 *
 * Reads the rollups (credited), the facts Parquet (candidates) and the activity lake (who used
 * what). The JSON shape is documented in docs/POWER-PLATFORM.md ("Coverage").
 */
import { DuckDBInstance } from "@duckdb/node-api";
import type { Store } from "../store/index.ts";
import { formatDecimal, parseDecimal } from "../domain/attribution.ts";
import { activityEventsRelation } from "../activity/lake.ts";
import { plainCode } from "../domain/report.ts";
import { monthWindow } from "../domain/time.ts";
import { readBizappsFacts, type BizappsFact, type BizappsResourceKind } from "./facts-reader.ts";
import { factsFileOf, isoTime, orgContext, PrincipalDirectory, who, type OrgContext } from "./context.ts";
import { competitionFix, linkFix, ownerFix, type ResourceRef } from "./fixes.ts";
import { firstActiveLocation } from "./diagnose.ts";

export type BizappsCoverageStatus = "credited" | "atRisk" | "notCovered";
export type BizappsRiskReason = "noLink" | "linkNotActive" | "locationInactive" | "principalDisabled" | "delegationEnded" | "noActivity" | "usedByLinkedIdentity" | "anotherPartnerLater";

export interface BizappsCoverageResource {
  readonly resourceId: string;
  readonly resourceName: string;
  readonly resourceKind: BizappsResourceKind;
  readonly workload: string;
  readonly resourceType: string;
  readonly environmentId: string | null;
  readonly environmentType: string;
  readonly status: BizappsCoverageStatus;
  readonly quantityType: string;
  readonly quantity: number;
  /** MonthlyConsumptionValue when credited. */
  readonly value: string | null;
  /** The attributed user that matters: the credited one, ours that does not qualify, or the unlinked owner. null object id: a customer account (partner audience). */
  readonly attributedUser: { readonly objectId: string | null; readonly name: string | null; readonly role: string; readonly account: "partner" | "customer" | "otherPartner" };
  readonly reason: BizappsRiskReason | null;
  readonly message: string | null;
  readonly fix: string | null;
}

export interface BizappsCustomerCoverage {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly credited: { readonly mau: number; readonly unifiedProfiles: number; readonly value: string };
  readonly atRisk: { readonly mau: number; readonly unifiedProfiles: number; readonly resources: number };
  readonly notCovered: { readonly mau: number; readonly unifiedProfiles: number; readonly resources: number };
  readonly resources: readonly BizappsCoverageResource[];
}

export interface BizappsCoverage {
  readonly globalId: string;
  readonly partnerName: string;
  readonly month: string | null;
  /** The run's time (the data's "as of"); null without a run. */
  readonly asOf: string | null;
  /** Set when there is nothing to show and why (no run for the month). */
  readonly message: string | null;
  readonly customers: readonly BizappsCustomerCoverage[];
}

export async function bizappsCoverage(store: Store, dataDir: string, q: { partnerId: string; month?: string; audience?: "operator" | "partner" }): Promise<BizappsCoverage> {
  const ctx = await orgContext(store, q.partnerId);
  const audience = q.audience ?? "operator";
  const months = await store.bizapps.months();
  const month = q.month ?? months.at(-1) ?? null;
  const run = month ? await store.bizapps.run(month) : undefined;
  const base = { globalId: ctx.org.globalId, partnerName: ctx.org.name, month };
  if (!month || !run) {
    return { ...base, asOf: null, customers: [], message: `no business-applications results for ${month ?? "any month"}: run \`openpal attribution run --month ${month ?? "YYYY-MM"}\` first.` };
  }
  const dir = new PrincipalDirectory(store);
  const credited = await store.bizapps.rollups({ month, globalId: ctx.org.globalId });
  const tenants = await customerTenants(store, ctx, credited.map((r) => r.customerTenantId));
  const facts = await readBizappsFacts(factsFileOf(dataDir, run), { customerTenantIds: [...tenants] });
  const others = new Map((await store.bizapps.rollups({ month })).filter((r) => r.globalId !== ctx.org.globalId && tenants.has(r.customerTenantId)).map((r) => [r.resourceId, r]));
  const linkedIds = await linkedIdentities(store, ctx, run.month);
  const usage = await usageBy(dataDir, month, [...linkedIds.keys()]);
  const location = await firstActiveLocation(store, ctx, run.ranAt);
  const tenantNames = new Map((await store.directory.listTenants()).map((t) => [t.id.toLowerCase(), t.displayName]));

  const byTenant = new Map<string, BizappsCoverageResource[]>();
  const push = (tenant: string, r: BizappsCoverageResource) => {
    const list = byTenant.get(tenant);
    if (list) list.push(r);
    else byTenant.set(tenant, [r]);
  };
  const byResource = new Map<string, BizappsFact[]>();
  for (const f of facts) {
    const list = byResource.get(f.resourceId);
    if (list) list.push(f);
    else byResource.set(f.resourceId, [f]);
  }
  const creditedIds = new Set<string>();
  for (const c of credited) {
    creditedIds.add(c.resourceId);
    const kind = byResource.get(c.resourceId)?.[0]?.resourceKind ?? kindOf(c.resourceType);
    const info = await dir.info(c.customerTenantId, c.attributedUserObjectId);
    push(c.customerTenantId, {
      resourceId: c.resourceId, resourceName: c.resourceName, resourceKind: kind, workload: c.workload, resourceType: c.resourceType, environmentId: c.environmentId,
      environmentType: c.environmentType, status: "credited", quantityType: c.quantityType, quantity: c.quantity, value: c.monthlyConsumptionValue,
      attributedUser: { objectId: c.attributedUserObjectId, name: info.userPrincipalName ?? info.displayName, role: c.attributedUserRole, account: "partner" },
      reason: null, message: null, fix: null,
    });
  }

  for (const [resourceId, list] of byResource) {
    if (creditedIds.has(resourceId)) continue;
    const f0 = list[0] as BizappsFact;
    const tenant = f0.customerTenantId;
    const stored = await store.powerPlatform.getResource(tenant, resourceId);
    const ref: ResourceRef = {
      id: resourceId, kind: f0.resourceKind, name: stored?.displayName ?? resourceId, customerTenantId: tenant, environmentId: f0.environmentId, workspaceId: stored?.workspaceId ?? null,
      solution: await solutionName(store, tenant, list),
    };
    const ours: BizappsFact[] = [];
    for (const f of list) if (await dir.isOf(ctx.org.globalId, tenant, f.principalId, list)) ours.push(f);
    const row = (status: BizappsCoverageStatus, f: BizappsFact, account: "partner" | "customer" | "otherPartner", reason: BizappsRiskReason | null, message: string | null, fix: string | null, name: string | null): BizappsCoverageResource => ({
      resourceId, resourceName: ref.name, resourceKind: f.resourceKind, workload: f.workload, resourceType: f.resourceType, environmentId: f.environmentId, environmentType: f.environmentType,
      status, quantityType: f.quantityType, quantity: f.quantity, value: null,
      attributedUser: { objectId: audience === "partner" && account !== "partner" ? null : f.principalId, name: audience === "partner" && account !== "partner" ? null : name, role: f.attributedUserRole, account },
      reason, message, fix,
    });
    const other = others.get(resourceId);
    const qualifying = ours.find((f) => f.qualifies);
    if (qualifying && other) {
      const otherName = audience === "partner" ? "another partner" : `${other.partnerName} (${other.globalId})`;
      push(tenant, row("atRisk", qualifying, "partner", "anotherPartnerLater", `credited to ${otherName}, whose candidate acted later (last act ${isoTime(other.lastActAt) ?? "none"}; yours ${isoTime(qualifying.lastActAt) ?? "none"}).`,
        competitionFix(ref, qualifying.principalId), (await dir.info(tenant, qualifying.principalId)).userPrincipalName));
      continue;
    }
    const failing = ours.find((f) => !f.qualifies && f.notQualifyingReason && f.notQualifyingReason !== "principalUnknown");
    if (failing) {
      const info = await dir.info(tenant, failing.principalId);
      const reason = failing.notQualifyingReason as BizappsRiskReason;
      const fix = reason === "noLink" || reason === "linkNotActive" ? linkFix(info, location, tenant)
        : reason === "locationInactive" ? `Reactivate ${failing.partnerLocationId} in Partner Center, or \`az managementpartner update --partner-id ${location}\` signed in as ${who(info)}.`
          : reason === "delegationEnded" ? `Ask the customer to restore delegated administration to your tenant, or make a linked account of the customer's tenant the attributed user: ${ownerFix(ref, firstLinked(linkedIds, tenant) ?? "<your linked service account>")}`
          : reason === "principalDisabled" ? (info.deletedAt !== null ? ownerFix(ref, firstLinked(linkedIds, tenant) ?? "<another linked account>") : `Ask the customer to re-enable ${who(info)}.`)
            : `Use the instance with ${who(info)} during the month and import the activity (\`openpal activity import <file>\`).`;
      const w = monthWindow(month);
      const startsLater = reason === "linkNotActive" && failing.linkFrom !== null && failing.linkFrom >= w.to ? failing.linkFrom : null;
      const endedBefore = reason === "linkNotActive" && failing.linkTo !== null && failing.linkTo <= w.from ? failing.linkTo : null;
      const why = startsLater !== null ? `its link to ${failing.partnerLocationId} starts on ${isoTime(startsLater)}, after ${month}`
        : endedBefore !== null ? `its link to ${failing.partnerLocationId} ended on ${isoTime(endedBefore)}, before ${month}` : RISK_TEXT[reason];
      push(tenant, row("atRisk", failing, "partner", reason, `${who(info)} is the attributed user (${failing.attributedUserRole}) but ${why}.`,
        startsLater !== null ? `Nothing to fix for ${month}: a link cannot be back-dated; credit starts in ${new Date(startsLater).toISOString().slice(0, 7)}, the first month the link is active. Keep it in place.` : fix,
        info.userPrincipalName ?? info.displayName));
      continue;
    }
    if (other) continue; // another partner's resource that none of ours holds: not this partner's business
    // Attributed only by accounts of the customer (or unlinked): at risk when a linked identity of ours uses it.
    const user = [...(usage.get(`${tenant}|${f0.workload}|${resourceId}`) ?? [])].sort((a, b) => b.lastAt - a.lastAt)[0];
    const holder = list.find((f) => f.globalId === null) ?? f0;
    const holderInfo = await dir.info(tenant, holder.principalId);
    const holderAccount = holderInfo.homeOrganisation && holderInfo.homeOrganisation !== ctx.org.globalId ? "otherPartner" : "customer";
    if (user) {
      const u = await dir.info(tenant, user.objectId);
      push(tenant, row("atRisk", holder, holderAccount, "usedByLinkedIdentity",
        `your linked identity ${who(u)} uses it (last ${isoTime(user.lastAt)}), but its attributed user (${holder.attributedUserRole}) is an unlinked account.`, ownerFix(ref, user.objectId), holderInfo.userPrincipalName ?? holderInfo.displayName));
    } else {
      push(tenant, row("notCovered", holder, holderAccount, null, `owned only by ${holderAccount === "customer" ? "customer accounts" : "accounts without a link"}.`,
        ownerFix(ref, firstLinked(linkedIds, tenant) ?? "<your linked service account>"), holderInfo.userPrincipalName ?? holderInfo.displayName));
    }
  }

  const customers: BizappsCustomerCoverage[] = [...byTenant.entries()].map(([tenantId, resources]) => {
    const sum = (status: BizappsCoverageStatus, type: string) => resources.filter((r) => r.status === status && r.quantityType === type).reduce((a, r) => a + r.quantity, 0);
    return {
      tenantId, tenantName: tenantNames.get(tenantId) ?? tenantId,
      credited: { mau: sum("credited", "MAU"), unifiedProfiles: sum("credited", "UnifiedProfiles"), value: formatDecimal(resources.reduce((a, r) => a + (r.value ? parseDecimal(r.value) : 0n), 0n)) },
      atRisk: { mau: sum("atRisk", "MAU"), unifiedProfiles: sum("atRisk", "UnifiedProfiles"), resources: resources.filter((r) => r.status === "atRisk").length },
      notCovered: { mau: sum("notCovered", "MAU"), unifiedProfiles: sum("notCovered", "UnifiedProfiles"), resources: resources.filter((r) => r.status === "notCovered").length },
      resources: resources.sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.resourceName.localeCompare(b.resourceName)),
    };
  }).sort((a, b) => a.tenantName.localeCompare(b.tenantName));
  return { ...base, asOf: new Date(run.ranAt).toISOString(), message: null, customers };
}

const STATUS_ORDER: Readonly<Record<BizappsCoverageStatus, number>> = { atRisk: 0, credited: 1, notCovered: 2 };

const RISK_TEXT: Readonly<Record<BizappsRiskReason, string>> = {
  noLink: "it is not linked to a partner id", linkNotActive: "it was not linked while it held the relationship", locationInactive: "its location id is inactive",
  principalDisabled: "it was disabled or deleted", delegationEnded: "the customer's delegated administration to your tenant did not hold", noActivity: "it had no activity on the instance in the month",
  usedByLinkedIdentity: "a linked identity uses it", anotherPartnerLater: "another partner acted later",
};

function kindOf(resourceType: string): BizappsResourceKind {
  return ({ CanvasApp: "canvasApp", ModelDrivenApp: "modelDrivenApp", Flow: "flow", Dataset: "dataset", Instance: "ciInstance" } as Record<string, BizappsResourceKind>)[resourceType] ?? "canvasApp";
}

async function solutionName(store: Store, tenantId: string, facts: readonly BizappsFact[]): Promise<string | null> {
  const id = facts.map((f) => f.solutionId).find((s) => s);
  if (!id) return null;
  return (await store.powerPlatform.getSolution(tenantId, id))?.uniqueName ?? id;
}

/** Customer tenants where the organisation is present: credit, guests, delegated administration, links. */
async function customerTenants(store: Store, ctx: OrgContext, credited: readonly string[]): Promise<Set<string>> {
  const out = new Set(credited.map((t) => t.toLowerCase()));
  for (const l of await store.links.history()) if (ctx.locations.includes(l.partnerId) && !ctx.tenants.has(l.tenantId.toLowerCase())) out.add(l.tenantId.toLowerCase());
  for (const t of await store.directory.listTenants()) {
    const id = t.id.toLowerCase();
    if (ctx.tenants.has(id) || out.has(id)) continue;
    if ((await store.directory.listDelegatedAdmins(id)).some((d) => ctx.tenants.has(d.partnerTenantId.toLowerCase()))) out.add(id);
    else if ((await store.directory.listUsers(id)).some((u) => u.homeTenantId && ctx.tenants.has(u.homeTenantId.toLowerCase()))) out.add(id);
  }
  return out;
}

/** Identities linked to one of the organisation's locations at some time of the month (or now): object id → tenant of the link. */
async function linkedIdentities(store: Store, ctx: OrgContext, month: string): Promise<Map<string, string>> {
  const from = Date.parse(`${month}-01T00:00:00Z`);
  const [y, m] = month.split("-").map(Number) as [number, number];
  const to = Date.UTC(m === 12 ? y + 1 : y, m === 12 ? 0 : m, 1);
  const out = new Map<string, string>();
  for (const l of await store.links.history()) {
    if (!ctx.locations.includes(l.partnerId)) continue;
    if ((l.validFrom ?? -Infinity) < to && (l.validTo ?? Infinity) > from) out.set(l.objectId.toLowerCase(), l.tenantId.toLowerCase());
  }
  return out;
}

/**
 * A linked identity of the organisation in `tenant`. Never one of another tenant: an account can
 * own only resources of its own directory (a guest is a separate object in each tenant).
 */
export function firstLinked(linked: ReadonlyMap<string, string>, tenant: string): string | undefined {
  return [...linked.entries()].find(([, t]) => t === tenant)?.[0];
}

/** Activity of the given users in the month: `${tenant}|${workload}|${resource}` → users with their last act. */
async function usageBy(dataDir: string, month: string, users: readonly string[]): Promise<Map<string, { objectId: string; lastAt: number }[]>> {
  const out = new Map<string, { objectId: string; lastAt: number }[]>();
  if (users.length === 0) return out;
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    const list = users.map((u) => `'${u.replaceAll("'", "''")}'`).join(", ");
    const rows = (await c.runAndReadAll(`SELECT lower(tenant_id) AS t, workload AS w, lower(resource_id) AS r, lower(user_object_id) AS u, CAST(epoch_ms(MAX("at")) AS DOUBLE) AS last_at
      FROM ${activityEventsRelation(dataDir, month)} WHERE lower(user_object_id) IN (${list}) GROUP BY 1, 2, 3, 4`)).getRowObjectsJS();
    for (const r of rows) {
      const k = `${String(r.t)}|${String(r.w)}|${String(r.r)}`;
      out.set(k, [...(out.get(k) ?? []), { objectId: String(r.u), lastAt: Number(r.last_at) }]);
    }
    return out;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

export function formatBizappsCoverage(c: BizappsCoverage): string {
  const out = [`Business applications, ${c.month ?? "no month"}${c.asOf ? ` — as of ${c.asOf}` : ""}`];
  if (c.message) return [...out, `  ${plainCode(c.message)}`].join("\n") + "\n";
  if (c.customers.length === 0) out.push("  no business-applications resources in this partner's customer tenants");
  for (const t of c.customers) {
    out.push("", `${t.tenantName} (${t.tenantId})`);
    out.push(`  credited: ${t.credited.mau} MAU, ${t.credited.unifiedProfiles} unified profiles, value ${t.credited.value}; at risk: ${t.atRisk.resources} resources (${t.atRisk.mau} MAU, ${t.atRisk.unifiedProfiles} profiles); not covered: ${t.notCovered.resources} (${t.notCovered.mau} MAU, ${t.notCovered.unifiedProfiles} profiles)`);
    for (const r of t.resources) {
      const label = r.status === "credited" ? "credited" : r.status === "atRisk" ? "AT RISK" : "not covered";
      out.push(`  ${label.padEnd(11)} ${r.resourceType} ${r.resourceName} (${r.resourceId}, ${r.environmentType}): ${r.quantity} ${r.quantityType}${r.value ? `, value ${r.value}` : ""} — ${r.attributedUser.role} ${r.attributedUser.name ?? r.attributedUser.objectId ?? `(${r.attributedUser.account} account)`}`);
      if (r.message) out.push(`      ${plainCode(r.message)}`);
      if (r.fix && r.status !== "credited") out.push(`      fix: ${plainCode(r.fix)}`);
    }
  }
  return out.join("\n") + "\n";
}
