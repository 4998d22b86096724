/**
 * Several servers on one PostgreSQL: three `openpal serve` processes with their own data dirs
 * and one --public-url (as behind a load balancer), on one schema, driven at once.
 */
import { randomBytes } from "node:crypto";
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { decodeJwt } from "jose";
import { freshPostgresUrl } from "../support/stores.ts";
import { openStore, withOperationLock, type Store } from "../../src/store/index.ts";
import { BIN, CONTOSO_APP_TENANTS, PAL, PAL_VERSION, clientToken, demoWorldCopy, spawnServer, type ServerProcess } from "./support.ts";

const PG = process.env.OPENPAL_TEST_POSTGRES_URL;
const PUBLIC_URL = "https://openpal.test:8443";
const ALICE = { upn: "alice@contoso.example", password: "Contoso-Alice-2026!" };
const FABRIKAM = "30000000-0000-4000-8000-000000000003";

/** A URL the server wrote with the public URL, sent to a given server instead. */
const via = (server: ServerProcess, url: string): string => url.replace(PUBLIC_URL, server.url);

type Jar = Map<string, string>;
const cookieHeader = (jar: Jar) => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
function keep(jar: Jar, res: Response): void {
  for (const line of res.headers.getSetCookie()) {
    const [pair = ""] = line.split(";");
    const eq = pair.indexOf("=");
    const value = pair.slice(eq + 1).trim();
    if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(pair.slice(0, eq).trim());
    else jar.set(pair.slice(0, eq).trim(), value);
  }
}

describe("three servers on one PostgreSQL share every state through the store", { skip: PG ? false : "OPENPAL_TEST_POSTGRES_URL is not set" }, () => {
  const servers: ServerProcess[] = [];
  let store: Store;
  let drop: () => Promise<void>;
  let url: string;
  const dirs: string[] = [];

  before(async () => {
    const fresh = await freshPostgresUrl(PG as string);
    url = fresh.url;
    drop = fresh.drop;
    const args = (world?: string) => ["--postgres-url", url, "--public-url", PUBLIC_URL, ...(world ? ["--world", world] : [])];
    // Servers on one store share the key-encryption key that seals the signing keys (docs/OPERATIONS.md).
    const env = { OPENPAL_KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64") };
    const first = mkdtempSync(path.join(os.tmpdir(), "openpal-scale-"));
    dirs.push(first);
    // The first server applies the world; the others start on the populated store.
    // Each server joins `servers` as soon as it listens, so after() stops it even when a sibling
    // fails to start (a leaked child would keep the test file, and the suite, from ending).
    const a = await spawnServer({ dataDir: first, args: args(demoWorldCopy(first)), env });
    servers.push(a);
    await Promise.all([1, 2].map(async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-scale-"));
      dirs.push(dir);
      servers.push(await spawnServer({ dataDir: dir, args: args(), env }));
    }));
    store = await openStore({ kind: "postgres", postgresUrl: url });
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await store?.close();
    await drop?.();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("a link written on one server is read on the others, with a token issued by yet another", async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const tenant = CONTOSO_APP_TENANTS[1] as string;
    const token = await clientToken(c, tenant);
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const now = await a.fetch(`${PAL}?${PAL_VERSION}`, { headers: auth });
    const linkedTo = now.status === 200 ? ((await now.json()) as { properties: { partnerId: string } }).properties.partnerId : null;
    const target = linkedTo === "5100001" ? "4000001" : "5100001";
    const put = await a.fetch(`${PAL}/${target}?${PAL_VERSION}`, { method: linkedTo ? "PATCH" : "PUT", headers: auth, body: "{}" });
    assert.equal(put.status, 200, await put.clone().text());
    for (const s of [b, c]) {
      const res = await s.fetch(`${PAL}?${PAL_VERSION}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { properties: { partnerId: string } }).properties.partnerId, target);
    }
  });

  it("concurrent PATCHes of one link through different servers lose no update and leave no overlapping intervals", async () => {
    const tenant = CONTOSO_APP_TENANTS[2] as string;
    const token = await clientToken(servers[0] as ServerProcess, tenant);
    const objectId = String(decodeJwt(token).oid);
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const current = await store.links.current(tenant, objectId);
    if (current.partnerId === null) {
      const first = await (servers[0] as ServerProcess).fetch(`${PAL}/4000001?${PAL_VERSION}`, { method: "PUT", headers: auth, body: "{}" });
      assert.equal(first.status, 200, await first.clone().text());
    }
    const before = await store.links.current(tenant, objectId);
    const intervalsBefore = (await store.links.history({ tenantId: tenant, objectId })).length;
    const partners = ["4000002", "5100001", "4000001"];
    const perServer = 15;
    const answers = await Promise.all(servers.map(async (s, i) => {
      const out: { status: number; version: number; partnerId: string }[] = [];
      for (let n = 0; n < perServer; n++) {
        const res = await s.fetch(`${PAL}/${partners[(n + i) % partners.length]}?${PAL_VERSION}`, { method: "PATCH", headers: auth, body: "{}" });
        const body = (await res.json()) as { properties: { version: number; partnerId: string } };
        out.push({ status: res.status, version: body.properties?.version, partnerId: body.properties?.partnerId });
      }
      return out;
    }));
    const all = answers.flat();
    assert.ok(all.every((x) => x.status === 200), `every PATCH answered 200: ${JSON.stringify(all.filter((x) => x.status !== 200))}`);
    // A PATCH to the id already linked writes nothing and answers the current version. So each
    // version answered names one partner id (two ids under one version would be a lost update),
    // and the versions run without a gap from the one before to the one after.
    const byVersion = new Map<number, Set<string>>();
    for (const x of all) byVersion.set(x.version, (byVersion.get(x.version) ?? new Set()).add(x.partnerId));
    for (const [v, ids] of byVersion) assert.equal(ids.size, 1, `version ${v} was answered for ${[...ids].join(" and ")}: an update was lost`);
    const afterState = await store.links.current(tenant, objectId);
    const writes = [...byVersion.keys()].filter((v) => v > before.version).sort((x, y) => x - y);
    assert.ok(writes.length >= 10, `the PATCHes interleaved into many writes (${writes.length})`);
    assert.deepEqual(writes, Array.from({ length: afterState.version - before.version }, (_, k) => before.version + 1 + k), "versions without a gap: none lost");
    assert.equal((await store.links.history({ tenantId: tenant, objectId })).length, intervalsBefore + writes.length, "one new interval per write");
    const intervals = (await store.links.history({ tenantId: tenant, objectId })).sort((x, y) => (x.validFrom ?? 0) - (y.validFrom ?? 0));
    assert.equal(intervals.filter((i) => i.validTo === null).length, 1, "exactly one open interval");
    for (let k = 1; k < intervals.length; k++) {
      const prev = intervals[k - 1] as { validTo: number | null };
      const next = intervals[k] as { validFrom: number | null };
      assert.ok(prev.validTo !== null && next.validFrom !== null && prev.validTo <= next.validFrom, `intervals ${k - 1} and ${k} do not overlap`);
    }
  });

  it("a portal sign-in started on one server completes on another, and the session works on all three", async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const jar: Jar = new Map();
    const start = await a.fetch(`/portal/signin?login_hint=${encodeURIComponent(ALICE.upn)}`, { redirect: "manual" });
    keep(jar, start);
    assert.equal(start.status, 302);
    const page = await b.fetch(via(b, start.headers.get("location") as string));
    const html = await page.text();
    const action = (/<form method="post" action="([^"]+)"/.exec(html)?.[1] as string).replace(/&amp;/g, "&");
    const form = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1] as string, (m[2] as string).replace(/&amp;/g, "&").replace(/&quot;/g, '"'));
    form.set("login", ALICE.upn);
    form.set("passwd", ALICE.password);
    form.set("action", "signin");
    const posted = await b.fetch(via(b, action.startsWith("http") ? action : `${b.url}${action}`), { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() });
    assert.equal(posted.status, 302, await posted.clone().text());
    const done = await c.fetch(via(c, posted.headers.get("location") as string), { redirect: "manual", headers: { cookie: cookieHeader(jar) } });
    keep(jar, done);
    assert.equal(done.status, 302);
    assert.ok(jar.has("openpal_portal_session"), "the callback on the third server made the session");

    const call = async (s: ServerProcess, method: string, apiPath: string, body?: unknown, csrf?: string) => {
      const headers: Record<string, string> = { cookie: cookieHeader(jar) };
      if (method !== "GET") Object.assign(headers, { origin: PUBLIC_URL, "x-csrf-token": csrf ?? "" });
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await s.fetch(`/portal/api${apiPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return { status: res.status, body: (await res.json()) as any };
    };
    const sessions = await Promise.all(servers.map((s) => call(s, "GET", "/session")));
    for (const s of sessions) assert.equal(s.body.signedIn, true);
    const csrf = sessions[0]?.body.csrfToken as string;
    assert.ok(sessions.every((s) => s.body.csrfToken === csrf), "one CSRF token on every server");

    // Switch directory on one server (a new token from the refresh token), link on another, read on the third.
    const switched = await call(b, "POST", "/directory", { tenantId: FABRIKAM }, csrf);
    assert.equal(switched.status, 200, JSON.stringify(switched.body));
    const existing = await call(c, "GET", "/link");
    const linked = await call(c, existing.body.link ? "PATCH" : "PUT", "/link", { partnerId: existing.body.link?.partnerId === "4000001" ? "4000002" : "4000001" }, csrf);
    assert.equal(linked.status, 200, JSON.stringify(linked.body));
    const expectedPartner = linked.body.link.partnerId as string;
    assert.equal(linked.body.directory.tenantId, FABRIKAM);
    const read = await call(a, "GET", "/link");
    assert.equal(read.body.link.partnerId, expectedPartner);
    // Refreshes from all three at once: the single-use refresh token is never used twice.
    const back = await Promise.all(servers.map((s) => call(s, "GET", "/directories")));
    for (const r of back) assert.equal(r.status, 200, JSON.stringify(r.body));
    const signedOut = await call(a, "POST", "/signout", {}, csrf);
    assert.equal(signedOut.status, 200);
    for (const s of [b, c]) assert.equal((await call(s, "GET", "/session")).body.signedIn, false, "signed out everywhere");
  });

  it("a key rotation on one server is honoured by all: its new tokens verify everywhere, old ones still do", async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const tenant = CONTOSO_APP_TENANTS[3] as string;
    const old = await clientToken(a, tenant);
    const rotated = await b.fetch("/admin/keys/rotate", { method: "POST", headers: { authorization: `Bearer ${b.adminKey()}` } });
    assert.equal(rotated.status, 200);
    const { kid, previous } = (await rotated.json()) as { kid: string; previous: string };
    assert.notEqual(kid, previous);
    const fresh = await clientToken(b, tenant);
    const header = JSON.parse(Buffer.from(fresh.split(".")[0] as string, "base64url").toString()) as { kid: string };
    assert.equal(header.kid, kid, "the rotating server signs with the new key");
    for (const s of [a, b, c]) {
      for (const token of [fresh, old]) {
        const res = await s.fetch(`${PAL}?${PAL_VERSION}`, { headers: { authorization: `Bearer ${token}` } });
        // 200 or 404 (not linked): the token was accepted either way; a refused token is a 401.
        assert.ok(res.status === 200 || res.status === 404, `${s.url}: ${res.status} ${await res.text()}`);
      }
      const jwks = (await (await s.fetch(`/${tenant}/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] };
      assert.ok(jwks.keys.some((k) => k.kid === kid) && jwks.keys.some((k) => k.kid === previous), `${s.url} publishes both keys`);
    }
  });

  it("`attribution run` of a month runs once: a second start says it is running, or waits with --wait", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-scale-run-"));
    dirs.push(dataDir);
    let waitingOut = "";
    const cli = (extra: string[] = []) => new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, "attribution", "run", "--month", "2026-10", "--postgres-url", url, "--data-dir", dataDir, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString(), waitingOut = out));
      child.on("exit", (code) => resolve({ code, out }));
    });
    // Another server holds the month: the run says so and does nothing.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const nowHeld = new Promise<void>((r) => (holding = r));
    const holder = withOperationLock(store, "attribution 2026-10", { wait: false }, async () => {
      holding();
      await held;
    });
    await nowHeld;
    const refused = await cli();
    assert.equal(refused.code, 5, refused.out);
    assert.match(refused.out, /attribution 2026-10 is already running \(.+pid \d+.+\); wait for it to finish, or pass --wait/);
    // With --wait it waits for the holder, then runs.
    const waiting = cli(["--wait"]);
    const t0 = Date.now();
    while (!/waiting for it to finish/.test(waitingOut) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
    release();
    await holder;
    const ran = await waiting;
    assert.equal(ran.code, 0, ran.out);
    assert.match(ran.out, /is running .*waiting for it to finish/);
    assert.match(ran.out, /attributed 2026-10/);
    assert.ok(await store.attribution.run("2026-10", "pec"), "the waiting run attributed the month");
  });
});
