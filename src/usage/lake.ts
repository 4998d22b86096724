/**
 * The usage lake on disk:
 *
 *   <data-dir>/usage/
 *     month=YYYY-MM/usage.parquet   one file per month (hive partitioning; `month` is not stored in the file)
 *     _imports.json                  manifest: one entry per import (file, SHA-256, summary)
 *     _lock                          held by the one writer (pid and start time inside)
 *     _work-<id>/                    a writer's scratch space (DuckDB spill, new month files)
 *
 * Invariants: a month file is only ever replaced by rename(2) of a complete file written beside
 * it, so a reader sees the old month or the new month, never half of one. Names starting with `_`
 * are ignored by Spark, Trino and by the `month=*` globs used here.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const MONTH_FILE = "usage.parquet";
const MONTH_DIR = /^month=(\d{4}-\d{2})$/;

export function usageDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), "usage");
}
export function monthFile(dataDir: string, month: string): string {
  return path.join(usageDir(dataDir), `month=${month}`, MONTH_FILE);
}

/** Months present in the lake, ascending. */
export function lakeMonths(dataDir: string): string[] {
  const dir = usageDir(dataDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => MONTH_DIR.exec(name)?.[1])
    .filter((m): m is string => m !== undefined && existsSync(monthFile(dataDir, m)))
    .sort();
}

/** Writes `content` to `file` atomically (temp file beside it, then rename). */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------
// Manifest

export interface ImportRecord {
  readonly importId: string;
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly format: string;
  readonly costMeasure: string;
  readonly importedAt: string;
  readonly rowsRead: number;
  readonly rowsKept: number;
  readonly months: readonly string[];
}

interface Manifest {
  readonly version: 1;
  readonly imports: ImportRecord[];
}

function manifestPath(dataDir: string): string {
  return path.join(usageDir(dataDir), "_imports.json");
}

export function readManifest(dataDir: string): Manifest {
  const file = manifestPath(dataDir);
  if (!existsSync(file)) return { version: 1, imports: [] };
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    if (!Array.isArray(parsed.imports)) throw new Error("no imports array");
    return parsed;
  } catch (error) {
    throw new Error(`${file}: the import manifest cannot be read (${(error as Error).message}). Move it aside; the next import rebuilds it (row-level dedupe still applies).`);
  }
}

export function appendManifest(dataDir: string, record: ImportRecord): void {
  const manifest = readManifest(dataDir);
  writeFileAtomic(manifestPath(dataDir), JSON.stringify({ version: 1, imports: [...manifest.imports, record] }, null, 2) + "\n");
}

// ---------------------------------------------------------------------------------------------
// Lock: one writer at a time, across processes. `open(..., "wx")` is atomic; a lock whose
// process is gone is stale and taken over.

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** In-process holders per lake directory, so two imports in one process also queue (the pid check cannot tell them apart). */
const inProcessQueues = new Map<string, Promise<void>>();

export async function withLakeLock<T>(dataDir: string, work: () => Promise<T>, timeoutMs = 30 * 60_000): Promise<T> {
  return withDirLock(usageDir(dataDir), "usage lake", work, timeoutMs);
}

/**
 * The one-writer lock of a lake directory (`<dir>/_lock`), across processes and within this one.
 * `what` names the lake in the message shown while another writer holds it.
 */
export async function withDirLock<T>(dir: string, what: string, work: () => Promise<T>, timeoutMs = 30 * 60_000): Promise<T> {
  const key = path.resolve(dir);
  const previous = inProcessQueues.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  inProcessQueues.set(key, mine);
  await previous;
  try {
    return await withFileLock(key, what, work, timeoutMs);
  } finally {
    release();
    if (inProcessQueues.get(key) === mine) inProcessQueues.delete(key);
  }
}

async function withFileLock<T>(dir: string, what: string, work: () => Promise<T>, timeoutMs: number): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, "_lock");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let holder: { pid?: number } = {};
      try {
        holder = JSON.parse(readFileSync(lock, "utf8")) as { pid?: number };
      } catch {
        // Being written right now, or empty: treat as held unless it is old.
        if (Date.now() - statSafe(lock) > 60_000) holder = { pid: -1 };
      }
      if (holder.pid !== undefined && (holder.pid === -1 || (holder.pid !== process.pid && !processAlive(holder.pid)))) {
        try {
          unlinkSync(lock);
        } catch {
          // Another waiter took it over first.
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lock}: another import holds the ${what} lock (pid ${holder.pid ?? "?"}); wait for it or, if no import runs, delete the file.`);
      await sleep(100);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

function statSafe(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}

/** Removes scratch directories left by crashed writers. Call with the lock held. */
export function removeStaleWork(dataDir: string): void {
  removeStaleWorkIn(usageDir(dataDir));
}

/** Removes `_work-*` scratch directories of crashed writers in a lake directory. Call with the lock held. */
export function removeStaleWorkIn(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith("_work-")) rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}
