/**
 * Finding the data dir of a local command (report, explain, coverage, diagnose, attribution run,
 * usage import, import rbac). Such a command never creates a data dir as a side effect: run in the
 * wrong folder, it says where it looked and how to point at one. Only `openpal serve` (and `npm
 * start`), `attribution seed-demo` and an explicit `--create` create one.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { CliError, ExitCode } from "./errors.ts";

/** Entries that only an OpenPAL data dir holds: any one of them makes a folder a data dir. */
export const DATA_DIR_MARKERS = ["openpal.db", "server.json", "server.lock", "admin.key", "tls", "usage", "activity", "attribution"] as const;

/** Whether `dir` is an existing OpenPAL data dir (a folder holding at least one marker). */
export function isDataDir(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return false;
  } catch {
    return false;
  }
  const names = new Set(readdirSync(dir));
  return DATA_DIR_MARKERS.some((m) => names.has(m));
}

export interface DataDirSource {
  /** The --data-dir flag's value, if given. */
  readonly flag?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

/** Where the data dir came from, for the message. */
function describeSource(dir: string, source: DataDirSource): string {
  const env = source.env ?? process.env;
  if (source.flag !== undefined) return `given by --data-dir ${source.flag}`;
  if (env.OPENPAL_DATA_DIR) return `given by OPENPAL_DATA_DIR=${env.OPENPAL_DATA_DIR}`;
  return `the default, ./.openpal in the current folder ${source.cwd ?? process.cwd()}`;
}

/**
 * Fails (exit 4) unless `dir` is an existing data dir. `createHint` names the explicit way to create
 * one with this command, if it has one.
 */
export function requireDataDir(dir: string, source: DataDirSource = {}, createHint?: string): void {
  if (isDataDir(dir)) return;
  const what = existsSync(dir) ? "is not an OpenPAL data dir (it holds no store, server.json, usage or activity lake)" : "does not exist";
  throw new CliError(
    `no data dir found: ${path.resolve(dir)} ${what} (${describeSource(dir, source)}). ` +
      `Point at the data dir your server uses with --data-dir DIR or OPENPAL_DATA_DIR=DIR, or run the command in the folder holding .openpal (where you ran \`npm start\` or \`openpal serve\`).` +
      (createHint ? ` ${createHint}` : ""),
    ExitCode.notFound,
  );
}
