/**
 * Item 7 of issue 14 (error shapes): errors raised before any route runs answered in the web
 * framework's shape ({"error":"Bad Request","message":…,"statusCode":400}); now they answer in
 * the ARM shape every other error of the server has: {"error":{"code","message"}}.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import { startTestServer, testCaPath, type TestServer } from "../support/server.ts";

/** Sends raw bytes over TLS and returns the whole answer (the server closes the connection). */
function raw(server: TestServer, request: string): Promise<string> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: readFileSync(testCaPath(), "utf8"), servername: "localhost" }, () => socket.write(request));
    let answer = "";
    socket.on("data", (d) => (answer += String(d)));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
  });
}

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { error: { code: string; message: string } };

describe("transport and routing errors answer in the ARM error shape", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it("a malformed percent-encoding in the path is 400 InvalidRequestUri with a message naming the fix", async () => {
    const res = await server.fetch("/providers/Microsoft.ManagementPartner/partners/%E0%A4%A?api-version=2018-02-01");
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string }; statusCode?: number };
    assert.equal(body.error.code, "InvalidRequestUri");
    assert.match(body.error.message, /malformed percent-encoding; encode '%' as %25/);
    assert.equal(body.statusCode, undefined);
    assert.ok(res.headers.get("x-ms-request-id"));
  });

  it("over-long headers are 431 RequestHeaderFieldsTooLarge in the same shape", async () => {
    const answer = await raw(server, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.match(answer, /content-type: application\/json/i);
    const body = bodyOf(answer);
    assert.equal(body.error.code, "RequestHeaderFieldsTooLarge");
    assert.match(body.error.message, /larger than 16 KiB/);
  });

  it("bytes that are not HTTP are 400 BadRequest in the same shape", async () => {
    const answer = await raw(server, "HELLO\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.equal(bodyOf(answer).error.code, "BadRequest");
  });
});
