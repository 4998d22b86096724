/**
 * /portal/api/bizapps/*: business-applications credit (Power Apps, Power Automate, Power BI,
 * Customer Insights) of the signed-in partner organisation, read from the attribution results in
 * the store (`store.bizapps.rollups`, docs/POWER-PLATFORM.md "Outputs").
 *
 * Tenant isolation is absolute: the organisation is the one whose own tenant is the session's
 * current directory, every read is filtered by its global id, and a partner id that is not one of
 * its locations is refused (403). Another partner's candidate for a resource (the loser of a
 * "latest partner" contest) is shown without its partner id or identity: only that it existed,
 * how it stood and when it last acted.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { FastifyReply } from "fastify";
import type { AppContext } from "../server/context.ts";
import type { BizappsRollup } from "../store/bizapps.ts";
import type { PortalError } from "./errors.ts";
import type { PortalRequestContext, PortalRoutes } from "./routes.ts";
import type { BizappsCandidateView, BizappsCoverageAnswer, BizappsCustomerCoverage, BizappsExplanation } from "./bizapps-wire.ts";

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

/** Exact sum of decimal strings (the rollups' consumption values), as a decimal string with 2+ places kept. */
export function sumDecimalStrings(values: readonly string[]): string {
  let scale = 0;
  for (const v of values) scale = Math.max(scale, (v.split(".")[1] ?? "").length);
  let total = 0n;
  for (const v of values) {
    const negative = v.startsWith("-");
    const [int = "0", frac = ""] = v.replace(/^-/, "").split(".");
    const units = BigInt(int + frac.padEnd(scale, "0"));
    total += negative ? -units : units;
  }
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, "0");
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
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
    const available = await ctx.store.bizapps.months();
    if (q.month && !MONTH.test(q.month)) return send(reply, { status: 400, code: "InvalidMonth", message: "Choose a month (YYYY-MM)." });
    const month = q.month ?? available.at(-1);
    if (!month || !available.includes(month)) return { month: month ?? null, months: available, customers: [] } satisfies BizappsCoverageAnswer;
    const rows = await rowsOf(scope.org, scope.locationIds, [month], q);
    return { month, months: available, customers: coverageFromRollups(rows) } satisfies BizappsCoverageAnswer;
  });
}

/** Credited business applications per customer tenant, from the month's rollups. */
export function coverageFromRollups(rows: readonly BizappsRollup[]): BizappsCustomerCoverage[] {
  const byCustomer = new Map<string, BizappsRollup[]>();
  for (const r of rows) byCustomer.set(r.customerTenantId, [...(byCustomer.get(r.customerTenantId) ?? []), r]);
  return [...byCustomer.entries()].map(([customerTenantId, rs]) => {
    const byWorkload: Record<string, number> = {};
    for (const r of rs) byWorkload[r.workload] = (byWorkload[r.workload] ?? 0) + 1;
    return {
      customerTenantId, customerName: rs[0]?.customerName ?? customerTenantId, resources: rs.length,
      mau: rs.filter((r) => r.quantityType === "MAU").reduce((s, r) => s + r.quantity, 0),
      unifiedProfiles: rs.filter((r) => r.quantityType === "UnifiedProfiles").reduce((s, r) => s + r.quantity, 0),
      monthlyConsumptionValue: sumDecimalStrings(rs.map((r) => r.monthlyConsumptionValue)), byWorkload,
    };
  }).sort((a, b) => Number(b.monthlyConsumptionValue) - Number(a.monthlyConsumptionValue) || a.customerName.localeCompare(b.customerName));
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

  return { row, attributedUser, relationship, link, candidates: await candidatesOf(ctx, org, row) };
}

/** The month's candidates for the row's resource from the engine's facts Parquet (null when not written). */
async function candidatesOf(ctx: AppContext, org: Organisation, row: BizappsRollup): Promise<BizappsCandidateView[] | null> {
  const file = path.join(path.resolve(ctx.options.dataDir), "attribution", `month=${row.month}`, "bizapps", "facts.parquet");
  if (!existsSync(file)) return null;
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    const prepared = await c.prepare(`SELECT partner_location_id, global_id, principal_id, attributed_user_role, qualifies, not_qualifying_reason, link_path,
        epoch_ms(last_act_at) AS last_act_ms, last_act_operation, credited
      FROM read_parquet('${file.replaceAll("'", "''")}', hive_partitioning = false) WHERE resource_id = $1 AND customer_tenant_id = $2
      ORDER BY credited DESC, qualifies DESC, last_act_at DESC NULLS LAST, partner_location_id NULLS LAST, principal_id`);
    prepared.bindVarchar(1, row.resourceId.toLowerCase());
    prepared.bindVarchar(2, row.customerTenantId.toLowerCase());
    const facts = (await prepared.runAndReadAll()).getRowObjectsJS() as Record<string, unknown>[];
    const out: BizappsCandidateView[] = [];
    const seen = new Set<string>();
    for (const f of facts) {
      // Candidates without a partner (no link) belong to coverage (at risk), not to the choice of a partner.
      if (f.global_id === null || f.global_id === undefined) continue;
      const yours = f.global_id === org.globalId;
      const view: BizappsCandidateView = {
        yours,
        partnerLocationId: yours ? (f.partner_location_id as string | null) : null,
        principalId: yours ? (f.principal_id as string | null) : null,
        role: yours ? (f.attributed_user_role as string | null) : null,
        qualifies: f.qualifies === true,
        notQualifyingReason: (f.not_qualifying_reason as string | null) ?? null,
        linkPath: yours ? ((f.link_path as string | null) ?? null) : null,
        lastActAt: f.last_act_ms === null || f.last_act_ms === undefined ? null : Number(f.last_act_ms),
        lastActOperation: yours ? ((f.last_act_operation as string | null) ?? null) : null,
        credited: f.credited === true,
      };
      const key = JSON.stringify(view);
      if (seen.has(key)) continue; // one line per candidate, not per relationship interval
      seen.add(key);
      out.push(view);
    }
    return out;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
