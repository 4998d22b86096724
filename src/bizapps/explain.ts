/**
 * Explain a business-applications resource in a month: metric ← resource ← relationship (since
 * when, through which solution import or take-over) ← principal state ← link ← partner id, and the
 * evidence of the "latest" choice (decision 4): each candidate partner's last act while
 * qualifying, and why the credited partner won.
 *
 * Candidates come from the facts Parquet the run wrote; the credited row from the store's rollups
 * (what the report shows). Audience "partner" (HTTPS insights) hides another organisation's
 * identities and ids: it sees "another partner", its last act and when its relationship began.
 */
import type { Store } from "../store/index.ts";
import type { BizappsRollup } from "../store/bizapps.ts";
import { ReportError } from "../domain/report.ts";
import { readBizappsFacts, type BizappsFact } from "./facts-reader.ts";
import { requireBizappsRun, unknownResourceHint, unknownResourcesOf } from "./report.ts";
import { monthWindow } from "../domain/time.ts";
import { factsFileOf, isoTime, KIND_NOUN, orgContext, PrincipalDirectory, span, type OrgContext, type PrincipalInfo } from "./context.ts";

export interface BizappsExplainQuery {
  readonly resourceId: string;
  readonly month: string;
  /** Location or global id: whose point of view (required for audience "partner"). */
  readonly partnerId?: string;
  readonly audience?: "operator" | "partner";
}

export interface ExplainedResource {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly workload: string;
  readonly resourceType: string;
  readonly customerTenantId: string;
  readonly customerName: string;
  readonly environmentId: string | null;
  readonly environmentName: string | null;
  readonly environmentType: string;
}

export interface ExplainedCandidate {
  /** null: another partner's identity (audience "partner"). */
  readonly principalId: string | null;
  readonly principalName: string | null;
  readonly principalKind: PrincipalInfo["kind"] | null;
  readonly attributedUserRole: string;
  readonly relation: string;
  readonly basis: string | null;
  readonly relationshipFrom: string | null;
  readonly relationshipTo: string | null;
  readonly solution: { readonly id: string; readonly uniqueName: string | null } | null;
  readonly qualifies: boolean;
  readonly notQualifyingReason: string | null;
  readonly qualifying: { readonly from: string | null; readonly to: string | null; readonly seconds: number } | null;
  readonly partnerLocationId: string | null;
  readonly globalId: string | null;
  readonly partnerName: string | null;
  readonly linkPath: string | null;
  /** The principal's link to the location nearest to the relationship (null without a location, or to a partner: another partner's). */
  readonly link: { readonly from: string | null; readonly to: string | null } | null;
  readonly lastActAt: string | null;
  readonly lastActOperation: string | null;
  readonly credited: boolean;
  /** The chain, resource side first. */
  readonly chain: readonly string[];
}

export interface PartnerEvidence {
  /** null: another partner (audience "partner"). */
  readonly globalId: string | null;
  readonly partnerName: string;
  readonly credited: boolean;
  /** Last act on the resource in the month while qualifying (decision 4). */
  readonly lastActAt: string | null;
  readonly lastActOperation: string | null;
  /** When its most recent qualifying relationship began (the tie-break when nobody acted). */
  readonly qualifyingSince: string | null;
}

export interface BizappsExplanation {
  readonly month: string;
  readonly asOf: string;
  readonly resource: ExplainedResource;
  readonly metric: { readonly quantityType: string; readonly quantity: number; readonly source: string | null } | null;
  readonly credited: (Pick<BizappsRollup, "partnerLocationId" | "globalId" | "partnerName" | "attributedUserObjectId" | "attributedUserRole" | "linkPath" | "decidedBy" | "quantity" | "quantityType" | "monthlyConsumptionValue"> & { readonly lastActAt: string | null }) | null;
  readonly partners: readonly PartnerEvidence[];
  /** Why the credited partner and not another, in words. */
  readonly decision: string;
  readonly candidates: readonly ExplainedCandidate[];
}

const BASIS_TEXT: Readonly<Record<string, string>> = {
  created: "created it", assigned: "was made owner (owner change)", solutionImport: "imported the solution", shared: "got edit rights (shared with CanEdit: co-owner)",
  published: "published it", takeover: "took it over (Default.TakeOver)", instanceRole: "holds a role on the instance",
};

const REASON_TEXT: Readonly<Record<string, string>> = {
  noLink: "has no partner link", principalUnknown: "is not in the directory (neither the customer tenant nor a delegated partner tenant)",
  delegationEnded: "acts through delegated administration, which did not hold while it was otherwise qualifying", linkNotActive: "was not linked while it held the relationship", locationInactive: "was linked to an inactive location id",
  principalDisabled: "was disabled (or deleted) while it held the relationship", noActivity: "had no activity on the instance in the month (a Customer Insights user counts only when active)",
};

/** A candidate that does not qualify: when its link was in place, and whether that is outside the month. */
function linked(f: BizappsFact, hide: boolean): string {
  if (hide || !f.partnerLocationId || (f.linkFrom === null && f.linkTo === null)) return "";
  const w = monthWindow(f.month);
  const where = f.linkFrom !== null && f.linkFrom >= w.to ? `: it starts after ${f.month}; credit starts the month it is active (a link cannot be back-dated)`
    : f.linkTo !== null && f.linkTo <= w.from ? `: it ended before ${f.month}` : "";
  return `, linked ${span(f.linkFrom, f.linkTo)}${where}`;
}

export async function explainBizappsResource(store: Store, dataDir: string, q: BizappsExplainQuery): Promise<BizappsExplanation> {
  const run = await requireBizappsRun(store, q.month);
  const audience = q.audience ?? "operator";
  if (audience === "partner" && !q.partnerId) throw new ReportError("a partner id is required to explain a resource to a partner.");
  const ctx = q.partnerId ? await orgContext(store, q.partnerId) : undefined;
  const resourceId = q.resourceId.trim().toLowerCase();
  const facts = await readBizappsFacts(factsFileOf(dataDir, run), { resourceIds: [resourceId] });
  const credit = (await store.bizapps.rollups({ month: q.month, resourceId }))[0];
  if (facts.length === 0 && !credit) {
    throw new ReportError(`resource ${q.resourceId} has no attributed-user relationship in ${q.month} (or is not known): check the id with \`openpal powerplatform apps list\` ` +
      `(flows list, datasets list), and re-run \`openpal attribution run --month ${q.month}\` if it was added since ${isoTime(run.ranAt)}.` +
      (audience === "operator" ? unknownResourceHint(unknownResourcesOf(run), resourceId, q.month) : ""));
  }
  const dir = new PrincipalDirectory(store);
  const first = facts[0];
  const tenantId = credit?.customerTenantId ?? (first as BizappsFact).customerTenantId;
  if (audience === "partner" && ctx && !(await concerns(ctx, dir, tenantId, facts, credit))) {
    // The same answer as an unknown resource: a partner learns nothing of resources that are not its business.
    throw new ReportError(`resource ${q.resourceId} has no relationship with an identity of ${ctx.org.name} in ${q.month}; nothing to explain (try diagnose for why it is not credited).`);
  }
  const resource = await describeResource(store, tenantId, resourceId, first, credit);
  const orgNames = new Map((await store.partners.listOrganisations()).map((o) => [o.globalId, o.name]));
  const locNames = new Map((await store.partners.listLocations()).map((l) => [l.id, l.name ?? orgNames.get(l.globalId) ?? l.globalId]));
  const solutionNames = new Map<string, string | null>();
  for (const f of facts) if (f.solutionId && !solutionNames.has(f.solutionId)) solutionNames.set(f.solutionId, (await store.powerPlatform.getSolution(tenantId, f.solutionId))?.uniqueName ?? null);

  const candidates: ExplainedCandidate[] = [];
  for (const f of facts) {
    const info = await dir.info(tenantId, f.principalId);
    const ours = ctx ? (f.globalId === ctx.org.globalId || info.homeOrganisation === ctx.org.globalId) : true;
    const hide = audience === "partner" && !ours;
    const partnerName = f.globalId ? (f.partnerLocationId ? locNames.get(f.partnerLocationId) : undefined) ?? orgNames.get(f.globalId) ?? f.globalId : null;
    const solution = f.solutionId ? { id: f.solutionId, uniqueName: solutionNames.get(f.solutionId) ?? null } : null;
    const principalText = hide ? "another partner's (or the customer's) identity" : `${info.userPrincipalName ?? info.displayName ?? ""} ${f.principalId} (${info.kind}${info.tenantId && info.tenantId !== tenantId ? `, tenant ${info.tenantId}` : ""})`.trim();
    const chain = [
      `metric: ${f.quantity} ${f.quantityType}${f.quantitySource ? ` (from ${f.quantitySource === "metrics" ? "a metrics file" : "use events"})` : ""}`,
      `resource: ${KIND_NOUN[f.resourceKind] ?? f.resourceKind} ${resource.name} (${f.resourceId}) in ${resource.environmentName ?? resource.environmentId ?? "no environment"} (${f.environmentType})`,
      `relationship: ${f.attributedUserRole} ${span(f.relationshipFrom, f.relationshipTo)} — ${hide ? "" : "the principal "}${BASIS_TEXT[f.basis ?? ""] ?? f.basis ?? ""}${solution ? ` (solution ${solution.uniqueName ?? solution.id})` : ""}`,
      `principal: ${principalText}${f.qualifies ? ", qualifying" : `: ${REASON_TEXT[f.notQualifyingReason ?? ""] ?? "does not qualify"}`}`,
      f.partnerLocationId
        ? `link: to ${hide ? "another partner's id" : f.partnerLocationId}${f.linkPath === "delegatedAdmin" ? " in its home tenant (delegated administrator, decision 7)" : f.linkPath === "home" ? " in the customer tenant" : ""}${f.qualifies ? `, qualifying ${span(f.qualifyingFrom, f.qualifyingTo)} (${f.qualifyingSeconds} s)` : linked(f, hide)}`
        : "link: none",
      f.globalId ? `partner: ${hide ? "another partner" : `${f.partnerLocationId} ${partnerName} (organisation ${f.globalId})`}${f.lastActAt !== null ? `; last act ${isoTime(f.lastActAt)}${f.lastActOperation && !hide ? ` (${f.lastActOperation})` : ""}` : "; no act in the month while qualifying"}${f.credited ? " — CREDITED" : ""}` : "partner: none",
    ];
    candidates.push({
      principalId: hide ? null : f.principalId, principalName: hide ? null : info.userPrincipalName ?? info.displayName, principalKind: hide ? null : info.kind,
      attributedUserRole: f.attributedUserRole, relation: f.relation, basis: f.basis, relationshipFrom: isoTime(f.relationshipFrom), relationshipTo: isoTime(f.relationshipTo),
      solution: hide ? null : solution, qualifies: f.qualifies, notQualifyingReason: f.notQualifyingReason,
      qualifying: f.qualifies ? { from: isoTime(f.qualifyingFrom), to: isoTime(f.qualifyingTo), seconds: f.qualifyingSeconds } : null,
      partnerLocationId: hide ? null : f.partnerLocationId, globalId: hide ? null : f.globalId, partnerName: hide ? (f.globalId ? "another partner" : null) : partnerName,
      linkPath: f.linkPath, link: hide || (f.linkFrom === null && f.linkTo === null && !f.partnerLocationId) ? null : { from: isoTime(f.linkFrom), to: isoTime(f.linkTo) }, lastActAt: isoTime(f.lastActAt), lastActOperation: hide ? null : f.lastActOperation, credited: f.credited, chain,
    });
  }

  const partners = partnerEvidence(facts, credit, orgNames, (g) => audience === "partner" && !!ctx && g !== ctx.org.globalId);
  const metricFact = facts.find((f) => f.credited) ?? first;
  return {
    month: q.month, asOf: new Date(run.ranAt).toISOString(), resource,
    metric: credit ? { quantityType: credit.quantityType, quantity: credit.quantity, source: credit.quantitySource }
      : metricFact ? { quantityType: metricFact.quantityType, quantity: metricFact.quantity, source: metricFact.quantitySource } : null,
    credited: credit && !(audience === "partner" && ctx && credit.globalId !== ctx.org.globalId) ? {
      partnerLocationId: credit.partnerLocationId, globalId: credit.globalId, partnerName: credit.partnerName, attributedUserObjectId: credit.attributedUserObjectId,
      attributedUserRole: credit.attributedUserRole, linkPath: credit.linkPath, decidedBy: credit.decidedBy, quantity: credit.quantity, quantityType: credit.quantityType,
      monthlyConsumptionValue: credit.monthlyConsumptionValue, lastActAt: isoTime(credit.lastActAt),
    } : null,
    partners, decision: decisionText(partners, credit && audience === "partner" && ctx && credit.globalId !== ctx.org.globalId ? { ...credit, partnerName: "another partner" } : credit), candidates,
  };
}

/** Whether the resource concerns the organisation: a fact or credit of its own, or an identity of its on the resource. */
async function concerns(ctx: OrgContext, dir: PrincipalDirectory, tenantId: string, facts: readonly BizappsFact[], credit: BizappsRollup | undefined): Promise<boolean> {
  if (credit?.globalId === ctx.org.globalId) return true;
  for (const f of facts) if (await dir.isOf(ctx.org.globalId, tenantId, f.principalId, facts)) return true;
  return false;
}

/** Per candidate partner: its last act while qualifying and when its qualifying relationship began (decision 4). */
export function partnerEvidence(facts: readonly BizappsFact[], credit: BizappsRollup | undefined, orgNames: ReadonlyMap<string, string>, hide: (globalId: string) => boolean): PartnerEvidence[] {
  const by = new Map<string, { lastAct: number | null; op: string | null; since: number | null; credited: boolean }>();
  for (const f of facts) {
    if (!f.globalId || !f.qualifies) continue;
    const e = by.get(f.globalId) ?? { lastAct: null, op: null, since: null, credited: false };
    if (f.lastActAt !== null && (e.lastAct === null || f.lastActAt > e.lastAct)) {
      e.lastAct = f.lastActAt;
      e.op = f.lastActOperation;
    }
    const start = f.qualifyingFrom ?? f.relationshipFrom;
    if (start !== null && (e.since === null || start > e.since)) e.since = start;
    e.credited ||= f.credited || credit?.globalId === f.globalId;
    by.set(f.globalId, e);
  }
  if (credit && !by.has(credit.globalId)) by.set(credit.globalId, { lastAct: credit.lastActAt, op: null, since: null, credited: true });
  return [...by.entries()].map(([g, e]) => ({
    globalId: hide(g) ? null : g, partnerName: hide(g) ? "another partner" : orgNames.get(g) ?? g, credited: e.credited,
    lastActAt: isoTime(e.lastAct), lastActOperation: hide(g) ? null : e.op, qualifyingSince: isoTime(e.since),
  })).sort((a, b) => Number(b.credited) - Number(a.credited) || String(b.lastActAt ?? "").localeCompare(String(a.lastActAt ?? "")));
}

export function decisionText(partners: readonly PartnerEvidence[], credit: BizappsRollup | undefined): string {
  if (!credit) {
    return partners.length === 0
      ? "not credited: no candidate qualified (no attributed user linked to an active partner id while enabled) — see the candidates' reasons."
      : "not credited: a candidate qualified but nothing was credited (the metric may be zero) — see diagnose.";
  }
  const winner = partners.find((p) => p.credited);
  const others = partners.filter((p) => !p.credited);
  const name = winner?.partnerName ?? credit.partnerName;
  if (credit.decidedBy === "onlyPartner" || others.length === 0) return `${name} is the only partner with a qualifying candidate in the month.`;
  const vs = others.map((o) => `${o.partnerName} (${o.lastActAt ? `last act ${o.lastActAt}` : "no act"}${o.qualifyingSince ? `, qualifying since ${o.qualifyingSince}` : ""})`).join("; ");
  if (credit.decidedBy === "latestActivity") {
    return `${name} acted last on the resource while qualifying (${winner?.lastActAt ?? isoTime(credit.lastActAt)}${winner?.lastActOperation ? `, ${winner.lastActOperation}` : ""}), after ${vs}: the latest partner is credited (decision 4).`;
  }
  return `no qualifying candidate acted on the resource in the month; ${name}'s qualifying relationship began most recently (${winner?.qualifyingSince ?? "?"}), after ${vs} (decision 4).`;
}

async function describeResource(store: Store, tenantId: string, resourceId: string, f: BizappsFact | undefined, credit: BizappsRollup | undefined): Promise<ExplainedResource> {
  const r = await store.powerPlatform.getResource(tenantId, resourceId);
  const envId = credit?.environmentId ?? f?.environmentId ?? r?.environmentId ?? null;
  const env = envId ? await store.powerPlatform.getEnvironment(tenantId, envId) : undefined;
  const tenant = await store.directory.getTenant(tenantId);
  return {
    id: resourceId, name: credit?.resourceName ?? r?.displayName ?? resourceId, kind: f?.resourceKind ?? r?.kind ?? "unknown",
    workload: credit?.workload ?? f?.workload ?? "", resourceType: credit?.resourceType ?? f?.resourceType ?? "", customerTenantId: tenantId,
    customerName: credit?.customerName ?? tenant?.displayName ?? "", environmentId: envId, environmentName: credit?.environmentName ?? env?.displayName ?? null,
    environmentType: credit?.environmentType ?? f?.environmentType ?? "NotApplicable",
  };
}

/** Text for a terminal. */
export function formatBizappsExplanation(x: BizappsExplanation): string {
  const r = x.resource;
  const out = [`${r.resourceType || r.kind} ${r.name} (${r.id}), ${r.customerName} (${r.customerTenantId}), ${x.month} — as of ${x.asOf}`];
  out.push(`  environment: ${r.environmentName ?? r.environmentId ?? "none"} (${r.environmentType})`);
  if (x.metric) out.push(`  metric: ${x.metric.quantity} ${x.metric.quantityType}${x.metric.source ? ` (${x.metric.source})` : ""}`);
  out.push(x.credited
    ? `  credited to ${x.credited.partnerLocationId} ${x.credited.partnerName} (${x.credited.globalId}) through ${x.credited.attributedUserRole} ${x.credited.attributedUserObjectId}: ${x.credited.quantity} ${x.credited.quantityType}, value ${x.credited.monthlyConsumptionValue}`
    : "  not credited to this partner");
  out.push(`  decision: ${x.decision}`);
  if (x.partners.length) {
    out.push("  partners with a qualifying candidate:");
    for (const p of x.partners) out.push(`    ${p.partnerName}${p.globalId ? ` (${p.globalId})` : ""}: last act ${p.lastActAt ?? "none"}${p.lastActOperation ? ` (${p.lastActOperation})` : ""}; qualifying since ${p.qualifyingSince ?? "?"}${p.credited ? " — credited" : ""}`);
  }
  for (const c of x.candidates) {
    out.push("");
    out.push(...c.chain.map((step, i) => `  ${i === 0 ? "" : "← "}${step}`));
  }
  return out.join("\n") + "\n";
}
