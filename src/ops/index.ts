/**
 * Operations endpoints and instrumentation: /metrics (Prometheus), /readyz (readiness) beside the
 * existing /healthz (liveness), and the request hooks that feed the metrics.
 *
 *   /healthz  the process answers (liveness: restart it when this fails)
 *   /readyz   the store answers and every migration is applied, and the server is not stopping
 *             (readiness: send it traffic only while this is 200)
 *   /metrics  Prometheus text format; who may read it is --metrics (open | admin | off)
 *
 * @example
 * const ops = registerOperations(app, context);
 * ops.markStopping(); // /readyz answers 503 from now on
 */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context/index.ts";
import { onRequestEnd } from "../context/request-end.ts";
import { adminKeyMatches } from "../admin/auth.ts";
import { checkStoreReadiness } from "../store/readiness.ts";
import { ServerMetrics } from "./metrics.ts";
import { routeLabel } from "../context/route-label.ts";

export { ServerMetrics, observeLakeImport, observeAttribution, timedAttribution, type PoolStats } from "./metrics.ts";

/** The token endpoint's route pattern (identity/routes.ts), whose 200s count as tokens issued. */
const TOKEN_ROUTE = "/:tenant/oauth2/v2.0/token";
/** The label of requests no route matched (404s), so that scanners cannot grow the label set. */
const UNMATCHED_ROUTE = "(unmatched)";

export interface Operations {
  readonly metrics: ServerMetrics;
  /** The server is stopping: /readyz answers 503 so a load balancer stops sending requests. */
  markStopping(): void;
  /** Whether markStopping has been called. */
  isStopping(): boolean;
}

export function registerOperations(app: FastifyInstance, ctx: AppContext): Operations {
  const metrics = new ServerMetrics(() => ctx.store.poolStats(), ctx.store.dialect);
  let stopping = false;

  app.addHook("onRequest", (_req, _reply, done) => {
    metrics.requestStarted();
    done();
  });
  // A request leaves the in-flight count once: when answered, or when its client goes away first.
  onRequestEnd(app, () => metrics.requestEnded());
  app.addHook("onResponse", (req, reply, done) => {
    const route = routeLabel(req) ?? UNMATCHED_ROUTE;
    metrics.observeRequest(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (route === TOKEN_ROUTE && reply.statusCode === 200) {
      const grant = (req.body as { grant_type?: unknown } | undefined)?.grant_type;
      metrics.tokenIssued(typeof grant === "string" ? grant : "unknown");
    }
    done();
  });

  app.get("/readyz", async (_req, reply) => {
    const store = await checkStoreReadiness(ctx.store.db);
    const checks = {
      store: store.reachable ? "ok" : "unreachable",
      migrations: !store.reachable ? "unknown" : store.pendingMigrations.length === 0 ? "ok" : "pending",
      server: stopping ? "stopping" : "ok",
    };
    const problem = stopping ? "the server is stopping; send requests to another instance." : store.problem;
    if (problem) return reply.code(503).header("cache-control", "no-store").send({ status: "not ready", checks, problem });
    return reply.header("cache-control", "no-store").send({ status: "ready", checks });
  });

  if (ctx.options.metrics !== "off") {
    app.get("/metrics", async (req, reply) => {
      if (ctx.options.metrics === "admin" && !adminKeyMatches(req.headers.authorization, ctx.adminKey)) {
        return reply.code(401).header("www-authenticate", 'Bearer realm="openpal-metrics"').send({
          error: {
            code: "AdminKeyRequired",
            message: "/metrics needs the operator key: send 'Authorization: Bearer <key>' with the key from <data-dir>/admin.key (Prometheus: authorization.credentials_file), or start the server with --metrics open.",
          },
        });
      }
      return reply.header("content-type", metrics.contentType).header("cache-control", "no-store").send(await metrics.scrape());
    });
  }

  return {
    metrics,
    markStopping() {
      stopping = true;
    },
    isStopping: () => stopping,
  };
}
