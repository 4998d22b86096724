/**
 * WAL checkpoints of a SQLite file store run on a worker thread (src/store/wal-checkpointer.ts),
 * not inside the commits of the server's connection. The rules: the worker copies the WAL into the
 * database file and counts what it copied; until it runs, the server's connection does not
 * checkpoint below the safety threshold (SQLite's default would have it checkpoint every 1,000
 * pages, inside a request); every committed write survives checkpoints running beside the writes;
 * closing the store stops the worker, started or not, and its connection is closed (the WAL file
 * is removed by the last close).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { openStore, type Store } from "../../src/store/index.ts";
import { ServerMetrics } from "../../src/ops/metrics.ts";

const TID = "aaaaaaaa-0000-4000-8000-00000000c001";
const oid = (i: number) => `bbbbbbbb-0000-4000-8000-${String(i).padStart(12, "0")}`;

async function seed(store: Store): Promise<void> {
  await store.directory.putTenant({ id: TID, displayName: "Checkpoints", domain: "ckpt.example", createdAt: 0 });
  await store.partners.putOrganisation({ globalId: "4000000", name: "Contoso Consulting", tenantIds: [], createdAt: 0 });
  await store.partners.putLocation({ id: "4000001", globalId: "4000000", country: "US", name: null, createdAt: 0 });
  await store.partners.putLocation({ id: "4000002", globalId: "4000000", country: "GB", name: null, createdAt: 0 });
}

/** `count` link writes over 20 principals, alternating each one's partner id; `perTurn` writes per event-loop turn (one commit). */
async function writeLinks(store: Store, count: number, startAt: number, perTurn = 20): Promise<void> {
  for (let i = 0; i < count; i += perTurn) {
    await Promise.all(Array.from({ length: Math.min(perTurn, count - i) }, (_, k) => {
      const n = i + k;
      return store.writeLink(TID, oid(n % 20), (state) => {
        const at = startAt + n;
        const next = { partnerId: state.partnerId === "4000001" ? "4000002" : "4000001", version: state.version + 1, createdTime: state.createdTime ?? at, updatedTime: at };
        return { result: next, change: { previous: state, next, at, audit: { at, tenantId: TID, actorTenantId: TID, actorObjectId: oid(n % 20), action: "partnerLink.update", target: next.partnerId, requestId: null } } };
      });
    }));
  }
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("background WAL checkpoints of a SQLite file store", () => {
  const dirs: string[] = [];
  const fileStore = (walCheckpoint: { intervalMs?: number; startDelayMs?: number }) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-wal-"));
    dirs.push(dir);
    const file = path.join(dir, "openpal.db");
    return { file, open: () => openStore({ kind: "sqlite", sqlitePath: file, walCheckpoint }) };
  };
  const cleanUp = () => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));

  /** Opens a seeded file store, runs `work` on it, then closes it and removes its directory. */
  const withSeededStore = async (walCheckpoint: { intervalMs?: number; startDelayMs?: number }, work: (store: Store, file: string) => Promise<void>) => {
    const { file, open } = fileStore(walCheckpoint);
    const store = await open();
    try {
      await seed(store);
      await work(store, file);
    } finally {
      await store.close();
      cleanUp();
    }
  };

  it("until the worker runs, commits do not checkpoint: the WAL grows far past SQLite's default 1,000 pages", () =>
    withSeededStore({ startDelayMs: 60_000 }, async (store, file) => {
      await writeLinks(store, 1_000, 1_000, 1);
      // 1,000 link writes, each committed alone, append several pages each (interval, principal,
      // audit and their indexes): with SQLite's default automatic checkpoint the WAL would have
      // been reset at 1,000 pages and stayed near that size.
      assert.ok(statSync(`${file}-wal`).size > 3_000 * 4096, `WAL is ${statSync(`${file}-wal`).size} bytes`);
      assert.equal(store.poolStats().walFramesCheckpointed, 0);
    }));

  it("the worker copies the WAL into the database file and counts the checkpoints and pages", () =>
    withSeededStore({ startDelayMs: 0, intervalMs: 10 }, async (store) => {
      await writeLinks(store, 400, 1_000);
      await until(() => (store.poolStats().walFramesCheckpointed ?? 0) > 0, "a checkpoint");
      const stats = store.poolStats();
      assert.ok((stats.walCheckpoints ?? 0) >= 1);
      assert.equal(stats.walCheckpointFailures, 0);
    }));

  it("every committed write survives checkpoints running beside the writes: a reopened store reads every interval and audit entry", async () => {
    const { open } = fileStore({ startDelayMs: 0, intervalMs: 2 });
    let store = await open();
    try {
      await seed(store);
      await writeLinks(store, 3_000, 1_000);
      await until(() => (store.poolStats().walCheckpoints ?? 0) >= 3, "several checkpoints");
      await writeLinks(store, 1_000, 10_000);
    } finally {
      await store.close();
    }
    store = await open();
    try {
      const history = await store.links.history({ tenantId: TID });
      // Every write changes the partner id: each of the 4,000 writes opened one interval.
      assert.equal(history.length, 4_000);
      assert.equal(history.filter((h) => h.validTo === null).length, 20);
      const audit = await store.audit.list({ tenantId: TID, limit: 10_000 });
      assert.equal(audit.length, 4_000);
    } finally {
      await store.close();
      cleanUp();
    }
  });

  it("closing the store stops the worker, started or not; the worker's connection is closed, so the last close removes the WAL file", async () => {
    const notStarted = fileStore({ startDelayMs: 60_000 });
    let store = await notStarted.open();
    await store.close();
    assert.equal(existsSync(`${notStarted.file}-wal`), false);
    const started = fileStore({ startDelayMs: 0, intervalMs: 10 });
    store = await started.open();
    await seed(store);
    await writeLinks(store, 200, 1_000);
    await until(() => (store.poolStats().walCheckpoints ?? 0) > 0, "the worker's first checkpoint");
    await store.close();
    assert.equal(existsSync(`${started.file}-wal`), false, "a connection left open by the worker would keep the WAL file");
    cleanUp();
  });

  it("a store never closed does not keep its process alive: the worker thread is unreferenced", () => {
    const { file } = fileStore({});
    const storeModule = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), "../../src/store/index.ts")).href;
    const code = `const { openStore } = await import(${JSON.stringify(storeModule)});
      await openStore({ kind: "sqlite", sqlitePath: ${JSON.stringify(file)}, walCheckpoint: { startDelayMs: 0, intervalMs: 10 } });
      setTimeout(() => console.log("still running after the worker started"), 500);`;
    // A module file, as `openpal` runs: evaluated code (-e) did not show the bug this guards against.
    const script = path.join(path.dirname(file), "child.mts");
    writeFileSync(script, code);
    const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
    const run = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: repo, encoding: "utf8", timeout: 10_000 });
    cleanUp();
    assert.equal(run.signal, null, "the process had to be killed: something kept it alive");
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /still running after the worker started/);
  });

  it("/metrics shows the checkpoints, the pages copied and the failures", async () => {
    const metrics = new ServerMetrics(() => ({ total: 1, idle: 1, waiting: 0, walCheckpoints: 3, walFramesCheckpointed: 120, walCheckpointFailures: 1 }), "sqlite");
    const text = await metrics.scrape();
    assert.match(text, /^openpal_store_wal_checkpoints_total\{store="sqlite"\} 3$/m);
    assert.match(text, /^openpal_store_wal_pages_checkpointed_total\{store="sqlite"\} 120$/m);
    assert.match(text, /^openpal_store_wal_checkpoint_failures_total\{store="sqlite"\} 1$/m);
  });
});
