/**
 * The `/insights/v1/mpn` routes (Partner Center's programmatic access to insights).
 *
 * Pipeline: token (Authorization: Bearer, or the raw token in X-AadUserTicket) for the Partner
 * Center audience → the caller's tenant must be one of a partner organisation's own tenants →
 * the operation, limited to that organisation → the envelope. Errors use the same envelope
 * with the HTTP status in `statusCode`. The download link is the one route without a token.
 */
import { createReadStream, existsSync } from "node:fs";
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../server/context.ts";
import { TokenVerificationError, type TokenVerifier } from "../identity/index.ts";
import { bearerToken } from "../identity/bearer.ts";
import { Body, envelope, InsightsApiError, MESSAGES, queryParams } from "./envelope.ts";
import type { InsightsService, Principal } from "./service.ts";
import type { PartnerInsightsStore } from "../store/partner-insights.ts";
import { DOWNLOAD_PREFIX, linkToken, tokenHash } from "./links.ts";

/** The token audience of Partner Center's APIs (v1 resource / v2 scope `…/.default`). */
export const PARTNER_CENTER_AUDIENCE = "https://api.partnercenter.microsoft.com";
const AUDIENCES = [PARTNER_CENTER_AUDIENCE, `${PARTNER_CENTER_AUDIENCE}/`];

export const BASE = "/insights/v1/mpn";

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
        throw new InsightsApiError(403, "The caller is a delegated-admin user of another tenant; sign in as a user of the partner's own tenant.");
      }
      const org = await ctx.store.partners.findOrganisationByTenant(caller.tenantId);
      if (!org) {
        throw new InsightsApiError(403, `Tenant ${caller.tenantId} is not a partner organisation's tenant; sign in to your partner tenant (the one registered with your partner id).`);
      }
      const claims = caller.claims;
      return { globalId: org.globalId, user: claims.upn ?? claims.preferred_username ?? caller.objectId };
    } catch (error) {
      if (error instanceof TokenVerificationError) {
        throw new InsightsApiError(401, `${MESSAGES.unauthorized}: ${error.message} Get a token for ${PARTNER_CENTER_AUDIENCE} (scope ${PARTNER_CENTER_AUDIENCE}/.default).`);
      }
      throw error;
    }
  };

  const send = (reply: FastifyReply, status: number, body: unknown) =>
    reply.code(status).header("cache-control", "no-cache").type("application/json; charset=utf-8").send(body);

  const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name] as string;

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

    const route = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, message: string,
      work: (p: Principal, req: FastifyRequest) => Promise<unknown[]>) => {
      scope.route({
        method, url: `${BASE}${url}`,
        handler: async (req, reply) => send(reply, 200, envelope(await work(await principal(req), req), message)),
      });
    };

    route("GET", "/ScheduledDataset", "Dataset fetched successfully", async (_p, req) => service.datasets(queryParams(req.query).get("datasetname")));

    route("POST", "/ScheduledQueries", "Query created successfully", async (p, req) => [await service.createQuery(p, new Body(req.body))]);
    route("GET", "/ScheduledQueries", "Queries fetched successfully", async (p, req) => service.listQueries(p, queryParams(req.query)));
    route("GET", "/ScheduledQueries/testQueryResult", "Query executed successfully", async (p, req) => service.testQuery(p, queryParams(req.query)));
    route("DELETE", "/ScheduledQueries/:queryId", "Query deleted successfully", async (p, req) => [await service.deleteQuery(p, param(req, "queryId"))]);

    route("POST", "/ScheduledReport", "Report created successfully", async (p, req) => [await service.createReport(p, new Body(req.body))]);
    route("GET", "/ScheduledReport", "Reports fetched successfully", async (p, req) => service.listReports(p, queryParams(req.query)));
    route("PUT", "/ScheduledReport/pause/:reportId", "Report paused successfully", async (p, req) => [await service.pauseReport(p, param(req, "reportId"))]);
    route("PUT", "/ScheduledReport/resume/:reportId", "Report resumed successfully", async (p, req) => [await service.resumeReport(p, param(req, "reportId"))]);
    route("PUT", "/ScheduledReport/:reportId", "Report updated successfully", async (p, req) => [await service.updateReport(p, param(req, "reportId"), new Body(req.body))]);
    route("DELETE", "/ScheduledReport/:reportId", "Report deleted successfully", async (p, req) => [await service.deleteReport(p, param(req, "reportId"))]);
    route("GET", "/ScheduledReport/execution/:reportId", "Executions fetched successfully", async (p, req) => service.executions(p, param(req, "reportId"), queryParams(req.query)));

    // The secure link: no token; the link itself is the credential for this one file.
    scope.get(`${DOWNLOAD_PREFIX}:token`, async (req, reply) => {
      const token = param(req, "token");
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
  });
}
