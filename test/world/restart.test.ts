/**
 * `serve --world` on a data dir with history: the server always starts again, and never rewrites
 * what users did after the world was applied (the README tour removes and changes demo links).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { testOptions, type Options, type RawValue } from "../../src/options/index.ts";
import { startServer, type RunningServer } from "../../src/server/index.ts";
import { describeStartupWorld, startupWorldOutcome, STARTUP_WORLD_ACTOR } from "../../src/admin/world.ts";
import { WorldFileError } from "../../src/world/index.ts";
import { testAgent } from "../support/server.ts";
import { freshPostgresUrl } from "../support/stores.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FABRIKAM = "30000000-0000-4000-8000-000000000003";
// Contoso's automation app; in Fabrikam the demo world links it to 4000002 since 2026-10-01 ($.links[2]).
const APP_ID = "a0000000-0000-4000-8000-000000000001";
const APP_SECRET = "contoso-demo-secret-6Qm2Vx9LkP4tRw8Zb3Nd";
const PAL = "/providers/Microsoft.ManagementPartner/partners";
const V = "api-version=2018-02-01";

const backends: { name: string; storeOptions(): Promise<{ options: Partial<Record<keyof Options, RawValue>>; drop(): Promise<void> }> }[] = [
  { name: "sqlite file", storeOptions: async () => ({ options: {}, drop: async () => {} }) },
];
const pgUrl = process.env.OPENPAL_TEST_POSTGRES_URL;
if (pgUrl) {
  backends.push({
    name: "postgres",
    storeOptions: async () => {
      const fresh = await freshPostgresUrl(pgUrl);
      return { options: { store: "postgres", postgresUrl: fresh.url }, drop: fresh.drop };
    },
  });
}

for (const backend of backends) {
  describe(`serve --world restarts on a data dir with history (${backend.name})`, () => {
    let dir: string;
    let worldFile: string;
    let store: { options: Partial<Record<keyof Options, RawValue>>; drop(): Promise<void> };
    let server: RunningServer | undefined;
    const start = async () => {
      const tls = process.env.OPENPAL_TEST_TLS_DIR as string;
      server = await startServer(testOptions({
        port: 0, dataDir: path.join(dir, "data"), logLevel: "silent", world: worldFile,
        cert: path.join(tls, "server.crt"), key: path.join(tls, "server.key"), ...store.options,
      }));
      return server;
    };
    const stop = async () => {
      await server?.close();
      server = undefined;
    };
    const call = (s: RunningServer, p: string, init: RequestInit = {}) => fetch(`${s.url}${p}`, { ...init, dispatcher: testAgent() } as RequestInit);
    const token = async (s: RunningServer): Promise<string> => {
      const r = await call(s, `/${FABRIKAM}/oauth2/v2.0/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: APP_ID, client_secret: APP_SECRET, scope: "https://management.azure.com/.default" }).toString(),
      });
      assert.equal(r.status, 200, await r.clone().text());
      return ((await r.json()) as { access_token: string }).access_token;
    };
    const linked = async (s: RunningServer): Promise<string | null> => {
      const r = await call(s, `${PAL}/?${V}`, { headers: { authorization: `Bearer ${await token(s)}` } });
      if (r.status === 404) return null;
      assert.equal(r.status, 200, await r.clone().text());
      return ((await r.json()) as { properties: { partnerId: string } }).properties.partnerId;
    };

    before(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), "openpal-restart-"));
      // A copy of the demo world (a different path, so the demo's background usage seeding stays off).
      worldFile = path.join(dir, "world.json");
      copyFileSync(path.join(ROOT, "src/world/demo/world.json"), worldFile);
      store = await backend.storeOptions();
    });
    after(async () => {
      await stop();
      await store.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("a fresh data dir gets the world applied; the audit entry records the file's SHA-256", async () => {
      const s = await start();
      assert.equal(startupWorldOutcome(s.openpal.context)?.kind, "applied");
      const [entry] = await s.openpal.context.store.audit.latest("world.apply");
      assert.equal(entry?.details?.actor, STARTUP_WORLD_ACTOR);
      assert.match(String(entry?.details?.sha256), /^[0-9a-f]{64}$/);
      assert.equal(await linked(s), "4000002");
    });

    it("after a user removes the world's link and links another id, the same world starts again and keeps what the user did", async () => {
      const s = server as RunningServer;
      const auth = { authorization: `Bearer ${await token(s)}` };
      assert.equal((await call(s, `${PAL}/4000002?${V}`, { method: "DELETE", headers: auth })).status, 200);
      const put = await call(s, `${PAL}/4000001?${V}`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: "{}" });
      assert.equal(put.status, 200, await put.clone().text());
      await stop();

      const again = await start(); // failed before: "$.links[2]: overlaps the link to 4000002 …"
      const outcome = startupWorldOutcome(again.openpal.context);
      assert.equal(outcome?.kind, "already-applied");
      assert.ok(outcome?.kind === "already-applied" && (outcome.changesSince["partnerLink.delete"] ?? 0) + (outcome.changesSince["partnerLink.create"] ?? 0) >= 2, JSON.stringify(outcome));
      assert.match(describeStartupWorld(outcome), /already applied at .*; not applied again: \d+ changes made since were kept \(partnerLink \d+\)/);
      assert.equal(await linked(again), "4000001", "the user's link is kept");
      const applies = (await again.openpal.context.store.audit.latest("world.apply")).filter((e) => e.details?.actor === STARTUP_WORLD_ACTOR);
      assert.equal(applies.length, 1, "the same file is not applied twice");
    });

    it("a world file changed since, that conflicts with the user's changes, is left out with a warning naming the conflict; the server starts", async () => {
      await stop();
      const doc = JSON.parse(readFileSync(worldFile, "utf8")) as { tenants: { id: string; displayName: string }[] };
      const fabrikam = doc.tenants.find((t) => t.id === FABRIKAM) as { displayName: string };
      const before = fabrikam.displayName;
      fabrikam.displayName = `${before} (renamed)`;
      writeFileSync(worldFile, JSON.stringify(doc, null, 2));

      const s = await start();
      const outcome = startupWorldOutcome(s.openpal.context);
      assert.equal(outcome?.kind, "kept");
      assert.ok(outcome?.kind === "kept" && outcome.problems.some((p) => p.path === "$.links[2]"));
      assert.match(describeStartupWorld(outcome), /not applied: it conflicts with changes made in this data dir.*fresh --data-dir.*\$\.links\[2\]/);
      assert.equal(await linked(s), "4000001", "the user's link is kept");
      const tenant = await s.openpal.context.store.directory.getTenant(FABRIKAM);
      assert.equal(tenant?.displayName, before, "nothing from the conflicting file was applied");
    });

    it("on a data dir with history, a changed world that is invalid (not merely conflicting) still refuses to start", async () => {
      await stop();
      const doc = JSON.parse(readFileSync(worldFile, "utf8")) as { links: { tenantId: string; objectId: string; partnerId: string; from: string }[] };
      doc.links.push({ tenantId: "99999999-0000-4000-8000-000000000009", objectId: "99999999-0001-4000-8000-000000000001", partnerId: "4000001", from: "2026-09-01T00:00:00Z" });
      writeFileSync(worldFile, JSON.stringify(doc, null, 2));
      await assert.rejects(start(), (e: Error) => e instanceof WorldFileError && /99999999-0000-4000-8000-000000000009/.test(e.message));
    });

    it("a conflicting world on a data dir it was never applied to still refuses to start", async () => {
      await stop();
      const other = mkdtempSync(path.join(dir, "other-"));
      const fresh = await backend.storeOptions();
      // Same demo world, with links[2] now starting a day later and an earlier open link declared first.
      const doc = JSON.parse(readFileSync(path.join(ROOT, "src/world/demo/world.json"), "utf8")) as { links: { tenantId: string; objectId: string; partnerId: string; from: string; to?: string | null }[] };
      const l2 = doc.links[2] as (typeof doc.links)[number];
      doc.links.push({ ...l2, partnerId: "4000001", from: "2026-11-01T00:00:00Z" });
      const file = path.join(other, "world.json");
      writeFileSync(file, JSON.stringify(doc));
      const tls = process.env.OPENPAL_TEST_TLS_DIR as string;
      try {
        await assert.rejects(startServer(testOptions({
          port: 0, dataDir: path.join(other, "data"), logLevel: "silent", world: file,
          cert: path.join(tls, "server.crt"), key: path.join(tls, "server.key"), ...fresh.options,
        })), (e: Error) => e instanceof WorldFileError && /links\[/.test(e.message));
      } finally {
        await fresh.drop();
      }
    });
  });
}
