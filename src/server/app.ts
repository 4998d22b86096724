/**
 * The composition root: the one place where options, store, identity, providers and pages are
 * wired together.
 *
 * Request pipeline, in order (each step is a fastify hook or handler):
 *   1. context   - request id (x-ms-request-id, a new GUID), correlation id, child logger
 *   2. dispatch  - fastify's router (ARM providers match their segments case-insensitively)
 *   3. auth      - bearer token → Caller (arm/), admin key (admin routes), session (portal)
 *   4. parse     - JSON bodies; an empty body with a JSON content type is accepted; no path,
 *                  query or body value may hold NUL (nul-guard.ts)
 *   5. handler   - provider / identity / admin logic over domain + store
 *   6. serialise - exact bytes where the wire contract says so
 *   7. error     - every error becomes a 4xx/5xx body in the component's own shape; bad input
 *                  never produces a 500
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
import path from "node:path";
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from "fastify";
import formbody from "@fastify/formbody";
import type { DestinationStream, Logger } from "pino";
import type { Options } from "../options/index.ts";
import { openStore, databaseConfigFrom, type Store } from "../store/index.ts";
import { systemClock, type Clock } from "../domain/time.ts";
import { randomIds, type IdSource } from "../domain/ids.ts";
import { createLogger, redactUrl } from "./logging.ts";
import type { AppContext } from "../context/index.ts";
import { createIdentity, type GuessingPolicies, type Identity } from "../identity/index.ts";
import { BODY_LIMIT_BYTES, registerBodyRefusals } from "./body-refusals.ts";
import { installDrain } from "./drain.ts";
import { registerNulGuard } from "./nul-guard.ts";
import { loadTlsMaterial, type TlsMaterial } from "./tls.ts";
import { registerComponents } from "./components.ts";
import { serverBaseUrl, listeningPort } from "./url.ts";
import { acquireDataDirLock } from "./data-dir-lock.ts";
import { RequestBudget, setAzureResponseHeaders } from "./response-headers.ts";
import { secureDataDir } from "./data-dir.ts";
import { connectionLimits, registerTransportErrors } from "./transport.ts";
import { loadKeyEncryptionKey } from "../identity/index.ts";
import { registerOperations, type Operations } from "../ops/index.ts";

export interface AppDependencies {
  readonly clock?: Clock;
  readonly ids?: IdSource;
  /** Log destination (tests capture lines here). */
  readonly logDestination?: DestinationStream;
  /** An already-open store (tests share one across apps). */
  readonly store?: Store;
  /** TLS material; when absent buildApp serves plain HTTP for inject() tests. */
  readonly tls?: TlsMaterial;
  /** Lock-out and throttling policies instead of Entra's defaults (benchmarks). */
  readonly guessingPolicies?: GuessingPolicies;
}

export interface OpenPalApp {
  readonly app: FastifyInstance;
  readonly context: AppContext;
  readonly identity: Identity;
  /** /metrics, /readyz and the stopping flag (src/ops). */
  readonly operations: Operations;
  setBaseUrl(url: string): void;
  close(): Promise<void>;
}

/** Reads or creates the operator key for /admin endpoints (`<dataDir>/admin.key`, mode 0600). */
export function ensureAdminKey(dataDir: string): string {
  const file = path.join(dataDir, "admin.key");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString("base64url");
  writeFileSync(file, key + "\n", { mode: 0o600 });
  return key;
}

/** Builds the app without listening. Call `close()` to release the store. */
export async function buildApp(options: Options, deps: AppDependencies = {}): Promise<OpenPalApp> {
  const log: Logger = createLogger(options, deps.logDestination);
  // The data dir holds keys and the database: 0700, files 0600 (looser ones are fixed, with a warning).
  secureDataDir(options.dataDir, log);
  const databaseConfig = databaseConfigFrom(options);
  if (!deps.store && databaseConfig.sqlitePath && databaseConfig.sqlitePath !== ":memory:" && !existsSync(databaseConfig.sqlitePath)) {
    // Created 0600 before SQLite opens it: SQLite gives the WAL and SHM files the database's mode.
    mkdirSync(path.dirname(databaseConfig.sqlitePath), { recursive: true, mode: 0o700 });
    writeFileSync(databaseConfig.sqlitePath, "", { mode: 0o600, flag: "a" });
  }
  const keyEncryptionKey = loadKeyEncryptionKey({ dataDir: options.dataDir, file: options.keyEncryptionKeyFile, env: process.env });
  const store = deps.store ?? (await openStore(databaseConfig));
  const ownsStore = deps.store === undefined;
  let baseUrl = options.publicUrl ?? serverBaseUrl(options.host, options.port);
  const context: AppContext = {
    options,
    store,
    clock: deps.clock ?? systemClock,
    ids: deps.ids ?? randomIds,
    log,
    baseUrl: () => baseUrl,
    adminKey: ensureAdminKey(options.dataDir),
  };

  const { https: httpsLimits, ...transport } = connectionLimits(options);
  const fastifyOptions: FastifyServerOptions & { https?: { cert: string; key: string } } = {
    loggerInstance: log,
    // 1. context: every request gets a fresh GUID; the client's ids are echoed, never trusted as ours.
    genReqId: () => randomUUID(),
    // Our own onResponse hook logs each request once, with credentials removed from the URL.
    logController: new LogController({ requestIdLogLabel: "requestId", disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // A request that arrives while the server stops gets its 503 from drain.ts, through the hooks.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true },
    // request.ip is the TCP peer, or, from a configured proxy only, X-Forwarded-For's client (--trust-proxy).
    trustProxy: options.trustProxy.length > 0 ? [...options.trustProxy] : false,
    ...transport,
  };
  if (deps.tls) fastifyOptions.https = { cert: deps.tls.cert, key: deps.tls.key, ...httpsLimits };
  const app = Fastify(fastifyOptions) as unknown as FastifyInstance;

  // Callback-style hooks: they run on every request, and an async hook costs a promise each.
  // Azure's response headers on every answer (ids, routing id, read/write budget, HSTS, nosniff).
  const budget = new RequestBudget();
  app.addHook("onRequest", (req, reply, done) => {
    setAzureResponseHeaders(req, reply, context.clock, budget);
    done();
  });
  app.addHook("onResponse", (req, reply, done) => {
    if (log.isLevelEnabled("info")) {
      req.log.info({ method: req.method, url: redactUrl(req.url), statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "request completed");
    }
    done();
  });
  // Metrics hooks, /readyz and /metrics (src/ops), before any route so that every route is counted.
  const operations = registerOperations(app, context);
  // A stopping server closes only connections with nothing in flight, and tells the rest to close
  // after their answer (drain.ts: Node's own idle check can cut a request in flight).
  installDrain(app, () => operations.isStopping());

  // 4. parse: JSON with an empty body is accepted (clients send Content-Length: 0 with a JSON
  // content type); malformed JSON is a 400 that says so.
  app.removeContentTypeParser(["application/json"]);
  app.addContentTypeParser(["application/json", "text/json"], { parseAs: "string" }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      const err = new Error(`The request body is not valid JSON: ${(error as Error).message}. Send a JSON object, or no body.`) as Error & { statusCode: number; code: string };
      err.statusCode = 400;
      err.code = "InvalidRequestContent";
      done(err, undefined);
    }
  });
  await app.register(formbody);
  // A Content-Type nothing reads (415) or a declared body over the limit (413): a message naming
  // the problem and the fix, in the route's own shape (body-refusals.ts).
  registerBodyRefusals(app);
  // No request value may hold NUL (nul-guard.ts): a 400 in the route's own error shape.
  registerNulGuard(app);

  // 7. error: the default shape for routes outside a component with its own handler.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500) req.log.error({ err: error }, "unhandled error");
    const code = status >= 500 ? "InternalServerError" : (error.code && !error.code.startsWith("FST_") ? error.code : "BadRequest");
    const message = status >= 500 ? `The server hit an unexpected error; the request id is ${req.id}.` : error.message;
    return reply.code(status).send({ error: { code, message } });
  });
  app.setNotFoundHandler((req, reply) => {
    return reply.code(404).send({ error: { code: "NotFound", message: `No route for ${req.method} ${req.url.split("?")[0]}. See docs/API.md for the endpoints.` } });
  });

  app.get("/healthz", async () => ({ status: "ok" }));

  registerTransportErrors(app, options, log);

  let identity: Awaited<ReturnType<typeof createIdentity>>;
  try {
    identity = await createIdentity(context, keyEncryptionKey, deps.guessingPolicies ? { guessingPolicies: deps.guessingPolicies } : {});
    await identity.register(app);
    await registerComponents(app, { context, identity });
  } catch (error) {
    // e.g. keys sealed under another key-encryption key, an invalid --world file: release the
    // store so the process can end with the message.
    await app.close();
    if (ownsStore) await store.close();
    throw error;
  }

  return {
    app,
    context,
    identity,
    operations,
    setBaseUrl(url: string) {
      baseUrl = url.replace(/\/+$/, "");
    },
    async close() {
      await app.close();
      if (ownsStore) await store.close();
    },
  };
}

export interface RunningServer {
  /** e.g. https://127.0.0.1:8443 */
  readonly url: string;
  readonly caCertPath: string | undefined;
  readonly openpal: OpenPalApp;
  /** Set when a stale lock of a server that did not shut down cleanly was taken over. */
  readonly lockNote?: string | undefined;
  /** Stops the server, closes the store, removes server.json and the data dir's lock. */
  close(): Promise<void>;
}

/**
 * Takes the data dir's lock (one server per data dir; see data-dir-lock.ts), listens over HTTPS,
 * then writes `<dataDir>/server.json` with the URL, CA certificate path and pid, so that the CLI and
 * tests find the server. `close()` removes both.
 */
export async function startServer(options: Options, deps: Omit<AppDependencies, "tls"> = {}): Promise<RunningServer> {
  // Files the server creates from now on (lock, lake, facts, server.json) are its user's only.
  if (isMainThread && process.platform !== "win32") process.umask(0o077);
  // One server per data dir: refused here, before the store opens, when another one runs.
  const lock = acquireDataDirLock(options.dataDir);
  let openpal: OpenPalApp;
  let tls: TlsMaterial;
  try {
    tls = await loadTlsMaterial({ dataDir: options.dataDir, cert: options.cert, key: options.key });
    openpal = await buildApp(options, { ...deps, tls });
  } catch (error) {
    lock.release();
    throw error;
  }
  if (lock.note) openpal.context.log.warn(lock.note);
  let address: string;
  try {
    address = await openpal.app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await openpal.close();
    lock.release();
    const e = error as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") throw new Error(`port ${options.port} on ${options.host} is in use; stop the other server or choose --port (0 picks a free one).`);
    throw error;
  }
  const url = options.publicUrl ?? serverBaseUrl(options.host, listeningPort(address));
  openpal.setBaseUrl(url);
  lock.writeServerJson({ url, caCert: tls.caCertPath ?? null, pid: process.pid });
  return {
    url,
    caCertPath: tls.caCertPath,
    openpal,
    lockNote: lock.note,
    async close() {
      try {
        await openpal.close();
      } finally {
        lock.release();
      }
    },
  };
}
