/**
 * The `/insights/v1/mpn` routes (Partner Center's programmatic access to insights).
 *
 * Pipeline: token (Authorization: Bearer, or the raw token in X-AadUserTicket) for the Partner
 * Center audience → the caller's tenant must be one of a partner organisation's own tenants → a
 * user holding Executive report viewer or Global Administrator there (app-only tokens refused) →
 * the operation, limited to that organisation → the envelope. Errors use the same envelope
 * with the HTTP status in `statusCode`. The download link is the one route without a token.
 * Paths match their fixed segments in any case, as Partner Center (ASP.NET) routes
 * (`/INSIGHTS/v1/MPN/scheduledQueries`); ids and the download token keep theirs.
 */
import { createReadStream, existsSync } from "node:fs";
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../context/index.ts";
import { TokenVerificationError, type TokenVerifier } from "../identity/index.ts";
import { bearerToken } from "../identity/bearer.ts";
import { Body, envelope, InsightsApiError, MESSAGES, queryParams } from "./envelope.ts";
import type { InsightsService, Principal } from "./service.ts";
import type { PartnerInsightsStore } from "../store/partner-insights.ts";
import { DOWNLOAD_PREFIX, linkToken, tokenHash } from "./links.ts";
import { GRANT_HOW, holdsInsightsRole, INSIGHTS_ROLE_NAMES } from "./authority.ts";
import { setRouteLabel } from "../context/route-label.ts";

/** The token audience of Partner Center's APIs (v1 resource / v2 scope `…/.default`). */
export const PARTNER_CENTER_AUDIENCE = "https://api.partnercenter.microsoft.com";
const AUDIENCES = [PARTNER_CENTER_AUDIENCE, `${PARTNER_CENTER_AUDIENCE}/`];

export const BASE = "/insights/v1/mpn";

/**
 * Roles that may see revenue (PARTNER-INSIGHTS-API spec, Auth): Partner Center's "Executive report
 * viewer" (an OpenPAL directory role of the partner tenant) or Global Administrator.
 */
export { INSIGHTS_ROLES } from "./authority.ts";

export interface RouteDeps {
  readonly context: AppContext;
  readonly verifier: TokenVerifier;
  readonly service: InsightsService;
  readonly insights: PartnerInsightsStore;
  readonly linkSecret: string;
}

export async function registerInsightsApiRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const ctx = deps.context;
  const { service } = deps;

  const principal = async (req: FastifyRequest): Promise<Principal> => {
    const ticket = req.headers["x-aaduserticket"];
    let token: string;
    try {
      token = typeof ticket === "string" && ticket.trim() !== "" && !req.headers.authorization
        ? ticket.trim().replace(/^Bearer\s+/i, "")
        : bearerToken(req.headers.authorization);
      const caller = await deps.verifier.authenticate(token, AUDIENCES);
      if (caller.foreign) {
        throw new InsightsApiError(403, `${MESSAGES.forbidden}: the caller is a delegated-admin user of another tenant; sign in as a user of the partner's own tenant.`);
      }
      const org = await ctx.store.partners.findOrganisationByTenant(caller.tenantId);
      if (!org) {
        throw new InsightsApiError(403, `${MESSAGES.forbidden}: tenant ${caller.tenantId} is not a partner organisation's tenant; sign in to your partner tenant (the one registered with your partner id).`);
      }
      if (caller.principalType !== "User") {
        throw new InsightsApiError(403, `${MESSAGES.forbidden}: app-only tokens are not accepted (Partner Center's insights API takes app + user tokens); sign in as a user of the partner tenant who holds ${INSIGHTS_ROLE_NAMES}.`);
      }
      if (!(await holdsInsightsRole(ctx.store, caller, ctx.clock.now()))) {
        throw new InsightsApiError(403, `${MESSAGES.forbidden}: the user ${caller.objectId} does not hold a role that may see revenue in tenant ${caller.tenantId}; an administrator of that tenant grants ${INSIGHTS_ROLE_NAMES} (${GRANT_HOW}).`);
      }
      const claims = caller.claims;
      return { globalId: org.globalId, user: claims.upn ?? claims.preferred_username ?? caller.objectId, tenantId: caller.tenantId, objectId: caller.objectId };
    } catch (error) {
      if (error instanceof TokenVerificationError) {
        throw new InsightsApiError(401, `${MESSAGES.unauthorized}: ${error.message} Get a token for ${PARTNER_CENTER_AUDIENCE} (scope ${PARTNER_CENTER_AUDIENCE}/.default).`);
      }
      throw error;
    }
  };

  const send = (reply: FastifyReply, status: number, body: unknown) =>
    reply.code(status).header("cache-control", "no-cache").type("application/json; charset=utf-8").send(body);

  await app.register(async (scope) => {
    // Errors in this scope — ours, token failures and body parsing — answer with the envelope.
    scope.setErrorHandler((error: Error & { statusCode?: number }, req, reply) => {
      if (error instanceof InsightsApiError) {
        if (error.status === 401) reply.header("www-authenticate", `Bearer authorization_uri="${ctx.baseUrl()}/common/oauth2/authorize", resource="${PARTNER_CENTER_AUDIENCE}"`);
        return send(reply, error.status, envelope([], error.message, error.status));
      }
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) req.log.error({ err: error }, "insights API error");
      const message = status === 500 ? `The server hit an unexpected error; the request id is ${req.id}.` : error.message;
      return send(reply, status, envelope([], message, status));
    });

    // Every operation of this API, with its method and path. Each is a route in its documented
    // case (the fast path); any other case of its fixed segments reaches the fallback below,
    // which finds the operation here, case-insensitively, and runs it. An unknown path or a wrong
    // method answers in the envelope too, not with the server's generic 404.
    const known: KnownRoute[] = [];
    const add = (method: KnownRoute["method"], url: string, handler: RouteHandler) => {
      known.push(knownRoute(method, url, handler));
      scope.route({ method, url, handler: (req, reply) => handler(req, reply, req.params as Params) });
    };

    const route = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, message: string,
      work: (p: Principal, req: FastifyRequest, params: Params) => Promise<unknown[]>) => {
      add(method, `${BASE}${url}`, async (req, reply, params) => send(reply, 200, envelope(await work(await principal(req), req, params), message)));
    };

    route("GET", "/ScheduledDataset", "Dataset fetched successfully", async (_p, req) => service.datasets(queryParams(req.query).get("datasetname")));

    route("POST", "/ScheduledQueries", "Query created successfully", async (p, req) => [await service.createQuery(p, new Body(req.body))]);
    route("GET", "/ScheduledQueries", "Queries fetched successfully", async (p, req) => service.listQueries(p, queryParams(req.query)));
    route("GET", "/ScheduledQueries/testQueryResult", "Query executed successfully", async (p, req) => service.testQuery(p, queryParams(req.query)));
    route("DELETE", "/ScheduledQueries/:queryId", "Query deleted successfully", async (p, _req, params) => [await service.deleteQuery(p, params.queryId as string)]);

    route("POST", "/ScheduledReport", "Report created successfully", async (p, req) => [await service.createReport(p, new Body(req.body))]);
    route("GET", "/ScheduledReport", "Reports fetched successfully", async (p, req) => service.listReports(p, queryParams(req.query)));
    route("PUT", "/ScheduledReport/pause/:reportId", "Report paused successfully", async (p, _req, params) => [await service.pauseReport(p, params.reportId as string)]);
    route("PUT", "/ScheduledReport/resume/:reportId", "Report resumed successfully", async (p, _req, params) => [await service.resumeReport(p, params.reportId as string)]);
    route("PUT", "/ScheduledReport/:reportId", "Report updated successfully", async (p, req, params) => [await service.updateReport(p, params.reportId as string, new Body(req.body))]);
    route("DELETE", "/ScheduledReport/:reportId", "Report deleted successfully", async (p, _req, params) => [await service.deleteReport(p, params.reportId as string)]);
    route("GET", "/ScheduledReport/execution/:reportId", "Executions fetched successfully", async (p, req, params) => service.executions(p, params.reportId as string, queryParams(req.query)));

    // The secure link: no token; the link itself is the credential for this one file.
    add("GET", `${DOWNLOAD_PREFIX}:token`, async (_req, reply, params) => {
      const token = params.token as string;
      const e = /^[A-Za-z0-9_-]{43}$/.test(token) ? await deps.insights.executionByLinkHash(tokenHash(token)) : undefined;
      const expected = e && e.expiresAt !== null ? Buffer.from(linkToken(deps.linkSecret, e.executionId, e.expiresAt)) : undefined;
      if (!e || !expected || expected.length !== token.length || !timingSafeEqual(expected, Buffer.from(token)) || !e.filePath || !existsSync(e.filePath)) {
        throw new InsightsApiError(404, `${MESSAGES.notFound} The download link is not valid; list the report's executions for its link.`);
      }
      if ((e.expiresAt as number) <= ctx.clock.now()) {
        throw new InsightsApiError(410, `The download link expired at ${new Date(e.expiresAt as number).toISOString().replace(/\.\d{3}Z$/, "Z")}; run the report again (ExecuteNow) for a new one.`);
      }
      const tsv = e.filePath.endsWith(".tsv");
      return reply.code(200).header("cache-control", "no-store")
        .header("content-disposition", `attachment; filename="${e.reportId}-${e.executionId}.${tsv ? "tsv" : "csv"}"`)
        .type(tsv ? "text/tab-separated-values; charset=utf-8" : "text/csv; charset=utf-8")
        .send(createReadStream(e.filePath));
    });

    // Anything else under the base: an operation in another case of its fixed segments; else 405
    // (with Allow) for a known path, 404 for an unknown one. /metrics counts an operation under
    // its documented pattern whatever the case it was called in, and the rest under `BASE/*`.
    const fallback = async (req: FastifyRequest, reply: FastifyReply) => {
      const full = req.url.split("?")[0] as string;
      const matches = known.flatMap((k) => {
        const params = k.match(full);
        return params ? [{ route: k, params }] : [];
      });
      const method = req.method === "HEAD" ? "GET" : req.method;
      const hit = matches.find((m) => m.route.method === method);
      setRouteLabel(req, hit ? hit.route.url : `${BASE}/*`);
      if (hit) return hit.route.handler(req, reply, hit.params);
      const path = full.length > 200 ? `${full.slice(0, 200)}…` : full;
      const methods = [...new Set(matches.map((m) => m.route.method))];
      if (methods.length > 0) {
        const allow = methods.includes("GET") ? [...methods, "HEAD"] : methods;
        reply.header("allow", allow.join(", "));
        throw new InsightsApiError(405, `Method not allowed: ${req.method} ${path} is not an operation of the insights API; this path answers ${methods.join(", ")} (docs/PARTNER-INSIGHTS-API.md).`);
      }
      throw new InsightsApiError(404, `${MESSAGES.notFound} ${req.method} ${path} is not a path of the insights API; its paths start ${BASE}/ScheduledDataset, ${BASE}/ScheduledQueries, ${BASE}/ScheduledReport (docs/PARTNER-INSIGHTS-API.md).`);
    };
    // The methods HTTP APIs use (HEAD comes with GET); WebDAV's exotic ones keep the server's 404.
    // The base in its documented case, and in any other: a parameter per segment whose pattern
    // takes that segment in any case. The server's router stays case-sensitive: static routes
    // still win, and a path these patterns do not take goes on to the other routes' parameters
    // (`/:tenant/…`) as before, so no route outside this API changes.
    const anyCaseBase = BASE.split("/").slice(1).map((segment, i) => `/:base${i}(^${anyCase(segment)}$)`).join("");
    for (const url of [BASE, `${BASE}/*`, anyCaseBase, `${anyCaseBase}/*`]) {
      scope.route({ method: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], url, handler: fallback });
    }
  });
}

type Params = Record<string, string | undefined>;
type RouteHandler = (req: FastifyRequest, reply: FastifyReply, params: Params) => Promise<unknown>;

interface KnownRoute {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly url: string;
  readonly handler: RouteHandler;
  /** The path's parameters when `path` is this route's, its fixed segments in any case; else undefined. */
  match(path: string): Params | undefined;
}

/**
 * A route as a case-insensitive pattern over its fixed segments. Parameters keep the request's
 * case (ids, the download token) and are percent-decoded as the router decodes them.
 */
function knownRoute(method: KnownRoute["method"], url: string, handler: RouteHandler): KnownRoute {
  const names: string[] = [];
  const source = url.split("/").map((part) => {
    if (!part.startsWith(":")) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    names.push(part.slice(1));
    return "([^/]+)";
  }).join("/");
  const pattern = new RegExp(`^${source}$`, "i");
  return {
    method, url, handler,
    match(path) {
      const m = pattern.exec(path);
      if (!m) return undefined;
      return Object.fromEntries(names.map((name, i) => [name, decodeSegment(m[i + 1] as string)]));
    },
  };
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** `mpn` → `[mM][pP][nN]`: a router pattern for the segment (letters and digits) in any case. */
function anyCase(segment: string): string {
  if (!/^[A-Za-z0-9]+$/.test(segment)) throw new Error(`anyCase takes letters and digits only, not "${segment}"`);
  return segment.replace(/[A-Za-z]/g, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
}
