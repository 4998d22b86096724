/**
 * The connection layer's limits and its errors in the ARM shape.
 *
 * Limits (options, docs/OPTIONS.md): a client must send its headers within --headers-timeout and
 * its whole request within --request-timeout (Node checks both every `connectionsCheckingInterval`);
 * the TLS handshake must end within --headers-timeout too; a connection silent for --idle-timeout
 * in the middle of a request is closed; an idle keep-alive connection is kept --keep-alive-timeout;
 * at most --max-connections are open at once (further ones are closed on accept). Together they
 * bound what a client that opens connections and never finishes its headers can hold.
 *
 * Errors the router or the HTTP parser raise before any route runs (a malformed percent-encoding
 * in the path, headers over Node's 16 KiB limit, a header timeout, bytes that are not HTTP) answer
 * in the ARM error shape `{"error":{"code","message"}}`, like every other error of the server.
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from "fastify";
import type { Logger } from "pino";
import type { Options } from "../options/index.ts";

type Limits = Pick<Options, "headersTimeoutSeconds" | "requestTimeoutSeconds" | "idleTimeoutSeconds" | "keepAliveTimeoutSeconds" | "maxConnections">;

/** Node's own limit on the size of all request headers (--max-http-header-size). */
export const MAX_HEADER_BYTES = http.maxHeaderSize;

/** Node server options for the limits, for http.createServer / https.createServer. */
function nodeServerLimits(options: Limits): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = options.headersTimeoutSeconds * 1000;
  return {
    headersTimeout,
    requestTimeout: options.requestTimeoutSeconds * 1000,
    // How often Node looks for connections past their header or request deadline.
    connectionsCheckingInterval: Math.max(250, Math.min(headersTimeout / 2, 5000)),
  };
}

/** Fastify options for the limits and the transport errors; `https` goes into fastify's https options. */
export function connectionLimits(options: Limits): Pick<FastifyServerOptions, "connectionTimeout" | "keepAliveTimeout" | "requestTimeout" | "clientErrorHandler" | "frameworkErrors"> & {
  http: ReturnType<typeof nodeServerLimits>;
  https: ReturnType<typeof nodeServerLimits> & { handshakeTimeout: number };
} {
  const node = nodeServerLimits(options);
  return {
    connectionTimeout: options.idleTimeoutSeconds * 1000,
    keepAliveTimeout: options.keepAliveTimeoutSeconds * 1000,
    requestTimeout: node.requestTimeout,
    http: node,
    https: { ...node, handshakeTimeout: node.headersTimeout },
    clientErrorHandler,
    frameworkErrors,
  };
}

/** Applies what fastify has no option for: the connection cap. */
export function registerTransportErrors(app: FastifyInstance, options: Pick<Options, "maxConnections">, log: Logger): void {
  app.server.maxConnections = options.maxConnections;
  let lastDropWarning = 0;
  app.server.on("drop", () => {
    const now = Date.now();
    if (now - lastDropWarning < 60_000) return;
    lastDropWarning = now;
    log.warn({ maxConnections: options.maxConnections }, `connection refused: ${options.maxConnections} connections are open (--max-connections)`);
  });
}

function armErrorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** A parser-level error (before any route): answer in the ARM shape and close the connection. */
function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  let status: number;
  let body: string;
  if (error.code === "HPE_HEADER_OVERFLOW") {
    status = 431;
    body = armErrorBody("RequestHeaderFieldsTooLarge", `The request's headers are larger than ${Math.round(MAX_HEADER_BYTES / 1024)} KiB; send fewer or shorter headers (a large cookie or token?).`);
  } else if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    status = 408;
    body = armErrorBody("RequestTimeout", "The request was not received in time; send the whole request promptly (see --headers-timeout and --request-timeout).");
  } else {
    status = 400;
    body = armErrorBody("BadRequest", "The request is not valid HTTP/1.1.");
  }
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** Router-level errors (fastify's FST_ERR_BAD_URL and the like) in the ARM shape. */
function frameworkErrors(error: Error & { code?: string }, req: FastifyRequest, reply: FastifyReply): void {
  reply.header("x-ms-request-id", req.id);
  const path = req.url.split("?")[0] ?? "";
  const shown = path.length > 200 ? `${path.slice(0, 200)}…` : path;
  if (error.code === "FST_ERR_BAD_URL") {
    void reply.code(400).type("application/json; charset=utf-8").send(armErrorBody("InvalidRequestUri",
      `The request path '${shown}' has a malformed percent-encoding; encode '%' as %25 and every byte of non-ASCII text as %XX.`));
    return;
  }
  void reply.code(400).type("application/json; charset=utf-8").send(armErrorBody("BadRequest", `The request to '${shown}' cannot be routed: ${error.message}`));
}
