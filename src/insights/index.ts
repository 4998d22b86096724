/**
 * Insights: a partner's own attribution over HTTPS (an OpenPAL extension, docs/SPEC-DEVIATIONS.md).
 *
 *   GET /insights/partners/{partnerId}/azureUsage?month=YYYY-MM[&policy=pec|all-roles][&format=json|csv]
 *   GET /insights/partners/{partnerId}/explain?subscription=S&month=M[&resource=R][&policy=…]
 *   GET /insights/partners/{partnerId}/diagnose?tenant=T[&month=M][&policy=…]
 *   GET /insights/partners/{partnerId}/coverage[?month=M][&policy=…]
 *   GET /insights/partners/{partnerId}/bizappsUsage?month=YYYY-MM[&productionOnly=true][&format=json|csv]
 *   GET /insights/partners/{partnerId}/explain?resource=R&month=M          (business applications: no subscription)
 *   GET /insights/partners/{partnerId}/diagnose?resource=R[&month=M][&productionOnly=true]
 *
 * Pipeline: bearer token (the ARM audience, verified like every ARM call) → the caller's tenant
 * must be one of the partner organisation's own tenants (partners.tenantIds), and {partnerId} one
 * of that organisation's location ids or its global id → the report, limited to the
 * organisation's rows. DPOR credit is shown as rule 13 allows (no roles, resources or identities).
 * Errors use the ARM error envelope: { "error": { "code", "message" } }.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../context/index.ts";
import type { TokenVerifier } from "../identity/index.ts";
import { ArmError, authenticateArmRequest } from "../arm/index.ts";
import { azureUsageReport, coverageReport, diagnoseCustomer, explainAttribution, reportCsv, ReportError, type Policy } from "../attribution/index.ts";
import type { PartnerOrganisation } from "../store/index.ts";
import { PARTNER_REGISTRATION_HINT } from "../domain/partner-id.ts";
import { bizappsCsv, bizappsUsageReport } from "../bizapps/report.ts";
import { explainBizappsResource } from "../bizapps/explain.ts";
import { diagnoseBizappsResource } from "../bizapps/diagnose.ts";
import { bizappsCoverage } from "../bizapps/coverage.ts";

export interface InsightsDeps {
  readonly context: AppContext;
  readonly verifier: TokenVerifier;
}

class InsightsError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

function monthParam(q: Record<string, string | undefined>, required: boolean): string | undefined {
  const m = q.month;
  if (m === undefined && !required) return undefined;
  if (!m || !MONTH.test(m)) throw new InsightsError(400, "InvalidMonth", `query parameter month="${m ?? ""}" must be YYYY-MM, e.g. ?month=2026-10.`);
  return m;
}

function policyParam(q: Record<string, string | undefined>): Policy {
  const p = q.policy ?? "pec";
  if (p !== "pec" && p !== "all-roles") throw new InsightsError(400, "InvalidPolicy", `policy="${p}" is not known: use pec (default) or all-roles.`);
  return p;
}

function booleanParam(q: Record<string, string | undefined>, name: string): boolean {
  const v = q[name];
  if (v === undefined || v === "false") return false;
  if (v === "true" || v === "") return true;
  throw new InsightsError(400, "InvalidParameter", `${name}="${v}" must be true or false, e.g. ?${name}=true.`);
}

export async function registerInsights(app: FastifyInstance, deps: InsightsDeps): Promise<void> {
  const ctx = deps.context;

  /** The caller's organisation, and the location ids {partnerId} stands for. */
  const authorize = async (req: FastifyRequest): Promise<{ org: PartnerOrganisation; partnerId: string }> => {
    const caller = await authenticateArmRequest(req.headers.authorization, deps.verifier, ctx.baseUrl(), ctx.clock.now());
    const partnerId = (req.params as { partnerId: string }).partnerId.trim();
    const found = await ctx.store.partners.lookup(partnerId, ctx.clock.now());
    if (found.kind === "unknown") throw new InsightsError(404, "PartnerNotFound", `partner id ${partnerId} is not registered. ${PARTNER_REGISTRATION_HINT}`);
    const org = found.organisation;
    if (caller.foreign || !org.tenantIds.some((t) => t.toLowerCase() === caller.tenantId.toLowerCase())) {
      throw new InsightsError(403, "AuthorizationFailed",
        `the caller (tenant ${caller.tenantId}) is not a principal of one of ${org.name}'s own tenants; sign in to the partner's tenant to read its insights.`);
    }
    return { org, partnerId };
  };

  const handle = (work: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      const body = await work(req, reply);
      if (reply.sent) return reply;
      return reply.code(200).header("cache-control", "no-cache").send(body);
    } catch (error) {
      if (error instanceof ArmError) {
        for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
        return reply.code(error.status).type("application/json; charset=utf-8").send(error.toBody());
      }
      const e = error instanceof InsightsError ? error
        : error instanceof ReportError ? new InsightsError(404, "NotFound", error.message)
          : undefined;
      if (!e) throw error;
      return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
    }
  };

  app.get("/insights/partners/:partnerId/azureUsage", handle(async (req, reply) => {
    const { org, partnerId } = await authorize(req);
    const q = req.query as Record<string, string | undefined>;
    const month = monthParam(q, true) as string;
    const rows = await azureUsageReport(ctx.store, { month, policy: policyParam(q), ...(partnerId === org.globalId ? { globalId: org.globalId } : { partnerId }) });
    if (q.format === "csv") {
      reply.code(200).type("text/csv; charset=utf-8").send(reportCsv(rows));
      return undefined;
    }
    return { value: rows };
  }));

  app.get("/insights/partners/:partnerId/bizappsUsage", handle(async (req, reply) => {
    const { org, partnerId } = await authorize(req);
    const q = req.query as Record<string, string | undefined>;
    const month = monthParam(q, true) as string;
    const productionOnly = booleanParam(q, "productionOnly");
    if (q.format !== undefined && q.format !== "json" && q.format !== "csv") throw new InsightsError(400, "InvalidFormat", `format="${q.format}" is not known: use json (default) or csv.`);
    const r = await bizappsUsageReport(ctx.store, { month, productionOnly, ...(partnerId === org.globalId ? { globalId: org.globalId } : { partnerId }) });
    if (q.format === "csv") {
      reply.code(200).type("text/csv; charset=utf-8").header("last-modified", new Date(r.asOf).toUTCString()).send(bizappsCsv(r.rows));
      return undefined;
    }
    return { month: r.month, asOf: r.asOf, value: r.rows };
  }));

  app.get("/insights/partners/:partnerId/explain", handle(async (req) => {
    const { partnerId } = await authorize(req);
    const q = req.query as Record<string, string | undefined>;
    if (!q.subscription && q.resource) {
      return explainBizappsResource(ctx.store, ctx.options.dataDir, { partnerId, resourceId: q.resource, month: monthParam(q, true) as string, audience: "partner" });
    }
    if (!q.subscription) throw new InsightsError(400, "MissingSubscription", "query parameter subscription is required, e.g. ?subscription=<id>&month=2026-10 (or ?resource=<app, flow, dataset or instance id>&month=2026-10 for a business application).");
    return explainAttribution(ctx.store, ctx.options.dataDir, {
      partnerId, subscriptionId: q.subscription, month: monthParam(q, true) as string, policy: policyParam(q), audience: "partner",
      ...(q.resource ? { resourceId: q.resource } : {}),
    });
  }));

  app.get("/insights/partners/:partnerId/diagnose", handle(async (req) => {
    const { partnerId } = await authorize(req);
    const q = req.query as Record<string, string | undefined>;
    if (!q.tenant && q.resource) {
      return diagnoseBizappsResource(ctx.store, ctx.options.dataDir, { partnerId, resourceId: q.resource, month: monthParam(q, false), productionOnly: booleanParam(q, "productionOnly"), audience: "partner" });
    }
    if (!q.tenant) throw new InsightsError(400, "MissingTenant", "query parameter tenant is required: the customer tenant id to diagnose (or resource: an app, flow, dataset or instance id).");
    return diagnoseCustomer(ctx.store, { partnerId, tenantId: q.tenant, month: monthParam(q, false), policy: policyParam(q), dataDir: ctx.options.dataDir, now: ctx.clock.now() });
  }));

  app.get("/insights/partners/:partnerId/coverage", handle(async (req) => {
    const { partnerId } = await authorize(req);
    const q = req.query as Record<string, string | undefined>;
    const month = monthParam(q, false);
    const azure = await coverageReport(ctx.store, { partnerId, month, policy: policyParam(q), dataDir: ctx.options.dataDir, now: ctx.clock.now() });
    const businessApplications = await bizappsCoverage(ctx.store, ctx.options.dataDir, { partnerId, month, audience: "partner" });
    return { ...azure, businessApplications };
  }));
}
