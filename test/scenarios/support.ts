/**
 * Scenario harness: a world file (JSON in the test) + a usage file (a FOCUS CSV written by the
 * test) → the lake → `attributeUsage` → the Partner Center report. Worlds are applied with
 * applyWorld (src/world), which now stores every section scenarios use (management groups,
 * subscriptions, role assignments, delegations, partners of record); a section it reports as not
 * applied fails the scenario rather than silently testing less.
 */
import { after, before } from "node:test";
import type { StoreBackend } from "../support/stores.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyWorld, type WorldFile } from "../../src/world/index.ts";
import type { Store } from "../../src/store/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { importUsageFile } from "../../src/usage/index.ts";
import { attributeUsage, type AttributionSummary } from "../../src/attribution/engine.ts";
import { azureUsageReport, type AzureUsageRow } from "../../src/attribution/report.ts";
import type { Policy } from "../../src/attribution/coverage.ts";

export async function applyScenarioWorld(store: Store, world: WorldFile): Promise<void> {
  const result = await applyWorld(store, world, { clock: new ManualClock("2026-01-01T00:00:00Z"), actor: "test" });
  if (!result.ok) throw new Error(`world invalid:\n${result.problems.map((p) => `${p.path}: ${p.message}`).join("\n")}`);
  if (result.summary.notApplied.length) throw new Error(`applyWorld did not apply: ${result.summary.notApplied.map((s) => s.section).join(", ")}`);
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

/**
 * The store lifecycle every scenario suite shares, registered on the enclosing `describe`: a store
 * of `backend` opened before the suite, `fresh()` for a new empty one per scenario, and every
 * scenario run pushed to `runs` cleaned up after the suite.
 */
export function scenarioStore(backend: StoreBackend): { fresh(): Promise<Store>; readonly runs: ScenarioRun[] } {
  let store: Store | undefined;
  const runs: ScenarioRun[] = [];
  before(async () => {
    store = await backend.open();
  });
  after(async () => {
    for (const r of runs) r.cleanup();
    await store?.close();
  });
  return {
    runs,
    async fresh() {
      await store?.close();
      store = await backend.open();
      return store;
    },
  };
}
