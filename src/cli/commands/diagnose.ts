/**
 * `openpal diagnose`: why a customer tenant shows nothing for a partner (rule 17), or — with
 * `--resource` — why a business application (app, flow, dataset, instance) is not credited to it;
 * with evidence and fixes.
 */
import { Command } from "commander";
import type { Policy } from "../../attribution/index.ts";
import { CliError, ExitCode } from "../errors.ts";
import { requireMonth, withLocalStore, withStoreOptions } from "./attribution.ts";

export function diagnoseCommand(): Command {
  const cmd = withStoreOptions(new Command("diagnose").description("List every reason a customer tenant (--tenant) shows no (or partial) attribution for a partner, " +
    "or why a business application (--resource) is not credited to it, with evidence and the fix."))
    .requiredOption("--partner-id <id>", "location id (or global id)")
    .option("--tenant <id>", "customer tenant id (Azure)")
    .option("--resource <id>", "a Power Apps app, flow, Power BI dataset or Customer Insights instance id")
    .option("--month <YYYY-MM>", "month to check (default: the latest month in the lake; for --resource the latest attributed month)")
    .option("--production-only", "with --resource: the programme counts production environments only")
    .option("--json", "print JSON");
  cmd.action(async (parsed: Record<string, unknown>) => {
    const month = parsed.month === undefined ? undefined : requireMonth(parsed.month);
    if (parsed.tenant === undefined && parsed.resource === undefined) throw new CliError("give --tenant <customer tenant id> or --resource <app, flow, dataset or instance id>.", ExitCode.usage);
    if (parsed.tenant !== undefined && parsed.resource !== undefined) throw new CliError("give --tenant or --resource, not both.", ExitCode.usage);
    if (parsed.resource !== undefined) {
      const { diagnoseBizappsResource, formatBizappsDiagnosis } = await import("../../bizapps/diagnose.ts");
      await withLocalStore(parsed, async (store, dataDir) => {
        const d = await diagnoseBizappsResource(store, dataDir, { partnerId: parsed.partnerId as string, resourceId: parsed.resource as string, ...(month ? { month } : {}), productionOnly: parsed.productionOnly === true });
        process.stdout.write(parsed.json === true ? JSON.stringify(d, null, 2) + "\n" : formatBizappsDiagnosis(d));
      });
      return;
    }
    const { diagnoseCustomer, formatDiagnosis } = await import("../../attribution/index.ts");
    await withLocalStore(parsed, async (store, dataDir) => {
      const d = await diagnoseCustomer(store, { partnerId: parsed.partnerId as string, tenantId: parsed.tenant as string, month, policy: parsed.policy as Policy, dataDir, now: Date.now() });
      process.stdout.write(parsed.json === true ? JSON.stringify(d, null, 2) + "\n" : formatDiagnosis(d));
    });
  });
  return cmd;
}
