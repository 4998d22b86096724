/**
 * World files through their entry points: `serve --world`, the operator endpoint
 * POST/GET /admin/world, and the `openpal world` commands.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { startTestServer, type TestServer } from "../support/server.ts";
import { baseWorld, type Loose, CUSTOMER_T, MEMBER } from "./fixtures.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DEMO = path.join(ROOT, "src/world/demo/world.json");
const FABRIKAM = "30000000-0000-4000-8000-000000000003";

/** The base world with its own domains and partner ids, so it sits beside the demo world. */
function isolatedWorld(): Loose {
  const doc: Loose = baseWorld();
  doc.tenants[0].domain = "contoso-test.example";
  doc.tenants[1].domain = "fabrikam-test.example";
  const text = JSON.stringify(doc).replace(/"400000(\d)"/g, '"700000$1"');
  return JSON.parse(text);
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("serve --world and /admin/world", () => {
  let server: TestServer;
  let key: string;
  const json = (body: unknown, auth = true): RequestInit => ({
    method: "POST",
    headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${key}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  before(async () => {
    server = await startTestServer({ options: { world: DEMO } });
    key = server.openpal.context.adminKey;
  });
  after(async () => server.close());

  it("serve --world applies the file before listening", async () => {
    const tenant = await server.openpal.context.store.directory.getTenant(FABRIKAM);
    assert.equal(tenant?.displayName, "Fabrikam");
    assert.equal((await server.openpal.context.store.audit.list()).filter((e) => e.action === "world.apply").length, 1);
  });

  it("POST /admin/world without the operator key is 401, and so is a wrong key", async () => {
    const none = await server.fetch("/admin/world", json(isolatedWorld(), false));
    assert.equal(none.status, 401);
    assert.match(((await none.json()) as { error: { message: string } }).error.message, /admin\.key/);
    const wrong = await server.fetch("/admin/world", { ...json(isolatedWorld(), false), headers: { "content-type": "application/json", authorization: "Bearer nope" } });
    assert.equal(wrong.status, 401);
    const get = await server.fetch("/admin/world");
    assert.equal(get.status, 401);
  });

  it("a body that is not JSON is a 400 naming the problem, never a 500", async () => {
    const res = await server.fetch("/admin/world", json("{ not json"));
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /not valid JSON/);
    const arr = await server.fetch("/admin/world", json([1, 2, 3]));
    assert.equal(arr.status, 400);
    const body = (await arr.json()) as { error: { code: string; details: { target: string }[] } };
    assert.equal(body.error.code, "InvalidWorldFile");
    assert.equal(body.error.details[0]?.target, "$");
    const empty = await server.fetch("/admin/world", { method: "POST", headers: { authorization: `Bearer ${key}` } });
    assert.ok(empty.status >= 400 && empty.status < 500, `status ${empty.status}`);
  });

  it("an invalid world is a 400 listing every problem with its path, and nothing changes", async () => {
    const doc: Loose = isolatedWorld();
    doc.links[0].partnerId = "7000000";
    doc.tenants[1].users[0].id = "not-a-guid";
    const res = await server.fetch("/admin/world", json(doc));
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { details: { target: string; message: string }[] } };
    assert.deepEqual(body.error.details.map((d) => d.target), ["$.tenants[1].users[0].id"]);
    assert.equal(await server.openpal.context.store.directory.getTenant(CUSTOMER_T), undefined);
  });

  it("a valid world is a 200 with the summary; GET returns the export with it", async () => {
    const res = await server.fetch("/admin/world", json(isolatedWorld()));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { summary: { counts: Record<string, { created: number }> } };
    assert.equal(body.summary.counts.tenant?.created, 2);
    const exp = await server.fetch("/admin/world", { headers: { authorization: `Bearer ${key}` } });
    assert.equal(exp.status, 200);
    const world = (await exp.json()) as { tenants: { id: string; users: { id: string }[] }[] };
    assert.ok(world.tenants.find((t) => t.id === CUSTOMER_T)?.users.some((u) => u.id === MEMBER));
    assert.ok(world.tenants.some((t) => t.id === FABRIKAM));
  });

  it("YAML bodies are accepted with a YAML content type", async () => {
    const res = await server.fetch("/admin/world", { method: "POST", headers: { "content-type": "application/yaml", authorization: `Bearer ${key}` }, body: YAML.stringify(isolatedWorld()) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { summary: { counts: Record<string, { created: number; updated: number }> } };
    assert.equal(body.summary.counts.tenant?.created, 0);
  });

  it("openpal world apply and export talk to the server found through the data dir", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-world-cli-"));
    try {
      const file = path.join(dir, "w.yaml");
      writeFileSync(file, YAML.stringify(isolatedWorld()));
      const applied = await cliAsync(["world", "apply", file, "--data-dir", server.dataDir]);
      assert.equal(applied.status, 0, applied.stderr);
      assert.match(applied.stdout, /tenant\s+0\s+0\s+2/);
      const out = path.join(dir, "export.json");
      const exported = await cliAsync(["world", "export", "--output", out, "--data-dir", server.dataDir]);
      assert.equal(exported.status, 0, exported.stderr);
      assert.ok((JSON.parse(readFileSync(out, "utf8")) as { tenants: unknown[] }).tenants.length >= 7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Runs the CLI without blocking the event loop (the server under test lives in this process). */
function cliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), ...args], { cwd: ROOT, env: { ...process.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("openpal world validate / serve --world on a bad file", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "openpal-world-bad-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("world validate prints each problem with its path and exits 2", () => {
    const doc: Loose = baseWorld();
    doc.links[0].partnerId = "4000000";
    doc.tenants[1].roleAssignments[0].role = "Janitor";
    const file = path.join(dir, "bad.json");
    writeFileSync(file, JSON.stringify(doc));
    const r = cli(["world", "validate", file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /\$\.links\[0\]\.partnerId: 4000000 is a global/);
    assert.match(r.stderr, /\$\.tenants\[1\]\.roleAssignments\[0\]\.role: role "Janitor" is unknown/);
  });

  it("world validate accepts the demo world", () => {
    const r = cli(["world", "validate", DEMO]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /is valid/);
  });

  it("serve --world with an invalid file prints the problems and exits 2 without listening", () => {
    const file = path.join(dir, "bad-serve.json");
    const doc: Loose = baseWorld();
    doc.tenants[1].users[1].password = "guests-have-none";
    writeFileSync(file, JSON.stringify(doc));
    const tls = process.env.OPENPAL_TEST_TLS_DIR ?? "";
    const r = cli(["serve", "--world", file, "--in-memory", "--port", "0", "--data-dir", path.join(dir, "data"), "--log-level", "silent",
      "--cert", path.join(tls, "server.crt"), "--key", path.join(tls, "server.key")]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /\$\.tenants\[1\]\.users\[1\]\.password: a guest signs in/);
    assert.ok(!r.stderr.includes("guests-have-none"));
  });
});
