/**
 * Graceful shutdown (SIGTERM, SIGINT), in order:
 *   1. stopping - /readyz answers 503, so a load balancer takes the instance out of rotation
 *   2. refuse   - the listener closes (no new connections); keep-alive connections with nothing
 *                 in flight close (drain.ts judges that, not Node); a request arriving on a busy
 *                 keep-alive connection gets 503 + Connection: close
 *   3. drain    - requests already being answered finish, up to the deadline (--shutdown-timeout),
 *                 their answers saying Connection: close; past it their connections are closed,
 *                 and those clients see a network error
 *   4. close    - the stores close (SQLite checkpoints its WAL; the PostgreSQL pool ends)
 *   5. tidy     - server.json is removed, when it still names this process
 *
 * A write is acknowledged only after its transaction commits, so every answered write survives
 * and a refused request never reaches a handler (docs/OPERATIONS.md, "Shutdown").
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { OpenPalApp } from "./app.ts";

export interface StopOutcome {
  /** Every in-flight request finished before the deadline. */
  readonly drained: boolean;
  readonly ms: number;
}

export async function stopGracefully(openpal: OpenPalApp, opts: { readonly dataDir: string; readonly timeoutMs: number; readonly log?: Logger }): Promise<StopOutcome> {
  const t0 = performance.now();
  openpal.operations.markStopping();
  let timer: NodeJS.Timeout | undefined;
  let drained = true;
  const closing = openpal.close();
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      drained = false;
      opts.log?.warn({ timeoutMs: opts.timeoutMs }, "shutdown deadline passed: closing the connections of requests still running");
      openpal.app.server.closeAllConnections();
      resolve();
    }, opts.timeoutMs);
  });
  try {
    await Promise.race([closing, deadline]);
    await closing;
  } finally {
    clearTimeout(timer);
  }
  removeServerJson(opts.dataDir, process.pid);
  const ms = Math.round(performance.now() - t0);
  opts.log?.info({ drained, ms }, "server stopped");
  return { drained, ms };
}

/** Removes `<dataDir>/server.json` if it names `pid` (another server may have replaced it). */
export function removeServerJson(dataDir: string, pid: number): void {
  const file = path.join(dataDir, "server.json");
  try {
    const info = JSON.parse(readFileSync(file, "utf8")) as { pid?: unknown };
    if (info.pid === pid) rmSync(file, { force: true });
  } catch {
    // absent or unreadable: nothing of ours to remove
  }
}
