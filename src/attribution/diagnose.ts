/**
 * Diagnose (rule 17): why a customer tenant shows nothing (or less than expected) for a partner.
 * Every reason that applies is listed, each with its evidence and the fix. Reads the control
 * plane (links, principals, access, partner status) and the usage lake for the month.
 *
 * Reasons (codes are stable):
 *   noIdentity          the partner has no identity in the tenant (no guest, no app, no delegation)
 *   noLink              identities exist but none is linked to one of the partner's location ids
 *   linkedElsewhere     an identity of the partner is linked to another organisation's id
 *   lighthouseLinkInCustomerTenant
 *                       access comes through a Lighthouse delegation to the partner's own
 *                       tenant, but the link was made in the customer tenant (rule 4)
 *   identityDisabled / identityDeleted
 *   noRole              a linked identity holds no role on any subscription of the tenant
 *   onlyIneligibleRoles a linked identity's roles are all outside the eligibility policy
 *   noUsage             the covered subscriptions have no usage in the month
 *   usageOutsideLink    usage exists, but not while the link (or role) held
 *   partnerIdInactive   the linked location id is (or was, during the month) inactive
 */
import { DuckDBInstance } from "@duckdb/node-api";
import type { Store } from "../store/index.ts";
import { effectiveAccess, indexAccess, type AccessEntry } from "../domain/access.ts";
import { intersectSets, subtractSets, type Interval } from "../domain/interval.ts";
import { eligibilityPolicy } from "../domain/roles.ts";
import { parseScope } from "../domain/scope.ts";
import { openUsageLake } from "../usage/index.ts";
import { loadCoverageInput, type Policy } from "./coverage.ts";
import { monthWindow } from "../domain/time.ts";
import { plainCode, ReportError } from "../domain/report.ts";
import type { DiagnosisCode, Diagnosis, DiagnoseResult } from "./wire.ts";
import { PARTNER_REGISTRATION_HINT } from "../domain/partner-id.ts";
export type { DiagnosisCode, Diagnosis, DiagnoseResult } from "./wire.ts";

export interface DiagnoseQuery {
  /** Location or global id. */
  readonly partnerId: string;
  readonly tenantId: string;
  /** Month to look at usage in (default: the latest month of the lake, else the current month). */
  readonly month?: string;
  readonly policy?: Policy;
  readonly dataDir: string;
  readonly now: number;
}

const key2 = (t: string, o: string) => `${t.toLowerCase()}|${o.toLowerCase()}`;
const iso = (ms: number | null) => (ms === null ? "-∞" : new Date(ms).toISOString());
const fmt = (list: readonly Interval[]) => list.map((i) => `[${iso(i.from)}, ${i.to === null ? "∞" : iso(i.to)})`).join(" ∪ ");

export async function diagnoseCustomer(store: Store, q: DiagnoseQuery): Promise<DiagnoseResult> {
  const found = await store.partners.lookup(q.partnerId, q.now);
  if (found.kind === "unknown") throw new ReportError(`partner id ${q.partnerId} is not registered; use a location id or the organisation's global id. ${PARTNER_REGISTRATION_HINT}`);
  const org = found.organisation;
  const tenantId = q.tenantId.toLowerCase();
  const tenant = await store.directory.getTenant(tenantId);
  if (!tenant) throw new ReportError(`tenant ${q.tenantId} is not known to this OpenPAL; check the id (openpal coverage --partner-id ${q.partnerId} lists the partner's customers).`);
  const lake = openUsageLake(q.dataDir);
  const month = q.month ?? lake.months().at(-1) ?? new Date(q.now).toISOString().slice(0, 7);
  const window = monthWindow(month);
  const input = await loadCoverageInput(store, window);
  const index = indexAccess(input.access);
  // For the timing check, access as if nobody were disabled or deleted: those are reasons of
  // their own, and should not show up again as "usage outside the link".
  const enabledIndex = indexAccess({ ...input.access, disabled: [], principals: input.access.principals.map((p) => ({ ...p, deletedAt: null })) });
  const policy = eligibilityPolicy(q.policy ?? "pec");
  const ownLocations = new Set(input.locations.filter((l) => l.globalId === org.globalId).map((l) => l.id));
  const orgTenants = new Set(org.tenantIds.map((t) => t.toLowerCase()));
  const reasons: Diagnosis[] = [];
  const add = (code: DiagnosisCode, message: string, evidence: Record<string, unknown>, fix: string) => reasons.push({ code, message, evidence, fix });

  // The partner's identities in the tenant: guests from its tenants, service principals of its apps.
  const identities: { tenantId: string; objectId: string; displayName: string | null; via: string }[] = [];
  for (const p of input.access.principals) {
    if (p.tenantId.toLowerCase() !== tenantId || p.type === "Group" || !p.homeTenantId || !orgTenants.has(p.homeTenantId.toLowerCase()) || orgTenants.has(tenantId)) continue;
    identities.push({ tenantId, objectId: p.objectId, displayName: p.displayName ?? null, via: p.type === "User" ? "guest" : "service principal of the partner's application" });
  }
  // …and principals of its own tenants authorized by Lighthouse on this tenant's scopes.
  const delegations = input.access.registrationDefinitions.filter((d) => d.tenantId.toLowerCase() === tenantId && orgTenants.has(d.managedByTenantId.toLowerCase()));
  for (const d of delegations) {
    for (const a of d.authorizations) {
      const p = index.principals.get(key2(d.managedByTenantId, a.principalId));
      if (p && p.type !== "Group") identities.push({ tenantId: p.tenantId, objectId: p.objectId, displayName: p.displayName ?? null, via: `Lighthouse authorization (${a.kind}) in delegation ${d.name}` });
    }
  }
  if (identities.length === 0) {
    add("noIdentity", `${org.name} has no identity in ${tenant.displayName}: no guest user from its tenants, no service principal of its applications, no Lighthouse delegation to it.`,
      { partnerTenants: [...orgTenants] }, `Have the customer invite a partner user (or consent to the partner's application), grant it a role, then link it with \`az managementpartner create --partner-id <location id>\`.`);
  }

  const linksOf = (t: string, o: string) => input.links.filter((l) => key2(l.tenantId, l.objectId) === key2(t, o));
  const monthIv: Interval = { from: window.from, to: window.to };
  const subsOfTenant = new Set(input.subscriptions.filter((s) => s.tenantId.toLowerCase() === tenantId).map((s) => s.id.toLowerCase()));
  const usage = await usageBySubscription(lake.relation(month), window, [...subsOfTenant]);
  let anyLinked = false;

  for (const id of identities) {
    const links = linksOf(id.tenantId, id.objectId);
    const ours = links.filter((l) => ownLocations.has(l.partnerId));
    const others = links.filter((l) => !ownLocations.has(l.partnerId));
    const who = `${id.displayName ?? id.objectId} (${id.objectId}, ${id.via})`;
    if (others.length) add("linkedElsewhere", `${who} is linked to partner id ${others.map((l) => l.partnerId).join(", ")}, which is not a location of ${org.name}.`,
      { links: others }, `Update the link: \`az managementpartner update --partner-id <your location id>\` signed in as that identity.`);
    const linkedIv = intersectSets(ours.map((l) => ({ from: l.validFrom, to: l.validTo })), [monthIv]);
    if (ours.length === 0) {
      if (others.length === 0) {
        add("noLink", `${who} is not linked to any partner id.`, { identity: id },
          `Sign in as this identity in tenant ${id.tenantId} and run \`az managementpartner create --partner-id <location id>\` (or \`openpal managementpartner create --partner-id <location id>\`).`);
      }
      continue;
    }
    anyLinked = true;
    const p = index.principals.get(key2(id.tenantId, id.objectId));
    const disabled = input.access.disabled.filter((d) => key2(d.tenantId, d.objectId) === key2(id.tenantId, id.objectId));
    const disabledInMonth = intersectSets(disabled.map((d) => ({ from: d.validFrom, to: d.validTo })), [monthIv]);
    if (p?.deletedAt !== null && p?.deletedAt !== undefined && p.deletedAt < window.to) {
      add("identityDeleted", `${who} was deleted at ${iso(p.deletedAt)}; a deleted identity earns nothing from then (rule 7).`, { deletedAt: iso(p.deletedAt) },
        `Link another identity of the partner that holds the roles (a deleted identity cannot be restored here).`);
    }
    if (disabledInMonth.length) {
      add("identityDisabled", `${who} was disabled during ${fmt(disabledInMonth)}; nothing is credited while disabled (rule 7).`, { disabled: disabledInMonth },
        `Ask the customer to re-enable the account; with its link intact, credit resumes (rule 7).`);
    }
    for (const l of ours) {
      const inactive = input.locationStatus.filter((s) => s.locationId === l.partnerId && !s.active);
      const inactiveInMonth = intersectSets(inactive.map((s) => ({ from: s.validFrom, to: s.validTo })), [monthIv]);
      if (inactiveInMonth.length) add("partnerIdInactive", `partner id ${l.partnerId} was inactive during ${fmt(inactiveInMonth)}.`, { partnerId: l.partnerId, inactive: inactiveInMonth },
        `Reactivate the location in Partner Center, or link the identity to an active location id.`);
    }
    const entries = effectiveAccess(index, { kind: "principal", tenantId: id.tenantId, objectId: id.objectId }, window, { policy }).entries
      .filter((e) => e.scopeKey !== "/" && !e.scopeKey.startsWith("/providers/") && e.scopeTenantId.toLowerCase() === tenantId);
    if (entries.length === 0) {
      add("noRole", `${who} is linked but holds no role on any subscription of ${tenant.displayName} during ${month}.`, { identity: id },
        `Ask the customer to assign an eligible role (e.g. Contributor) at a subscription, resource group or resource scope (directly, through a group, or through Lighthouse).`);
      continue;
    }
    const eligible = entries.filter((e) => e.role.eligible);
    if (eligible.length === 0) {
      add("onlyIneligibleRoles", `${who} holds only roles outside the ${policy.name} policy: ${[...new Set(entries.map((e) => e.role.name))].join(", ")}.`,
        { roles: entries.map((e) => ({ scope: e.scope, role: e.role.name })) }, `Ask for an eligible role (Owner, Contributor, or another role in the partner-earned-credit table).`);
    }
    const timing = effectiveAccess(enabledIndex, { kind: "principal", tenantId: id.tenantId, objectId: id.objectId }, window, { policy }).entries
      .filter((e) => e.scopeKey !== "/" && !e.scopeKey.startsWith("/providers/") && e.scopeTenantId.toLowerCase() === tenantId);
    checkUsage(timing, linkedIv, usage, who, month, add);
  }

  // Rule 4: a link recorded in the customer tenant for an object that only exists in the
  // partner's (managing) tenant, or a guest linked while access comes through Lighthouse.
  const homeAuthorized = new Set(delegations.flatMap((d) => d.authorizations.map((a) => key2(d.managedByTenantId, a.principalId))));
  for (const l of input.links.filter((x) => x.tenantId.toLowerCase() === tenantId && ownLocations.has(x.partnerId))) {
    const local = index.principals.get(key2(l.tenantId, l.objectId));
    const guestHome = local?.type === "User" && local.homeTenantId && orgTenants.has(local.homeTenantId.toLowerCase()) ? local : undefined;
    const managingLinked = [...homeAuthorized].some((k) => input.links.some((x) => key2(x.tenantId, x.objectId) === k && ownLocations.has(x.partnerId)));
    if ((!local || guestHome) && delegations.length && !managingLinked) {
      add("lighthouseLinkInCustomerTenant", `the link of ${l.objectId} to ${l.partnerId} is recorded in the customer tenant ${tenant.displayName}, but ${org.name}'s access comes through a Lighthouse delegation to its own tenant; such links do not count (rule 4).`,
        { link: l, delegations: delegations.map((d) => d.name) }, `Sign in to the managing tenant (${delegations[0]?.managedByTenantId}) as the authorized identity and link there: \`az managementpartner create --partner-id ${l.partnerId}\`.`);
    }
  }
  if (!anyLinked && identities.length && !reasons.some((r) => r.code === "noLink" || r.code === "lighthouseLinkInCustomerTenant")) {
    add("noLink", `no identity of ${org.name} in ${tenant.displayName} is linked to its partner ids.`, { identities }, `Link one of the identities listed with \`az managementpartner create --partner-id <location id>\`.`);
  }
  return { tenantId, tenantName: tenant.displayName, month, identities, reasons };
}

function checkUsage(entries: readonly AccessEntry[], linked: readonly Interval[], usage: Map<string, { rows: number; from: number; to: number }>, who: string, month: string,
  add: (code: DiagnosisCode, message: string, evidence: Record<string, unknown>, fix: string) => void): void {
  const subs = new Map<string, Interval[]>();
  for (const e of entries) {
    const sub = parseScope(e.scope).subscriptionId;
    if (sub) subs.set(sub, [...(subs.get(sub) ?? []), ...e.intervals]);
  }
  const withUsage = [...subs.keys()].filter((s) => usage.has(s));
  if (withUsage.length === 0) {
    add("noUsage", `the subscriptions ${who} can reach (${[...subs.keys()].join(", ")}) have no usage in ${month}.`, { subscriptions: [...subs.keys()] },
      `Nothing to fix if the customer did not consume; otherwise import the month's cost export (\`openpal usage import FILE\`).`);
    return;
  }
  for (const s of withUsage) {
    const u = usage.get(s) as { rows: number; from: number; to: number };
    const held = intersectSets(subs.get(s) ?? [], linked);
    const usageSpan: Interval = { from: u.from, to: u.to };
    const outside = subtractSets([usageSpan], held);
    if (held.length === 0 || intersectSets(held, [usageSpan]).length === 0) {
      add("usageOutsideLink", `subscription ${s} has usage ${fmt([usageSpan])}, but ${who} was linked with a role there only during ${held.length ? fmt(held) : "no time of the month"}.`,
        { subscription: s, usage: usageSpan, linkedWithRole: held }, `Credit is never retroactive (rule 6): keep the link and role in place; later usage will be credited.`);
    } else if (outside.length) {
      add("usageOutsideLink", `part of subscription ${s}'s usage (${fmt(outside)}) falls outside the time ${who} was linked with a role.`,
        { subscription: s, uncovered: outside }, `Credit is never retroactive (rule 6): keep the link and role in place.`);
    }
  }
}

async function usageBySubscription(relation: string, window: { from: number; to: number }, subs: readonly string[]): Promise<Map<string, { rows: number; from: number; to: number }>> {
  const out = new Map<string, { rows: number; from: number; to: number }>();
  if (subs.length === 0) return out;
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    const ts = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
    const list = subs.map((s) => `'${s.replaceAll("'", "''")}'`).join(", ");
    const rows = (await c.runAndReadAll(`SELECT subscription_id, COUNT(*) AS n, epoch_ms(MIN(charge_period_start)) AS f, epoch_ms(MAX(charge_period_end)) AS t FROM ${relation}
      WHERE subscription_id IN (${list}) AND charge_period_start >= TIMESTAMP '${ts(window.from)}' AND charge_period_start < TIMESTAMP '${ts(window.to)}' GROUP BY subscription_id`)).getRowObjectsJS();
    for (const r of rows) out.set(String(r.subscription_id), { rows: Number(r.n), from: Number(r.f), to: Number(r.t) });
    return out;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

export function formatDiagnosis(d: DiagnoseResult): string {
  const out = [`Diagnosis for ${d.tenantName} (${d.tenantId}), ${d.month}`];
  out.push(`  identities of the partner there: ${d.identities.length ? "" : "none"}`);
  for (const i of d.identities) out.push(`    ${i.displayName ?? ""} ${i.objectId} in ${i.tenantId} (${i.via})`);
  if (d.reasons.length === 0) out.push("  no problem found: the customer should appear in the report once its month is attributed.");
  for (const r of d.reasons) out.push("", `  [${r.code}] ${plainCode(r.message)}`, `    fix: ${plainCode(r.fix)}`, `    evidence: ${JSON.stringify(r.evidence)}`);
  return out.join("\n") + "\n";
}
