/**
 * Explain (rule 18): the chain behind every credited amount of a partner on a subscription in a
 * month — usage row ← scope ← role assignment (direct, via group, via delegation) ← principal
 * state ← link interval ← partner id; for DPOR: usage ← subscription ← partner-of-record interval
 * (cut at leaving EA) ← partner id. Reads the published facts (Parquet) and the evidence written
 * beside them by the run, so it explains exactly what the report shows.
 *
 * Audience "partner" applies rule 13 to DPOR credit: the partner of record sees the subscription's
 * consumption aggregated by service, not resources, identities or roles.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Store } from "../store/index.ts";
import { formatDecimal, parseDecimal } from "../domain/attribution.ts";
import type { Interval } from "../domain/interval.ts";
import { factsDir, readFacts } from "./engine.ts";
import type { Evidence, Policy } from "./coverage.ts";
import { ReportError } from "../domain/report.ts";
import type { ExplainedFact, Explanation } from "./wire.ts";
import { PARTNER_REGISTRATION_HINT } from "../domain/partner-id.ts";
export type { ExplainedFact, Explanation } from "./wire.ts";

export interface ExplainQuery {
  /** Location id, or a global id (every location of the organisation). */
  readonly partnerId: string;
  readonly subscriptionId: string;
  readonly resourceId?: string;
  readonly month: string;
  readonly policy?: Policy;
  readonly audience?: "operator" | "partner";
}

const iso = (ms: number | null) => (ms === null ? "always" : new Date(ms).toISOString().replace(".000Z", "Z"));
const span = (i: Interval) => `[${i.from === null ? "-∞" : iso(i.from)}, ${i.to === null ? "∞" : iso(i.to)})`;
const spans = (list: readonly Interval[]) => (list.length ? list.map(span).join(" ∪ ") : "none");
const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

export function readEvidence(dataDir: string, month: string, policy: string): Map<string, Evidence> {
  const file = path.join(factsDir(dataDir, month, policy), "evidence.json");
  if (!existsSync(file)) return new Map();
  return new Map((JSON.parse(readFileSync(file, "utf8")) as Evidence[]).map((e) => [e.id, e]));
}

/** Human-readable chain of one evidence (usage-row side first). */
export function evidenceChain(e: Evidence, partnerName: string): string[] {
  if (e.type === "DPOR") {
    return [
      `subscription ${e.subscriptionId}: Digital Partner of Record`,
      `partner-of-record interval ${span(e.recorded)}${e.setBy ? ` set by ${e.setBy}` : ""}${e.endReason ? ` (ended: ${e.endReason})` : ""}`,
      `credited while EA and the partner id is active: ${spans(e.intervals)}`,
      `partner id ${e.partnerLocationId} (${partnerName}, organisation ${e.globalId})${e.locationInactive.length ? `, inactive ${spans(e.locationInactive)}` : ""}`,
    ];
  }
  const a = e.access;
  const p = describePath(a);
  return [
    `scope ${a.scope}${a.inheritedFrom ? ` (inherited from ${a.inheritedFrom})` : ""}`,
    `${p} grants ${a.role}${a.eligible ? "" : " (not an eligible role under this policy)"} during ${spans(a.intervals)}`,
    `principal ${e.principal.displayName ?? ""} ${e.principal.objectId} (${e.principal.type}) in tenant ${e.principal.tenantId}${e.principal.homeTenantId && e.principal.homeTenantId !== e.principal.tenantId ? `, home tenant ${e.principal.homeTenantId}` : ""}: ${e.principal.deletedAt !== null ? `deleted ${iso(e.principal.deletedAt)}` : "not deleted"}; disabled ${spans(e.principal.disabled)}`,
    `link to ${e.partnerLocationId} in tenant ${e.principal.tenantId} during ${spans(e.links)}${e.hypothetical ? " (hypothetical: what-if)" : ""}`,
    `partner id ${e.partnerLocationId} (${partnerName}, organisation ${e.globalId})${e.locationInactive.length ? `, inactive ${spans(e.locationInactive)}` : ", active"}`,
    `credited: ${spans(e.intervals)}`,
  ];
}

/** How an access path reads in a chain. */
function describePath(a: Extract<Evidence, { type: "PAL" }>["access"]): string {
  const path = a.path;
  if (path.kind === "direct") return `role assignment ${path.roleAssignmentId} (direct)`;
  if (path.kind === "group") return `role assignment ${path.roleAssignmentId} via group ${path.groups.join(" ⊂ ")}`;
  return `Lighthouse delegation ${path.registrationAssignmentId} (${path.authorization}, managed by tenant ${path.managedByTenantId})${path.groups.length ? ` via group ${path.groups.join(" ⊂ ")}` : ""}`;
}

export async function explainAttribution(store: Store, dataDir: string, q: ExplainQuery): Promise<Explanation> {
  const policy = q.policy ?? "pec";
  const run = await store.attribution.run(q.month, policy);
  if (!run) throw new ReportError(`no attribution results for ${q.month} under policy ${policy}: run \`openpal attribution run --month ${q.month}\` first.`);
  const found = await store.partners.lookup(q.partnerId, Date.now());
  if (found.kind === "unknown") throw new ReportError(`partner id ${q.partnerId} is not registered; use a location id or the organisation's global id. ${PARTNER_REGISTRATION_HINT}`);
  const locations = found.kind === "global" ? (await store.partners.listLocations(q.partnerId)).map((l) => l.id) : [q.partnerId];
  const names = new Map((await store.partners.listLocations()).map((l) => [l.id, l.name ?? found.organisation.name]));
  const sub = q.subscriptionId.toLowerCase();
  let where = `subscription_id = ${sqlString(sub)} AND partner_location_id IN (${locations.map(sqlString).join(", ") || "''"})`;
  if (q.resourceId) where += ` AND (resource_id = ${sqlString(q.resourceId.toLowerCase())} OR resource_id LIKE ${sqlString(q.resourceId.toLowerCase() + "/%")})`;
  const rows = await readFacts(dataDir, q.month, policy, where);
  const evidence = readEvidence(dataDir, q.month, policy);
  const audience = q.audience ?? "operator";

  const totals = new Map<string, { partnerLocationId: string; attributionType: string; eligible: boolean; currency: string; sum: bigint }>();
  const facts: ExplainedFact[] = [];
  const dpor = new Map<string, { partnerLocationId: string; serviceName: string; currency: string; sum: bigint; since: string | null }>();
  for (const r of rows) {
    const type = String(r.attribution_type) as "PAL" | "DPOR";
    const loc = String(r.partner_location_id);
    const credited = String(r.acr_text);
    const tk = `${loc}|${type}|${String(r.eligible)}|${String(r.billing_currency)}`;
    const t = totals.get(tk) ?? { partnerLocationId: loc, attributionType: type, eligible: Boolean(r.eligible), currency: String(r.billing_currency), sum: 0n };
    t.sum += parseDecimal(credited);
    totals.set(tk, t);
    if (audience === "partner" && type === "DPOR") {
      // Rule 13: aggregated services only.
      const service = String(r.service_name ?? "(unknown service)");
      const k = `${loc}|${service}|${String(r.billing_currency)}`;
      const d = dpor.get(k) ?? { partnerLocationId: loc, serviceName: service, currency: String(r.billing_currency), sum: 0n, since: null };
      d.sum += parseDecimal(credited);
      const ev = String(r.evidence_ids ?? "").split(" ").map((id) => evidence.get(id)).find((e) => e?.type === "DPOR");
      if (ev && ev.type === "DPOR") d.since = ev.recorded.from === null ? null : iso(ev.recorded.from);
      dpor.set(k, d);
      continue;
    }
    const chains = String(r.evidence_ids ?? "").split(" ").filter(Boolean).map((id) => {
      const e = evidence.get(id);
      if (!e) return [`evidence ${id} is missing: re-run \`openpal attribution run --month ${q.month}\``];
      return [`usage row ${String(r.row_key)}: ${String(r.resource_id ?? "(no resource)")} ${iso(toMs(r.charge_period_start))}…${iso(toMs(r.charge_period_end))} cost ${formatDecimal(parseDecimal(String(r.cost_text)), 6)} ${String(r.billing_currency)}`,
        ...evidenceChain(e, names.get(e.partnerLocationId) ?? e.partnerLocationId)];
    });
    facts.push({
      partnerLocationId: loc, attributionType: type, resourceId: (r.resource_id as string | null) ?? null, serviceName: (r.service_name as string | null) ?? null,
      chargePeriod: { start: iso(toMs(r.charge_period_start)), end: iso(toMs(r.charge_period_end)) },
      cost: String(r.cost_text), currency: String(r.billing_currency), coveredSeconds: Number(r.covered_s), periodSeconds: Number(r.period_s),
      credited, adminType: String(r.admin_type ?? ""), eligible: Boolean(r.eligible),
      duplicate: { pga: Boolean(r.dup_pga), pgaAttachType: Boolean(r.dup_pga_attach_type), mpn: Boolean(r.dup_mpn) }, chains,
    });
  }
  return {
    month: q.month, policy, subscriptionId: sub, facts,
    ...(audience === "partner" ? { dporServices: [...dpor.values()].map((d) => ({ partnerLocationId: d.partnerLocationId, serviceName: d.serviceName, credited: formatDecimal(d.sum, 2), currency: d.currency, associatedSince: d.since })) } : {}),
    totals: [...totals.values()].map((t) => ({ partnerLocationId: t.partnerLocationId, attributionType: t.attributionType, eligible: t.eligible, credited: formatDecimal(t.sum, 2), currency: t.currency })),
  };
}

function toMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === "string") return Date.parse(v.endsWith("Z") ? v : `${v.replace(" ", "T")}Z`);
  return Number(v);
}

/** Text for a terminal: totals first, then each fact with its chains. */
export function formatExplanation(x: Explanation): string {
  const out: string[] = [`Attribution of subscription ${x.subscriptionId}, ${x.month} (policy ${x.policy})`];
  if (x.totals.length === 0) out.push("  nothing credited to this partner here (try `openpal diagnose`)");
  for (const t of x.totals) out.push(`  ${t.partnerLocationId} ${t.attributionType}${t.eligible ? "" : " (ineligible roles only)"}: ${t.credited} ${t.currency}`);
  for (const d of x.dporServices ?? []) out.push(`  DPOR ${d.partnerLocationId} ${d.serviceName}: ${d.credited} ${d.currency} (partner of record since ${d.associatedSince ?? "always"})`);
  for (const f of x.facts) {
    out.push("", `${f.chargePeriod.start} ${f.resourceId ?? "(subscription)"} → ${f.partnerLocationId} ${f.attributionType} ${f.adminType || ""}${f.eligible ? "" : " (ineligible)"}: ${formatDecimal(parseDecimal(f.credited), 6)} of ${formatDecimal(parseDecimal(f.cost), 6)} ${f.currency} (${f.coveredSeconds}/${f.periodSeconds} s)${f.duplicate.pga ? " [duplicate at PGA level]" : ""}`);
    for (const chain of f.chains) out.push(...chain.map((step, i) => `  ${i === 0 ? "" : "← "}${step}`));
  }
  return out.join("\n") + "\n";
}
