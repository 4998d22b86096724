/**
 * Item 2 of issue 14: a client that opened connections and never finished its headers kept them
 * forever (about 20,000 stopped the server). Now headers must arrive within --headers-timeout,
 * the TLS handshake too, and at most --max-connections are open at once. Loopback only, with a
 * bounded number of sockets.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import { startTestServer, testCaPath, type TestServer } from "../support/server.ts";

const SLOW = 20;

interface SlowSocket {
  readonly socket: tls.TLSSocket;
  readonly closed: Promise<string>;
}

/** A TLS connection that sends the start of a request and then nothing. */
function slowHeaders(server: TestServer, sendPartial: boolean): Promise<SlowSocket> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: readFileSync(testCaPath(), "utf8"), servername: "localhost" });
    let received = "";
    socket.on("data", (d) => (received += String(d)));
    const closed = new Promise<string>((res) => socket.on("close", () => res(received)));
    socket.on("error", () => undefined);
    socket.once("secureConnect", () => {
      if (sendPartial) socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
      resolve({ socket, closed });
    });
    socket.once("error", reject);
  });
}

describe("slow-headers clients cannot exhaust the server", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ options: { headersTimeoutSeconds: 1, requestTimeoutSeconds: 2, maxConnections: 200 } });
  });
  after(async () => server.close());

  it(`with ${SLOW} connections stuck in their headers, others are still answered, and the stuck ones get 408 and are closed`, async () => {
    const slow = await Promise.all(Array.from({ length: SLOW }, () => slowHeaders(server, true)));
    const res = await server.fetch("/healthz");
    assert.equal(res.status, 200);
    const started = Date.now();
    const answers = await Promise.all(slow.map((s) => s.closed));
    const waited = Date.now() - started;
    assert.ok(waited < 5000, `slow sockets closed after ${waited} ms`);
    for (const a of answers) {
      assert.match(a, /^HTTP\/1\.1 408 /);
      assert.match(a, /"code":"RequestTimeout"/);
    }
    assert.equal((await server.fetch("/healthz")).status, 200);
  });

  it("a connection that completes TLS and sends nothing is closed after the header timeout too", async () => {
    const idle = await slowHeaders(server, false);
    const started = Date.now();
    await idle.closed;
    assert.ok(Date.now() - started < 5000);
  });
});

describe("the connection cap closes connections beyond --max-connections", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ options: { headersTimeoutSeconds: 2, requestTimeoutSeconds: 2, maxConnections: 5 } });
  });
  after(async () => server.close());

  it("the sixth connection is refused while five are open; once they time out, requests are answered again", async () => {
    const held = await Promise.all(Array.from({ length: 5 }, () => slowHeaders(server, true)));
    await assert.rejects(slowHeaders(server, true));
    await Promise.all(held.map((h) => h.closed));
    assert.equal((await server.fetch("/healthz")).status, 200);
  });
});
