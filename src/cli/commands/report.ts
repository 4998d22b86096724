/** `openpal report azure-usage | bizapps-usage`: Partner Center's Azure and business-applications usage datasets, from the store's rollups. */
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

  const bizapps = withStoreOptions(new Command("bizapps-usage").description("Business applications (Power Apps, Power Automate, Power BI, Customer Insights) per partner location, resource and month: MAU or unified profiles and their value."))
    .requiredOption("--month <YYYY-MM>", "month")
    .option("--partner-id <id>", "one location id (or a global id: all its locations)")
    .option("--global-id <id>", "every location of one partner organisation")
    .option("--production-only", "only Production environments (and Power BI / Customer Insights, where the requirement does not apply)")
    .addOption(new Option("--format <format>", "output format").choices(["table", "csv", "json"]).default("table"));
  bizapps.action(async (parsed: Record<string, unknown>) => {
    const month = requireMonth(parsed.month);
    if (parsed.partnerId && parsed.globalId) throw new CliError("give --partner-id or --global-id, not both.", ExitCode.usage);
    const [{ bizappsUsageReport, bizappsCsv, unknownResourcesLine, BIZAPPS_TABLE_COLUMNS }, { formatTable }] = await Promise.all([import("../../bizapps/report.ts"), import("../../attribution/report.ts")]);
    await withLocalStore(parsed, async (store) => {
      const r = await bizappsUsageReport(store, {
        month, partnerId: parsed.partnerId as string | undefined, globalId: parsed.globalId as string | undefined, productionOnly: parsed.productionOnly === true,
      });
      if (parsed.format === "json") process.stdout.write(JSON.stringify(r.rows, null, 2) + "\n");
      else if (parsed.format === "csv") process.stdout.write(bizappsCsv(r.rows));
      else {
        process.stdout.write(r.rows.length ? formatTable(BIZAPPS_TABLE_COLUMNS, r.rows as unknown as Record<string, unknown>[])
          : `no rows${parsed.productionOnly === true ? " in production environments" : ""} (try \`openpal diagnose --partner-id <id> --resource <id>\` for a missing app, flow, dataset or instance)\n`);
        process.stdout.write(`as of ${r.asOf} (the attribution run of ${month})\n`);
        const unknown = unknownResourcesLine(r.unknownResources);
        if (unknown) process.stdout.write(`note: ${unknown} Add them to the control plane (world file or \`openpal import powerplatform\`) and re-run \`openpal attribution run --month ${month}\`.\n`);
      }
    });
  });
  report.addCommand(bizapps);
  return report;
}
