/**
 * /portal/api/insights/* and /portal/api/coverage/*: the partner's own attribution, read through
 * the insights API (/insights/partners/{id}/…) with the session's bearer token, so the insights
 * API's own rule decides what a caller may see (only principals of the organisation's own tenants,
 * only its own rows; DPOR credit as rule 13 allows). The portal adds the organisation of the
 * current directory (to know which partner id to ask for), several months in one view, and a CSV
 * of exactly the rows shown.
 */
import type { FastifyReply } from "fastify";
import type { AppContext } from "../context/index.ts";
import { armErrorOf, portalError, type PortalError } from "./errors.ts";
import type { PortalRequestContext, PortalRoutes } from "./routes.ts";

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const POLICIES = new Set(["pec", "all-roles"]);
/** The report columns, in Partner Center's order (the CSV of the insights API has the same). */
const REPORT_COLUMNS = [
  "PartnerId", "PGAPartnerId", "PartnerName", "CustomerTenantId", "CustomerName", "SubscriptionId", "SubscriptionName", "Month",
  "PartnerAttributionType", "AdminType", "ACR", "BillingCurrency", "ACR_USD",
  "IsACRDuplicateAtPGALevel", "IsACRDuplicateAtPGAAttachTypeLevel", "IsACRDuplicateAtMPNLevel",
] as const;

type Query = Record<string, string | undefined>;
type ReportRow = Record<(typeof REPORT_COLUMNS)[number], unknown>;

function send(reply: FastifyReply, e: PortalError): FastifyReply {
  return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
}

/** An insights API error, in words for the partner. */
function insightsErrorInPartnerWords(status: number, body: unknown): PortalError {
  const { code, message } = armErrorOf(body);
  if (status === 401) return portalError("SignInRequired");
  if (status === 403) {
    return { status, code, message: "Insights show a partner organisation's own attribution only, to people signed in to one of its own tenants. Switch directory to your partner organisation's tenant." };
  }
  if (status === 404 && /no attribution results/.test(message)) {
    return { status, code, message: `${message.replace(/: run `.*$/, "")}. Ask the operator to run the attribution for that month.` };
  }
  return { status: status >= 400 ? status : 502, code, message };
}

export function registerPortalInsights(routes: PortalRoutes, ctx: AppContext): void {
  const organisationOf = async (pc: PortalRequestContext) => {
    const org = await ctx.store.partners.findOrganisationByTenant(pc.session.currentTenantId);
    if (!org) return undefined;
    const locations = await ctx.store.partners.listLocations(org.globalId);
    const now = ctx.clock.now();
    const withStatus = await Promise.all(locations.map(async (l) => ({ id: l.id, country: l.country, active: await ctx.store.partners.isLocationActive(l.id, now) })));
    return { globalId: org.globalId, name: org.name, locations: withStatus };
  };

  /** The partner id to ask for: a location of the directory's organisation, or its global id. */
  const partnerIdFor = async (pc: PortalRequestContext, q: Query): Promise<string | PortalError> => {
    const org = await organisationOf(pc);
    if (!org) return { status: 403, code: "NotAPartnerDirectory", message: `${await pc.directoryName()} is not one of a partner organisation's own tenants, so it has no insights. Switch directory to your partner organisation's tenant.` };
    const asked = q.partnerId ?? org.globalId;
    if (asked !== org.globalId && !org.locations.some((l) => l.id === asked)) {
      return { status: 403, code: "NotYourPartnerId", message: `Partner ID ${asked} is not one of ${org.name}'s. Insights show your own organisation's attribution only.` };
    }
    return asked;
  };

  const monthsOf = (q: Query): string[] | PortalError => {
    const months = (q.months ?? q.month ?? "").split(",").map((m) => m.trim()).filter(Boolean);
    if (months.length === 0 || months.some((m) => !MONTH.test(m))) return { status: 400, code: "InvalidMonth", message: "Choose one or more months (YYYY-MM)." };
    return [...new Set(months)].sort();
  };

  const policyOf = (q: Query): string => (q.policy && POLICIES.has(q.policy) ? q.policy : "pec");

  const reportRows = async (pc: PortalRequestContext, q: Query): Promise<{ rows: ReportRow[]; missingMonths: string[] } | PortalError> => {
    const partnerId = await partnerIdFor(pc, q);
    if (typeof partnerId !== "string") return partnerId;
    const months = monthsOf(q);
    if (!Array.isArray(months)) return months;
    const rows: ReportRow[] = [];
    const missingMonths: string[] = [];
    for (const month of months) {
      const res = await pc.arm("GET", `/insights/partners/${encodeURIComponent(partnerId)}/azureUsage?month=${month}&policy=${policyOf(q)}`);
      if (res.status === 404 && /no attribution results/.test(armErrorOf(res.body).message)) {
        missingMonths.push(month);
        continue;
      }
      if (res.status !== 200) return insightsErrorInPartnerWords(res.status, res.body);
      rows.push(...((res.body as { value: ReportRow[] }).value));
    }
    const type = q.type === "PAL" || q.type === "DPOR" ? q.type : undefined;
    return { rows: type ? rows.filter((r) => r.PartnerAttributionType === type) : rows, missingMonths };
  };

  routes.api("GET", "/insights/context", async (_req, _reply, pc) => {
    const organisation = await organisationOf(pc);
    const months = [...new Set([...(await ctx.store.attribution.months("pec")), ...(await ctx.store.attribution.months("all-roles"))])].sort();
    return { directory: { tenantId: pc.session.currentTenantId, displayName: await pc.directoryName() }, organisation: organisation ?? null, months };
  });

  routes.api("GET", "/insights/report", async (req, reply, pc) => {
    const result = await reportRows(pc, req.query as Query);
    if ("status" in result) return send(reply, result);
    return result;
  });

  routes.api("GET", "/insights/report.csv", async (req, reply, pc) => {
    const result = await reportRows(pc, req.query as Query);
    if ("status" in result) return send(reply, result);
    const cell = (v: unknown) => {
      const s = v === null || v === undefined ? "" : String(v);
      return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
    };
    const csv = [REPORT_COLUMNS.join(","), ...result.rows.map((r) => REPORT_COLUMNS.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
    const months = monthsOf(req.query as Query) as string[];
    return reply.type("text/csv; charset=utf-8")
      .header("content-disposition", `attachment; filename="azure-usage-${months[0]}${months.length > 1 ? `_to_${months.at(-1)}` : ""}.csv"`)
      .send(csv);
  });

  routes.api("GET", "/insights/explain", async (req, reply, pc) => {
    const q = req.query as Query;
    const partnerId = await partnerIdFor(pc, q);
    if (typeof partnerId !== "string") return send(reply, partnerId);
    if (!q.subscription || !q.month || !MONTH.test(q.month)) return send(reply, { status: 400, code: "InvalidQuery", message: "Choose an amount in the report to see its explanation." });
    const res = await pc.arm("GET", `/insights/partners/${encodeURIComponent(partnerId)}/explain?subscription=${encodeURIComponent(q.subscription)}&month=${q.month}&policy=${policyOf(q)}`);
    if (res.status !== 200) return send(reply, insightsErrorInPartnerWords(res.status, res.body));
    return res.body;
  });

  routes.api("GET", "/coverage", async (req, reply, pc) => {
    const q = req.query as Query;
    const partnerId = await partnerIdFor(pc, q);
    if (typeof partnerId !== "string") return send(reply, partnerId);
    const month = q.month && MONTH.test(q.month) ? `&month=${q.month}` : "";
    const res = await pc.arm("GET", `/insights/partners/${encodeURIComponent(partnerId)}/coverage?policy=${policyOf(q)}${month}`);
    if (res.status !== 200) return send(reply, insightsErrorInPartnerWords(res.status, res.body));
    return res.body;
  });

  routes.api("GET", "/coverage/diagnose", async (req, reply, pc) => {
    const q = req.query as Query;
    const partnerId = await partnerIdFor(pc, q);
    if (typeof partnerId !== "string") return send(reply, partnerId);
    const asked = (q.tenant ?? "").trim();
    if (!asked) return send(reply, { status: 400, code: "MissingTenant", message: "Enter the customer's tenant ID or domain." });
    // A domain is what partners know their customers by; the insights API takes the tenant id.
    const tenant = (await ctx.store.directory.findTenant(asked))?.id;
    if (!tenant) return send(reply, { status: 404, code: "TenantNotFound", message: `No tenant '${asked}' is known to this server. Check the customer's tenant ID or domain.` });
    const month = q.month && MONTH.test(q.month) ? `&month=${q.month}` : "";
    const res = await pc.arm("GET", `/insights/partners/${encodeURIComponent(partnerId)}/diagnose?tenant=${encodeURIComponent(tenant)}&policy=${policyOf(q)}${month}`);
    if (res.status !== 200) return send(reply, insightsErrorInPartnerWords(res.status, res.body));
    return res.body;
  });
}
