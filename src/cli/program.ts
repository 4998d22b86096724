/** The command tree. Each command lives in commands/ and is added here. */
import { Command } from "commander";
import { serveCommand } from "./commands/serve.ts";
import { managementPartnerCommand } from "./commands/managementpartner.ts";
import { loginCommand } from "./commands/login.ts";
import { logoutCommand } from "./commands/logout.ts";
import { accountCommand } from "./commands/account.ts";
import { worldCommand } from "./commands/world.ts";
import { usageCommand } from "./commands/usage.ts";
import { attributionCommand } from "./commands/attribution.ts";
import { reportCommand } from "./commands/report.ts";
import { explainCommand } from "./commands/explain.ts";
import { diagnoseCommand } from "./commands/diagnose.ts";
import { coverageCommand } from "./commands/coverage.ts";
import { importCommand } from "./commands/import.ts";
import { dporCommand } from "./commands/dpor.ts";
import { CliError, ExitCode } from "./errors.ts";
import { insightsCommand } from "./commands/insights.ts";
import { powerPlatformCommand } from "./commands/powerplatform.ts";
import { backupCommand, restoreCommand } from "./commands/backup.ts";
import { activityCommand } from "./commands/activity.ts";

export function buildProgram(): Command {
  const program = new Command("openpal")
    .description("OpenPAL: Partner Admin Link service, identity and access model, attribution engine and partner reports.")
    .version("0.1.0")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride((err) => {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") process.exit(0);
      process.exit(2);
    });
  program.addCommand(serveCommand());
  program.addCommand(managementPartnerCommand());
  program.addCommand(loginCommand());
  program.addCommand(logoutCommand());
  program.addCommand(accountCommand());
  program.addCommand(worldCommand());
  program.addCommand(usageCommand());
  program.addCommand(attributionCommand());
  program.addCommand(reportCommand());
  program.addCommand(explainCommand());
  program.addCommand(diagnoseCommand());
  program.addCommand(coverageCommand());
  program.addCommand(importCommand());
  program.addCommand(dporCommand());
  program.addCommand(insightsCommand());
  program.addCommand(powerPlatformCommand());
  program.addCommand(backupCommand());
  program.addCommand(restoreCommand());
  program.addCommand(activityCommand());
  helpForBareGroups(program);
  program.hook("preAction", trimPartnerIds);
  return program;
}

/** Options holding partner ids; a value pasted with surrounding whitespace means the id inside. */
const PARTNER_ID_OPTIONS = ["partnerId", "globalId"] as const;

/** preAction hook: trims the partner id options of the command about to run. */
export function trimPartnerIds(_program: Command, action: Command): void {
  const opts = action.opts();
  for (const key of PARTNER_ID_OPTIONS) {
    const value = opts[key];
    if (typeof value === "string" && value !== value.trim()) action.setOptionValue(key, value.trim());
  }
}

/**
 * A command group run without a subcommand (`openpal account`) prints its help to stdout and exits
 * 0; an unknown subcommand is a usage error naming the group's help.
 */
export function helpForBareGroups(cmd: Command): void {
  for (const sub of cmd.commands) helpForBareGroups(sub);
  const hasAction = (cmd as unknown as { _actionHandler?: unknown })._actionHandler !== undefined && (cmd as unknown as { _actionHandler?: unknown })._actionHandler !== null;
  if (cmd.parent === null || cmd.commands.length === 0 || hasAction) return;
  cmd.allowExcessArguments(true).action(() => {
    const [first] = cmd.args;
    const name = `openpal ${cmd.name()}`;
    if (first !== undefined) throw new CliError(`unknown command '${first}' for '${name}'; the commands are ${cmd.commands.map((c) => c.name()).join(", ")} (see ${name} --help).`, ExitCode.usage);
    cmd.outputHelp();
  });
}
