/** The command tree. Each command lives in commands/ and is added here. */
import { Command } from "commander";
import { serveCommand } from "./commands/serve.ts";
import { managementPartnerCommand } from "./commands/managementpartner.ts";
import { worldCommand } from "./commands/world.ts";
import { usageCommand } from "./commands/usage.ts";

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
  program.addCommand(worldCommand());
  program.addCommand(usageCommand());
  return program;
}
