/**
 * `openpal backup DIR` and `openpal restore DIR`: an online copy of the store and the data dir
 * (usage lake, attribution facts, TLS, keys), and its restore into a new data dir. Local
 * commands: they work on the data dir (and PostgreSQL) directly, with the server running or not.
 */
import { Command } from "commander";
import { loadOptions } from "../../options/index.ts";
import type { BackupManifest } from "../../ops/backup.ts";
import { CliError, ExitCode } from "../errors.ts";

function resolved(parsed: Record<string, unknown>) {
  const r = loadOptions({ dataDir: parsed.dataDir as string | undefined, postgresUrl: parsed.postgresUrl as string | undefined });
  if (!r.ok) throw new CliError(`invalid options:\n  - ${r.problems.join("\n  - ")}`, ExitCode.usage);
  return r.options;
}

function summary(verb: string, dir: string, m: BackupManifest): string {
  const bytes = m.files.reduce((n, f) => n + f.bytes, 0);
  return `${verb} ${dir}: ${m.store} store${m.schema ? ` (schema ${m.schema})` : ""}, ${m.files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB, made ${m.createdAt}\n`;
}

// The store and the backup code load when a command runs, not when the CLI starts (--help).
const backupModule = () => import("../../ops/backup.ts");

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  const { BackupError } = await backupModule();
  try {
    return await work();
  } catch (error) {
    if (error instanceof BackupError) throw new CliError(error.message, ExitCode.failure);
    throw error;
  }
}

export function backupCommand(): Command {
  return new Command("backup")
    .description("Copy the store and the data dir (usage lake, facts, TLS, keys) into a new folder, online: the server may keep running.")
    .argument("<dir>", "new (or empty) folder for the backup")
    .option("--data-dir <dir>", "data directory (env OPENPAL_DATA_DIR; default ./.openpal)")
    .option("--postgres-url <url>", "back up this PostgreSQL store (needs pg_dump) instead of the data dir's SQLite (env OPENPAL_POSTGRES_URL)")
    .action(async (dir: string, parsed: Record<string, unknown>) => {
      const options = resolved(parsed);
      const { backup } = await backupModule();
      const manifest = await guarded(() => backup({ dataDir: options.dataDir, ...(options.postgresUrl ? { postgresUrl: options.postgresUrl } : {}), to: dir }));
      process.stdout.write(summary("backed up to", dir, manifest));
    });
}

export function restoreCommand(): Command {
  return new Command("restore")
    .description("Restore a backup into a new data dir (and, for PostgreSQL, a database without the backed-up schema); then start the server on it.")
    .argument("<dir>", "folder made by `openpal backup`")
    .option("--data-dir <dir>", "new (or empty) data directory to restore into (env OPENPAL_DATA_DIR; default ./.openpal)")
    .option("--postgres-url <url>", "PostgreSQL database to restore a PostgreSQL backup into (needs pg_restore)")
    .action(async (dir: string, parsed: Record<string, unknown>) => {
      const options = resolved(parsed);
      const [{ restore }, { openStore, databaseConfigFrom }] = await Promise.all([backupModule(), import("../../store/index.ts")]);
      const manifest = await guarded(() => restore({ from: dir, dataDir: options.dataDir, ...(options.postgresUrl ? { postgresUrl: options.postgresUrl } : {}) }));
      // Open the restored store once: it must answer, and migrations of this build are applied.
      const store = await openStore(databaseConfigFrom(options));
      await store.close();
      process.stdout.write(summary("restored from", dir, manifest) + `  data dir: ${options.dataDir}\n  start it: openpal serve --data-dir ${options.dataDir}${options.postgresUrl ? " --postgres-url …" : ""}\n`);
    });
}
