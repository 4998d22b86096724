/**
 * Permissions of the data dir. It holds the store (database, WAL, SHM), the usage lake, the
 * operator key, the key-encryption key and the TLS private key, so only the server's own user may
 * read it: the directory and every directory in it 0700, every file 0600. An existing data dir with
 * looser permissions is tightened, with a warning naming what was changed.
 *
 * POSIX only: on Windows the modes mean nothing and ACLs of the user profile apply.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";

export const DATA_DIR_MODE = 0o700;
export const DATA_FILE_MODE = 0o600;

/** Creates the data dir (0700) if needed and tightens anything in it other users could read. */
export function secureDataDir(dataDir: string, log: Pick<Logger, "warn"> | undefined): string[] {
  if (process.platform === "win32") return [];
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE });
  const fixed: string[] = [];
  const walk = (target: string, depth: number): void => {
    const st = lstatSync(target);
    if (st.isSymbolicLink()) return;
    const want = st.isDirectory() ? DATA_DIR_MODE : DATA_FILE_MODE;
    if ((st.mode & 0o077) !== 0) {
      chmodSync(target, (st.mode & 0o700) | want);
      fixed.push(`${path.relative(dataDir, target) || "."} (was ${(st.mode & 0o777).toString(8)})`);
    }
    if (st.isDirectory() && depth < 8) for (const name of readdirSync(target)) walk(path.join(target, name), depth + 1);
  };
  walk(dataDir, 0);
  if (fixed.length > 0 && log) {
    log.warn({ dataDir, fixed: fixed.slice(0, 20), count: fixed.length },
      `data dir ${dataDir} was readable by other users; set directories to 0700 and files to 0600 (it holds keys and the database)`);
  }
  return fixed;
}
