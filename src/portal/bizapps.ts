/**
 * /portal/api/bizapps/*: business-applications credit (Power Apps, Power Automate, Power BI,
 * Customer Insights) of the signed-in partner organisation, read from the attribution results in
 * the store (`store.bizapps.rollups`, docs/POWER-PLATFORM.md "Outputs").
 *
 * Tenant isolation is absolute: the organisation is the one whose own tenant is the session's
 * current directory, every read is filtered by its global id, and a partner id that is not one of
 * its locations is refused (403). The explanation's evidence (src/bizapps/explain.ts) and the
 * coverage (src/bizapps/coverage.ts) are asked for with the "partner" audience: another partner's
 * candidate (the loser of a "latest partner" contest) or a customer's account is shown without
 * its identity or partner id.
 */
import type { FastifyReply } from "fastify";
import type { AppContext } from "../context/index.ts";
import type { BizappsRollup } from "../store/bizapps.ts";
import type { PortalError } from "./errors.ts";
import type { PortalRequestContext, PortalRoutes } from "./routes.ts";
import type { BizappsCoverageAnswer, BizappsEvidence, BizappsExplanation } from "./bizapps-wire.ts";

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const WORKLOADS = new Set(["PowerApps", "PowerAutomate", "PowerBI", "CustomerInsights"]);
type Query = Record<string, string | undefined>;

interface Organisation {
  readonly globalId: string;
  readonly name: string;
  readonly tenantIds: readonly string[];
  readonly locationIds: readonly string[];
}

function send(reply: FastifyReply, e: PortalError): FastifyReply {
  return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
}

const monthRange = (month: string) => {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return { from: Date.UTC(y, m - 1, 1), to: Date.UTC(y, m, 1) };
};

const overlaps = (from: number | null, to: number | null, range: { from: number; to: number }) => (from ?? -Infinity) < range.to && (to ?? Infinity) > range.from;

const ROLE_OF_RELATION: Record<string, readonly string[]> = {
  Owner: ["owner", "publisher"], Creator: ["owner"], SolutionImporter: ["owner"], CoOwner: ["coOwner"], Publisher: ["publisher"], ActiveUser: ["instanceUser"],
};

export function registerPortalBizapps(routes: PortalRoutes, ctx: AppContext): void {
  const organisationOf = async (pc: PortalRequestContext): Promise<Organisation | undefined> => {
    const org = await ctx.store.partners.findOrganisationByTenant(pc.session.currentTenantId);
    if (!org) return undefined;
    const locations = await ctx.store.partners.listLocations(org.globalId);
    return { globalId: org.globalId, name: org.name, tenantIds: org.tenantIds.map((t) => t.toLowerCase()), locationIds: locations.map((l) => l.id) };
  };

  /** The organisation and the location ids asked for (all of them for the global id), or why not. */
  const scopeOf = async (pc: PortalRequestContext, q: Query): Promise<{ org: Organisation; locationIds: readonly string[] } | PortalError> => {
    const org = await organisationOf(pc);
    if (!org) return { status: 403, code: "NotAPartnerDirectory", message: `${await pc.directoryName()} is not one of a partner organisation's own tenants, so it has no insights. Switch directory to your partner organisation's tenant.` };
    const asked = q.partnerId ?? org.globalId;
    if (asked === org.globalId) return { org, locationIds: org.locationIds };
    if (!org.locationIds.includes(asked)) return { status: 403, code: "NotYourPartnerId", message: `Partner ID ${asked} is not one of ${org.name}'s. Insights show your own organisation's attribution only.` };
    return { org, locationIds: [asked] };
  };

  /** The organisation's rows of the months asked for: always filtered by its global id (isolation). */
  const rowsOf = async (org: Organisation, locationIds: readonly string[], months: readonly string[], q: Query): Promise<BizappsRollup[]> => {
    const rows: BizappsRollup[] = [];
    for (const month of months) {
      rows.push(...(await ctx.store.bizapps.rollups({ month, globalId: org.globalId, partnerLocationIds: locationIds, productionOnly: q.productionOnly === "true" || q.productionOnly === "1" })));
    }
    return q.workload && WORKLOADS.has(q.workload) ? rows.filter((r) => r.workload === q.workload) : rows;
  };

  routes.api("GET", "/bizapps", async (req, reply, pc) => {
    const q = req.query as Query;
    const scope = await scopeOf(pc, q);
    if ("status" in scope) return send(reply, scope);
    if (q.workload && !WORKLOADS.has(q.workload)) return send(reply, { status: 400, code: "InvalidWorkload", message: `Product '${q.workload}' is not one of PowerApps, PowerAutomate, PowerBI, CustomerInsights.` });
    const available = await ctx.store.bizapps.months();
    const asked = (q.months ?? "").split(",").map((m) => m.trim()).filter(Boolean);
    if (asked.some((m) => !MONTH.test(m))) return send(reply, { status: 400, code: "InvalidMonth", message: "Choose one or more months (YYYY-MM)." });
    const months = asked.length > 0 ? [...new Set(asked)].sort() : available;
    return {
      months: available,
      missingMonths: months.filter((m) => !available.includes(m)),
      rows: await rowsOf(scope.org, scope.locationIds, months.filter((m) => available.includes(m)), q),
    };
  });

  routes.api("GET", "/bizapps/explain", async (req, reply, pc) => {
    const q = req.query as Query;
    const scope = await scopeOf(pc, q);
    if ("status" in scope) return send(reply, scope);
    if (!q.month || !MONTH.test(q.month) || !q.resource) return send(reply, { status: 400, code: "InvalidQuery", message: "Choose a credited resource in the list to see its explanation." });
    const rows = await ctx.store.bizapps.rollups({ month: q.month, globalId: scope.org.globalId, partnerLocationIds: scope.locationIds, resourceId: q.resource });
    const row = rows[0];
    if (!row) return send(reply, { status: 404, code: "NotCredited", message: `Resource ${q.resource} is not credited to ${scope.org.name} in ${q.month}.` });
    const explanation = await explain(ctx, scope.org, row);
    return explanation;
  });

  routes.api("GET", "/bizapps/coverage", async (req, reply, pc) => {
    const q = req.query as Query;
    const scope = await scopeOf(pc, q);
    if ("status" in scope) return send(reply, scope);
    if (q.month && !MONTH.test(q.month)) return send(reply, { status: 400, code: "InvalidMonth", message: "Choose a month (YYYY-MM)." });
    const months = await ctx.store.bizapps.months();
    const month = q.month ?? months.at(-1);
    if (!month || !months.includes(month)) return { month: month ?? null, months, asOf: null, customers: [], message: `No business-applications results for ${month ?? "any month"} yet. Ask the operator to run the attribution for that month.` } satisfies BizappsCoverageAnswer;
    const { bizappsCoverage } = await import("../bizapps/coverage.ts");
    const c = await bizappsCoverage(ctx.store, ctx.options.dataDir, { partnerId: scope.org.globalId, month, audience: "partner" });
    return {
      month: c.month, months, asOf: c.asOf, message: c.message,
      customers: c.customers.map((t) => ({
        tenantId: t.tenantId, tenantName: t.tenantName, credited: t.credited, atRisk: t.atRisk, notCovered: t.notCovered,
        resources: t.resources.map((r) => ({
          resourceId: r.resourceId, resourceName: r.resourceName, workload: r.workload, resourceType: r.resourceType, environmentType: r.environmentType, status: r.status,
          quantityType: r.quantityType, quantity: r.quantity, value: r.value, attributedUser: { name: r.attributedUser.name, role: r.attributedUser.role, account: r.attributedUser.account },
          reason: r.reason, message: r.message, fix: r.fix,
        })),
      })),
    } satisfies BizappsCoverageAnswer;
  });
}

async function explain(ctx: AppContext, org: Organisation, row: BizappsRollup): Promise<BizappsExplanation> {
  const range = monthRange(row.month);
  const customer = row.customerTenantId;
  const userId = row.attributedUserObjectId;
  // A delegated administrator lives in its home tenant (one of the organisation's), linked there.
  const principalTenants = row.linkPath === "delegatedAdmin" ? [...org.tenantIds, customer] : [customer, ...org.tenantIds];
  let attributedUser: BizappsExplanation["attributedUser"] = { objectId: userId, displayName: null, kind: null, tenantId: null };
  for (const tenantId of principalTenants) {
    const p = await ctx.store.directory.findPrincipal(tenantId, userId);
    if (!p) continue;
    attributedUser = p.type === "User"
      ? { objectId: userId, displayName: `${p.user.displayName ?? p.user.userPrincipalName} (${p.user.userPrincipalName})`, kind: p.user.kind === "guest" ? "Guest user" : "User", tenantId }
      : p.type === "ServicePrincipal"
        ? { objectId: userId, displayName: p.servicePrincipal.displayName, kind: "Service principal", tenantId }
        : { objectId: userId, displayName: p.group.displayName, kind: "Group", tenantId };
    break;
  }

  const relations = ROLE_OF_RELATION[row.attributedUserRole] ?? [];
  const held = (await ctx.store.powerPlatform.relationships(customer, row.resourceId))
    .filter((r) => r.principalId === userId && relations.includes(r.relation) && overlaps(r.from, r.to, range))
    .sort((a, b) => (b.from ?? -Infinity) - (a.from ?? -Infinity))[0];
  const solution = held?.solutionId ? await ctx.store.powerPlatform.getSolution(customer, held.solutionId) : undefined;
  const relationship = held
    ? { role: row.attributedUserRole, since: held.from, until: held.to, basis: held.basis, solution: solution ? `${solution.friendlyName} (${solution.uniqueName})` : (held.solutionId ?? null) }
    : null;

  const linkTenant = row.linkPath === "delegatedAdmin" ? (attributedUser.tenantId ?? customer) : customer;
  const linked = (await ctx.store.links.history({ tenantId: linkTenant, objectId: userId, partnerId: row.partnerLocationId }))
    .filter((l) => overlaps(l.validFrom, l.validTo, range))
    .sort((a, b) => (b.validFrom ?? -Infinity) - (a.validFrom ?? -Infinity))[0];
  const link = linked ? { partnerId: linked.partnerId, tenantId: linkTenant, since: linked.validFrom, until: linked.validTo } : null;

  return { row, attributedUser, relationship, link, ...(await evidenceOf(ctx, org, row)) };
}

/** The "latest partner" evidence and every candidate, from the run's facts (src/bizapps/explain.ts, partner audience). */
async function evidenceOf(ctx: AppContext, org: Organisation, row: BizappsRollup): Promise<{ evidence: BizappsEvidence | null; evidenceMessage: string | null }> {
  const { explainBizappsResource } = await import("../bizapps/explain.ts");
  const { ReportError } = await import("../domain/report.ts");
  try {
    const x = await explainBizappsResource(ctx.store, ctx.options.dataDir, { resourceId: row.resourceId, month: row.month, partnerId: org.globalId, audience: "partner" });
    return {
      evidence: {
        decision: x.decision,
        partners: x.partners.map((p) => ({ yours: p.globalId === org.globalId, partnerName: p.partnerName, credited: p.credited, lastActAt: p.lastActAt, lastActOperation: p.lastActOperation, qualifyingSince: p.qualifyingSince })),
        candidates: x.candidates.map((c) => ({
          principalId: c.principalId, principalName: c.principalName, attributedUserRole: c.attributedUserRole, qualifies: c.qualifies, notQualifyingReason: c.notQualifyingReason,
          partnerLocationId: c.partnerLocationId, partnerName: c.partnerName, lastActAt: c.lastActAt, credited: c.credited, chain: c.chain,
        })),
      },
      evidenceMessage: null,
    };
  } catch (error) {
    if (error instanceof ReportError) return { evidence: null, evidenceMessage: error.message };
    throw error;
  }
}
