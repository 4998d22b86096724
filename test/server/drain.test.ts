import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import tls from "node:tls";
import Fastify, { type FastifyInstance } from "fastify";
import { installDrain } from "../../src/server/drain.ts";
import { startTestServer, testCaPath } from "../support/server.ts";

/**
 * A bare fastify HTTPS server with the drain installed (or not, to show what Node does alone).
 * GET /fast answers at once, synchronously; GET /slow runs `onSlow` a turn after it starts (when
 * its request has been read in full), then answers 40 ms later.
 */
async function server(opts: { drain: boolean; stopping?: () => boolean; onSlow?: (app: FastifyInstance) => void }): Promise<{ app: FastifyInstance; port: number }> {
  const dir = path.dirname(testCaPath());
  const app = Fastify({ https: { cert: readFileSync(path.join(dir, "server.crt")), key: readFileSync(path.join(dir, "server.key")) } }) as unknown as FastifyInstance;
  if (opts.drain) installDrain(app, opts.stopping ?? (() => false));
  app.get("/fast", (_req, reply) => {
    reply.send("fast");
  });
  app.get("/slow", async () => {
    await null;
    opts.onSlow?.(app);
    await new Promise((r) => setTimeout(r, 40));
    return "slow";
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  return { app, port: typeof address === "object" && address ? address.port : 0 };
}

/** Opens a TLS connection, writes `text` in one go, and collects what comes back until the server closes or `until` holds. */
function exchange(port: number, text: string, until: (received: string) => boolean = () => false): Promise<{ received: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    let received = "";
    const socket = tls.connect({ port, host: "127.0.0.1", ca: readFileSync(testCaPath()), servername: "localhost" }, () => socket.write(text));
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
      if (until(received)) {
        socket.destroy();
        resolve({ received, closedByServer: false });
      }
    });
    socket.on("error", () => resolve({ received, closedByServer: true }));
    socket.on("close", () => resolve({ received, closedByServer: true }));
    setTimeout(() => reject(new Error(`no end within 5 s; received: ${received}`)), 5_000).unref();
  });
}

const TWO_PIPELINED = "GET /fast HTTP/1.1\r\nHost: localhost\r\n\r\nGET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n";
const bothAnswered = (r: string) => r.includes("\r\n\r\nfast") && r.includes("\r\n\r\nslow");

describe("draining: a stopping server closes only connections with nothing in flight", () => {
  it("Node's own closeIdleConnections destroys a connection whose next request is in flight while the previous answer is still attached (the race the drain removes)", async () => {
    const { app, port } = await server({ drain: false, onSlow: (a) => a.server.closeIdleConnections() });
    try {
      const { received } = await exchange(port, TWO_PIPELINED, bothAnswered);
      assert.ok(received.includes("fast"), received);
      assert.ok(!received.includes("slow"), `Node's closeIdleConnections spared the request in flight; received: ${received}`);
    } finally {
      await app.close();
    }
  });

  it("with the drain, that request in flight is answered: the connection is not idle until every request it brought is", async () => {
    const { app, port } = await server({ drain: true, onSlow: (a) => a.server.closeIdleConnections() });
    try {
      const { received } = await exchange(port, TWO_PIPELINED, bothAnswered);
      assert.ok(bothAnswered(received), `both answers expected; received: ${received}`);
    } finally {
      await app.close();
    }
  });

  it("closes a keep-alive connection that has been answered and sent nothing since", async () => {
    const { app, port } = await server({ drain: true });
    try {
      let answered!: () => void;
      const firstAnswer = new Promise<void>((r) => (answered = r));
      const closed = exchange(port, "GET /fast HTTP/1.1\r\nHost: localhost\r\n\r\n", (r) => {
        if (r.includes("\r\n\r\nfast")) answered();
        return false;
      });
      await firstAnswer;
      // The answer's onResponse runs after the client may already have it: wait for the server's side.
      await new Promise((r) => setTimeout(r, 50));
      app.server.closeIdleConnections();
      const { closedByServer } = await closed;
      assert.equal(closedByServer, true);
    } finally {
      await app.close();
    }
  });

  it("keeps a connection whose next request has begun to arrive (headers not complete yet)", async () => {
    const { app, port } = await server({ drain: true });
    try {
      const socket = tls.connect({ port, host: "127.0.0.1", ca: readFileSync(testCaPath()), servername: "localhost" });
      let received = "";
      socket.setEncoding("utf8");
      socket.on("data", (c: string) => (received += c));
      let closed = false;
      socket.on("close", () => (closed = true));
      await new Promise<void>((r) => socket.once("secureConnect", () => r()));
      socket.write("GET /fast HTTP/1.1\r\nHost: localhost\r\n\r\n");
      while (!received.includes("\r\n\r\nfast")) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
      socket.write("GET /fast HTTP/1.1\r\nHost: loc");
      await new Promise((r) => setTimeout(r, 50));
      app.server.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(closed, false, "a connection in the middle of a request is not idle");
      socket.write("alhost\r\n\r\n");
      while (received.split("\r\n\r\nfast").length < 3) await new Promise((r) => setTimeout(r, 5));
      socket.destroy();
    } finally {
      await app.close();
    }
  });

  it("an answer sent once the server is stopping says Connection: close, so a busy connection ends after its last answer", async () => {
    // The server starts stopping while the request runs.
    let stopping = false;
    const { app, port } = await server({ drain: true, stopping: () => stopping, onSlow: () => (stopping = true) });
    try {
      const { received, closedByServer } = await exchange(port, "GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n");
      assert.match(received, /^HTTP\/1\.1 200/);
      assert.match(received, /\r\nconnection: close\r\n/i);
      assert.ok(received.endsWith("slow"), received);
      assert.equal(closedByServer, true);
    } finally {
      await app.close();
    }
  });
});

describe("draining: a request that arrives while the server stops", () => {
  it("gets 503 with Retry-After in the ARM error shape, with the headers every answer has, and Connection: close", async () => {
    const server = await startTestServer();
    try {
      server.openpal.operations.markStopping();
      const res = await server.fetch("/providers/Microsoft.ManagementPartner/partners?api-version=2018-02-01");
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "1");
      assert.equal(res.headers.get("connection"), "close");
      assert.ok(res.headers.get("x-ms-request-id"), "the request id header");
      assert.match(res.headers.get("strict-transport-security") ?? "", /max-age=/);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, "ServiceUnavailable");
      assert.match(body.error.message, /stopping/);
    } finally {
      await server.close();
    }
  });

  it("still answers liveness (200) and readiness (503, saying it is stopping), so a load balancer sees why", async () => {
    const server = await startTestServer();
    try {
      server.openpal.operations.markStopping();
      assert.equal((await server.fetch("/healthz")).status, 200);
      const ready = await server.fetch("/readyz");
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { checks: { server: string } }).checks.server, "stopping");
    } finally {
      await server.close();
    }
  });
});
