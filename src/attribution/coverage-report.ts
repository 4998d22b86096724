/**
 * The coverage report: per customer tenant, the partner's identities there (guests from its
 * tenants, service principals of its applications, and its own principals authorized through
 * Lighthouse), linked or not, their roles and eligibility, the share of the customer's spend the
 * partner is credited for, and the revenue at risk.
 *
 * Revenue at risk = what the partner would be credited if every identity of it holding an
 * eligible role were linked (to the location its other identities use, else its first active
 * location) and enabled, minus what it is credited now — computed by running the same engine
 * twice over a what-if coverage table (coverage.ts `WhatIf`), deduplicated at organisation level
 * (rule 16), eligible roles only.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import type { PartnerLinkInterval, Store } from "../store/index.ts";
import { effectiveAccess, indexAccess } from "../domain/access.ts";
import { formatDecimal, parseDecimal } from "../domain/attribution.ts";
import { eligibilityPolicy } from "../domain/roles.ts";
import { openUsageLake } from "../usage/index.ts";
import { buildCoverage, loadCoverageInput, type Policy } from "./coverage.ts";
import { monthWindow } from "../domain/time.ts";
import { attributeInMemory } from "./engine.ts";
import { ReportError } from "../domain/report.ts";
import type { CoverageIdentity, CoverageLinkState, CustomerCoverage } from "./wire.ts";
import { PARTNER_REGISTRATION_HINT } from "../domain/partner-id.ts";
export type { CoverageIdentity, CoverageLinkState, CustomerCoverage } from "./wire.ts";

export interface CoverageReport {
  readonly globalId: string;
  readonly partnerName: string;
  readonly month: string;
  readonly policy: Policy;
  readonly customers: readonly CustomerCoverage[];
}

const key2 = (t: string, o: string) => `${t.toLowerCase()}|${o.toLowerCase()}`;

export async function coverageReport(store: Store, q: { partnerId: string; month?: string; policy?: Policy; dataDir: string; now: number }): Promise<CoverageReport> {
  const found = await store.partners.lookup(q.partnerId, q.now);
  if (found.kind === "unknown") throw new ReportError(`partner id ${q.partnerId} is not registered; use a location id or the organisation's global id. ${PARTNER_REGISTRATION_HINT}`);
  const org = found.organisation;
  const policy = q.policy ?? "pec";
  const lake = openUsageLake(q.dataDir);
  const month = q.month ?? lake.months().at(-1) ?? new Date(q.now).toISOString().slice(0, 7);
  const window = monthWindow(month);
  const input = await loadCoverageInput(store, window);
  const index = indexAccess(input.access);
  const orgTenants = new Set(org.tenantIds.map((t) => t.toLowerCase()));
  const ownLocations = input.locations.filter((l) => l.globalId === org.globalId).map((l) => l.id);
  const inactiveNow = new Set(input.locationStatus.filter((s) => !s.active && (s.validFrom ?? -Infinity) <= window.to - 1 && (s.validTo ?? Infinity) > window.to - 1).map((s) => s.locationId));
  const fallbackLocation = ownLocations.find((l) => !inactiveNow.has(l)) ?? ownLocations[0];
  const at = window.to - 1;

  // Identities per customer tenant.
  const byTenant = new Map<string, { tenantId: string; objectId: string; displayName: string | null; kind: CoverageIdentity["kind"]; scopeTenant: string }[]>();
  const push = (tenant: string, i: { tenantId: string; objectId: string; displayName: string | null; kind: CoverageIdentity["kind"]; scopeTenant: string }) => {
    const list = byTenant.get(tenant) ?? [];
    if (!list.some((x) => key2(x.tenantId, x.objectId) === key2(i.tenantId, i.objectId))) list.push(i);
    byTenant.set(tenant, list);
  };
  for (const p of input.access.principals) {
    const t = p.tenantId.toLowerCase();
    if (p.type === "Group" || orgTenants.has(t) || !p.homeTenantId || !orgTenants.has(p.homeTenantId.toLowerCase())) continue;
    push(t, { tenantId: t, objectId: p.objectId, displayName: p.displayName ?? null, kind: p.type === "User" ? "guest" : "servicePrincipal", scopeTenant: t });
  }
  for (const d of input.access.registrationDefinitions) {
    if (!orgTenants.has(d.managedByTenantId.toLowerCase())) continue;
    for (const a of d.authorizations) {
      const p = index.principals.get(key2(d.managedByTenantId, a.principalId));
      if (p && p.type !== "Group") push(d.tenantId.toLowerCase(), { tenantId: p.tenantId, objectId: p.objectId, displayName: p.displayName ?? null, kind: "lighthouse", scopeTenant: d.tenantId.toLowerCase() });
    }
  }

  const linkAt = (t: string, o: string) => input.links.find((l) => key2(l.tenantId, l.objectId) === key2(t, o) && (l.validFrom ?? -Infinity) <= at && (l.validTo ?? Infinity) > at);
  const assumeLinked: { tenantId: string; objectId: string; partnerId: string }[] = [];
  const assumeEnabled = new Set<string>();
  const customers: { tenantId: string; tenantName: string; identities: CoverageIdentity[] }[] = [];
  const tenantNames = new Map(input.tenants.map((t) => [t.id.toLowerCase(), t.displayName]));
  for (const [tenant, list] of byTenant) {
    const identities: CoverageIdentity[] = [];
    for (const i of list) {
      const entries = effectiveAccess(index, { kind: "principal", tenantId: i.tenantId, objectId: i.objectId }, window, { policy: eligibilityPolicy(policy) }).entries
        .filter((e) => e.scopeTenantId.toLowerCase() === i.scopeTenant && e.inheritedFrom === null);
      // Roles as held at any time of the month, whether or not the identity is enabled now.
      const anyTime = entries.length ? entries : effectiveAccess(indexAccess({ ...input.access, disabled: [] }), { kind: "principal", tenantId: i.tenantId, objectId: i.objectId }, window).entries
        .filter((e) => e.scopeTenantId.toLowerCase() === i.scopeTenant && e.inheritedFrom === null);
      // The what-if below is about the month (its link at the end of the month); what is shown is
      // the link now, with the month's credit as a separate state (identityLink).
      const link = linkAt(i.tenantId, i.objectId);
      const p = index.principals.get(key2(i.tenantId, i.objectId));
      const enabled = index.activeIntervals(i.tenantId, i.objectId, { from: at, to: at + 1 }).length > 0 && (p?.deletedAt ?? null) === null;
      const roles = anyTime.map((e) => ({ scope: e.scope, role: e.role.name, eligible: e.role.eligible }));
      const own = link ? ownLocations.includes(link.partnerId) : false;
      const shown = identityLink(input.links.filter((l) => key2(l.tenantId, l.objectId) === key2(i.tenantId, i.objectId)), window, q.now, ownLocations);
      identities.push({ tenantId: i.tenantId, objectId: i.objectId, displayName: i.displayName, kind: i.kind, ...shown, enabled, roles });
      if (roles.some((r) => r.eligible)) {
        if (!own && fallbackLocation) {
          const sibling = list.map((x) => linkAt(x.tenantId, x.objectId)).find((l) => l && ownLocations.includes(l.partnerId));
          assumeLinked.push({ tenantId: i.tenantId, objectId: i.objectId, partnerId: sibling?.partnerId ?? fallbackLocation });
        }
        if (!enabled) assumeEnabled.add(key2(i.tenantId, i.objectId));
      }
    }
    customers.push({ tenantId: tenant, tenantName: tenantNames.get(tenant) ?? tenant, identities });
  }

  const actual = buildCoverage(input, window, policy);
  const potential = buildCoverage(input, window, policy, { assumeLinked, assumeEnabled });
  const credited = await creditedByTenant(q.dataDir, month, actual, org.globalId);
  const possible = await creditedByTenant(q.dataDir, month, potential, org.globalId);
  const spend = await spendByTenant(lake.relation(month), window, actual.subscriptions);

  return {
    globalId: org.globalId, partnerName: org.name, month, policy,
    customers: customers.sort((a, b) => a.tenantName.localeCompare(b.tenantName)).map((c) => {
      const currencies = new Set([...(spend.get(c.tenantId)?.keys() ?? []), ...(possible.get(c.tenantId)?.keys() ?? [])]);
      return {
        ...c,
        money: [...currencies].sort().map((cur) => {
          const s = spend.get(c.tenantId)?.get(cur) ?? 0n;
          const now = credited.get(c.tenantId)?.get(cur) ?? 0n;
          const pot = possible.get(c.tenantId)?.get(cur) ?? 0n;
          const risk = pot > now ? pot - now : 0n;
          return { currency: cur, spend: formatDecimal(s), credited: formatDecimal(now), potential: formatDecimal(pot), atRisk: formatDecimal(risk), coveredShare: s === 0n ? 0 : Number((now * 10000n) / s) / 10000 };
        }),
      };
    }),
  };
}

/**
 * An identity's link as the report shows it (pure): the link now (`now`, not the end of the
 * month), the link the month had, and the state that ties them (CoverageLinkState). `links` are
 * that identity's link intervals, history included.
 */
export function identityLink(
  links: readonly Pick<PartnerLinkInterval, "partnerId" | "validFrom" | "validTo">[],
  window: { readonly from: number; readonly to: number },
  now: number,
  ownLocations: readonly string[],
): Pick<CoverageIdentity, "linkedTo" | "linkedSince" | "linkedToOwnLocation" | "linkedInMonth" | "linkState"> {
  const current = links.find((l) => (l.validFrom ?? -Infinity) <= now && (l.validTo ?? Infinity) > now);
  const inMonth = links
    .filter((l) => (l.validFrom ?? -Infinity) < window.to && (l.validTo ?? Infinity) > window.from)
    .sort((a, b) => (a.validFrom ?? -Infinity) - (b.validFrom ?? -Infinity));
  const own = current ? ownLocations.includes(current.partnerId) : false;
  const monthHadOwnLink = inMonth.some((l) => ownLocations.includes(l.partnerId));
  const linkState: CoverageLinkState = !current ? "notLinked" : !own ? "linkedElsewhere" : monthHadOwnLink ? "linked" : "noCreditYet";
  return {
    linkedTo: current?.partnerId ?? null,
    linkedSince: current?.validFrom === null || current?.validFrom === undefined ? null : new Date(current.validFrom).toISOString(),
    linkedToOwnLocation: own,
    linkedInMonth: inMonth.at(-1)?.partnerId ?? null,
    linkState,
  };
}

/** Eligible credit of one organisation, deduplicated at PGA level, per customer tenant and currency. */
async function creditedByTenant(dataDir: string, month: string, coverage: Parameters<typeof attributeInMemory>[2], globalId: string): Promise<Map<string, Map<string, bigint>>> {
  const out = new Map<string, Map<string, bigint>>();
  const facts = await attributeInMemory(dataDir, month, coverage, { globalId });
  for (const f of facts) {
    if (!f.eligible || f.dup_pga) continue;
    const t = String(f.customer_tenant_id ?? "");
    const m = out.get(t) ?? new Map<string, bigint>();
    m.set(String(f.billing_currency), (m.get(String(f.billing_currency)) ?? 0n) + parseDecimal(String(f.acr_text)));
    out.set(t, m);
  }
  return out;
}

async function spendByTenant(relation: string, window: { from: number; to: number }, subs: ReadonlyMap<string, { tenantId: string }>): Promise<Map<string, Map<string, bigint>>> {
  const out = new Map<string, Map<string, bigint>>();
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    const ts = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
    const rows = (await c.runAndReadAll(`SELECT subscription_id, billing_currency, CAST(SUM(cost) AS VARCHAR) AS cost FROM ${relation}
      WHERE charge_period_start >= TIMESTAMP '${ts(window.from)}' AND charge_period_start < TIMESTAMP '${ts(window.to)}' GROUP BY 1, 2`)).getRowObjectsJS();
    for (const r of rows) {
      const t = subs.get(String(r.subscription_id))?.tenantId;
      if (!t) continue;
      const m = out.get(t) ?? new Map<string, bigint>();
      m.set(String(r.billing_currency), (m.get(String(r.billing_currency)) ?? 0n) + parseDecimal(String(r.cost)));
      out.set(t, m);
    }
    return out;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

export function formatCoverage(r: CoverageReport): string {
  const out = [`Coverage of ${r.partnerName} (${r.globalId}), ${r.month}, policy ${r.policy}`];
  if (r.customers.length === 0) out.push("  no identities of this partner in any customer tenant");
  for (const c of r.customers) {
    out.push("", `${c.tenantName} (${c.tenantId})`);
    for (const m of c.money) out.push(`  spend ${m.spend} ${m.currency}; credited ${m.credited} (${(m.coveredShare * 100).toFixed(1)}%); revenue at risk ${m.atRisk}`);
    for (const i of c.identities) {
      out.push(`  ${i.displayName ?? i.objectId} (${i.kind}, ${i.objectId}): ${linkText(i, r.month)}${i.enabled ? "" : ", DISABLED"}`);
      if (i.linkState === "noCreditYet") out.push(`    ${noCreditYetText(i, r.month)}`);
      for (const role of i.roles) out.push(`    ${role.role}${role.eligible ? "" : " (not eligible)"} at ${role.scope}`);
      if (i.roles.length === 0) out.push("    no roles");
    }
  }
  return out.join("\n") + "\n";
}

const minute = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;

/** The link now, in words (the month's credit is `noCreditYetText`). */
function linkText(i: CoverageIdentity, month: string): string {
  const since = i.linkedSince ? ` since ${minute(i.linkedSince)}` : "";
  switch (i.linkState) {
    case "linked":
      return `linked to ${i.linkedTo}${since}`;
    case "noCreditYet":
      return `linked to ${i.linkedTo}${since}; no credit yet for ${month}`;
    case "linkedElsewhere":
      return `linked to ${i.linkedTo}${since} (NOT this partner)`;
    case "notLinked":
      return `NOT linked${i.linkedInMonth ? ` (was linked to ${i.linkedInMonth} during ${month}; the link has been removed since)` : ""}`;
  }
}

/** Why a link made after the month earns nothing in it, and when it starts to count. */
export function noCreditYetText(i: Pick<CoverageIdentity, "linkedSince">, month: string): string {
  return `no credit yet for ${month}: the link started after that month, so its usage is not credited to it; usage from ${i.linkedSince ? minute(i.linkedSince) : "the link's start"} on is credited once its month has usage data and is attributed.`;
}
