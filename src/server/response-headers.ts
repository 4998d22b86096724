/**
 * The headers Azure's front doors put on every response, here on every response of the server
 * (ARM, identity, Graph, portal pages, errors): request and correlation ids, ARM's routing id, the
 * remaining read/write budget of the hour, HSTS and nosniff.
 *
 * The budget is counted per scope (a subscription in the path, else the tenant level) and clock
 * hour, with ARM's hourly allowances (12000 reads, 1200 writes); it is reported, not enforced.
 */
import { randomUUID } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Clock } from "../domain/time.ts";

export const HOURLY_READS = 12000;
export const HOURLY_WRITES = 1200;
export const STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains";
/** ARM writes the region that served the request first in x-ms-routing-request-id. */
const REGION = "LOCAL";

/** Keeps at most this many (scope, hour) counters; the oldest go first. */
const MAX_COUNTERS = 10_000;

export class RequestBudget {
  readonly #counts = new Map<string, number>();

  /** Counts one request and returns what is left of the hour's allowance (never below 0). */
  take(scope: string, kind: "reads" | "writes", now: number): number {
    const key = `${Math.floor(now / 3_600_000)}|${kind}|${scope}`;
    const used = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.delete(key);
    this.#counts.set(key, used);
    if (this.#counts.size > MAX_COUNTERS) this.#counts.delete(this.#counts.keys().next().value as string);
    return Math.max(0, (kind === "reads" ? HOURLY_READS : HOURLY_WRITES) - used);
  }
}

/** "20261202T012345Z", the time stamp in ARM's routing id. */
function routingTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

const SUBSCRIPTION = /^\/+subscriptions\/([^/?]+)/i;

/** Sets the headers; call from an onRequest hook so that every answer, errors included, has them. */
export function setAzureResponseHeaders(req: FastifyRequest, reply: FastifyReply, clock: Clock, budget: RequestBudget): void {
  reply.header("x-ms-request-id", req.id);
  const correlation = req.headers["x-ms-correlation-request-id"];
  reply.header("x-ms-correlation-request-id", typeof correlation === "string" && correlation ? correlation : req.id);
  const clientRequestId = req.headers["x-ms-client-request-id"];
  if (typeof clientRequestId === "string" && clientRequestId) reply.header("x-ms-client-request-id", clientRequestId);
  const now = clock.now();
  reply.header("x-ms-routing-request-id", `${REGION}:${routingTime(now)}:${randomUUID()}`);
  const kind = req.method === "GET" || req.method === "HEAD" ? "reads" : "writes";
  const subscription = SUBSCRIPTION.exec(req.url)?.[1];
  const level = subscription ? "subscription" : "tenant";
  reply.header(`x-ms-ratelimit-remaining-${level}-${kind}`, String(budget.take(subscription?.toLowerCase() ?? "tenant", kind, now)));
  reply.header("strict-transport-security", STRICT_TRANSPORT_SECURITY);
  reply.header("x-content-type-options", "nosniff");
}
