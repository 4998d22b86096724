/**
 * `openpal explain`: the chain behind every credited amount of a partner on a subscription (rule 18),
 * or — with `--resource` and no `--subscription` — behind a business application's credit: metric ←
 * resource ← relationship ← principal ← link ← partner id, and the "latest" partner evidence.
 */
import { Command } from "commander";
import type { Policy } from "../../attribution/index.ts";
import { CliError, ExitCode } from "../errors.ts";
import { requireMonth, withLocalStore, withStoreOptions } from "./attribution.ts";

export function explainCommand(): Command {
  const cmd = withStoreOptions(new Command("explain").description("Explain every credited amount of a partner on a subscription in a month (usage row ← scope ← role ← principal ← link ← partner id), " +
    "or a business application's credit with --resource <app, flow, dataset or instance id> and no --subscription."))
    .option("--partner-id <id>", "location id (or global id); required with --subscription")
    .option("--subscription <id>", "subscription id (Azure)")
    .requiredOption("--month <YYYY-MM>", "month")
    .option("--resource <id>", "only this Azure resource (or everything under this scope); without --subscription: a Power Apps app, flow, Power BI dataset or Customer Insights instance id")
    .option("--json", "print JSON");
  cmd.action(async (parsed: Record<string, unknown>) => {
    const month = requireMonth(parsed.month);
    if (parsed.subscription === undefined) {
      if (parsed.resource === undefined) {
        throw new CliError("give --subscription <id> (Azure) or --resource <id> (a business application: app, flow, dataset or instance id).", ExitCode.usage);
      }
      const { explainBizappsResource, formatBizappsExplanation } = await import("../../bizapps/explain.ts");
      await withLocalStore(parsed, async (store, dataDir) => {
        const x = await explainBizappsResource(store, dataDir, { resourceId: parsed.resource as string, month, ...(parsed.partnerId ? { partnerId: parsed.partnerId as string } : {}) });
        process.stdout.write(parsed.json === true ? JSON.stringify(x, null, 2) + "\n" : formatBizappsExplanation(x));
      });
      return;
    }
    if (parsed.partnerId === undefined) throw new CliError("--partner-id <id> is required with --subscription.", ExitCode.usage);
    const { explainAttribution, formatExplanation } = await import("../../attribution/index.ts");
    await withLocalStore(parsed, async (store, dataDir) => {
      const x = await explainAttribution(store, dataDir, {
        partnerId: parsed.partnerId as string, subscriptionId: parsed.subscription as string, resourceId: parsed.resource as string | undefined,
        month, policy: parsed.policy as Policy,
      });
      process.stdout.write(parsed.json === true ? JSON.stringify(x, null, 2) + "\n" : formatExplanation(x));
    });
  });
  return cmd;
}
