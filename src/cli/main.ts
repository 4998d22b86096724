/**
 * `openpal` command-line entry point. `--version` answers from package.json without loading the
 * command tree; every command module loads its heavy parts (server, store, DuckDB) only when it
 * runs, so `--help` stays light too.
 */
import { readFileSync } from "node:fs";
import { CliError } from "./errors.ts";
import { endQuietlyOnBrokenPipe } from "./epipe.ts";

endQuietlyOnBrokenPipe(process.stdout);
endQuietlyOnBrokenPipe(process.stderr);

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  // src/cli/main.ts and dist/cli/main.js are both two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
} else {
  const { buildProgram } = await import("./program.ts");
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`openpal: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    process.stderr.write(`openpal: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
