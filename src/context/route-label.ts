/**
 * The route a request is counted under in /metrics (src/ops). Usually the pattern of the route
 * the router matched; a handler that dispatches the request itself — the insights API's fallback,
 * which finds the operation for a path in another case (docs/SPEC-DEVIATIONS.md 145) — names the
 * operation's pattern instead, so that one operation is one series whatever the path's case.
 *
 * @example
 * setRouteLabel(req, "/insights/v1/mpn/ScheduledReport/:reportId");
 * routeLabel(req); // that pattern, not the fallback's
 */
import type { FastifyRequest } from "fastify";

const labels = new WeakMap<FastifyRequest, string>();

/** Counts `req` under `pattern` (a route pattern, never the raw URL: labels must stay few). */
export function setRouteLabel(req: FastifyRequest, pattern: string): void {
  labels.set(req, pattern);
}

/** The pattern `req` counts under: the one set by its handler, else the matched route's, else undefined (no route matched). */
export function routeLabel(req: FastifyRequest): string | undefined {
  return labels.get(req) ?? req.routeOptions.url;
}
