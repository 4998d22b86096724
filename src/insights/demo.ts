/**
 * The demo at `npm start`: when the server starts on the demo world and the usage lake is empty,
 * generate two months of usage for it (src/usage/demo.ts) and of business-applications activity
 * and metrics (src/activity/demo.ts), import them and attribute both months, so the reports,
 * insights and portal show non-trivial attribution, Azure and business applications, from the
 * first minute.
 * Runs after the world is applied, in the background: the server does not wait for it.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AppContext } from "../context/index.ts";
import { readWorldFile } from "../world/index.ts";
import { openUsageLake } from "../usage/index.ts";
import { seedDemoUsage } from "../usage/demo.ts";
import { seedDemoActivity } from "../activity/demo.ts";
import { attributeMonth } from "../attribution/index.ts";
import { observeLakeImport, timedAttribution } from "../ops/metrics.ts";
import { withOperationLock } from "../store/index.ts";
import { bizappsRatesOf } from "../options/index.ts";
import type { BizappsRates } from "../domain/bizapps.ts";

/** The months the demo world's history is written for (links, roles and DPOR dates). */
export const DEMO_MONTHS: readonly string[] = ["2026-09", "2026-10"];

export const DEMO_WORLD_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "world", "demo", "world.json");

/** Seeds and attributes the demo months; returns what it did (for logs and the CLI). */
export async function seedDemo(ctx: Pick<AppContext, "store" | "clock">, dataDir: string, worldFile = DEMO_WORLD_FILE, months: readonly string[] = DEMO_MONTHS, bizappsRates?: BizappsRates): Promise<{ imported: number; activityEvents: number; metrics: number; months: readonly string[] }> {
  const parsed = readWorldFile(worldFile);
  if (!parsed.ok) throw new Error(`demo world ${worldFile} is invalid: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
  const t0 = performance.now();
  const summary = await seedDemoUsage(parsed.world, months, dataDir);
  observeLakeImport("focus", (performance.now() - t0) / 1000, summary?.rowsKept ?? 0);
  // Business applications: activity and metrics into the activity lake, before the months are
  // attributed (one attribution run computes Azure and business-applications credit together).
  const activity = await seedDemoActivity(parsed.world, months, dataDir);
  for (const month of months) {
    // Both policies in one run (business applications computed once). Several servers starting on
    // one store attribute a month one after another, never at once.
    await withOperationLock(ctx.store, `attribution ${month}`, { wait: true }, () => timedAttribution(() => attributeMonth({ store: ctx.store, dataDir, month, policies: ["pec", "all-roles"], clock: ctx.clock, ...(bizappsRates ? { bizappsRates } : {}) })));
  }
  return { imported: summary?.rowsKept ?? 0, activityEvents: activity?.events ?? 0, metrics: activity?.metrics ?? 0, months };
}

/**
 * Whether `file` is this package's demo world. `npm start` names src/world/demo/world.json while
 * the compiled server's DEMO_WORLD_FILE is dist/world/demo/world.json, so both are recognised; a
 * copy elsewhere (tests, users' own worlds) is not, and gets no generated usage.
 */
export function isDemoWorld(file: string): boolean {
  const resolved = path.resolve(file);
  const sep = path.sep;
  const siblings = [DEMO_WORLD_FILE, DEMO_WORLD_FILE.replace(`${sep}dist${sep}`, `${sep}src${sep}`), DEMO_WORLD_FILE.replace(`${sep}src${sep}`, `${sep}dist${sep}`)];
  return siblings.includes(resolved);
}

/**
 * Called by the composition root after the start world is applied: seeds in the background and
 * returns the seeding (never rejecting), which the server awaits before it closes its store —
 * closing under it would leave DuckDB running on a freed instance (a crash at exit) and the
 * store closed under its writes. Undefined when there is nothing to seed.
 */
export function seedDemoOnStart(ctx: AppContext): Promise<void> | undefined {
  const world = ctx.options.world;
  if (!world || !isDemoWorld(world)) return undefined;
  if (openUsageLake(ctx.options.dataDir).months().length > 0) return undefined;
  return seedDemo(ctx, ctx.options.dataDir, DEMO_WORLD_FILE, DEMO_MONTHS, bizappsRatesOf(ctx.options))
    .then((r) => ctx.log.info({ months: r.months, rows: r.imported, activityEvents: r.activityEvents, metrics: r.metrics }, "demo usage and activity seeded and attributed"))
    .catch((error: unknown) => ctx.log.warn({ err: error }, "demo usage could not be seeded; run `openpal attribution seed-demo`"));
}
