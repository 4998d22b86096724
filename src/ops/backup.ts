/**
 * Backup and restore of a data dir and its store, online (the server may run and take writes).
 *
 * A backup folder holds:
 *   manifest.json     what was copied, when, from which store, and each file's SHA-256
 *   openpal.db        SQLite: a consistent copy made with SQLite's online backup API
 *   openpal.pgdump    PostgreSQL: `pg_dump --format=custom` of the store's schema (one snapshot)
 *   files/…           the rest of the data dir: the usage and activity lakes (each copied under its
 *                     lock, so no import is half-written in it), attribution facts, tls/, admin.key and any
 *                     key-encryption key file; never server.json, locks, or scratch folders
 *
 * The store and the lake are each consistent; between them, an attribution run that finished
 * while the backup ran may be in the store but not in the facts, or the reverse: `openpal
 * attribution run` after a restore makes them agree (docs/OPERATIONS.md, Backup and restore).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import { activityDir } from "../activity/lake.ts";
import { withDirLock, withLakeLock } from "../usage/lake.ts";

export const BACKUP_FORMAT = 1;
const MANIFEST = "manifest.json";
const SQLITE_FILE = "openpal.db";
const PG_DUMP_FILE = "openpal.pgdump";

/** Data-dir entries a backup never copies: the live database, run-time markers, scratch work. */
const NOT_COPIED = /^(openpal\.db(-wal|-shm|-journal)?|server\.json|.*\.lock|_lock|_work-.*|\.tmp.*)$/;

export interface BackupManifest {
  readonly format: number;
  readonly createdAt: string;
  readonly store: "sqlite" | "postgres";
  /** PostgreSQL: the schema that was dumped. */
  readonly schema?: string;
  readonly files: readonly { readonly path: string; readonly bytes: number; readonly sha256: string }[];
}

export class BackupError extends Error {}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function listFiles(root: string, dir = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, dir)).sort()) {
    if (NOT_COPIED.test(name)) continue;
    const rel = path.join(dir, name);
    const st = statSync(path.join(root, rel));
    if (st.isDirectory()) out.push(...listFiles(root, rel));
    else if (st.isFile()) out.push(rel);
  }
  return out;
}

function copyTree(from: string, to: string, files: readonly string[]): void {
  for (const rel of files) {
    mkdirSync(path.dirname(path.join(to, rel)), { recursive: true });
    copyFileSync(path.join(from, rel), path.join(to, rel));
  }
}

function emptyOrAbsent(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

async function postgresSchema(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return String((await client.query<{ s: string }>("SELECT current_schema() AS s")).rows[0]?.s);
  } finally {
    await client.end();
  }
}

/** libpq does not read "+" as a space in a URL's query (URLSearchParams writes it so). */
function libpq(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q) + url.slice(q).replace(/\+/g, "%20");
}

function run(command: string, args: readonly string[], what: string): void {
  const r = spawnSync(command, args, { encoding: "utf8" });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new BackupError(`${command} is not installed; install the PostgreSQL client tools (Debian: apt-get install postgresql-client) matching your server's major version, or ${what} yourself (docs/OPERATIONS.md, Backup and restore).`);
  }
  if (r.status !== 0) throw new BackupError(`${command} failed (exit ${r.status}): ${(r.stderr || "").trim().split("\n").slice(-3).join(" ")}`);
}

export async function backup(opts: { readonly dataDir: string; readonly postgresUrl?: string; readonly to: string; readonly now?: () => Date }): Promise<BackupManifest> {
  const dataDir = path.resolve(opts.dataDir);
  const to = path.resolve(opts.to);
  if (!emptyOrAbsent(to)) throw new BackupError(`backup folder ${to} is not empty; give a new folder (a backup never overwrites another).`);
  if (to.startsWith(dataDir + path.sep)) throw new BackupError(`backup folder ${to} is inside the data dir; put backups elsewhere.`);
  mkdirSync(to, { recursive: true, mode: 0o700 });
  let schema: string | undefined;
  if (opts.postgresUrl) {
    schema = await postgresSchema(opts.postgresUrl);
    run("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", `--schema=${schema}`, `--file=${path.join(to, PG_DUMP_FILE)}`, libpq(opts.postgresUrl)], "run pg_dump");
  } else {
    const db = path.join(dataDir, SQLITE_FILE);
    if (!existsSync(db)) throw new BackupError(`${db} does not exist: --data-dir must name a data dir with an SQLite store (or pass --postgres-url).`);
    const source = new SQLite(db, { readonly: true, fileMustExist: true });
    try {
      // SQLite's online backup: a consistent snapshot while other connections keep writing.
      await source.backup(path.join(to, SQLITE_FILE));
    } finally {
      source.close();
    }
  }
  // The usage and activity lakes, each under its lock (an import in progress finishes first; its
  // _lock and _work-* scratch are not copied); then everything else.
  if (existsSync(dataDir)) {
    const inDir = (dir: string) => (f: string) => f.split(path.sep)[0] === dir;
    await withLakeLock(dataDir, async () => copyTree(dataDir, path.join(to, "files"), listFiles(dataDir).filter(inDir("usage"))));
    if (existsSync(activityDir(dataDir))) await withDirLock(activityDir(dataDir), "activity lake", async () => copyTree(dataDir, path.join(to, "files"), listFiles(dataDir).filter(inDir("activity"))));
    copyTree(dataDir, path.join(to, "files"), listFiles(dataDir).filter((f) => !inDir("usage")(f) && !inDir("activity")(f)));
  }
  const copied = [...(opts.postgresUrl ? [PG_DUMP_FILE] : [SQLITE_FILE]), ...(existsSync(path.join(to, "files")) ? listFiles(to, "files") : [])];
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    createdAt: (opts.now?.() ?? new Date()).toISOString(),
    store: opts.postgresUrl ? "postgres" : "sqlite",
    ...(schema ? { schema } : {}),
    files: copied.map((rel) => ({ path: rel.split(path.sep).join("/"), bytes: statSync(path.join(to, rel)).size, sha256: sha256(path.join(to, rel)) })),
  };
  writeFileSync(path.join(to, MANIFEST), JSON.stringify(manifest, null, 2) + "\n", { mode: 0o600 });
  return manifest;
}

export function readManifest(from: string): BackupManifest {
  const file = path.join(path.resolve(from), MANIFEST);
  if (!existsSync(file)) throw new BackupError(`${from} has no ${MANIFEST}: it is not an OpenPAL backup (make one with \`openpal backup DIR\`).`);
  const manifest = JSON.parse(readFileSync(file, "utf8")) as BackupManifest;
  if (manifest.format !== BACKUP_FORMAT) throw new BackupError(`${from} is backup format ${manifest.format}; this build reads format ${BACKUP_FORMAT}.`);
  return manifest;
}

/**
 * Restores a backup into a new data dir (and, for PostgreSQL, into a database where the backed-up
 * schema does not exist yet). Every file is checked against its SHA-256 first.
 */
export async function restore(opts: { readonly from: string; readonly dataDir: string; readonly postgresUrl?: string }): Promise<BackupManifest> {
  const from = path.resolve(opts.from);
  const dataDir = path.resolve(opts.dataDir);
  const manifest = readManifest(from);
  for (const f of manifest.files) {
    const file = path.join(from, f.path);
    if (!existsSync(file) || sha256(file) !== f.sha256) throw new BackupError(`backup file ${f.path} is missing or damaged (its SHA-256 does not match the manifest); restore from another backup.`);
  }
  if (!emptyOrAbsent(dataDir)) throw new BackupError(`data dir ${dataDir} is not empty; restore into a new data dir (stop the server, move the old one aside).`);
  if (manifest.store === "postgres" && !opts.postgresUrl) throw new BackupError("this backup is of a PostgreSQL store: pass --postgres-url of the database to restore into.");
  if (manifest.store === "sqlite" && opts.postgresUrl) throw new BackupError("this backup is of an SQLite store: drop --postgres-url (it restores into the data dir).");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const files = manifest.files.filter((f) => f.path.startsWith("files/")).map((f) => f.path.slice("files/".length));
  copyTree(path.join(from, "files"), dataDir, files.map((f) => f.split("/").join(path.sep)));
  if (manifest.store === "sqlite") {
    copyFileSync(path.join(from, SQLITE_FILE), path.join(dataDir, SQLITE_FILE));
  } else {
    run("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", `--dbname=${libpq(opts.postgresUrl as string)}`, path.join(from, PG_DUMP_FILE)], "run pg_restore");
  }
  return manifest;
}
