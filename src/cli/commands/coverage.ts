/**
 * `openpal coverage`: per customer, the partner's identities, links, roles, share of spend credited
 * and revenue at risk; then its business applications (MAU / profiles credited, at risk, not covered).
 */
import { Command } from "commander";
import type { Policy } from "../../attribution/index.ts";
import { requireMonth, withLocalStore, withStoreOptions } from "./attribution.ts";

export function coverageCommand(): Command {
  const cmd = withStoreOptions(new Command("coverage").description("Per customer tenant: the partner's identities (linked or not), roles, share of spend credited, revenue at risk, " +
    "and business applications credited, at risk and not covered."))
    .requiredOption("--partner-id <id>", "location id (or global id)")
    .option("--month <YYYY-MM>", "month (default: the latest month in the lake; business applications: the latest attributed month)")
    .option("--json", "print JSON");
  cmd.action(async (parsed: Record<string, unknown>) => {
    const month = parsed.month === undefined ? undefined : requireMonth(parsed.month);
    const [{ coverageReport, formatCoverage }, { bizappsCoverage, formatBizappsCoverage }] = await Promise.all([import("../../attribution/index.ts"), import("../../bizapps/coverage.ts")]);
    await withLocalStore(parsed, async (store, dataDir) => {
      const r = await coverageReport(store, { partnerId: parsed.partnerId as string, month, policy: parsed.policy as Policy, dataDir, now: Date.now() });
      const businessApplications = await bizappsCoverage(store, dataDir, { partnerId: parsed.partnerId as string, ...(month ? { month } : {}) });
      process.stdout.write(parsed.json === true ? JSON.stringify({ ...r, businessApplications }, null, 2) + "\n" : formatCoverage(r) + "\n" + formatBizappsCoverage(businessApplications));
    });
  });
  return cmd;
}
