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
import { backupCommand, restoreCommand } from "./commands/backup.ts";

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
  program.addCommand(backupCommand());
  program.addCommand(restoreCommand());
  return program;
}
