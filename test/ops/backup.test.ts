import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import { freshPostgresUrl } from "../support/stores.ts";
import { openStore } from "../../src/store/index.ts";
import { importUsageFile, openUsageLake } from "../../src/usage/index.ts";
import { attributeUsage } from "../../src/attribution/index.ts";
import { systemClock } from "../../src/domain/time.ts";
import { focusCsv, daily } from "../scenarios/support.ts";
import { BIN, CONTOSO_APP_TENANTS, PAL, PAL_VERSION, clientToken, demoWorldCopy, spawnServer } from "./support.ts";

const cli = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  child.on("exit", (code) => resolve({ code, out }));
});

/** Every row of a table, in a stable order, as JSON (SQLite). */
function rows(dbFile: string, table: string): string[] {
  const db = new SQLite(dbFile, { readonly: true });
  try {
    return (db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[]).map((r) => JSON.stringify(r)).sort();
  } finally {
    db.close();
  }
}

/** Tables no request of the test writes: the restored copy must equal them exactly. */
const UNCHANGED = ["tenants", "users", "service_principals", "groups", "group_members", "role_assignments", "role_definitions",
  "subscriptions", "management_groups", "registration_definitions", "registration_assignments", "partners", "partner_locations",
  "partners_of_record", "attribution_runs", "attribution_rollups", "directory_role_members", "applications", "application_secrets"];

describe("backup and restore (SQLite data dir)", () => {
  it("backs up online under write load; the restore holds every role and month, and a consistent prefix of every link's history", { timeout: 240_000 }, async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-backup-src-"));
    const work = mkdtempSync(path.join(os.tmpdir(), "openpal-backup-"));
    const backupDir = path.join(work, "backup");
    const restored = path.join(work, "restored");
    try {
      const server = await spawnServer({ dataDir, args: ["--world", demoWorldCopy(dataDir)] });
      // A month in the lake and its attribution, next to the running server.
      const csv = path.join(work, "usage.csv");
      writeFileSync(csv, focusCsv(daily("2026-10", () => ({ subscription: "e4000000-0000-4000-8000-000000000001", resource: "/subscriptions/e4000000-0000-4000-8000-000000000001/resourceGroups/rg-shop/providers/Microsoft.Compute/virtualMachines/vm1", cost: 10 }))));
      await importUsageFile(csv, { dataDir, format: "focus" });
      const side = await openStore({ kind: "sqlite", sqlitePath: path.join(dataDir, "openpal.db") });
      await attributeUsage({ store: side, dataDir, month: "2026-10", policy: "pec", clock: systemClock });
      await side.close();

      // Writers PATCH their links through the server while the backup runs.
      const tokens = await Promise.all(CONTOSO_APP_TENANTS.map((t) => clientToken(server, t)));
      let stop = false;
      let writes = 0;
      const writers = tokens.map(async (token) => {
        const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
        const now = await server.fetch(`${PAL}?${PAL_VERSION}`, { headers: auth });
        let last = now.status === 200 ? ((await now.json()) as { properties: { partnerId: string } }).properties.partnerId : null;
        if (now.status !== 200) await now.arrayBuffer();
        for (let n = 0; !stop; n++) {
          const next = ["4000001", "4000002", "5100001"].filter((p) => p !== last)[n % 2] as string;
          const res = await server.fetch(`${PAL}/${next}?${PAL_VERSION}`, { method: last ? "PATCH" : "PUT", headers: auth, body: "{}" });
          await res.arrayBuffer();
          assert.equal(res.status, 200);
          last = next;
          writes++;
        }
      });
      while (writes < 20) await new Promise((r) => setTimeout(r, 20));
      const made = await cli(["backup", backupDir, "--data-dir", dataDir]);
      const writesAtBackupEnd = writes;
      while (writes < writesAtBackupEnd + 10) await new Promise((r) => setTimeout(r, 20));
      stop = true;
      await Promise.all(writers);
      assert.equal(made.code, 0, made.out);
      assert.match(made.out, /backed up to .*: sqlite store, \d+ files/);
      assert.equal(await server.stop("SIGTERM"), 0);

      const done = await cli(["restore", backupDir, "--data-dir", restored]);
      assert.equal(done.code, 0, done.out);
      const src = path.join(dataDir, "openpal.db");
      const dst = path.join(restored, "openpal.db");
      for (const table of UNCHANGED) {
        assert.deepEqual(rows(dst, table), rows(src, table), `table ${table} restored exactly`);
      }
      assert.ok(rows(dst, "attribution_runs").length > 0 && rows(dst, "attribution_rollups").length > 0, "the month's results are in the backup");
      assert.deepEqual(openUsageLake(restored).months(), openUsageLake(dataDir).months());
      assert.ok(openUsageLake(restored).months().includes("2026-10"));
      assert.ok(statSync(path.join(restored, "attribution", "month=2026-10", "policy=pec", "facts.parquet")).size > 0, "the facts are restored");
      assert.equal(rows(dst, "signing_keys").length, rows(src, "signing_keys").length);
      assert.equal(statSync(path.join(restored, "admin.key")).mode & 0o777, 0o600, "admin.key keeps its mode");

      // Links: the backup is one moment of the source. Each principal's restored history is a
      // prefix of its final history (the last restored interval may be open where it closed later),
      // and its restored version is at most the final one; writes were happening, so some are missing.
      const source = await openStore({ kind: "sqlite", sqlitePath: src });
      const copy = await openStore({ kind: "sqlite", sqlitePath: dst });
      try {
        let missing = 0;
        for (const tenant of CONTOSO_APP_TENANTS) {
          const finalHistory = await source.links.history({ tenantId: tenant });
          const restoredHistory = await copy.links.history({ tenantId: tenant });
          assert.ok(restoredHistory.length <= finalHistory.length);
          restoredHistory.forEach((interval, k) => {
            const f = finalHistory[k];
            assert.ok(f, `interval ${k} of ${tenant} exists in the source`);
            assert.equal(interval.partnerId, f.partnerId);
            assert.equal(interval.validFrom, f.validFrom);
            if (k < restoredHistory.length - 1 || interval.validTo !== null) assert.equal(interval.validTo, f.validTo);
          });
          const objectIds = new Set(finalHistory.map((i) => i.objectId));
          for (const objectId of objectIds) {
            const a = await source.links.current(tenant, objectId);
            const b = await copy.links.current(tenant, objectId);
            assert.ok(b.version <= a.version);
            missing += a.version - b.version;
          }
        }
        assert.ok(missing > 0, "writes after the backup are not in it (the test really wrote during the backup)");
      } finally {
        await source.close();
        await copy.close();
      }

      // The restored data dir serves.
      const again = await spawnServer({ dataDir: restored });
      try {
        const ready = await again.fetch("/readyz");
        assert.equal(ready.status, 200);
        const token = await clientToken(again, CONTOSO_APP_TENANTS[0] as string);
        assert.equal((await again.fetch(`${PAL}?${PAL_VERSION}`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("refuses to restore into a data dir that is not empty, and names the fix", async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), "openpal-backup-"));
    try {
      const refused = await cli(["restore", work, "--data-dir", work]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.out, /not an OpenPAL backup \(make one with `openpal backup DIR`\)/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe("backup and restore (PostgreSQL, through pg_dump)", { skip: process.env.OPENPAL_TEST_POSTGRES_URL ? false : "OPENPAL_TEST_POSTGRES_URL is not set" }, () => {
  it("dumps the store's schema and the data dir, and restores both", { timeout: 180_000 }, async () => {
    const fresh = await freshPostgresUrl(process.env.OPENPAL_TEST_POSTGRES_URL as string);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-backup-pg-"));
    const work = mkdtempSync(path.join(os.tmpdir(), "openpal-backup-pg-"));
    try {
      // Both servers answer under one public URL (as behind a load balancer): a token's issuer is
      // `<public-url>/<tenant>/v2.0`, so without it the restored server, on another port, would
      // rightly refuse a token of the first one whatever the keys.
      const publicUrl = ["--public-url", "https://openpal-backup.test"];
      const server = await spawnServer({ dataDir, args: ["--postgres-url", fresh.url, "--world", demoWorldCopy(dataDir), ...publicUrl] });
      const token = await clientToken(server, CONTOSO_APP_TENANTS[0] as string);
      const made = await cli(["backup", path.join(work, "b"), "--data-dir", dataDir, "--postgres-url", fresh.url]);
      assert.equal(made.code, 0, made.out);
      assert.match(made.out, /postgres store \(schema t_[0-9a-f]+\)/);
      assert.equal(await server.stop(), 0);
      const tables = ["tenants", "users", "role_assignments", "signing_keys", "partner_links", "partners"];
      const read = async () => {
        const client = new pg.Client({ connectionString: fresh.url });
        await client.connect();
        try {
          const out: Record<string, string[]> = {};
          for (const t of tables) out[t] = (await client.query(`SELECT * FROM ${t}`)).rows.map((r) => JSON.stringify(r)).sort();
          return out;
        } finally {
          await client.end();
        }
      };
      const before = await read();
      assert.ok(before.role_assignments && before.role_assignments.length > 0);
      await fresh.drop();
      const restored = path.join(work, "restored");
      const done = await cli(["restore", path.join(work, "b"), "--data-dir", restored, "--postgres-url", fresh.url]);
      assert.equal(done.code, 0, done.out);
      assert.deepEqual(await read(), before, "every row of every table compared is back");
      // A server on the restored store accepts a token signed before the backup (the sealed
      // signing keys and the key-encryption key came back together).
      const again = await spawnServer({ dataDir: restored, args: ["--postgres-url", fresh.url, ...publicUrl] });
      try {
        const res = await again.fetch(`${PAL}?${PAL_VERSION}`, { headers: { authorization: `Bearer ${token}` } });
        assert.notEqual(res.status, 401, await res.text());
      } finally {
        await again.stop();
      }
    } finally {
      await fresh.drop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });
});
