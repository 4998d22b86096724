/**
 * Scenario harness: a world file (JSON in the test) + a usage file (a FOCUS CSV written by the
 * test) → the lake → `attributeUsage` → the Partner Center report.
 *
 * applyWorld (src/world) does not yet apply the sections whose store belongs to other components
 * (management groups, subscriptions, role assignments, delegations, partners of record): it
 * validates them and lists them in `summary.notApplied`. Until it does, `applyScenarioWorld`
 * applies exactly those listed sections through the store aggregates, and stops doing so for a
 * section as soon as applyWorld applies it itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyWorld, resolveRole, type WorldFile } from "../../src/world/index.ts";
import type { Store } from "../../src/store/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { parseScope } from "../../src/domain/scope.ts";
import { importUsageFile } from "../../src/usage/index.ts";
import { attributeUsage, type AttributionSummary } from "../../src/attribution/engine.ts";
import { azureUsageReport, type AzureUsageRow } from "../../src/attribution/report.ts";
import type { Policy } from "../../src/attribution/coverage.ts";

const t = (iso: string | null | undefined): number | null => (iso === undefined || iso === null ? null : Date.parse(iso));

export async function applyScenarioWorld(store: Store, world: WorldFile): Promise<void> {
  const clock = new ManualClock("2026-01-01T00:00:00Z");
  const result = await applyWorld(store, world, { clock, actor: "test" });
  if (!result.ok) throw new Error(`world invalid:\n${result.problems.map((p) => `${p.path}: ${p.message}`).join("\n")}`);
  const pending = new Set(result.summary.notApplied.map((s) => s.section));
  for (const tenant of world.tenants ?? []) {
    const tid = tenant.id.toLowerCase();
    if (pending.has("tenants[].managementGroups")) {
      // Parents first: the file may list them in any order.
      const left = [...(tenant.managementGroups ?? [])];
      for (let guard = 0; left.length && guard < 20; guard++) {
        for (const g of [...left]) {
          if (g.parent && left.some((x) => x.id === g.parent)) continue;
          await store.resources.putManagementGroup({ tenantId: tid, id: g.id, displayName: g.displayName, parentId: g.parent ?? null }, { at: 0, since: null });
          left.splice(left.indexOf(g), 1);
        }
      }
    }
    if (pending.has("tenants[].subscriptions")) {
      for (const s of tenant.subscriptions ?? []) {
        await store.resources.putSubscription({
          tenantId: tid, id: s.id, displayName: s.displayName, offerType: s.offer, accountOwnerId: s.accountOwner ?? null, managementGroupId: s.managementGroup ?? null,
        }, { at: 0, since: null });
        for (const rg of s.resourceGroups ?? []) await store.resources.putResourceGroup({ tenantId: tid, subscriptionId: s.id, name: rg, location: "westeurope" }, { at: 0, since: null });
      }
    }
    if (pending.has("tenants[].roleAssignments")) {
      for (const [i, a] of (tenant.roleAssignments ?? []).entries()) {
        const role = resolveRole(a.role);
        if (!role) throw new Error(`role ${a.role} unknown`);
        const id = a.id ?? `00000000-0000-4000-8000-${String(i + 1).padStart(4, "0")}${tid.slice(0, 8)}`;
        const from = t(a.from);
        const principalType = principalTypeOf(world, tid, a.principalId);
        await store.access.createRoleAssignment({ tenantId: tid, id, scope: a.scope, roleDefinitionId: role.id, principalId: a.principalId, principalType }, { at: from ?? 0, since: from });
        if (a.to) await store.access.deleteRoleAssignment(tid, id, t(a.to) as number);
      }
    }
    if (pending.has("tenants[].delegations")) {
      for (const [i, d] of (tenant.delegations ?? []).entries()) {
        const defId = `10000000-0000-4000-8000-${String(i + 1).padStart(4, "0")}${tid.slice(0, 8)}`;
        const asgId = d.id ?? `20000000-0000-4000-8000-${String(i + 1).padStart(4, "0")}${tid.slice(0, 8)}`;
        const from = t(d.from);
        const sub = parseScope(d.scope).subscriptionId as string;
        await store.access.putRegistrationDefinition({
          tenantId: tid, id: defId, scope: `/subscriptions/${sub}`, name: d.displayName ?? "delegation", description: null, managedByTenantId: d.managedByTenantId,
          managedByTenantName: null, plan: null,
          authorizations: d.authorizations.map((a) => ({ principalId: a.principalId, roleDefinitionId: resolveRole(a.role)?.id as string, kind: a.kind ?? "permanent" })),
        }, { at: from ?? 0, since: from });
        await store.access.createRegistrationAssignment({ tenantId: tid, id: asgId, scope: d.scope, registrationDefinitionId: defId }, { at: from ?? 0, since: from });
        if (d.to) await store.access.deleteRegistrationAssignment(tid, asgId, t(d.to) as number);
      }
    }
  }
  if (pending.has("partnersOfRecord")) {
    for (const p of world.partnersOfRecord ?? []) {
      const sub = await store.resources.getSubscription(p.subscriptionId);
      await store.partnersOfRecord.insertHistorical({ tenantId: sub?.tenantId ?? "", subscriptionId: p.subscriptionId, partnerId: p.partnerId, from: t(p.from), to: t(p.to) });
    }
  }
}

function principalTypeOf(world: WorldFile, tenantId: string, id: string): string {
  const tenant = world.tenants?.find((x) => x.id.toLowerCase() === tenantId);
  if (tenant?.groups?.some((g) => g.id === id)) return "Group";
  if (tenant?.servicePrincipals?.some((s) => s.id === id)) return "ServicePrincipal";
  return "User";
}

/** One usage row of the test's CSV (FOCUS 1.0 columns). */
export interface UsageLine {
  readonly subscription: string;
  /** Resource id as a cost export writes it (any case; the lake lower-cases it). */
  readonly resource: string;
  /** Charge period start (a day: [day, day + 1)), ISO. */
  readonly day: string;
  readonly cost: number | string;
  readonly currency?: string;
  /** USD value; defaults to `cost` when the currency is USD. */
  readonly usd?: number | string;
  readonly service?: string;
}

export function focusCsv(lines: readonly UsageLine[]): string {
  const header = "BillingAccountId,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,EffectiveCost,x_EffectiveCostInUsd,BillingCurrency,SubAccountId,ResourceId,ServiceName,ProviderName";
  const rows = lines.map((l) => {
    const start = new Date(l.day);
    const end = new Date(start.getTime() + 86_400_000);
    const currency = l.currency ?? "USD";
    const usd = l.usd ?? (currency === "USD" ? l.cost : "");
    return ["ea-1", "Usage", start.toISOString(), end.toISOString(), l.cost, usd, currency, `/subscriptions/${l.subscription}`, l.resource, l.service ?? "Virtual Machines", "Microsoft"].join(",");
  });
  return [header, ...rows].join("\n") + "\n";
}

/** Every day of a month, one line each (the usual shape of a daily export). */
export function daily(month: string, make: (day: string) => Omit<UsageLine, "day">): UsageLine[] {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return Array.from({ length: days }, (_, i) => ({ ...make(`${month}-${String(i + 1).padStart(2, "0")}T00:00:00Z`), day: `${month}-${String(i + 1).padStart(2, "0")}T00:00:00Z` }));
}

export interface ScenarioRun {
  readonly dataDir: string;
  readonly summary: AttributionSummary;
  report(q?: { partnerId?: string; globalId?: string; includeIneligible?: boolean }): Promise<AzureUsageRow[]>;
  cleanup(): void;
}

/** Imports the usage, runs the month, and returns a handle to read reports. */
export async function runScenario(store: Store, usage: readonly UsageLine[], month: string, policy: Policy = "pec", dataDir?: string): Promise<ScenarioRun> {
  const dir = dataDir ?? mkdtempSync(path.join(os.tmpdir(), "openpal-scenario-"));
  if (usage.length) {
    const file = path.join(dir, `usage-${Date.now()}-${Math.random().toString(36).slice(2)}.csv`);
    writeFileSync(file, focusCsv(usage));
    await importUsageFile(file, { dataDir: dir, threads: 1, memoryLimit: "256MB" });
  }
  const summary = await attributeUsage({ store, dataDir: dir, month, policy, clock: new ManualClock("2026-12-01T00:00:00Z"), threads: 1, memoryLimit: "256MB" });
  return {
    dataDir: dir,
    summary,
    report: (q = {}) => azureUsageReport(store, { month, policy, ...q }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Report rows reduced to what scenarios compare: partner, type, subscription, role, ACR, flags. */
export function brief(rows: readonly AzureUsageRow[]): string[] {
  return rows.map((r) => [r.PartnerId, r.PartnerAttributionType, r.SubscriptionName || r.SubscriptionId, r.AdminType || "-", `${r.ACR} ${r.BillingCurrency}`,
    `${r.IsACRDuplicateAtPGALevel ? "D" : "-"}${r.IsACRDuplicateAtPGAAttachTypeLevel ? "D" : "-"}${r.IsACRDuplicateAtMPNLevel ? "D" : "-"}`].join(" "));
}
