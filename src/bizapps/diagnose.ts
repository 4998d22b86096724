/**
 * Diagnose a business-applications resource: "why is this app / flow / dataset / instance not
 * credited to us?". Every reason that applies is listed with its evidence and the concrete fix.
 *
 * Reasons (codes are stable):
 *   notInRun             the resource is known but had no attributed-user relationship in the run's month
 *   noRelationship       none of the partner's identities is the resource's attributed user in the month
 *   noLink               our identity is the attributed user but is not linked
 *   linkNotActive        our identity was linked, but not while it held the relationship: the link
 *                        starts after the month (names the date; nothing to fix, credit starts the
 *                        month the link is active), ended before it (link again), or lies elsewhere
 *   locationInactive     our identity is linked to an inactive location id
 *   principalDisabled    our identity was disabled (or deleted) while it held the relationship
 *   delegationEnded      our delegated administrator's delegation did not hold while it held the relationship
 *   noActivity           our identity is a Customer Insights user without activity in the month
 *   anotherPartnerLater  another partner's candidate acted later (decision 4)
 *   metricZero           credited (or qualifying) but the metric is zero: no use events / metrics
 *   nonProduction        the environment is not Production and the report is production-only
 *
 * Candidates come from the facts Parquet, the credit from the rollups (what the report shows).
 */
import type { Store } from "../store/index.ts";
import { ReportError } from "../domain/report.ts";
import { monthWindow } from "../domain/time.ts";
import { plainCode } from "../domain/report.ts";
import { readBizappsFacts, type BizappsFact, type BizappsResourceKind } from "./facts-reader.ts";
import { requireBizappsRun, unknownResourceHint, unknownResourcesOf } from "./report.ts";
import { factsFileOf, isoTime, KIND_NOUN, orgContext, PrincipalDirectory, span, who, type OrgContext } from "./context.ts";
import { competitionFix, linkFix, ownerFix, type ResourceRef } from "./fixes.ts";

export type BizappsDiagnosisCode = "notInRun" | "noRelationship" | "noLink" | "linkNotActive" | "locationInactive" | "principalDisabled" | "delegationEnded" | "noActivity"
  | "anotherPartnerLater" | "metricZero" | "nonProduction";

export interface BizappsDiagnosis {
  readonly code: BizappsDiagnosisCode;
  readonly message: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly fix: string;
}

export interface BizappsDiagnoseQuery {
  readonly partnerId: string;
  readonly resourceId: string;
  /** Default: the latest month with business-applications results. */
  readonly month?: string;
  readonly productionOnly?: boolean;
  readonly audience?: "operator" | "partner";
}

export interface BizappsDiagnoseResult {
  readonly month: string;
  readonly asOf: string;
  readonly resource: { readonly id: string; readonly name: string; readonly kind: string; readonly customerTenantId: string; readonly customerName: string; readonly environmentId: string | null; readonly environmentType: string };
  /** Credited to this partner organisation in the month (per the report). */
  readonly credited: boolean;
  readonly quantity: number | null;
  readonly quantityType: string | null;
  readonly identities: readonly { readonly objectId: string; readonly name: string | null; readonly kind: string; readonly role: string; readonly qualifies: boolean }[];
  readonly reasons: readonly BizappsDiagnosis[];
}

const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

const ACTIVE_HINT = "credit is never retroactive: keep the link in place while the account is the attributed user.";

export async function diagnoseBizappsResource(store: Store, dataDir: string, q: BizappsDiagnoseQuery): Promise<BizappsDiagnoseResult> {
  const month = q.month ?? (await store.bizapps.months()).at(-1);
  if (!month) throw new ReportError("no month has business-applications results yet: run `openpal attribution run --month YYYY-MM` first.");
  const run = await requireBizappsRun(store, month);
  const ctx = await orgContext(store, q.partnerId);
  const audience = q.audience ?? "operator";
  const resourceId = q.resourceId.trim().toLowerCase();
  const facts = await readBizappsFacts(factsFileOf(dataDir, run), { resourceIds: [resourceId] });
  const credit = (await store.bizapps.rollups({ month, resourceId }))[0];
  const dir = new PrincipalDirectory(store);
  const reasons: BizappsDiagnosis[] = [];
  const add = (code: BizappsDiagnosisCode, message: string, evidence: Record<string, unknown>, fix: string) => {
    if (!reasons.some((r) => r.code === code && r.message === message)) reasons.push({ code, message, evidence, fix });
  };

  const tenantId = credit?.customerTenantId ?? facts[0]?.customerTenantId ?? (await findResourceTenant(store, resourceId));
  const unknown = () => new ReportError(`resource ${q.resourceId} is not known: check the id with \`openpal powerplatform apps list\` (or flows list, datasets list) signed in to the customer tenant.` +
    (audience === "operator" ? unknownResourceHint(unknownResourcesOf(run), resourceId, month) : ""));
  if (!tenantId) throw unknown();
  if (audience === "partner" && !(await hasPresence(store, ctx, dir, tenantId, facts, credit))) throw unknown();
  const stored = await store.powerPlatform.getResource(tenantId, resourceId);
  const tenant = await store.directory.getTenant(tenantId);
  const kind = (facts[0]?.resourceKind ?? stored?.kind ?? "canvasApp") as BizappsResourceKind;
  const envId = credit?.environmentId ?? facts[0]?.environmentId ?? stored?.environmentId ?? null;
  const solution = await solutionOf(store, tenantId, resourceId, facts);
  const ref: ResourceRef = { id: resourceId, kind, name: credit?.resourceName ?? stored?.displayName ?? resourceId, customerTenantId: tenantId, environmentId: envId, workspaceId: stored?.workspaceId ?? null, solution };
  const environmentType = credit?.environmentType ?? facts[0]?.environmentType ?? (envId ? (await store.powerPlatform.getEnvironment(tenantId, envId))?.type ?? "NotApplicable" : "NotApplicable");
  const noun = `${KIND_NOUN[kind]} ${ref.name} (${resourceId})`;
  const creditedToUs = credit?.globalId === ctx.org.globalId;
  const activeLocation = await firstActiveLocation(store, ctx, run.ranAt);
  const target = await linkedIdentityIn(store, ctx, tenantId);
  const targetText = target ?? "<your linked service account's object id>";

  const window = monthWindow(month);
  const ours: BizappsFact[] = [];
  for (const f of facts) if (await dir.isOf(ctx.org.globalId, tenantId, f.principalId, facts)) ours.push(f);
  const identities: { objectId: string; name: string | null; kind: string; role: string; qualifies: boolean }[] = [];
  for (const f of ours) {
    const info = await dir.info(tenantId, f.principalId);
    if (!identities.some((i) => i.objectId === f.principalId && i.role === f.attributedUserRole)) identities.push({ objectId: f.principalId, name: info.userPrincipalName ?? info.displayName, kind: info.kind, role: f.attributedUserRole, qualifies: ours.some((o) => o.principalId === f.principalId && o.qualifies) });
  }

  if (facts.length === 0 && !credit) {
    add("notInRun", `${noun} has no attributed-user relationship in ${month} in the results of ${isoTime(run.ranAt)} (created or re-owned since, or owned by nobody in the month).`,
      { resourceId, ranAt: isoTime(run.ranAt) }, `Re-run \`openpal attribution run --month ${month}\`; if it still shows nothing, make a linked account its attributed user. ${ownerFix(ref, targetText)}`);
  } else if (ours.length === 0) {
    const holders = await Promise.all([...new Map(facts.map((f) => [`${f.principalId}|${f.attributedUserRole}`, f])).values()].map(async (f) => {
      const info = await dir.info(tenantId, f.principalId);
      const other = f.globalId !== null || (info.homeOrganisation !== null && info.homeOrganisation !== ctx.org.globalId);
      return audience === "partner" ? { role: f.attributedUserRole, account: other ? "another partner's identity" : "a customer account" }
        : { role: f.attributedUserRole, principalId: f.principalId, account: other ? `identity of partner ${f.globalId ?? info.homeOrganisation}` : `customer account ${who(info)}`, since: isoTime(f.relationshipFrom) };
    }));
    add("noRelationship", `none of ${ctx.org.name}'s identities is the attributed user of ${noun} in ${month}; it is held by ${holders.map((h) => `${h.account} (${h.role})`).join(", ") || "nobody"}.`,
      { attributedUsers: holders }, `${target ? "" : `Have the customer invite your service account (or consent to your application), link it (\`az managementpartner create --partner-id ${activeLocation}\`), then: `}${ownerFix(ref, targetText)}`);
  }

  for (const f of ours.filter((x) => !x.qualifies)) {
    const info = await dir.info(tenantId, f.principalId);
    const held = `${f.attributedUserRole} ${span(f.relationshipFrom, f.relationshipTo)}`;
    const ev = { principalId: f.principalId, role: f.attributedUserRole, relationship: { from: isoTime(f.relationshipFrom), to: isoTime(f.relationshipTo) }, partnerLocationId: f.partnerLocationId };
    switch (f.notQualifyingReason) {
      case "noLink":
        add("noLink", `${who(info)} is the attributed user (${held}) of ${noun} but is not linked to a partner id.`, ev, linkFix(info, activeLocation, tenantId));
        break;
      case "linkNotActive": {
        const location = f.partnerLocationId ?? activeLocation;
        const link = { from: isoTime(f.linkFrom), to: isoTime(f.linkTo) };
        if (f.linkFrom !== null && f.linkFrom >= window.to) {
          // The link begins after the month: nothing to fix for this month (a link cannot be back-dated).
          const starts = monthOf(f.linkFrom);
          add("linkNotActive", `${who(info)} holds ${held} of ${noun}, but its link to ${location} starts on ${isoTime(f.linkFrom)}, after ${month}: a link counts only from the instant it is created.`,
            { ...ev, link, linkStartsInMonth: starts },
            `Nothing can be changed for ${month}: a link cannot be back-dated, so credit starts in ${starts}, the first month the link is active (run \`openpal attribution run --month ${starts}\` once it is over). Keep the link in place: ${ACTIVE_HINT}`);
          break;
        }
        if (f.linkTo !== null && f.linkTo <= window.from) {
          // The link was removed before the month: link again; credit resumes the month the new link is active.
          add("linkNotActive", `${who(info)} holds ${held} of ${noun}, but its link to ${location} ended on ${isoTime(f.linkTo)}, before ${month}; it was not linked in ${month}.`,
            { ...ev, link },
            `${linkFix(info, location, tenantId)} A link cannot be back-dated: credit resumes in the month the new link is active.`);
          break;
        }
        const links = (await dir.links(f.principalId)).filter((l) => ctx.locations.includes(l.partnerId)).map((l) => span(l.validFrom, l.validTo));
        add("linkNotActive", `${who(info)} was linked to ${f.partnerLocationId ?? ctx.org.name} only ${links.join(" ∪ ") || "outside the month"}, never while it held ${held}.`, { ...ev, link, links },
          links.some((l) => l.endsWith(", ∞)")) ? `The link is in place now: ${ACTIVE_HINT} Later months are credited.` : linkFix(info, f.partnerLocationId ?? activeLocation, tenantId));
        break;
      }
      case "locationInactive":
        add("locationInactive", `${who(info)} is linked to ${f.partnerLocationId}, which was inactive while it held ${held}.`, ev,
          `Reactivate location ${f.partnerLocationId} in Partner Center, or link the account to an active location: \`az managementpartner update --partner-id ${activeLocation}\` signed in as ${who(info)}.`);
        break;
      case "principalDisabled":
        add("principalDisabled", `${who(info)} was ${info.deletedAt !== null ? `deleted (${isoTime(info.deletedAt)})` : "disabled"} while it held ${held}.`, ev,
          info.deletedAt !== null ? ownerFix(ref, target && target !== f.principalId ? target : "<another linked account>")
            : `Ask the customer to re-enable ${who(info)}; with its link intact, credit resumes (${ACTIVE_HINT})`);
        break;
      case "delegationEnded":
        add("delegationEnded", `${who(info)} works in the customer tenant through delegated administration, but the customer's delegation to your tenant did not hold while it held ${held}.`, ev,
          `Ask the customer to restore delegated administration to your tenant ${info.tenantId ?? ""} (Partner Center: Customers → delegated admin privileges), or make an account of the customer's tenant linked to your id the attributed user: ${ownerFix(ref, targetText)}`);
        break;
      case "noActivity":
        add("noActivity", `${who(info)} is a user of the Customer Insights instance ${ref.name} but has no activity on it in ${month}; an instance user counts only when active (decision 3).`, ev,
          `Use the instance with ${who(info)} during the month, and import the activity (\`openpal activity import <file>\`) before \`openpal attribution run --month ${month}\`.`);
        break;
      default:
        break;
    }
  }

  const oursQualify = ours.some((f) => f.qualifies);
  if (oursQualify && credit && !creditedToUs) {
    const mine = ours.filter((f) => f.qualifies).map((f) => f.lastActAt).filter((t): t is number => t !== null).sort((a, b) => b - a)[0] ?? null;
    const theirs = facts.filter((f) => f.qualifies && f.globalId === credit.globalId).map((f) => f.lastActAt).filter((t): t is number => t !== null).sort((a, b) => b - a)[0] ?? credit.lastActAt;
    const other = audience === "partner" ? "another partner" : `${credit.partnerName} (${credit.globalId})`;
    const why = credit.decidedBy === "latestActivity"
      ? `${other} acted on it last while qualifying, at ${isoTime(theirs)}; your last act was ${mine === null ? "none in the month" : isoTime(mine)}`
      : `no qualifying candidate acted on it, and ${other}'s qualifying relationship began later than yours`;
    add("anotherPartnerLater", `${noun} is credited to ${other}: ${why}. One partner per resource per month; the latest partner wins (decision 4).`,
      { creditedTo: audience === "partner" ? null : credit.globalId, theirLastActAt: isoTime(theirs), yourLastActAt: isoTime(mine), decidedBy: credit.decidedBy },
      competitionFix(ref, ours.find((f) => f.qualifies)?.principalId ?? targetText));
  }
  const quantity = credit?.quantity ?? facts.find((f) => f.credited)?.quantity ?? facts[0]?.quantity ?? null;
  if ((creditedToUs || (oursQualify && !credit)) && (quantity ?? 0) === 0) {
    add("metricZero", `${noun} ${creditedToUs ? "is credited to you" : "qualifies for you"} but its ${credit?.quantityType ?? facts[0]?.quantityType ?? "metric"} in ${month} is 0${creditedToUs ? "" : ", so nothing is credited"}.`,
      { quantity: quantity ?? 0 }, kind === "flow"
        ? `Power Automate has no public per-user activity source: import a metrics file with the flow's MonthlyActiveUsers (\`openpal activity import <metrics.csv>\`), then re-run \`openpal attribution run --month ${month}\`.`
        : kind === "ciInstance"
          ? `Import the instance's UnifiedProfiles count (a metrics file: \`openpal activity import <metrics.csv>\`), then re-run \`openpal attribution run --month ${month}\`.`
          : `Import the month's activity (Power BI activity events, the audit log or the Power Platform analytics export: \`openpal activity import <file>\`), then re-run \`openpal attribution run --month ${month}\`. Nothing to fix if nobody used it.`);
  }
  if (q.productionOnly && environmentType !== "Production" && environmentType !== "NotApplicable") {
    add("nonProduction", `${noun} lives in a ${environmentType} environment (${envId}); a production-only programme does not count it.`, { environmentId: envId, environmentType },
      `Move it to a production environment: export its solution${solution ? ` ${solution}` : ""} and import it there with the linked account (\`openpal powerplatform import-solution ${solution ?? "<solution>"}.zip --environment <production environment>\`).`);
  }

  return {
    month, asOf: new Date(run.ranAt).toISOString(),
    resource: { id: resourceId, name: ref.name, kind, customerTenantId: tenantId, customerName: tenant?.displayName ?? credit?.customerName ?? "", environmentId: envId, environmentType },
    credited: creditedToUs, quantity, quantityType: credit?.quantityType ?? facts[0]?.quantityType ?? null, identities, reasons,
  };
}

async function findResourceTenant(store: Store, resourceId: string): Promise<string | undefined> {
  for (const t of await store.directory.listTenants()) {
    if (await store.powerPlatform.getResource(t.id, resourceId)) return t.id.toLowerCase();
  }
  return undefined;
}

/** Whether the organisation has anything in the tenant (credit, a candidate, a guest, a delegation, a link): what a partner may diagnose. */
async function hasPresence(store: Store, ctx: OrgContext, dir: PrincipalDirectory, tenantId: string, facts: readonly BizappsFact[], credit: { globalId: string } | undefined): Promise<boolean> {
  if (credit?.globalId === ctx.org.globalId || ctx.tenants.has(tenantId)) return true;
  for (const f of facts) if (await dir.isOf(ctx.org.globalId, tenantId, f.principalId, facts)) return true;
  if ((await store.directory.listDelegatedAdmins(tenantId)).some((d) => ctx.tenants.has(d.partnerTenantId.toLowerCase()))) return true;
  if ((await store.links.history({ tenantId })).some((l) => ctx.locations.includes(l.partnerId))) return true;
  return (await store.directory.listUsers(tenantId)).some((u) => u.homeTenantId !== null && u.homeTenantId !== undefined && ctx.tenants.has(u.homeTenantId.toLowerCase()));
}

/** The unique name of the solution the resource belongs to (from the facts, else its components). */
async function solutionOf(store: Store, tenantId: string, resourceId: string, facts: readonly BizappsFact[]): Promise<string | null> {
  const id = facts.map((f) => f.solutionId).find((s) => s) ?? (await store.powerPlatform.listComponents(tenantId)).find((c) => c.resourceId.toLowerCase() === resourceId && c.validTo === null)?.solutionId;
  if (!id) return null;
  return (await store.powerPlatform.getSolution(tenantId, id))?.uniqueName ?? id;
}

export async function firstActiveLocation(store: Store, ctx: OrgContext, at: number): Promise<string> {
  for (const l of ctx.locations) if (await store.partners.isLocationActive(l, at)) return l;
  return ctx.locations[0] ?? ctx.org.globalId;
}

/** An identity of the organisation linked (now) to one of its locations in the customer tenant, if any. */
export async function linkedIdentityIn(store: Store, ctx: OrgContext, tenantId: string): Promise<string | undefined> {
  const links = await store.links.history({ tenantId });
  return links.find((l) => l.validTo === null && ctx.locations.includes(l.partnerId))?.objectId.toLowerCase();
}

export function formatBizappsDiagnosis(d: BizappsDiagnoseResult): string {
  const r = d.resource;
  const out = [`Diagnosis of ${KIND_NOUN[r.kind as BizappsResourceKind] ?? r.kind} ${r.name} (${r.id}) in ${r.customerName} (${r.customerTenantId}), ${d.month} — as of ${d.asOf}`];
  out.push(`  ${d.credited ? `credited to you: ${d.quantity ?? 0} ${d.quantityType ?? ""}` : "not credited to you"}; environment ${r.environmentId ?? "none"} (${r.environmentType})`);
  out.push(`  your identities on it: ${d.identities.length ? "" : "none"}`);
  for (const i of d.identities) out.push(`    ${i.name ?? ""} ${i.objectId} (${i.kind}) ${i.role}${i.qualifies ? ", qualifying" : ", not qualifying"}`);
  if (d.reasons.length === 0) out.push("  no problem found.");
  for (const x of d.reasons) out.push("", `  [${x.code}] ${plainCode(x.message)}`, `    fix: ${plainCode(x.fix)}`, `    evidence: ${JSON.stringify(x.evidence)}`);
  return out.join("\n") + "\n";
}
