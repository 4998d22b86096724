/** `openpal serve`: run the server with its store (and a world file, if given). */
import { Command, Option } from "commander";
import { loadOptions, optionDefinitions, type Options, type RawValue } from "../../options/index.ts";
import type { RunningServer } from "../../server/index.ts";
import { CliError, ExitCode } from "../errors.ts";

/** Adds every server option (from the catalog) to a command. */
export function addServerOptions(cmd: Command): Command {
  for (const def of optionDefinitions) {
    const takesValue = def.kind !== "boolean";
    const option = new Option(takesValue ? `${def.flag} <value>` : def.flag, `${def.description} (env ${def.env}; default ${def.defaultText})`);
    cmd.addOption(option);
  }
  return cmd;
}

/** Turns commander's parsed flags into raw option values keyed by option key. */
export function flagsFrom(parsed: Record<string, unknown>): Partial<Record<keyof Options, RawValue>> {
  const flags: Partial<Record<keyof Options, RawValue>> = {};
  for (const def of optionDefinitions) {
    const attr = def.flag.replace(/^--/, "").replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const value = parsed[attr];
    if (value !== undefined) flags[def.key] = value as RawValue;
  }
  return flags;
}

/** Resolves options or throws a CliError listing every problem. */
export function optionsOrExit(parsed: Record<string, unknown>): Options {
  const result = loadOptions(flagsFrom(parsed));
  if (!result.ok) throw new CliError(`invalid options:\n  - ${result.problems.join("\n  - ")}`, ExitCode.usage);
  return result.options;
}

export function serveCommand(): Command {
  const cmd = new Command("serve").description("Run the OpenPAL server over HTTPS (a local CA and certificate are generated on first start).");
  addServerOptions(cmd);
  cmd.action(async (parsed: Record<string, unknown>) => {
    const options = optionsOrExit(parsed);
    // The server (fastify, the store, DuckDB) is loaded only when it runs, not for --help.
    const [{ startServer }, { WorldFileError }, { describeStartupWorld, startupWorldOutcome }, { stopGracefully }] = await Promise.all([
      import("../../server/index.ts"),
      import("../../world/index.ts"),
      import("../../admin/world.ts"),
      import("../../server/shutdown.ts"),
    ]);
    let server: RunningServer;
    try {
      server = await startServer(options);
    } catch (error) {
      // An invalid --world file is a usage error: every problem is in the message.
      if (error instanceof WorldFileError) throw new CliError(error.message, ExitCode.usage);
      throw new CliError((error as Error).message, ExitCode.failure);
    }
    const bound = server.openpal.app.server.address();
    const lines = [
      `OpenPAL is listening on ${server.url}`,
      // Behind a load balancer the public URL is not the socket; say both.
      ...(options.publicUrl && bound && typeof bound === "object" ? [`  bound to ${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port} (public URL ${options.publicUrl})`] : []),
      `  store: ${options.store === "postgres" ? "PostgreSQL" : options.inMemory ? "SQLite in memory" : `SQLite in ${options.dataDir}`}`,
    ];
    if (server.caCertPath) {
      lines.push(`  trust its certificate: export NODE_EXTRA_CA_CERTS=${server.caCertPath}`);
      lines.push(`  (az CLI: export REQUESTS_CA_BUNDLE=${server.caCertPath})`);
    }
    const world = startupWorldOutcome(server.openpal.context);
    if (world) lines.push(`  ${world.kind === "kept" ? "warning: " : ""}${describeStartupWorld(world)}`);
    lines.push(`  health: curl --cacert ${server.caCertPath ?? "<your CA>"} ${server.url}/healthz`);
    process.stdout.write(lines.join("\n") + "\n");
    if (server.lockNote) process.stderr.write(`openpal: note: ${server.lockNote}\n`);

    let stopping = false;
    const stop = async (signal: string) => {
      // A second signal while draining stops at once.
      if (stopping) process.exit(1);
      stopping = true;
      const log = server.openpal.context.log;
      log.info({ signal, timeoutSeconds: options.shutdownTimeoutSeconds }, "shutting down");
      // Graceful (src/server/shutdown.ts): refuse new requests, drain in-flight ones within the
      // deadline, close the store, remove server.json.
      try {
        await stopGracefully(server.openpal, { dataDir: options.dataDir, timeoutMs: options.shutdownTimeoutSeconds * 1000, log });
      } catch (error) {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      }
      process.exit(0);
    };
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGTERM", () => void stop("SIGTERM"));
  });
  return cmd;
}
