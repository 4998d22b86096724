/**
 * Which connections a stopping server closes at once, and which it lets finish.
 *
 * Node's http server, on close(), destroys every connection it judges idle: its parser is between
 * two requests and the response attached to the socket is finished. A keep-alive client's next
 * request can be parsed before the previous response is detached from the socket (over TLS, the
 * end of a write is reported on a later turn of the event loop); the new response then waits in
 * the socket's queue, the socket still shows the finished one, and close() destroys the
 * connection with that request in flight. A link write that commits after that is never answered:
 * the client sees a reset for a write the store kept (test/server/drain.test.ts reproduces it).
 *
 * So the server's `closeIdleConnections` is replaced by one that counts each connection's
 * requests itself: a connection is closed only when every request it brought has been answered
 * (the answer flushed) and no byte has arrived since. A stopping server's answers carry
 * `Connection: close`, so each busy connection ends after its last answer; one that goes idle
 * while the server stops is closed then. Past the shutdown deadline every connection is cut,
 * as before (shutdown.ts).
 *
 * A request that arrives while the server stops (on a connection already open) is answered 503
 * with Retry-After, in the ARM error shape and with every header the server's hooks set.
 */
import { Socket } from "node:net";
import { Server as TlsServer } from "node:tls";
import type { FastifyInstance } from "fastify";
import { onRequestEnd } from "../context/request-end.ts";

/** Per connection: requests not yet answered, and the bytes read when the last one was. */
interface ConnectionState {
  inFlight: number;
  bytesAtRest: number;
}

const STATE = Symbol("openpal.drain");

/** What a stopping server still answers: liveness, readiness (503 with its reason) and metrics. */
const STILL_ANSWERED = new Set(["/healthz", "/readyz", "/metrics"]);
const STOPPING_MESSAGE = "The server is stopping and takes no new requests. Send the request again: behind a load balancer another instance answers it.";
type TrackedSocket = Socket & { [STATE]?: ConnectionState };

export function installDrain(app: FastifyInstance, isStopping: () => boolean): void {
  const open = new Set<TrackedSocket>();
  const track = (socket: TrackedSocket): ConnectionState => {
    let state = socket[STATE];
    if (!state) {
      state = { inFlight: 0, bytesAtRest: 0 };
      socket[STATE] = state;
      open.add(socket);
      socket.once("close", () => open.delete(socket));
    }
    return state;
  };
  // The sockets the HTTP parser reads: TLS sockets once their handshake is done, else TCP ones.
  app.server.on(app.server instanceof TlsServer ? "secureConnection" : "connection", (socket: TrackedSocket) => {
    track(socket);
  });

  const closeIfIdle = (socket: TrackedSocket): void => {
    const state = socket[STATE];
    if (!state || state.inFlight > 0 || socket.destroyed) return;
    // A byte since the last answer is the start of another request: the hook below answers it
    // 503 with Connection: close while the server stops, and the connection ends after that.
    if (socket.bytesRead !== state.bytesAtRest) return;
    socket.destroy();
  };
  const answered = (socket: TrackedSocket): void => {
    const state = socket[STATE];
    if (!state || state.inFlight === 0) return;
    state.inFlight--;
    if (state.inFlight === 0) {
      state.bytesAtRest = socket.bytesRead;
      if (isStopping()) closeIfIdle(socket);
    }
  };

  // Callback-style hooks: they run on every request, and an async hook costs a promise each.
  app.addHook("onRequest", (req, reply, done) => {
    // fastify's inject() passes a stand-in for the socket: no connection to drain.
    if (req.raw.socket instanceof Socket) track(req.raw.socket).inFlight++;
    if (isStopping() && !STILL_ANSWERED.has(req.url.split("?", 1)[0] as string)) {
      // Answered here, not by fastify's return503OnClosing (off, see app.ts): its 503 skips
      // every hook, so it had no request id, no HSTS or nosniff, and fastify's own body shape.
      // Replying from a callback-style hook ends the request's lifecycle: no done().
      reply.code(503).header("retry-after", "1").send({ error: { code: "ServiceUnavailable", message: STOPPING_MESSAGE } });
      return;
    }
    done();
  });
  app.addHook("onSend", (_req, reply, payload, done) => {
    if (isStopping()) reply.header("connection", "close");
    done(null, payload);
  });
  // Once per request: its answer flushed ('finish'), or its client gone first.
  onRequestEnd(app, (req) => answered(req.raw.socket));

  // http.Server#close() calls this (Node 19+), as fastify's close does through it.
  app.server.closeIdleConnections = () => {
    for (const socket of open) closeIfIdle(socket);
  };
}
