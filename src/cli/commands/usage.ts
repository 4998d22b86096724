/** `openpal usage import FILE…`: cost exports into the usage lake (a local command: reads files, needs no server). */
import { Command, Option } from "commander";
import { existsSync } from "node:fs";
import { loadOptions, type Options } from "../../options/index.ts";
import type { ImportPhase, UsageImportSummary, UsageFormat } from "../../usage/index.ts";
import { DEFAULT_IMPORT_MEMORY_LIMIT, USAGE_FORMATS } from "../../usage/formats.ts";
import { CliError, ExitCode } from "../errors.ts";
import { requireDataDir } from "../data-dir.ts";

const PHASE_LABEL: Record<ImportPhase, string> = {
  reading: "reading",
  deduplicating: "deduplicating",
  writing: "writing",
};

/** Human-readable summary, one block per file. */
export function formatImportSummary(s: UsageImportSummary): string {
  const lines = [`${s.file}`, `  format: ${s.format} (${s.detectedBecause}); cost measure: ${s.costMeasure}`];
  lines.push(`  rows read: ${s.rowsRead}; kept: ${s.rowsKept}${s.rowsUpdated ? ` (${s.rowsUpdated} replaced an earlier version)` : ""}`);
  const skipped = Object.entries(s.skipped);
  if (skipped.length === 0) lines.push("  skipped: none");
  else {
    lines.push(`  skipped: ${skipped.reduce((n, [, c]) => n + c, 0)}`);
    for (const [reason, n] of skipped) lines.push(`    ${reason}: ${n}`);
  }
  for (const b of s.badValues) lines.push(`    e.g. row ${b.row}, column ${b.column}: ${b.value === null ? "(empty)" : JSON.stringify(b.value)}`);
  lines.push(`  subscriptions: ${s.subscriptions}`);
  lines.push(
    `  unknown to the control plane: ${s.unknownSubscriptions === "not checked" ? "not checked" : s.unknownSubscriptions.length === 0 ? "none" : `${s.unknownSubscriptions.length} (${s.unknownSubscriptions.slice(0, 5).join(", ")}${s.unknownSubscriptions.length > 5 ? ", …" : ""})`}`,
  );
  const costs = Object.entries(s.costByCurrency);
  lines.push(`  cost: ${costs.length ? costs.map(([c, v]) => `${v.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "")} ${c}`).join(", ") : "none"}`);
  lines.push(`  months: ${s.months.length ? s.months.join(", ") : "none"}`);
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return lines.join("\n");
}

function parsePeriod(value: string): { start: string; end: string } {
  const [start, end, extra] = value.split("/");
  if (!start || !end || extra !== undefined) throw new CliError(`--period "${value}": use START/END, e.g. 2021-08-17/2021-08-18 (end exclusive, UTC).`, ExitCode.usage);
  return { start, end };
}

/**
 * Subscription ids the control plane has ever known (any offer, any time), read once from the
 * store the options name. Undefined (reported as "not checked") when there is no store yet: an
 * import must not create one as a side effect.
 */
async function controlPlaneSubscriptions(options: Options): Promise<(() => Promise<Set<string>>) | undefined> {
  const { databaseConfigFrom, openStore } = await import("../../store/index.ts");
  const config = databaseConfigFrom(options);
  if (config.kind === "sqlite" && (options.inMemory || !existsSync(config.sqlitePath as string))) return undefined;
  let cached: Promise<Set<string>> | undefined;
  return () =>
    (cached ??= (async () => {
      const store = await openStore(config);
      try {
        return new Set((await store.resources.subscriptionHistory()).map((s) => s.id.toLowerCase()));
      } finally {
        await store.close();
      }
    })());
}

export function usageCommand(): Command {
  const usage = new Command("usage").description("Usage lake: import cost exports (FOCUS, Cost Management EA/MCA/MPA, AzGovViz) as monthly Parquet.");
  const importCmd = new Command("import")
    .description("Import CSV or Parquet cost exports into <data-dir>/usage (idempotent: re-importing does not double count). See docs/USAGE.md.")
    .argument("<files...>", "CSV or Parquet files")
    .addOption(new Option("--format <format>", "input format").choices(["auto", ...USAGE_FORMATS]).default("auto"))
    .option("--data-dir <dir>", "data directory (env OPENPAL_DATA_DIR; default ./.openpal)")
    .option("--postgres-url <url>", "control-plane store to check subscriptions against (env OPENPAL_POSTGRES_URL; default the SQLite store in the data dir)")
    .option("--cost-column <column>", "input column to use as cost (default EffectiveCost for FOCUS, CostInBillingCurrency or Cost for exports)")
    .option("--period <start/end>", "period covered by files without a date column (AzGovViz), e.g. 2021-08-17/2021-08-18")
    .option("--max-bad-rows <n>", "skip and count up to n rows with unparsable values instead of failing the file", "0")
    .addOption(new Option("--decimal-separator <sep>", "decimal separator of numbers (default , for ;-separated files, else .)").choices([".", ","]))
    .option("--force", "read the file even if its content was imported before (rows are still deduplicated)")
    .option("--create", "create the data dir if it does not exist yet (otherwise a missing data dir is an error)")
    .option("--memory-limit <size>", "DuckDB memory limit before spilling to disk", DEFAULT_IMPORT_MEMORY_LIMIT)
    .option("--json", "print the summaries as JSON");
  importCmd.action(async (files: string[], parsed: Record<string, unknown>) => {
    const resolved = loadOptions({ dataDir: parsed.dataDir as string | undefined, postgresUrl: parsed.postgresUrl as string | undefined });
    if (!resolved.ok) throw new CliError(`invalid options:\n  - ${resolved.problems.join("\n  - ")}`, ExitCode.usage);
    if (parsed.create !== true) requireDataDir(resolved.options.dataDir, { flag: parsed.dataDir as string | undefined }, "To start a new data dir there, add --create.");
    const maxBadRows = Number(parsed.maxBadRows);
    if (!Number.isSafeInteger(maxBadRows) || maxBadRows < 0) throw new CliError(`--max-bad-rows "${String(parsed.maxBadRows)}": use a whole number ≥ 0.`, ExitCode.usage);
    const tty = process.stdout.isTTY === true && parsed.json !== true;
    const summaries: UsageImportSummary[] = [];
    const knownSubscriptionIds = await controlPlaneSubscriptions(resolved.options);
    // The lake's engine (DuckDB) and the progress bar load only when files are imported.
    const [{ importUsageFile, UsageImportError }, { default: cliProgress }] = await Promise.all([import("../../usage/index.ts"), import("cli-progress")]);
    for (const file of files) {
      const bar = tty
        ? new cliProgress.SingleBar({ format: `{phase} ${file} [{bar}] {percentage}%`, stream: process.stdout, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
        : undefined;
      bar?.start(100, 0, { phase: PHASE_LABEL.reading.padEnd(13) });
      try {
        const summary = await importUsageFile(file, {
          dataDir: resolved.options.dataDir,
          format: parsed.format as UsageFormat | "auto",
          costColumn: parsed.costColumn as string | undefined,
          period: parsed.period ? parsePeriod(parsed.period as string) : undefined,
          maxBadRows,
          decimalSeparator: parsed.decimalSeparator as "." | "," | undefined,
          force: parsed.force === true,
          memoryLimit: parsed.memoryLimit as string,
          knownSubscriptionIds,
          onProgress: (phase, fraction) => bar?.update(Math.round(fraction * 100), { phase: PHASE_LABEL[phase].padEnd(13) }),
        });
        bar?.stop();
        summaries.push(summary);
        if (parsed.json !== true) process.stdout.write(formatImportSummary(summary) + "\n");
      } catch (error) {
        bar?.stop();
        if (error instanceof UsageImportError) throw new CliError(error.message, ExitCode.failure);
        throw error;
      }
    }
    if (parsed.json === true) process.stdout.write(JSON.stringify(summaries, null, 2) + "\n");
  });
  usage.addCommand(importCmd);
  return usage;
}
