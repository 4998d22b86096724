/**
 * `openpal attribution run --month YYYY-MM [--policy pec|all-roles|pec,all-roles]`: attributes a
 * month of the usage lake to partners (a local command: it opens the store and the lake named by
 * --data-dir or --postgres-url directly, whether or not a server runs on them). Several policies
 * in one run read the control plane and compute business applications once.
 */
import { Command, Option } from "commander";
import { bizappsRatesOf, loadOptions } from "../../options/index.ts";
import type { Store } from "../../store/index.ts";
import { systemClock } from "../../domain/time.ts";
import type { AttributionSummary, MonthAttribution, Policy } from "../../attribution/index.ts";
import { CliError, ExitCode } from "../errors.ts";
import { requireDataDir } from "../data-dir.ts";

/** Options every local attribution command takes. */
export function withStoreOptions(cmd: Command): Command {
  return withStoreLocation(cmd).addOption(new Option("--policy <policy>", "role eligibility policy").choices(["pec", "all-roles"]).default("pec"));
}

/** `--data-dir` and `--postgres-url`: the store and lake a local command opens. */
function withStoreLocation(cmd: Command): Command {
  return cmd
    .option("--data-dir <dir>", "data directory holding the store and the usage lake (env OPENPAL_DATA_DIR; default ./.openpal)")
    .option("--postgres-url <url>", "use this PostgreSQL store instead of the data dir's SQLite (env OPENPAL_POSTGRES_URL)");
}

/**
 * Opens the store named by the options; runs `work`; closes it. Report errors become CLI errors.
 * The data dir must exist (a SQLite store is never created as a side effect) unless `create`.
 */
export async function withLocalStore<T>(parsed: Record<string, unknown>, work: (store: Store, dataDir: string) => Promise<T>, opts: { create?: boolean } = {}): Promise<T> {
  const resolved = loadOptions({ dataDir: parsed.dataDir as string | undefined, postgresUrl: parsed.postgresUrl as string | undefined });
  if (!resolved.ok) throw new CliError(`invalid options:\n  - ${resolved.problems.join("\n  - ")}`, ExitCode.usage);
  if (!opts.create && resolved.options.store === "sqlite") requireDataDir(resolved.options.dataDir, { flag: parsed.dataDir as string | undefined });
  // The store and the engine (DuckDB) load when a command runs, not when the CLI starts.
  const [{ databaseConfigFrom, openStore }, { ReportError }] = await Promise.all([import("../../store/index.ts"), import("../../attribution/index.ts")]);
  const store = await openStore(databaseConfigFrom(resolved.options));
  try {
    return await work(store, resolved.options.dataDir);
  } catch (error) {
    if (error instanceof ReportError) throw new CliError(error.message, ExitCode.notFound);
    if (error instanceof Error && /is not YYYY-MM/.test(error.message)) throw new CliError(error.message, ExitCode.usage);
    throw error;
  } finally {
    await store.close();
  }
}

export function requireMonth(value: unknown, flag = "--month"): string {
  if (typeof value !== "string" || !/^\d{4}-(0[1-9]|1[0-2])$/.test(value)) throw new CliError(`${flag} "${String(value)}": use YYYY-MM, e.g. 2026-10.`, ExitCode.usage);
  return value;
}

export function formatRunSummary(s: AttributionSummary): string {
  return formatAzureSummary(s) + formatBizappsSummary(s.bizapps);
}

/** Several policies of one run: each policy's Azure part, then business applications once. */
export function formatMonthSummary(m: MonthAttribution): string {
  return m.policies.map(formatAzureSummary).join("") + formatBizappsSummary(m.bizapps);
}

function formatAzureSummary(s: AttributionSummary): string {
  const lines = [
    `attributed ${s.month} (policy ${s.policyVersion})`,
    `  usage rows: ${s.usageRows}; attributed: ${s.attributedRows}; facts: ${s.facts}; report rows (rollups): ${s.rollups}`,
    `  coverage rows: ${s.coverageRows}`,
    `  cost: ${Object.entries(s.costByCurrency).map(([c, v]) => `${v} ${c}`).join(", ") || "none"}`,
    `  unknown subscriptions: ${s.unknownSubscriptions.length === 0 ? "none" : s.unknownSubscriptions.length}`,
  ];
  for (const u of s.unknownSubscriptions.slice(0, 10)) lines.push(`    ${u.subscriptionId}: ${u.rows} rows, ${Object.entries(u.cost).map(([c, v]) => `${v} ${c}`).join(", ")} — add it to the control plane (world file) to attribute it`);
  if (s.unknownSubscriptions.length > 10) lines.push(`    … ${s.unknownSubscriptions.length - 10} more (--json lists all)`);
  if (s.usageRows === 0) lines.push(`  note: the usage lake has no rows for ${s.month}; import the month's cost export first (\`openpal usage import FILE\`).`);
  lines.push(`  facts: ${s.factsPath}`, `  timings (ms): ${Object.entries(s.timings).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  return lines.join("\n") + "\n";
}

function formatBizappsSummary(b: AttributionSummary["bizapps"]): string {
  const lines = [
    `business applications (Power Platform, Customer Insights)`,
    `  resources: ${b.resources}; candidates: ${b.candidates} (${b.qualifyingCandidates} qualifying); credited rows: ${b.credited}`,
    `  credited MAU: ${b.mau}; unified profiles: ${b.profiles}; activity events read: ${b.eventsRead}`,
    `  unknown resources in activity: ${b.unknownResourceCount === 0 ? "none" : b.unknownResourceCount}`,
  ];
  for (const u of b.unknownResources.slice(0, 10)) lines.push(`    ${u.workload} ${u.resourceId} (tenant ${u.tenantId}): ${u.events} events — add it to the control plane (world file or \`openpal import powerplatform\`) to attribute it`);
  const shown = Math.min(10, b.unknownResources.length);
  if (b.unknownResourceCount > shown) {
    const rest = b.unknownResourcesNotListed;
    lines.push(`    … and ${b.unknownResourceCount - shown} more (${rest.resources > 0 ? `--json lists the ${b.unknownResources.length} busiest; the other ${rest.resources} had ${rest.events} events` : "--json lists all"})`);
  }
  lines.push(`  facts: ${b.factsPath}`);
  return lines.join("\n") + "\n";
}

/** `--policy pec`, `--policy all-roles` or several, comma-separated. */
export function parsePolicies(value: unknown): Policy[] {
  const list = String(value ?? "pec").split(",").map((p) => p.trim()).filter((p) => p.length > 0);
  const bad = list.filter((p) => p !== "pec" && p !== "all-roles");
  if (list.length === 0 || bad.length > 0) throw new CliError(`--policy "${String(value)}": use pec, all-roles, or both comma-separated (pec,all-roles).`, ExitCode.usage);
  return [...new Set(list)] as Policy[];
}

export function attributionCommand(): Command {
  const attribution = new Command("attribution").description("Attribution engine: credit usage to partners (PAL, DPOR). See docs/ATTRIBUTION.md.");
  const run = withStoreLocation(new Command("run").description("Attribute one month of the usage lake; replaces that month's results atomically."))
    .option("--policy <policies>", "role eligibility policy: pec, all-roles, or both comma-separated (one run: business applications computed once)", "pec")
    .requiredOption("--month <YYYY-MM>", "month to attribute (by charge period start, UTC)")
    .option("--memory-limit <size>", "DuckDB memory limit before spilling to disk", "2GB")
    .option("--json", "print the summary as JSON")
    .option("--wait", "when the month is being attributed elsewhere (another server or CLI on the same store), wait for it, then run")
    .option("--bizapps-rate-power-apps <rate>", "Solutions Partner rate per Power Apps MAU (env OPENPAL_BIZAPPS_RATE_POWER_APPS; default 200)")
    .option("--bizapps-rate-power-automate <rate>", "rate per Power Automate MAU (env OPENPAL_BIZAPPS_RATE_POWER_AUTOMATE; default 200)")
    .option("--bizapps-rate-power-bi <rate>", "rate per Power BI MAU (env OPENPAL_BIZAPPS_RATE_POWER_BI; default 200)")
    .option("--bizapps-rate-customer-insights <rate>", "rate per Customer Insights unified profile (env OPENPAL_BIZAPPS_RATE_CUSTOMER_INSIGHTS; default 0.2)");
  run.action(async (parsed: Record<string, unknown>) => {
    const month = requireMonth(parsed.month);
    const policies = parsePolicies(parsed.policy);
    const rated = loadOptions({
      dataDir: parsed.dataDir as string | undefined, postgresUrl: parsed.postgresUrl as string | undefined,
      bizappsRatePowerApps: parsed.bizappsRatePowerApps as string | undefined, bizappsRatePowerAutomate: parsed.bizappsRatePowerAutomate as string | undefined,
      bizappsRatePowerBi: parsed.bizappsRatePowerBi as string | undefined, bizappsRateCustomerInsights: parsed.bizappsRateCustomerInsights as string | undefined,
    });
    if (!rated.ok) throw new CliError(`invalid options:\n  - ${rated.problems.join("\n  - ")}`, ExitCode.usage);
    const bizappsRates = bizappsRatesOf(rated.options);
    const [{ attributeMonth }, { withOperationLock, OperationBusyError }] = await Promise.all([import("../../attribution/index.ts"), import("../../store/index.ts")]);
    await withLocalStore(parsed, async (store, dataDir) => {
      // One run per month at a time across every process on the store (docs/OPERATIONS.md, Scale-out).
      const summary = await withOperationLock(store, `attribution ${month}`, {
        wait: parsed.wait === true,
        onWait: (heldBy) => process.stderr.write(`attribution ${month} is running${heldBy ? ` (${heldBy.holder})` : ""}; waiting for it to finish…\n`),
      }, () => attributeMonth({
        store, dataDir, month, policies, clock: systemClock, memoryLimit: parsed.memoryLimit as string, bizappsRates,
        onProgress: process.stderr.isTTY && parsed.json !== true ? (step) => process.stderr.write(`… ${step}\n`) : undefined,
      })).catch((error: unknown) => {
        if (error instanceof OperationBusyError) throw new CliError(error.message, ExitCode.conflict);
        throw error;
      });
      // One policy: its summary, as always; several: each policy's Azure part and business applications once.
      const one = summary.policies.length === 1 ? summary.policies[0] as AttributionSummary : undefined;
      const json = one ?? { month: summary.month, policies: summary.policies.map(({ bizapps: _b, ...azure }) => azure), bizapps: summary.bizapps, timings: summary.timings };
      process.stdout.write(parsed.json === true ? JSON.stringify(json, null, 2) + "\n" : one ? formatRunSummary(one) : formatMonthSummary(summary));
    });
  });
  attribution.addCommand(run);

  const seed = new Command("seed-demo")
    .description("Generate two months of usage (and business-applications activity and metrics, for a world with Power Platform estates) for a world file (default: the demo world), import it and attribute both months (creates the data dir if needed).")
    .option("--data-dir <dir>", "data directory (env OPENPAL_DATA_DIR; default ./.openpal)")
    .option("--postgres-url <url>", "PostgreSQL store instead of the data dir's SQLite")
    .option("--world <file>", "world file whose subscriptions get usage (default: the demo world)")
    .option("--months <list>", "comma-separated months (default: the demo world's two months)");
  seed.action(async (parsed: Record<string, unknown>) => {
    const { DEMO_MONTHS, DEMO_WORLD_FILE, seedDemo } = await import("../../insights/demo.ts");
    const months = String(parsed.months ?? DEMO_MONTHS.join(",")).split(",").map((m) => requireMonth(m.trim(), "--months"));
    await withLocalStore(parsed, async (store, dataDir) => {
      const r = await seedDemo({ store, clock: systemClock }, dataDir, (parsed.world as string | undefined) ?? DEMO_WORLD_FILE, months);
      const activity = r.activityEvents + r.metrics > 0 ? `, ${r.activityEvents} business-applications activity events and ${r.metrics} metrics` : "";
      process.stdout.write(`imported ${r.imported} usage rows${activity} and attributed ${r.months.join(", ")} (policies pec and all-roles).\nTry: openpal report azure-usage --month ${r.months.at(-1)}\n`);
    }, { create: true });
  });
  attribution.addCommand(seed);
  return attribution;
}
