import { describe, it, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { buildApp, type OpenPalApp } from "../../src/server/index.ts";
import { testOptions, type Options, type RawValue } from "../../src/options/index.ts";
import { openStore } from "../../src/store/index.ts";
import { sql } from "kysely";
import { CONTOSO_APP } from "./support.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const WORLD = path.resolve(import.meta.dirname, "../../src/world/demo/world.json");
const apps: OpenPalApp[] = [];
after(async () => {
  for (const a of apps) await a.close();
});

async function app(overrides: Partial<Record<keyof Options, RawValue>> = {}): Promise<OpenPalApp> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-metrics-"));
  const a = await buildApp(testOptions({ inMemory: true, dataDir, logLevel: "silent", ...overrides }));
  apps.push(a);
  return a;
}

const admin = (a: OpenPalApp) => ({ authorization: `Bearer ${a.context.adminKey}` });

describe("/metrics: Prometheus text format, by route pattern and status", () => {
  it("counts requests under the route pattern, never the raw URL, with latency histograms", async () => {
    const a = await app({ metrics: "open" });
    for (let i = 0; i < 3; i++) await a.app.inject({ method: "GET", url: "/healthz" });
    await a.app.inject({ method: "GET", url: `/00000000-0000-0000-0000-00000000abcd/v2.0/.well-known/openid-configuration` });
    await a.app.inject({ method: "GET", url: "/no/such/path/12345" });
    const res = await a.app.inject({ method: "GET", url: "/metrics" });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    const text = res.body;
    assert.match(text, /openpal_http_requests_total\{method="GET",route="\/healthz",status="200"\} 3/);
    assert.match(text, /openpal_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/healthz",status="200"\} \d+/);
    assert.match(text, /route="\(unmatched\)",status="404"/);
    // Only label values are searched: a sample's number (heap bytes, start time) may hold these digits.
    assert.doesNotMatch(text, /="[^"]*(00000000abcd|12345)[^"]*"/, "raw path segments never become labels");
    assert.match(text, /openpal_store_connections\{store="sqlite"\} 1/);
    assert.match(text, /openpal_process_resident_memory_bytes|openpal_process_heap_bytes|openpal_process_nodejs_heap_size_used_bytes/);
  });

  it("counts the SQLite group commit's batches and the link writes they carried", async () => {
    const a = await app({ metrics: "open" });
    const before = await a.app.inject({ method: "GET", url: "/metrics" });
    const count = (text: string, name: string) => Number(new RegExp(`^${name}\\{store="sqlite"\\} (\\d+)$`, "m").exec(text)?.[1] ?? "0");
    const store = a.context.store;
    const tid = "aaaaaaaa-0000-4000-8000-00000000e001";
    await store.directory.putTenant({ id: tid, displayName: "M", domain: "m.example", createdAt: 0 });
    await store.partners.putOrganisation({ globalId: "4900000", name: "Metrics Partner", tenantIds: [], createdAt: 0 });
    await store.partners.putLocation({ id: "4900001", globalId: "4900000", country: "US", name: null, createdAt: 0 });
    const link = (i: number) => store.writeLink(tid, `bbbbbbbb-0000-4000-8000-${String(i).padStart(12, "0")}`, (state) => {
      const next = { partnerId: "4900001", version: state.version + 1, createdTime: 1, updatedTime: 1 };
      return { result: next, change: { previous: state, next, at: 1, audit: { at: 1, tenantId: tid, actorTenantId: tid, actorObjectId: null, action: "partnerLink.create", target: "4900001", requestId: null } } };
    });
    await Promise.all([0, 1, 2, 3].map(link)); // one turn: one batch of four
    await link(4); // a later turn: a batch of one
    const text = (await a.app.inject({ method: "GET", url: "/metrics" })).body;
    assert.equal(count(text, "openpal_store_link_write_batches_total") - count(before.body, "openpal_store_link_write_batches_total"), 2);
    assert.equal(count(text, "openpal_store_link_writes_batched_total") - count(before.body, "openpal_store_link_writes_batched_total"), 5);
  });

  it("counts issued tokens by grant type, and only issued ones", async () => {
    const a = await app({ metrics: "open", world: WORLD });
    const form = (secret: string) => ({
      method: "POST" as const, url: "/10000000-0000-4000-8000-000000000001/oauth2/v2.0/token",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({ grant_type: "client_credentials", client_id: CONTOSO_APP.id, client_secret: secret, scope: "https://management.azure.com/.default" }).toString(),
    });
    assert.equal((await a.app.inject(form(CONTOSO_APP.secret))).statusCode, 200);
    assert.equal((await a.app.inject(form(CONTOSO_APP.secret))).statusCode, 200);
    assert.notEqual((await a.app.inject(form("wrong-secret"))).statusCode, 200);
    const text = (await a.app.inject({ method: "GET", url: "/metrics" })).body;
    assert.match(text, /openpal_tokens_issued_total\{grant_type="client_credentials"\} 2\n/);
    assert.doesNotMatch(text, /wrong-secret|contoso-demo-secret/);
  });

  it("records attribution and lake import timings done in the process", async () => {
    const { observeAttribution, observeLakeImport } = await import("../../src/ops/index.ts");
    observeAttribution("ok", 1.5, { facts: 700, rollups: 300 });
    observeLakeImport("focus", 0.25, 1000);
    const a = await app({ metrics: "open" });
    const text = (await a.app.inject({ method: "GET", url: "/metrics" })).body;
    assert.match(text, /openpal_attribution_step_seconds_count\{step="total"\} [1-9]/);
    assert.match(text, /openpal_attribution_step_seconds_sum\{step="facts"\} [0-9.]+/);
    assert.match(text, /openpal_lake_import_rows_total\{format="focus"\} [1-9]/);
  });
});

describe("/metrics access is configurable (--metrics open | admin | off)", () => {
  it("admin (the default) answers 401 without the operator key and 200 with it", async () => {
    const a = await app();
    assert.equal(a.context.options.metrics, "admin");
    const denied = await a.app.inject({ method: "GET", url: "/metrics" });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.json().error.code, "AdminKeyRequired");
    assert.match(denied.json().error.message, /admin\.key.*--metrics open/);
    assert.equal((await a.app.inject({ method: "GET", url: "/metrics", headers: { authorization: "Bearer wrong" } })).statusCode, 401);
    assert.equal((await a.app.inject({ method: "GET", url: "/metrics", headers: admin(a) })).statusCode, 200);
  });

  it("off answers 404, as for any unknown path", async () => {
    const a = await app({ metrics: "off" });
    assert.equal((await a.app.inject({ method: "GET", url: "/metrics", headers: admin(a) })).statusCode, 404);
  });
});

describe("/readyz (readiness) is separate from /healthz (liveness)", () => {
  it("is ready when the store answers and every migration is applied", async () => {
    const a = await app();
    const res = await a.app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: "ready", checks: { store: "ok", migrations: "ok", server: "ok" } });
  });

  it("is not ready (503, naming the migration) when a migration is missing, while /healthz still answers", async () => {
    const store = await openStore({ kind: "sqlite", sqlitePath: ":memory:" });
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-metrics-"));
    const a = await buildApp(testOptions({ inMemory: true, dataDir, logLevel: "silent" }), { store });
    apps.push(a);
    await sql`DELETE FROM openpal_migrations WHERE name = ${"0007_attribution"}`.execute(store.db);
    const res = await a.app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().checks.migrations, "pending");
    assert.match(res.json().problem, /0007_attribution/);
    assert.equal((await a.app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
    await store.close();
    const down = await a.app.inject({ method: "GET", url: "/readyz" });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().checks.store, "unreachable");
  });

  it("is not ready once the server is stopping, so a load balancer drains it", async () => {
    const a = await app();
    a.operations.markStopping();
    const res = await a.app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().checks.server, "stopping");
  });
});

describe("/metrics: a request its client abandons leaves the in-flight count", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({});
  });
  after(async () => server.close());

  const inFlight = async () => {
    const text = await (await server.fetch("/metrics", { headers: { authorization: `Bearer ${server.openpal.context.adminKey}` } })).text();
    // The scrape itself is in flight while it is answered.
    return Number(/^openpal_http_requests_in_flight (\d+)$/m.exec(text)?.[1]) - 1;
  };

  /** Starts a PUT, sends part of its body, then closes the connection. */
  const abandon = (headers: Record<string, string>) =>
    new Promise<void>((resolve) => {
      const url = new URL(`${server.url}/providers/Microsoft.ManagementPartner/partners/4000001?api-version=2018-02-01`);
      const req = https.request(url, { method: "PUT", rejectUnauthorized: false, headers: { "content-type": "application/json", ...headers } });
      req.on("error", () => undefined);
      req.write('{"partner');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });

  for (const [kind, headers] of [
    ["declared length", { "content-length": "1000" }],
    ["chunked", { "transfer-encoding": "chunked" }],
  ] as const) {
    it(`a body cut off mid-way (${kind}) is no longer counted once its client is gone`, async () => {
      assert.equal(await inFlight(), 0);
      await abandon(headers);
      let left = await inFlight();
      for (let i = 0; i < 50 && left !== 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        left = await inFlight();
      }
      assert.equal(left, 0);
    });
  }
});
