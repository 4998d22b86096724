/** `openpal explain`: the chain behind every credited amount of a partner on a subscription (rule 18). */
import { Command } from "commander";
import type { Policy } from "../../attribution/index.ts";
import { requireMonth, withLocalStore, withStoreOptions } from "./attribution.ts";

export function explainCommand(): Command {
  const cmd = withStoreOptions(new Command("explain").description("Explain every credited amount of a partner on a subscription in a month: usage row ← scope ← role ← principal ← link ← partner id."))
    .requiredOption("--partner-id <id>", "location id (or global id)")
    .requiredOption("--subscription <id>", "subscription id")
    .requiredOption("--month <YYYY-MM>", "month")
    .option("--resource <id>", "only this resource (or everything under this scope)")
    .option("--json", "print JSON");
  cmd.action(async (parsed: Record<string, unknown>) => {
    const month = requireMonth(parsed.month);
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
