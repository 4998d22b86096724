/**
 * kill -9 under write load, on both stores: real `openpal serve` processes, four writers PATCHing
 * (or PUTting) their own links as fast as they are answered, SIGKILL at an arbitrary moment,
 * restart on the same store, twice. A write is acknowledged when its 200 arrived; the one request
 * each writer may have had in flight at the kill may or may not have committed (the client cannot
 * know), and nothing else may differ.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { decodeJwt } from "jose";
import { freshPostgresUrl } from "../support/stores.ts";
import { openStore, type DatabaseConfig } from "../../src/store/index.ts";
import { CONTOSO_APP_TENANTS, PAL, PAL_VERSION, clientToken, demoWorldCopy, spawnServer, type ServerProcess } from "../ops/support.ts";

const PARTNERS = ["4000001", "4000002", "5100001"];
/** Tokens outlive a server: every incarnation answers under one issuer. */
const PUBLIC_URL = "https://openpal-kill9.test";
const ROUNDS = 2;
const ACKS_BEFORE_KILL = 60;

interface Writer {
  readonly tenant: string;
  readonly objectId: string;
  readonly token: string;
  /** Partner ids of this round's writes answered 200, in order. */
  readonly acknowledged: string[];
  /** The partner id of the write in flight when the server died (null: none). */
  uncertain: string | null;
  /** Version and interval count at the start of the round. */
  baseVersion: number;
  baseIntervals: number;
}

/** Writes until the server dies; returns the partner id of the write that got no answer, if any. */
async function writeUntilDead(server: ServerProcess, w: Writer, lastKnown: string | null): Promise<string | null> {
  const auth = { authorization: `Bearer ${w.token}`, "content-type": "application/json" };
  let last = lastKnown;
  for (let n = 0; ; n++) {
    const partnerId = PARTNERS.filter((p) => p !== last)[n % 2] as string;
    const method = last === null ? "PUT" : "PATCH";
    let res: Response;
    try {
      res = await server.fetch(`${PAL}/${partnerId}?${PAL_VERSION}`, { method, headers: auth, body: "{}" });
      await res.arrayBuffer();
    } catch {
      return partnerId; // no answer: the server died with this write in flight
    }
    assert.equal(res.status, 200, `${method} ${partnerId} for ${w.tenant}`);
    w.acknowledged.push(partnerId);
    last = partnerId;
  }
}

async function checkStore(config: DatabaseConfig, writers: readonly Writer[]): Promise<Map<string, string | null>> {
  const store = await openStore(config);
  const current = new Map<string, string | null>();
  try {
    for (const w of writers) {
      const history = await store.links.history({ tenantId: w.tenant, objectId: w.objectId });
      const state = await store.links.current(w.tenant, w.objectId);
      const written = history.slice(w.baseIntervals).map((i) => i.partnerId);
      // Every acknowledged write of the round is there, in order, and after them at most the one
      // that was in flight at the kill.
      const shown = `(written ${written.join(",") || "nothing"}; acknowledged ${w.acknowledged.join(",") || "nothing"}; in flight ${w.uncertain ?? "nothing"})`;
      assert.deepEqual(written.slice(0, w.acknowledged.length), w.acknowledged, `${w.tenant}: every acknowledged write is in the history, in order ${shown}`);
      assert.ok(written.length === w.acknowledged.length || (written.length === w.acknowledged.length + 1 && written.at(-1) === w.uncertain), `${w.tenant}: nothing but the write in flight was added ${shown}`);
      assert.equal(state.version - w.baseVersion, written.length, `${w.tenant}: the version counts every committed write`);
      // No overlapping intervals: each closes at or before the next opens; only the last is open.
      for (let i = 1; i < history.length; i++) {
        const prev = history[i - 1];
        const next = history[i];
        assert.ok(prev && next && prev.validTo !== null, `${w.tenant}: only the last interval may be open (interval ${i - 1} of ${history.length})`);
        assert.ok(next.validFrom !== null && prev.validTo <= next.validFrom, `${w.tenant}: intervals ${i - 1} and ${i} overlap`);
      }
      assert.equal(state.partnerId, history.at(-1)?.partnerId ?? null, `${w.tenant}: the current link is the last interval`);
      current.set(w.tenant, state.partnerId);
      // The next round starts from here.
      w.baseVersion = state.version;
      w.baseIntervals = history.length;
      w.acknowledged.length = 0;
      w.uncertain = null;
    }
  } finally {
    await store.close();
  }
  return current;
}

const backends: { name: string; skip: string | false }[] = [
  { name: "sqlite", skip: false },
  { name: "postgres", skip: process.env.OPENPAL_TEST_POSTGRES_URL ? false : "OPENPAL_TEST_POSTGRES_URL is not set" },
];

describe("kill -9 of the server under write load", () => {
  for (const backend of backends) {
    it(`${backend.name}: every acknowledged write survives, no interval overlaps, the restarted server serves the last write`, { skip: backend.skip, timeout: 240_000 }, async () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-kill9-"));
      const fresh = backend.name === "postgres" ? await freshPostgresUrl(process.env.OPENPAL_TEST_POSTGRES_URL as string) : undefined;
      const config: DatabaseConfig = fresh ? { kind: "postgres", postgresUrl: fresh.url } : { kind: "sqlite", sqlitePath: path.join(dataDir, "openpal.db") };
      const args = ["--world", demoWorldCopy(dataDir), "--public-url", PUBLIC_URL, ...(fresh ? ["--postgres-url", fresh.url] : [])];
      let server: ServerProcess | undefined;
      try {
        server = await spawnServer({ dataDir, args });
        const first = server;
        const writers: Writer[] = await Promise.all(CONTOSO_APP_TENANTS.map(async (tenant) => {
          const token = await clientToken(first, tenant);
          return { tenant, token, objectId: String(decodeJwt(token).oid), acknowledged: [], uncertain: null, baseVersion: 0, baseIntervals: 0 };
        }));
        let current = new Map<string, string | null>();
        {
          const store = await openStore(config);
          for (const w of writers) {
            w.baseVersion = (await store.links.current(w.tenant, w.objectId)).version;
            w.baseIntervals = (await store.links.history({ tenantId: w.tenant, objectId: w.objectId })).length;
            current.set(w.tenant, (await store.links.current(w.tenant, w.objectId)).partnerId);
          }
          await store.close();
        }
        for (let round = 0; round < ROUNDS; round++) {
          const live: ServerProcess = server;
          const total = () => writers.reduce((s, w) => s + w.acknowledged.length, 0);
          const target = total() + ACKS_BEFORE_KILL;
          const running = writers.map((w) => writeUntilDead(live, w, current.get(w.tenant) ?? null));
          while (total() < target) await new Promise((r) => setTimeout(r, 5));
          live.child.kill("SIGKILL");
          assert.equal(await live.exited, null, "the server was killed, not stopped");
          const inFlight = await Promise.all(running);
          for (const w of writers) assert.ok(w.acknowledged.length > 0, `writer of ${w.tenant} got answers`);
          writers.forEach((w, i) => (w.uncertain = inFlight[i] ?? null));
          server = undefined;
          current = await checkStore(config, writers);

          // The restarted server answers with the last committed link of each writer.
          server = await spawnServer({ dataDir, args });
          for (const w of writers) {
            const res = await server.fetch(`${PAL}?${PAL_VERSION}`, { headers: { authorization: `Bearer ${w.token}` } });
            assert.equal(res.status, 200, await res.clone().text());
            assert.equal(((await res.json()) as { properties: { partnerId: string } }).properties.partnerId, current.get(w.tenant));
          }
        }
      } finally {
        if (server) await server.stop("SIGKILL");
        await fresh?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
