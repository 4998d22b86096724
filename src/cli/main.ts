/** `openpal` command-line entry point. */
import { buildProgram } from "./program.ts";
import { CliError } from "./errors.ts";
import { endQuietlyOnBrokenPipe } from "./epipe.ts";

endQuietlyOnBrokenPipe(process.stdout);
endQuietlyOnBrokenPipe(process.stderr);

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`openpal: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`openpal: ${(error as Error).message}\n`);
  process.exit(1);
}
