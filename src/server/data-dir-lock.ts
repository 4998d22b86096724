/**
 * One server per data dir. `openpal serve` takes `<dataDir>/server.lock` (created exclusively, holding
 * the owner's pid) before it opens the store, and writes `server.json` only while it holds the lock, so
 * a second server on the same data dir is refused with a message naming the running one and never
 * overwrites its server.json. A lock whose pid is no longer running (the server was killed) is stale:
 * it is taken over, with a note. A clean shutdown removes server.json and the lock; a crash that still
 * runs the process's `exit` handlers removes them too.
 *
 * @example
 * const lock = acquireDataDirLock(dataDir);          // throws DataDirLockedError when one runs
 * if (lock.note) log.warn(lock.note);
 * lock.writeServerJson({ url, caCert, pid: process.pid });
 * lock.release();                                     // on close: removes server.json and the lock
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";

export const LOCK_FILE = "server.lock";
export const SERVER_JSON = "server.json";

/** Thrown when another live process holds the data dir; the message names it and the fixes. */
export class DataDirLockedError extends Error {
  readonly pid: number;
  readonly url: string | undefined;
  constructor(dataDir: string, pid: number, url: string | undefined) {
    super(
      `another OpenPAL server is already running on data dir ${dataDir} (pid ${pid}${url ? `, ${url}` : ", still starting"}). ` +
        `Use that server, stop it first (kill ${pid}), or start this one with another --data-dir.`,
    );
    this.name = "DataDirLockedError";
    this.pid = pid;
    this.url = url;
  }
}

export interface ServerJson {
  readonly url: string;
  readonly caCert: string | null;
  readonly pid: number;
}

export interface DataDirLock {
  readonly dataDir: string;
  /** Set when a stale lock (of a process no longer running) was taken over. */
  readonly note: string | undefined;
  /** Writes `<dataDir>/server.json` (only the lock holder ever does). */
  writeServerJson(info: ServerJson): void;
  /** Removes server.json and the lock if they are still this process's. Idempotent. */
  release(): void;
}

const pendingReleases = new Set<() => void>();
let exitHookInstalled = false;

/** Whether a process with this pid runs (EPERM: it runs under another user). */
export function processIsRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The URL of the server whose pid wrote server.json, if it is that one. */
function runningUrl(dataDir: string, pid: number): string | undefined {
  const info = readJson(path.join(dataDir, SERVER_JSON));
  return info && info.pid === pid && typeof info.url === "string" ? info.url : undefined;
}

/**
 * Takes the data dir's lock for this process (creating the data dir), or throws DataDirLockedError.
 * `isRunning` is injectable for tests.
 */
export function acquireDataDirLock(dataDir: string, opts: { pid?: number; isRunning?: (pid: number) => boolean } = {}): DataDirLock {
  const pid = opts.pid ?? process.pid;
  const isRunning = opts.isRunning ?? processIsRunning;
  const dir = path.resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const lockPath = path.join(dir, LOCK_FILE);
  const serverJsonPath = path.join(dir, SERVER_JSON);
  let note: string | undefined;

  // Two attempts: the second after removing a stale lock (another starter may win that race; then
  // it is the running server and we are refused).
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      try {
        writeSync(fd, JSON.stringify({ pid, startedAt: new Date().toISOString() }) + "\n");
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") {
          const holder = readJson(lockPath)?.pid;
          if (typeof holder === "number") throw new DataDirLockedError(dir, holder, runningUrl(dir, holder));
        }
        throw error;
      }
      const holder = readJson(lockPath)?.pid;
      if (typeof holder === "number" && holder !== pid && isRunning(holder)) {
        throw new DataDirLockedError(dir, holder, runningUrl(dir, holder));
      }
      if (typeof holder === "number" && holder === pid) {
        // This very process holds it (a second server in one process, e.g. in tests): refuse too.
        throw new DataDirLockedError(dir, holder, runningUrl(dir, holder));
      }
      note = typeof holder === "number"
        ? `took over the lock of data dir ${dir}: its server (pid ${holder}) is no longer running (it did not shut down cleanly).`
        : `took over the lock of data dir ${dir}: ${LOCK_FILE} was unreadable.`;
      rmSync(lockPath, { force: true });
      // A stale server.json names a dead server: remove it so no client is sent there.
      const stale = readJson(serverJsonPath);
      if (stale && stale.pid !== pid) rmSync(serverJsonPath, { force: true });
    }
  }

  let released = false;
  const ownsFile = (file: string) => readJson(file)?.pid === pid;
  const release = () => {
    if (released) return;
    released = true;
    pendingReleases.delete(release);
    if (ownsFile(serverJsonPath)) rmSync(serverJsonPath, { force: true });
    if (ownsFile(lockPath)) rmSync(lockPath, { force: true });
  };
  // A crash that still exits normally (uncaught exception, process.exit) releases too.
  pendingReleases.add(release);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const r of [...pendingReleases]) r();
    });
  }

  return {
    dataDir: dir,
    note,
    writeServerJson(info) {
      if (released) throw new Error(`the lock of data dir ${dir} was released; server.json is not written.`);
      writeFileSync(serverJsonPath, JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
    },
    release,
  };
}
