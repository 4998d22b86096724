/** `openpal report azure-usage`: the Partner Center Azure usage dataset, from the store's rollups. */
import { Command, Option } from "commander";
import type { Policy } from "../../attribution/index.ts";
import { CliError, ExitCode } from "../errors.ts";
import { requireMonth, withLocalStore, withStoreOptions } from "./attribution.ts";

export function reportCommand(): Command {
  const report = new Command("report").description("Partner reports in Partner Center's shapes.");
  const azure = withStoreOptions(new Command("azure-usage").description("Azure usage (ACR) per partner location, attribution type, subscription, month and role; eligible roles only unless --include-ineligible."))
    .requiredOption("--month <YYYY-MM>", "month")
    .option("--partner-id <id>", "one location id (or a global id: all its locations)")
    .option("--global-id <id>", "every location of one partner organisation")
    .option("--include-ineligible", "also rows credited only through roles the policy does not count")
    .addOption(new Option("--format <format>", "output format").choices(["table", "csv", "json"]).default("table"));
  azure.action(async (parsed: Record<string, unknown>) => {
    const month = requireMonth(parsed.month);
    if (parsed.partnerId && parsed.globalId) throw new CliError("give --partner-id or --global-id, not both.", ExitCode.usage);
    const { AZURE_USAGE_COLUMNS, azureUsageReport, formatTable, reportCsv } = await import("../../attribution/index.ts");
    await withLocalStore(parsed, async (store) => {
      const rows = await azureUsageReport(store, {
        month, policy: parsed.policy as Policy, partnerId: parsed.partnerId as string | undefined, globalId: parsed.globalId as string | undefined,
        includeIneligible: parsed.includeIneligible === true,
      });
      if (parsed.format === "json") process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
      else if (parsed.format === "csv") process.stdout.write(reportCsv(rows));
      else process.stdout.write(rows.length ? formatTable(AZURE_USAGE_COLUMNS, rows as unknown as Record<string, unknown>[]) : "no rows (try `openpal diagnose` for a missing customer)\n");
    });
  });
  report.addCommand(azure);
  return report;
}
