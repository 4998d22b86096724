import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openStore, withOperationLock, OperationBusyError, type Store } from "../../src/store/index.ts";
import { freshPostgresUrl } from "../support/stores.ts";

/** Two stores on one database, as two processes would have. */
async function twoHandles(backend: "sqlite" | "postgres"): Promise<{ a: Store; b: Store; done(): Promise<void> }> {
  if (backend === "sqlite") {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-locks-"));
    const file = path.join(dir, "openpal.db");
    const a = await openStore({ kind: "sqlite", sqlitePath: file });
    const b = await openStore({ kind: "sqlite", sqlitePath: file });
    return { a, b, async done() { await a.close(); await b.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const fresh = await freshPostgresUrl(process.env.OPENPAL_TEST_POSTGRES_URL as string);
  const a = await openStore({ kind: "postgres", postgresUrl: fresh.url });
  const b = await openStore({ kind: "postgres", postgresUrl: fresh.url });
  return { a, b, async done() { await a.close(); await b.close(); await fresh.drop(); } };
}

const backends: ("sqlite" | "postgres")[] = ["sqlite", ...(process.env.OPENPAL_TEST_POSTGRES_URL ? ["postgres" as const] : [])];

for (const backend of backends) {
  describe(`operation locks (${backend}): one holder at a time across processes`, () => {
    it("a second holder of the same operation is refused and told who holds it; another operation is not blocked", async () => {
      const { a, b, done } = await twoHandles(backend);
      try {
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let started!: () => void;
        const running = new Promise<void>((r) => (started = r));
        const first = withOperationLock(a, "attribution 2026-10", { wait: false }, async () => { started(); await held; return "first"; });
        await running;
        await assert.rejects(withOperationLock(b, "attribution 2026-10", { wait: false }, async () => "second"), (e: unknown) => {
          assert.ok(e instanceof OperationBusyError);
          assert.match(e.message, /attribution 2026-10 is already running \(.+ pid \d+ \(run [0-9a-f]+\), since \d{4}-/);
          return true;
        });
        assert.equal(await withOperationLock(b, "attribution 2026-11", { wait: false }, async () => "other month"), "other month");
        release();
        assert.equal(await first, "first");
        // Released: the next one runs.
        assert.equal(await withOperationLock(b, "attribution 2026-10", { wait: false }, async () => "after"), "after");
      } finally {
        await done();
      }
    });

    it("with wait, the second runs after the first, never at the same time", async () => {
      const { a, b, done } = await twoHandles(backend);
      try {
        const events: string[] = [];
        let told = 0;
        const job = (store: Store, name: string) => withOperationLock(store, "attribution 2026-10", { wait: true, onWait: () => told++ }, async () => {
          events.push(`${name} start`);
          await new Promise((r) => setTimeout(r, 400));
          events.push(`${name} end`);
        });
        const one = job(a, "a");
        await new Promise((r) => setTimeout(r, 100));
        await Promise.all([one, job(b, "b")]);
        assert.deepEqual(events, ["a start", "a end", "b start", "b end"]);
        assert.equal(told, 1, "the waiter is told once");
      } finally {
        await done();
      }
    });

    it("a failing operation releases its lock", async () => {
      const { a, b, done } = await twoHandles(backend);
      try {
        await assert.rejects(withOperationLock(a, "op", { wait: false }, async () => { throw new Error("boom"); }), /boom/);
        assert.equal(await withOperationLock(b, "op", { wait: false }, async () => 1), 1);
      } finally {
        await done();
      }
    });
  });
}
