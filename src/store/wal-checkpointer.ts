/**
 * WAL checkpoints off the request path, for a SQLite file store.
 *
 * In WAL mode every commit appends the pages it changed to the WAL; a checkpoint copies them back
 * into the database file, with an fsync of each. SQLite's automatic checkpoint runs inside the
 * commit that crosses its threshold, so on the server's one connection it ran on the event loop:
 * about every hundred link writes, one request paid for the copy and two fsyncs. Here a worker
 * thread with its own connection runs PASSIVE checkpoints on a timer instead (a PASSIVE checkpoint
 * never blocks the writer and never waits for it); the server's connection keeps an automatic
 * checkpoint only as a safety net, at a threshold the worker keeps the WAL well below.
 *
 * Durability is unchanged: a commit is durable in the WAL as before, whoever copies it later.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** Frames (pages) in the WAL past which the server's own connection checkpoints anyway (SQLite's default is 1,000). */
export const SAFETY_AUTOCHECKPOINT_PAGES = 20_000;
/** How often the worker checkpoints. */
export const CHECKPOINT_INTERVAL_MS = 250;
/**
 * The worker starts this long after the store opens: a short-lived process (most CLI commands)
 * never pays for a thread, and until then the WAL is small.
 */
export const CHECKPOINTER_START_DELAY_MS = 1_000;

export interface CheckpointStats {
  /** Checkpoints that copied at least one frame. */
  checkpoints: number;
  /** Frames copied into the database file. */
  framesCopied: number;
  /** Checkpoints that failed (the next tick tries again). */
  failures: number;
}

/**
 * The worker: CommonJS, evaluated, so that it runs the same from TypeScript sources and compiled
 * JavaScript; started without the parent's flags (it needs no loader such as tsx).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("busy_timeout = 0");
db.pragma("synchronous = NORMAL");
const checkpoint = () => {
  try {
    const [r] = db.pragma("wal_checkpoint(PASSIVE)");
    if (r && r.checkpointed > 0) parentPort.postMessage({ copied: r.checkpointed });
  } catch {
    parentPort.postMessage({ error: true });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on("message", (m) => {
  if (m === "stop") {
    clearInterval(timer);
    db.close();
    parentPort.close();
  }
});
`;

export class WalCheckpointer {
  readonly stats: CheckpointStats = { checkpoints: 0, framesCopied: 0, failures: 0 };
  readonly #file: string;
  readonly #intervalMs: number;
  readonly #startTimer: NodeJS.Timeout;
  #worker: Worker | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(file: string, options: { intervalMs?: number; startDelayMs?: number } = {}) {
    this.#file = file;
    this.#intervalMs = options.intervalMs ?? CHECKPOINT_INTERVAL_MS;
    this.#startTimer = setTimeout(() => this.#start(), options.startDelayMs ?? CHECKPOINTER_START_DELAY_MS);
    this.#startTimer.unref();
  }

  #start(): void {
    if (this.#stopped) return;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { driver, file: this.#file, intervalMs: this.#intervalMs } });
    this.#worker = worker;
    worker.on("message", (m: { copied?: number; error?: boolean }) => {
      if (m.copied) {
        this.stats.checkpoints++;
        this.stats.framesCopied += m.copied;
      }
      if (m.error) this.stats.failures++;
    });
    this.#exited = new Promise((resolve) => {
      worker.once("exit", () => resolve());
      // A worker that fails (e.g. the file vanished) leaves checkpoints to the safety net.
      worker.once("error", () => {
        this.stats.failures++;
      });
    });
    // The worker must never keep a finished process alive. Unreferenced last: adding a 'message'
    // listener references its port again.
    worker.unref();
  }

  /** Stops the worker (or its pending start) and waits for its connection to close. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#startTimer);
    // Referenced again while it closes, so that the wait for its exit keeps the process alive.
    this.#worker?.ref();
    this.#worker?.postMessage("stop");
    await this.#exited;
  }
}
