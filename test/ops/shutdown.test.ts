import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { decodeJwt } from "jose";
import { openStore } from "../../src/store/index.ts";
import { CONTOSO_APP_TENANTS, PAL, PAL_VERSION, clientToken, demoWorldCopy, serverJsonExists, spawnServer } from "./support.ts";

const PARTNERS = ["4000001", "4000002", "5100001"];

describe("graceful shutdown: SIGTERM during writes", () => {
  it("keeps every acknowledged write, applies no refused one, closes the store and removes server.json", { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-shutdown-"));
    try {
      const server = await spawnServer({ dataDir, args: ["--world", demoWorldCopy(dataDir), "--shutdown-timeout", "5"] });
      assert.ok(serverJsonExists(dataDir));
      const tokens = await Promise.all(CONTOSO_APP_TENANTS.map((t) => clientToken(server, t)));
      // One writer per tenant, each PATCHing its own link in turn; every answered 200 is one version.
      const acknowledged = new Map<string, number>();
      // The version each principal starts from (the world's history counts too), read from the store.
      const objectIds = new Map(CONTOSO_APP_TENANTS.map((t, i) => [t, String(decodeJwt(tokens[i] as string).oid)]));
      const baseline = new Map<string, { version: number; partnerId: string | null }>();
      const before = await openStore({ kind: "sqlite", sqlitePath: path.join(dataDir, "openpal.db") });
      for (const tenant of CONTOSO_APP_TENANTS) {
        const state = await before.links.current(tenant, objectIds.get(tenant) as string);
        baseline.set(tenant, { version: state.version, partnerId: state.partnerId });
      }
      await before.close();
      const refused = new Map<string, number>();
      let stopSent = false;
      const writer = async (i: number) => {
        const tenant = CONTOSO_APP_TENANTS[i] as string;
        const auth = { authorization: `Bearer ${tokens[i]}`, "content-type": "application/json" };
        let n = 0;
        let last = baseline.get(tenant)?.partnerId ?? null;
        for (;;) {
          // Always a different id, so every answered write is a new version.
          let partnerId = PARTNERS[n++ % PARTNERS.length] as string;
          if (partnerId === last) partnerId = PARTNERS[n++ % PARTNERS.length] as string;
          const method = last === null ? "PUT" : "PATCH";
          last = partnerId;
          try {
            const res = await server.fetch(`${PAL}/${partnerId}?${PAL_VERSION}`, { method, headers: auth, body: "{}" });
            if (res.status === 200) {
              acknowledged.set(tenant, (acknowledged.get(tenant) ?? 0) + 1);
              await res.arrayBuffer();
            } else if (res.status === 503) refused.set(tenant, (refused.get(tenant) ?? 0) + 1);
            else assert.fail(`unexpected ${res.status} for ${method} ${partnerId}: ${await res.text()}`);
          } catch {
            // connection refused or closed: the server is gone
            refused.set(tenant, (refused.get(tenant) ?? 0) + 1);
            if (stopSent) return;
          }
          if (stopSent && (refused.get(tenant) ?? 0) > 0) return;
        }
      };
      const writers = CONTOSO_APP_TENANTS.map((_t, i) => writer(i));
      // Let the writers get going, then stop the server under load.
      while ([...acknowledged.values()].reduce((a, b) => a + b, 0) < 40) await new Promise((r) => setTimeout(r, 20));
      stopSent = true;
      const code = await server.stop("SIGTERM");
      await Promise.all(writers);
      assert.equal(code, 0, server.output());
      assert.equal(serverJsonExists(dataDir), false, "server.json is removed on a clean stop");

      // The store, reopened: each principal's link version is exactly its number of answered writes.
      const store = await openStore({ kind: "sqlite", sqlitePath: path.join(dataDir, "openpal.db") });
      try {
        for (const tenant of CONTOSO_APP_TENANTS) {
          const acked = acknowledged.get(tenant) ?? 0;
          assert.ok(acked > 0, `writer of ${tenant} got answers`);
          const current = await store.links.current(tenant, objectIds.get(tenant) as string);
          const before = baseline.get(tenant)?.version ?? 0;
          assert.equal(current.version, before + acked, `tenant ${tenant}: version ${before} + ${acked} acknowledged writes, found ${current.version}`);
        }
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
