/** `openpal diagnose`: why a customer tenant shows nothing for a partner (rule 17), with evidence and fixes. */
import { Command } from "commander";
import type { Policy } from "../../attribution/index.ts";
import { requireMonth, withLocalStore, withStoreOptions } from "./attribution.ts";

export function diagnoseCommand(): Command {
  const cmd = withStoreOptions(new Command("diagnose").description("List every reason a customer tenant shows no (or partial) attribution for a partner, with evidence and the fix."))
    .requiredOption("--partner-id <id>", "location id (or global id)")
    .requiredOption("--tenant <id>", "customer tenant id")
    .option("--month <YYYY-MM>", "month of usage to check (default: the latest month in the lake)")
    .option("--json", "print JSON");
  cmd.action(async (parsed: Record<string, unknown>) => {
    const month = parsed.month === undefined ? undefined : requireMonth(parsed.month);
    const { diagnoseCustomer, formatDiagnosis } = await import("../../attribution/index.ts");
    await withLocalStore(parsed, async (store, dataDir) => {
      const d = await diagnoseCustomer(store, { partnerId: parsed.partnerId as string, tenantId: parsed.tenant as string, month, policy: parsed.policy as Policy, dataDir, now: Date.now() });
      process.stdout.write(parsed.json === true ? JSON.stringify(d, null, 2) + "\n" : formatDiagnosis(d));
    });
  });
  return cmd;
}
