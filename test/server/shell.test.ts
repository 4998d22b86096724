import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { startTestServer, type TestServer } from "../support/server.ts";
import { buildApp } from "../../src/server/index.ts";
import { testOptions } from "../../src/options/index.ts";
import { mkdtempSync } from "node:fs";
import os from "node:os";

describe("server shell over HTTPS", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it("serves /healthz over HTTPS on the port the system chose", async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await server.fetch("/healthz");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  it("writes server.json with the URL, the CA path and the pid", () => {
    const info = JSON.parse(readFileSync(path.join(server.dataDir, "server.json"), "utf8"));
    assert.deepEqual(Object.keys(info), ["url", "caCert", "pid"]);
    assert.equal(info.url, server.url);
    assert.equal(info.pid, process.pid);
  });

  it("gives every response a new x-ms-request-id and echoes the client's correlation and request ids", async () => {
    const a = await server.fetch("/healthz");
    const b = await server.fetch("/healthz", { headers: { "x-ms-correlation-request-id": "corr-1", "x-ms-client-request-id": "client-1" } });
    assert.match(a.headers.get("x-ms-request-id") ?? "", /^[0-9a-f-]{36}$/);
    assert.notEqual(a.headers.get("x-ms-request-id"), b.headers.get("x-ms-request-id"));
    assert.equal(a.headers.get("x-ms-correlation-request-id"), a.headers.get("x-ms-request-id"));
    assert.equal(b.headers.get("x-ms-correlation-request-id"), "corr-1");
    assert.equal(b.headers.get("x-ms-client-request-id"), "client-1");
  });

  it("answers an unknown route with a JSON 404 that names the request", async () => {
    const res = await server.fetch("/nowhere");
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "NotFound");
  });
});

describe("logs never contain credentials", () => {
  it("redacts the Authorization header, cookies and credential query parameters; every line carries the request id", async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-log-"));
    const openpal = await buildApp(testOptions({ inMemory: true, dataDir, logLevel: "debug" }), { logDestination: sink });
    openpal.app.get("/echo", async (req) => {
      req.log.info({ headers: req.headers }, "saw headers");
      return {};
    });
    const res = await openpal.app.inject({ method: "GET", url: "/echo?code=SECRET-CODE&client_secret=SECRET-2&x=1", headers: { authorization: "Bearer SECRET-TOKEN", cookie: "s=SECRET-COOKIE" } });
    await openpal.close();
    const text = lines.join("");
    for (const secret of ["SECRET-CODE", "SECRET-2", "SECRET-TOKEN", "SECRET-COOKIE"]) assert.ok(!text.includes(secret), `log contains ${secret}`);
    assert.ok(text.includes("[redacted]") && text.includes("code=%5Bredacted%5D"));
    const requestLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "saw headers" || l.msg === "request completed");
    assert.equal(requestLines.length, 2);
    for (const l of requestLines) assert.equal(l.requestId, res.headers["x-ms-request-id"]);
  });
});

describe("request bodies", () => {
  it("accepts Content-Length: 0 with a JSON content type, and answers malformed JSON with a 400 that says so", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-body-"));
    const openpal = await buildApp(testOptions({ inMemory: true, dataDir, logLevel: "silent" }));
    openpal.app.put("/body", async (req) => ({ body: req.body ?? null }));
    const empty = await openpal.app.inject({ method: "PUT", url: "/body", headers: { "content-type": "application/json", "content-length": "0" } });
    assert.equal(empty.statusCode, 200);
    assert.deepEqual(empty.json(), { body: null });
    const bad = await openpal.app.inject({ method: "PUT", url: "/body", headers: { "content-type": "application/json" }, payload: "{not json" });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /not valid JSON/);
    await openpal.close();
  });
});
