/**
 * `openpal import rbac FILE…`: imports real RBAC exports straight into the store named by
 * --data-dir (SQLite, default ./.openpal) or --postgres-url, whether a server runs or not
 * (SQLite in WAL mode takes a concurrent writer; migrations run at open).
 */
import { Command, Option } from "commander";
import type { RbacFormat } from "../../importers/index.ts";
import type { Store } from "../../store/index.ts";
import { RBAC_FORMATS } from "../../importers/rbac-parse.ts";
import { CliError, ExitCode } from "../errors.ts";
import { optionsOrExit } from "./serve.ts";
import { requireDataDir } from "../data-dir.ts";
import { PP_IMPORT_FORMATS, type PpImportFormat } from "../../importers/power-platform/index.ts";

/**
 * Opens the store an import writes to (refusing a missing data dir unless --create), runs the
 * import, and closes it. Any failure is one message: an import writes all or nothing.
 */
async function withImportStore(parsed: { dataDir?: string; postgresUrl?: string; create?: boolean }, work: (store: Store) => Promise<void>): Promise<void> {
  const options = optionsOrExit({ dataDir: parsed.dataDir, postgresUrl: parsed.postgresUrl });
  if (options.store === "sqlite" && parsed.create !== true) requireDataDir(options.dataDir, { flag: parsed.dataDir }, "To start a new data dir there, add --create.");
  const { databaseConfigFrom, openStore } = await import("../../store/index.ts");
  let store: Store;
  try {
    store = await openStore(databaseConfigFrom(options));
  } catch (error) {
    throw new CliError(`cannot open the store: ${(error as Error).message}`, ExitCode.unreachable);
  }
  try {
    await work(store);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`import failed, nothing was written: ${(error as Error).message}`, ExitCode.failure);
  } finally {
    await store.close();
  }
}

export function importCommand(): Command {
  const cmd = new Command("import").description("Import data into the store.");
  cmd.command("rbac")
    .description("Import RBAC exports: az role assignment list JSON, Resource Graph results, AzGovViz output (CSV, JSON folder, hierarchy .md), Lighthouse parameter files. Folders are read whole.")
    .argument("<files...>", "files or folders to import")
    .option("--tenant <id>", "tenant that owns the scopes, when the file does not say")
    .option("--subscription <id>", "Lighthouse parameter files: the customer subscription being delegated")
    .addOption(new Option("--format <format>", "skip detection and read every file as this format").choices([...RBAC_FORMATS]))
    .option("--dry-run", "validate and report, write nothing")
    .option("--data-dir <dir>", "SQLite store directory (default ./.openpal)")
    .option("--postgres-url <url>", "PostgreSQL store instead of SQLite")
    .option("--create", "create the data dir if it does not exist yet (otherwise a missing data dir is an error)")
    .option("--json", "print the report as JSON")
    .action(async (files: string[], parsed: { tenant?: string; subscription?: string; format?: RbacFormat; dryRun?: boolean; dataDir?: string; postgresUrl?: string; json?: boolean; create?: boolean }) => {
      const { formatImportReport, importRbac } = await import("../../importers/index.ts");
      await withImportStore(parsed, async (store) => {
        const report = await importRbac(store, files, { tenantId: parsed.tenant, subscriptionId: parsed.subscription, format: parsed.format, dryRun: parsed.dryRun, now: Date.now() });
        process.stdout.write((parsed.json ? JSON.stringify(report, null, 2) : formatImportReport(report)) + "\n");
        // Rejected rows are a partial import: scripts must notice.
        if (report.rejected.length) process.exitCode = ExitCode.failure;
      });
    });
  cmd.command("powerplatform")
    .description("Import Power Platform inventories: Power Apps / Flow admin list JSON (Get-AdminPowerApp, Get-AdminFlow), Power BI GetDatasetsAsAdmin JSON, CoE Starter Kit CSV exports (environments, makers, apps, flows, user roles).")
    .argument("<files...>", "files to import")
    .option("--tenant <id>", "customer tenant, for files that do not name it (datasets, CoE environments, makers, user roles)")
    .addOption(new Option("--format <format>", "skip detection and read every file as this format").choices([...PP_IMPORT_FORMATS]))
    .option("--dry-run", "report what would change, write nothing")
    .option("--data-dir <dir>", "SQLite store directory (default ./.openpal)")
    .option("--postgres-url <url>", "PostgreSQL store instead of SQLite")
    .option("--create", "create the data dir if it does not exist yet (otherwise a missing data dir is an error)")
    .option("--json", "print the report as JSON")
    .action(async (files: string[], parsed: { tenant?: string; format?: PpImportFormat; dryRun?: boolean; dataDir?: string; postgresUrl?: string; json?: boolean; create?: boolean }) => {
      const { formatPpImportReport, importPowerPlatform } = await import("../../importers/power-platform/index.ts");
      await withImportStore(parsed, async (store) => {
        const report = await importPowerPlatform(store, files, { now: Date.now(), ...(parsed.tenant ? { tenantId: parsed.tenant } : {}), ...(parsed.format ? { format: parsed.format } : {}), dryRun: parsed.dryRun ?? false });
        process.stdout.write((parsed.json ? JSON.stringify(report, null, 2) : formatPpImportReport(report, parsed.dryRun)) + "\n");
      });
    });
  return cmd;
}
