/**
 * `openpal activity import FILE…`: business-applications activity and metrics exports into the
 * activity lake (a local command: reads files and the store, needs no server). Reference:
 * docs/POWER-PLATFORM.md "Activity and metrics import".
 */
import { Command, Option } from "commander";
import { existsSync } from "node:fs";
import { loadOptions } from "../../options/index.ts";
import type { ActivityFileSummary, ActivityFormat, ActivityImportSummary, ActivityImportPhase, UnknownIds } from "../../activity/index.ts";
import type { Store } from "../../store/index.ts";
import { CliError, ExitCode } from "../errors.ts";
import { requireDataDir } from "../data-dir.ts";
import { formatTable } from "./managementpartner.ts";

/** The formats, repeated here so `--help` loads nothing of the importer. */
const FORMATS: readonly ActivityFormat[] = ["openpal-activity", "openpal-metrics", "powerbi-activity-events", "m365-audit-log", "pp-analytics"];

const unknownCell = (u: UnknownIds | "not checked") => (u === "not checked" ? "not checked" : String(u.count));

/** The summary as a table of files, then each file's skip reasons, unknown ids and warnings. */
export function formatActivitySummary(summary: ActivityImportSummary): string {
  const rows = summary.files.map((s) => ({
    FILE: s.file,
    FORMAT: s.format,
    READ: s.read,
    KEPT: s.alreadyImported ? "already imported" : s.updated ? `${s.kept} (${s.updated} updated)` : s.kept,
    SKIPPED: Object.values(s.skipped).reduce((n, c) => n + c, 0),
    "UNRESOLVED USERS": s.unresolvedUsers.count,
    "UNKNOWN RESOURCES": unknownCell(s.unknownResources),
    "UNKNOWN USERS": unknownCell(s.unknownUsers),
    MONTHS: s.months.join(" ") || "none",
  }));
  const lines = [formatTable(rows, ["FILE", "FORMAT", "READ", "KEPT", "SKIPPED", "UNRESOLVED USERS", "UNKNOWN RESOURCES", "UNKNOWN USERS", "MONTHS"]).trimEnd()];
  for (const s of summary.files) lines.push(...details(s));
  lines.push(`total: ${summary.read} read, ${summary.kept} kept, ${Object.values(summary.skipped).reduce((n, c) => n + c, 0)} skipped; months written: ${summary.months.join(", ") || "none"}`);
  return lines.join("\n") + "\n";
}

function details(s: ActivityFileSummary): string[] {
  const out: string[] = [];
  const skipped = Object.entries(s.skipped);
  const sample = (u: UnknownIds) => `${u.sample.join(", ")}${u.count > u.sample.length ? ", …" : ""}`;
  if (skipped.length > 0 || s.warnings.length > 0 || s.unresolvedUsers.count > 0) out.push(`${s.file} (${s.detectedBecause}):`);
  for (const [reason, n] of skipped) out.push(`  skipped, ${reason}: ${n}`);
  for (const b of s.badRows) out.push(`    ${b}`);
  if (s.unresolvedUsers.count > 0) out.push(`  users that do not resolve in the directory (tenant/UPN): ${sample(s.unresolvedUsers)}`);
  if (s.unknownResources !== "not checked" && s.unknownResources.count > 0) out.push(`  resources unknown to the control plane (tenant/workload/id, kept): ${sample(s.unknownResources)}`);
  if (s.unknownUsers !== "not checked" && s.unknownUsers.count > 0) out.push(`  users unknown to the directory (kept): ${sample(s.unknownUsers)}`);
  for (const w of s.warnings) out.push(`  warning: ${w}`);
  return out;
}

const PHASE: Record<ActivityImportPhase, string> = { hashing: "hashing", reading: "reading", resolving: "resolving", writing: "writing" };

export function activityCommand(): Command {
  const activity = new Command("activity").description("Business-applications activity and metrics: import exports into the activity lake (<data-dir>/activity).");
  const importCmd = new Command("import")
    .description(
      "Import activity or metrics files: OpenPAL activity / metrics CSV, Power BI admin activity events JSON, Microsoft 365 audit log CSV export, Power Platform analytics (Data Lake) Power Apps usage. " +
        "Idempotent; UPNs resolve through the directory. See docs/POWER-PLATFORM.md.",
    )
    .argument("<files...>", "files to import, in order")
    .addOption(new Option("--format <format>", "read every file as this format instead of recognising it").choices(["auto", ...FORMATS]).default("auto"))
    .option("--data-dir <dir>", "data directory (env OPENPAL_DATA_DIR; default ./.openpal)")
    .option("--postgres-url <url>", "control-plane store to resolve users and check resources against (env OPENPAL_POSTGRES_URL; default the SQLite store in the data dir)")
    .option("--max-bad-rows <n>", "skip and count up to n rows with a bad timestamp, month, value or AuditData instead of failing the file", "0")
    .option("--force", "read a file even if its content was imported before (events are still deduplicated)")
    .option("--create", "create the data dir if it does not exist yet (otherwise a missing data dir is an error)")
    .option("--memory-limit <size>", "DuckDB memory limit before spilling to disk", "2GB")
    .option("--json", "print the summary as JSON");
  importCmd.action(async (files: string[], parsed: Record<string, unknown>) => {
    const resolved = loadOptions({ dataDir: parsed.dataDir as string | undefined, postgresUrl: parsed.postgresUrl as string | undefined });
    if (!resolved.ok) throw new CliError(`invalid options:\n  - ${resolved.problems.join("\n  - ")}`, ExitCode.usage);
    if (parsed.create !== true) requireDataDir(resolved.options.dataDir, { flag: parsed.dataDir as string | undefined }, "To start a new data dir there, add --create.");
    const maxBadRows = Number(parsed.maxBadRows);
    if (!Number.isSafeInteger(maxBadRows) || maxBadRows < 0) throw new CliError(`--max-bad-rows "${String(parsed.maxBadRows)}": use a whole number ≥ 0.`, ExitCode.usage);
    // The store, DuckDB and the progress bar load only when files are imported.
    const [{ importActivityFiles, ActivityImportError }, { databaseConfigFrom, openStore }, { default: cliProgress }] = await Promise.all([
      import("../../activity/index.ts"),
      import("../../store/index.ts"),
      import("cli-progress"),
    ]);
    const config = databaseConfigFrom(resolved.options);
    // No store yet: nothing to resolve against, and an import must not create one as a side effect.
    let store: Store | undefined;
    if (!(config.kind === "sqlite" && (resolved.options.inMemory || !existsSync(config.sqlitePath as string)))) {
      try {
        store = await openStore(config);
      } catch (error) {
        throw new CliError(`cannot open the store: ${(error as Error).message}`, ExitCode.unreachable);
      }
    }
    const tty = process.stdout.isTTY === true && parsed.json !== true;
    const bar = tty ? new cliProgress.SingleBar({ format: "{phase} {file} [{bar}] {percentage}%", stream: process.stdout, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(100, 0, { phase: PHASE.hashing.padEnd(10), file: "" });
    let summary: ActivityImportSummary;
    try {
      summary = await importActivityFiles({
        store,
        dataDir: resolved.options.dataDir,
        files,
        format: parsed.format as ActivityFormat | "auto",
        maxBadRows,
        force: parsed.force === true,
        memoryLimit: parsed.memoryLimit as string,
        onProgress: (p) => bar?.update(Math.round(p.fraction * 100), { phase: PHASE[p.phase].padEnd(10), file: `${p.files > 1 ? `(${p.index + 1}/${p.files}) ` : ""}${p.file}` }),
      });
    } catch (error) {
      if (error instanceof ActivityImportError) throw new CliError(error.message, ExitCode.failure);
      throw error;
    } finally {
      bar?.stop();
      await store?.close();
    }
    if (!store) summary = { ...summary, files: summary.files.map((f) => ({ ...f, warnings: [...f.warnings, "no store in the data dir: UPNs were not resolved (counted as unresolved users) and resources were not checked. Apply a world or import the inventory first."] })) };
    process.stdout.write(parsed.json === true ? JSON.stringify(summary, null, 2) + "\n" : formatActivitySummary(summary));
  });
  activity.addCommand(importCmd);
  return activity;
}
