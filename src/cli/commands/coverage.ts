/** `openpal coverage`: per customer, the partner's identities, links, roles, share of spend credited and revenue at risk. */
import { Command } from "commander";
import type { Policy } from "../../attribution/index.ts";
import { requireMonth, withLocalStore, withStoreOptions } from "./attribution.ts";

export function coverageCommand(): Command {
  const cmd = withStoreOptions(new Command("coverage").description("Per customer tenant: the partner's identities (linked or not), roles, share of spend credited, and revenue at risk."))
    .requiredOption("--partner-id <id>", "location id (or global id)")
    .option("--month <YYYY-MM>", "month (default: the latest month in the lake)")
    .option("--json", "print JSON");
  cmd.action(async (parsed: Record<string, unknown>) => {
    const month = parsed.month === undefined ? undefined : requireMonth(parsed.month);
    const { coverageReport, formatCoverage } = await import("../../attribution/index.ts");
    await withLocalStore(parsed, async (store, dataDir) => {
      const r = await coverageReport(store, { partnerId: parsed.partnerId as string, month, policy: parsed.policy as Policy, dataDir, now: Date.now() });
      process.stdout.write(parsed.json === true ? JSON.stringify(r, null, 2) + "\n" : formatCoverage(r));
    });
  });
  return cmd;
}
