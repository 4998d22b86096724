/**
 * `openpal world validate|apply|export`.
 *   validate FILE   offline: schema and every rule that the file alone can check
 *   apply FILE      sends the file to a running server (POST /admin/world with the operator key)
 *   export          writes the server's current state (GET /admin/world)
 * The server is found through `<data-dir>/server.json` (URL and CA certificate) and the operator
 * key through `<data-dir>/admin.key`, as `openpal serve` writes them.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import type { WorldProblem, WorldSummary } from "../../world/index.ts";
import { CliError, ExitCode } from "../errors.ts";

interface AdminConnection {
  readonly url: string;
  readonly key: string;
  /** PEM of the server's CA, trusted for this connection only. */
  readonly ca: string | undefined;
}

/** The world component (schema validation, YAML) and undici load when a command runs, not for --help. */
const worldModule = () => import("../../world/index.ts");

/** Finds the server and the operator key from the data dir (and an optional --server URL). */
export function adminConnection(opts: { server?: string; dataDir?: string }): AdminConnection {
  const dataDir = path.resolve(opts.dataDir ?? process.env.OPENPAL_DATA_DIR ?? "./.openpal");
  const serverJson = path.join(dataDir, "server.json");
  let info: { url?: string; caCert?: string | null } = {};
  if (existsSync(serverJson)) {
    try {
      info = JSON.parse(readFileSync(serverJson, "utf8")) as typeof info;
    } catch (error) {
      throw new CliError(`${serverJson} cannot be read (${(error as Error).message}); restart the server to rewrite it.`, ExitCode.failure);
    }
  }
  const url = (opts.server ?? info.url)?.replace(/\/+$/, "");
  if (!url) throw new CliError(`no server: ${serverJson} does not exist. Start one with \`openpal serve --data-dir ${dataDir}\`, or pass --server URL.`, ExitCode.unreachable);
  const keyFile = path.join(dataDir, "admin.key");
  if (!existsSync(keyFile)) throw new CliError(`no operator key at ${keyFile}; pass the server's --data-dir (the key is written there on start).`, ExitCode.forbidden);
  const key = readFileSync(keyFile, "utf8").trim();
  // Trust the server's own CA (server.json names it) without touching the process-wide trust store.
  const ca = info.caCert && existsSync(info.caCert) ? readFileSync(info.caCert, "utf8") : undefined;
  return { url, key, ca };
}

async function adminFetch(conn: AdminConnection, method: string, pathname: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const { Agent, fetch: undiciFetch } = await import("undici");
  const dispatcher = conn.ca ? new Agent({ connect: { ca: conn.ca } }) : undefined;
  let res: Awaited<ReturnType<typeof undiciFetch>>;
  try {
    // undici's own fetch, so the Agent that trusts the server's CA is used by the same library.
    res = await undiciFetch(`${conn.url}${pathname}`, {
      method,
      headers: { authorization: `Bearer ${conn.key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      ...(dispatcher ? { dispatcher } : {}),
    });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    const fix = /certificate/i.test(cause)
      ? "the server's certificate is not trusted: with your own --cert, set NODE_EXTRA_CA_CERTS to its CA file"
      : "is the server running? Start it with `openpal serve` or pass --server";
    throw new CliError(`cannot reach ${conn.url} (${cause}); ${fix}.`, ExitCode.unreachable);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  if (res.status === 401) throw new CliError("the server refused the operator key; use the --data-dir of the server you are talking to (its admin.key).", ExitCode.forbidden);
  return { status: res.status, json };
}

async function printProblems(file: string, problems: readonly WorldProblem[], warnings: readonly WorldProblem[]): Promise<void> {
  const { formatProblem } = await worldModule();
  for (const p of problems) process.stderr.write(`${file}: error ${formatProblem(p)}\n`);
  for (const w of warnings) process.stderr.write(`${file}: warning ${formatProblem(w)}\n`);
}

async function printSummary(summary: WorldSummary): Promise<void> {
  const { formatProblem } = await worldModule();
  const rows = Object.entries(summary.counts).filter(([, c]) => c.created + c.updated + c.unchanged > 0);
  const width = Math.max(4, ...rows.map(([k]) => k.length));
  process.stdout.write(`${"kind".padEnd(width)}  created  updated  unchanged\n`);
  for (const [k, c] of rows) {
    process.stdout.write(`${k.padEnd(width)}  ${String(c.created).padStart(7)}  ${String(c.updated).padStart(7)}  ${String(c.unchanged).padStart(9)}\n`);
  }
  for (const s of summary.notApplied) process.stdout.write(`not applied yet: ${s.section} (${s.items}): ${s.reason}\n`);
  for (const w of summary.warnings) process.stdout.write(`warning ${formatProblem(w)}\n`);
}

export function worldCommand(): Command {
  const world = new Command("world").description("Validate, apply and export world files (docs/WORLD-FILE.md).");

  world.command("validate")
    .description("Check a world file offline (schema and rules; references must be declared in the file itself). Exit code 2 when invalid.")
    .argument("<file>", "world file, JSON or YAML")
    .action(async (file: string) => {
      const { readWorldFile, validateWorld } = await worldModule();
      const parsed = readWorldFile(file);
      if (!parsed.ok) {
        await printProblems(file, parsed.problems, []);
        throw new CliError(`${file} is invalid: ${parsed.problems.length} problem(s).`, ExitCode.usage);
      }
      const { problems, warnings } = validateWorld(parsed.world);
      await printProblems(file, problems, warnings);
      if (problems.length > 0) throw new CliError(`${file} is invalid: ${problems.length} problem(s).`, ExitCode.usage);
      process.stdout.write(`${file} is valid (${parsed.world.tenants?.length ?? 0} tenants, ${parsed.world.partners?.length ?? 0} partners).\n`);
    });

  world.command("apply")
    .description("Apply a world file to a running server (POST /admin/world). Nothing changes unless the whole file is valid.")
    .argument("<file>", "world file, JSON or YAML")
    .option("--server <url>", "server URL (default: the url in <data-dir>/server.json)")
    .option("--data-dir <dir>", "the server's data dir, for server.json and admin.key (default ./.openpal)")
    .action(async (file: string, opts: { server?: string; dataDir?: string }) => {
      const { readWorldFile } = await worldModule();
      const parsed = readWorldFile(file);
      if (!parsed.ok) {
        await printProblems(file, parsed.problems, []);
        throw new CliError(`${file} is invalid: ${parsed.problems.length} problem(s); nothing was applied.`, ExitCode.usage);
      }
      const conn = adminConnection(opts);
      const { status, json } = await adminFetch(conn, "POST", "/admin/world", parsed.world);
      if (status === 200) {
        await printSummary((json as { summary: WorldSummary }).summary);
        return;
      }
      const err = (json as { error?: { message?: string; details?: { message: string }[] } } | undefined)?.error;
      for (const d of err?.details ?? []) process.stderr.write(`${file}: error ${d.message}\n`);
      throw new CliError(err?.message ?? `the server answered ${status}.`, status === 400 ? ExitCode.usage : ExitCode.failure);
    });

  world.command("export")
    .description("Write the server's current state, with history, as a world file (credentials are not exported).")
    .option("--output <file>", "write to this file instead of standard output")
    .option("--server <url>", "server URL (default: the url in <data-dir>/server.json)")
    .option("--data-dir <dir>", "the server's data dir, for server.json and admin.key (default ./.openpal)")
    .action(async (opts: { output?: string; server?: string; dataDir?: string }) => {
      const { status, json } = await adminFetch(adminConnection(opts), "GET", "/admin/world");
      if (status !== 200) throw new CliError(`the server answered ${status}: ${JSON.stringify(json)}`, ExitCode.failure);
      const text = JSON.stringify(json, null, 2) + "\n";
      if (opts.output) writeFileSync(opts.output, text);
      else process.stdout.write(text);
    });

  return world;
}
