/**
 * Applying a world file to the store.
 *
 * Order of work, inside ONE store transaction:
 *   1. read what the store already knows about the ids the file mentions (facts.ts);
 *   2. validate the whole file against it (validate.ts): any problem → nothing is written;
 *   3. apply section by section (one function each), comparing before writing, so applying the
 *      same file twice changes nothing the second time;
 *   4. append one audit entry with the summary.
 * A conflict only the write can see (a history interval that overlaps a different one already in
 * the store) is reported like a validation problem and rolls the transaction back.
 *
 * Apply adds and updates; it never deletes. A fact absent from the file is left as the store has it
 * (history is never erased by a world file), and so are credentials the file does not mention.
 */
import { createHash, X509Certificate } from "node:crypto";
import type { Aggregates, Store } from "../store/index.ts";
import type { Clock } from "../domain/time.ts";
import { randomIds, type IdSource } from "../domain/ids.ts";
import { overlaps, type Interval } from "../domain/interval.ts";
import { parseIsoTime } from "../domain/time.ts";
import { hashClientSecret, hashPassword, verifyCredential } from "../identity/credentials.ts";
import { loadKnownFacts } from "./facts.ts";
import { memberOf, secretValue, toInterval, validateWorld } from "./validate.ts";
import type { WorldFile, WorldInterval, WorldProblem, WorldTenant } from "./types.ts";

/** Kinds of things apply counts. */
export const WORLD_KINDS = [
  "tenant", "partner", "location", "locationStatus", "application", "secret", "certificate", "user",
  "servicePrincipal", "group", "membership", "disabledInterval", "delegatedAdmin", "link",
] as const;
export type WorldKind = (typeof WORLD_KINDS)[number];

export interface KindCount {
  created: number;
  updated: number;
  unchanged: number;
}

/** A section the file may carry that this version validates but does not store yet. */
export interface PendingSection {
  readonly section: string;
  readonly items: number;
  readonly reason: string;
}

export interface WorldSummary {
  readonly counts: Readonly<Record<WorldKind, KindCount>>;
  /** Sections validated but not applied yet (their store is not there yet). */
  readonly notApplied: readonly PendingSection[];
  readonly warnings: readonly WorldProblem[];
}

export type ApplyResult =
  | { readonly ok: true; readonly summary: WorldSummary }
  | { readonly ok: false; readonly problems: readonly WorldProblem[]; readonly warnings: readonly WorldProblem[] };

export interface ApplyOptions {
  readonly clock: Clock;
  /** Who applies: "operator" (admin endpoint), "serve --world", … (recorded in the audit log). */
  readonly actor: string;
  readonly requestId?: string | null;
  /** Key ids for new secrets and certificates. */
  readonly ids?: IdSource;
}

/** Raised inside the transaction to roll it back with the conflicts found while writing. */
class WorldConflict extends Error {
  constructor(readonly problems: WorldProblem[]) {
    super("world file conflicts with the store");
  }
}

/** The link aggregate, when the PAL component provides it (src/store/links.ts). */
interface LinkAggregate {
  history(filter: { tenantId?: string; objectId?: string }): Promise<{ partnerId: string; validFrom: number | null; validTo: number | null }[]>;
  insertHistoricalLink(tenantId: string, objectId: string, partnerId: string, from: number | null, to: number | null): Promise<void>;
}

function linkAggregate(tx: Aggregates): LinkAggregate | undefined {
  const links = (tx as unknown as { links?: Partial<LinkAggregate> }).links;
  return links && typeof links.insertHistoricalLink === "function" && typeof links.history === "function" ? (links as LinkAggregate) : undefined;
}

const lc = (s: string) => s.toLowerCase();
/** Objects declared without `createdAt` exist "since always", like an interval without `from`. */
const SINCE_ALWAYS = 0;
const timeOf = (s: string | null | undefined): number | null => (s === undefined || s === null ? null : (parseIsoTime(s) ?? null));

class Run {
  readonly counts = Object.fromEntries(WORLD_KINDS.map((k) => [k, { created: 0, updated: 0, unchanged: 0 }])) as Record<WorldKind, KindCount>;
  readonly conflicts: WorldProblem[] = [];
  constructor(readonly tx: Aggregates, readonly opts: ApplyOptions, readonly ids: IdSource) {}
  count(kind: WorldKind, what: keyof KindCount, n = 1): void {
    this.counts[kind][what] += n;
  }
}

export async function applyWorld(store: Store, world: WorldFile, opts: ApplyOptions): Promise<ApplyResult> {
  try {
    return await store.transaction(async (tx) => {
      const facts = await loadKnownFacts(tx, world);
      const { problems, warnings } = validateWorld(world, facts);
      if (problems.length > 0) return { ok: false as const, problems, warnings };

      const run = new Run(tx, opts, opts.ids ?? randomIds);
      // Order: things others refer to first (tenants before their users, applications before
      // service principals, principals before memberships).
      await applyTenants(run, world);
      await applyApplications(run, world);
      for (const [ti, t] of (world.tenants ?? []).entries()) await applyDirectory(run, t, `$.tenants[${ti}]`);
      await applyPartners(run, world);
      const notApplied = pendingSections(world);
      await applyLinks(run, world, notApplied);
      if (run.conflicts.length > 0) throw new WorldConflict(run.conflicts);

      const summary: WorldSummary = { counts: run.counts, notApplied, warnings };
      await tx.audit.append({
        at: opts.clock.now(), tenantId: null, actorTenantId: null, actorObjectId: null,
        action: "world.apply", target: "/admin/world", requestId: opts.requestId ?? null,
        details: { actor: opts.actor, counts: changedCounts(run.counts), notApplied: notApplied.map((s) => s.section) },
      });
      return { ok: true as const, summary };
    });
  } catch (error) {
    if (error instanceof WorldConflict) return { ok: false, problems: error.problems, warnings: [] };
    throw error;
  }
}

/** Only the kinds that changed, to keep audit entries short. */
function changedCounts(counts: Record<WorldKind, KindCount>): Record<string, { created: number; updated: number }> {
  const out: Record<string, { created: number; updated: number }> = {};
  for (const k of WORLD_KINDS) if (counts[k].created || counts[k].updated) out[k] = { created: counts[k].created, updated: counts[k].updated };
  return out;
}

// --- sections not stored yet --------------------------------------------------------------------

function pendingSections(world: WorldFile): PendingSection[] {
  const out: PendingSection[] = [];
  const sum = (pick: (t: WorldTenant) => number) => (world.tenants ?? []).reduce((n, t) => n + pick(t), 0);
  const reason = "validated; the resource and access store arrives with issue 4, which applies this section";
  const sections: [string, number][] = [
    ["tenants[].managementGroups", sum((t) => t.managementGroups?.length ?? 0)],
    ["tenants[].subscriptions", sum((t) => t.subscriptions?.length ?? 0)],
    ["tenants[].roleAssignments", sum((t) => t.roleAssignments?.length ?? 0)],
    ["tenants[].delegations", sum((t) => t.delegations?.length ?? 0)],
  ];
  for (const [section, items] of sections) if (items > 0) out.push({ section, items, reason });
  const dpor = world.partnersOfRecord?.length ?? 0;
  if (dpor > 0) out.push({ section: "partnersOfRecord", items: dpor, reason: "validated; the DPOR store is not there yet" });
  return out;
}

// --- effective-dated facts ----------------------------------------------------------------------

const sameInterval = (a: Interval, b: Interval) => a.from === b.from && a.to === b.to;

/**
 * Brings one fact's history in line with the file: an interval already stored is unchanged; an
 * open stored interval with the same start that the file now ends is closed; a new interval that
 * overlaps nothing is inserted. Anything else would rewrite history and is a conflict.
 */
async function reconcile(
  run: Run, kind: WorldKind, path: string, desired: Interval, existing: Interval[],
  ops: { insert(iv: Interval): Promise<void>; close(at: number): Promise<void> },
): Promise<void> {
  if (existing.some((e) => sameInterval(e, desired))) {
    run.count(kind, "unchanged");
    return;
  }
  const open = existing.find((e) => e.to === null && e.from === desired.from);
  if (open && desired.to !== null) {
    await ops.close(desired.to);
    existing.splice(existing.indexOf(open), 1, { from: open.from, to: desired.to });
    run.count(kind, "updated");
    return;
  }
  const clash = existing.find((e) => overlaps(e, desired));
  if (clash) {
    run.conflicts.push({ path, message: `overlaps the interval ${show(clash)} already in the store; a world file adds history but does not rewrite it (end or remove it through the API).` });
    return;
  }
  await ops.insert(desired);
  existing.push(desired);
  run.count(kind, "created");
}

const show = (i: Interval) => `[${i.from === null ? "-∞" : new Date(i.from).toISOString()}, ${i.to === null ? "∞" : new Date(i.to).toISOString()})`;

// --- tenants and applications -----------------------------------------------------------------

async function applyTenants(run: Run, world: WorldFile): Promise<void> {
  for (const t of world.tenants ?? []) {
    const id = lc(t.id);
    const existing = await run.tx.directory.getTenant(id);
    const next = { id, displayName: t.displayName, domain: lc(t.domain), createdAt: timeOf(t.createdAt) ?? existing?.createdAt ?? SINCE_ALWAYS };
    if (existing && existing.displayName === next.displayName && existing.domain === next.domain && existing.createdAt === next.createdAt) {
      run.count("tenant", "unchanged");
      continue;
    }
    await run.tx.directory.putTenant(next);
    run.count("tenant", existing ? "updated" : "created");
  }
}

/** Thumbprints as Entra ID's client assertions carry them (`x5t`, `x5t#S256`): base64url of the DER hash. */
export function certificateThumbprints(pem: string): { sha1: string; sha256: string; expiresAt: number } {
  const cert = new X509Certificate(pem);
  return {
    sha1: createHash("sha1").update(cert.raw).digest("base64url"),
    sha256: createHash("sha256").update(cert.raw).digest("base64url"),
    expiresAt: Date.parse(cert.validTo),
  };
}

async function applyApplications(run: Run, world: WorldFile): Promise<void> {
  const dir = run.tx.directory;
  for (const a of world.applications ?? []) {
    const appId = lc(a.appId);
    const existing = await dir.getApplication(appId);
    const next = {
      appId, displayName: a.displayName, homeTenantId: lc(a.homeTenantId),
      createdAt: timeOf(a.createdAt) ?? existing?.createdAt ?? SINCE_ALWAYS,
      deletedAt: timeOf(a.deletedAt) ?? existing?.deletedAt ?? null,
    };
    if (existing && existing.displayName === next.displayName && existing.homeTenantId === next.homeTenantId
      && existing.createdAt === next.createdAt && existing.deletedAt === next.deletedAt) {
      run.count("application", "unchanged");
    } else {
      await dir.putApplication(next);
      run.count("application", existing ? "updated" : "created");
    }

    // Secrets are stored salted and hashed, so "already there" means "verifies against a stored hash".
    const stored = await dir.listSecrets(appId);
    for (const s of a.secrets ?? []) {
      const value = secretValue(s);
      if (stored.some((h) => verifyCredential(value, h.secretHash))) {
        run.count("secret", "unchanged");
        continue;
      }
      await dir.addSecret({
        appId, keyId: run.ids.newGuid(), secretHash: hashClientSecret(value), hint: value.slice(0, 3),
        displayName: typeof s === "string" ? null : (s.displayName ?? null), createdAt: run.opts.clock.now(),
        expiresAt: typeof s === "string" ? null : timeOf(s.expiresAt),
      });
      run.count("secret", "created");
    }

    const certs = await dir.listCertificates(appId);
    for (const pem of a.certificates ?? []) {
      const t = certificateThumbprints(pem);
      if (certs.some((c) => c.thumbprintSha256 === t.sha256)) {
        run.count("certificate", "unchanged");
        continue;
      }
      await dir.addCertificate({
        appId, keyId: run.ids.newGuid(), thumbprintSha1: t.sha1, thumbprintSha256: t.sha256,
        certificatePem: pem.trim() + "\n", createdAt: run.opts.clock.now(), expiresAt: Number.isNaN(t.expiresAt) ? null : t.expiresAt,
      });
      run.count("certificate", "created");
    }
  }
}

// --- directory of one tenant --------------------------------------------------------------------

async function applyDirectory(run: Run, t: WorldTenant, tp: string): Promise<void> {
  const dir = run.tx.directory;
  const tid = lc(t.id);
  const disabledStored = await dir.listDisabledIntervals(tid);
  const disabledOf = (oid: string) => disabledStored.filter((d) => d.objectId === oid).map((d) => ({ from: d.validFrom, to: d.validTo }));
  const applyDisabled = async (oid: string, path: string, list: readonly WorldInterval[] | undefined) => {
    const existing = disabledOf(oid);
    for (const [i, d] of (list ?? []).entries()) {
      await reconcile(run, "disabledInterval", `${path}.disabled[${i}]`, toInterval(d), existing, {
        insert: (iv) => dir.addDisabledInterval(tid, oid, iv.from, iv.to),
        close: async (at) => void (await dir.enable(tid, oid, at)),
      });
    }
  };

  for (const [ui, u] of (t.users ?? []).entries()) {
    const id = lc(u.id);
    const existing = await dir.getUser(tid, id);
    let passwordHash = existing?.passwordHash ?? null;
    // Re-hash only when the file's password no longer verifies: hashes are salted, so comparing
    // hashes would report a change on every apply.
    if (u.password !== undefined && !(passwordHash && verifyCredential(u.password, passwordHash))) passwordHash = hashPassword(u.password);
    const guest = u.type === "guest";
    const next = {
      tenantId: tid, id, userPrincipalName: u.userPrincipalName,
      displayName: u.displayName ?? existing?.displayName ?? u.userPrincipalName.split("@")[0] as string,
      kind: guest ? "guest" as const : "member" as const, passwordHash,
      homeTenantId: guest && u.homeTenantId ? lc(u.homeTenantId) : null,
      homeObjectId: guest && u.homeObjectId ? lc(u.homeObjectId) : null,
      createdAt: timeOf(u.createdAt) ?? existing?.createdAt ?? SINCE_ALWAYS,
      deletedAt: timeOf(u.deletedAt) ?? existing?.deletedAt ?? null,
    };
    if (existing && (Object.keys(next) as (keyof typeof next)[]).every((k) => existing[k] === next[k])) run.count("user", "unchanged");
    else {
      await dir.putUser(next);
      run.count("user", existing ? "updated" : "created");
    }
    await applyDisabled(id, `${tp}.users[${ui}]`, u.disabled);
  }

  for (const [si, s] of (t.servicePrincipals ?? []).entries()) {
    const id = lc(s.id);
    const existing = await dir.getServicePrincipal(tid, id);
    const app = await dir.getApplication(lc(s.appId));
    const next = {
      tenantId: tid, id, appId: lc(s.appId),
      displayName: s.displayName ?? existing?.displayName ?? app?.displayName ?? lc(s.appId),
      createdAt: timeOf(s.createdAt) ?? existing?.createdAt ?? SINCE_ALWAYS,
      deletedAt: timeOf(s.deletedAt) ?? existing?.deletedAt ?? null,
    };
    if (existing && (Object.keys(next) as (keyof typeof next)[]).every((k) => existing[k] === next[k])) run.count("servicePrincipal", "unchanged");
    else {
      await dir.putServicePrincipal(next);
      run.count("servicePrincipal", existing ? "updated" : "created");
    }
    await applyDisabled(id, `${tp}.servicePrincipals[${si}]`, s.disabled);
  }

  // Groups first, then memberships, so nested groups exist before they are members.
  for (const g of t.groups ?? []) {
    const id = lc(g.id);
    const existing = await dir.getGroup(tid, id);
    const next = {
      tenantId: tid, id, displayName: g.displayName,
      createdAt: timeOf(g.createdAt) ?? existing?.createdAt ?? SINCE_ALWAYS,
      deletedAt: timeOf(g.deletedAt) ?? existing?.deletedAt ?? null,
    };
    if (existing && (Object.keys(next) as (keyof typeof next)[]).every((k) => existing[k] === next[k])) run.count("group", "unchanged");
    else {
      await dir.putGroup(next);
      run.count("group", existing ? "updated" : "created");
    }
  }
  const memberships = await dir.listMemberships(tid);
  for (const [gi, g] of (t.groups ?? []).entries()) {
    const gid = lc(g.id);
    for (const [mi, m] of (g.members ?? []).entries()) {
      const mm = memberOf(m);
      const mid = lc(mm.id);
      const existing = memberships.filter((x) => x.groupId === gid && x.memberId === mid).map((x) => ({ from: x.validFrom, to: x.validTo }));
      await reconcile(run, "membership", `${tp}.groups[${gi}].members[${mi}]`, toInterval(mm), existing, {
        insert: async (iv) => {
          await dir.addMember(tid, gid, mid, iv.from, iv.to);
          memberships.push({ tenantId: tid, groupId: gid, memberId: mid, validFrom: iv.from, validTo: iv.to });
        },
        close: async (at) => void (await dir.removeMember(tid, gid, mid, at)),
      });
    }
  }

  const admins = await dir.listDelegatedAdmins(tid);
  for (const [di, d] of (t.delegatedAdmins ?? []).entries()) {
    const pt = lc(d.partnerTenantId);
    const existing = admins.filter((a) => a.partnerTenantId === pt).map((a) => ({ from: a.validFrom, to: a.validTo }));
    await reconcile(run, "delegatedAdmin", `${tp}.delegatedAdmins[${di}]`, toInterval(d), existing, {
      insert: (iv) => dir.addDelegatedAdmin({ tenantId: tid, partnerTenantId: pt, validFrom: iv.from, validTo: iv.to }),
      // The directory store cannot end a relationship yet; ending one through a world file is a conflict.
      close: async () => {
        throw new WorldConflict([{ path: `${tp}.delegatedAdmins[${di}].to`, message: "ends a relationship that is open in the store; world files cannot end delegated-admin relationships yet." }]);
      },
    });
  }
}

// --- partners -----------------------------------------------------------------------------------

async function applyPartners(run: Run, world: WorldFile): Promise<void> {
  const reg = run.tx.partners;
  for (const [pi, p] of (world.partners ?? []).entries()) {
    const existing = await reg.getOrganisation(p.globalId);
    const tenantIds = (p.tenantIds ?? []).map(lc);
    const newTenants = tenantIds.filter((t) => !existing?.tenantIds.includes(t));
    if (existing && existing.name === p.name && newTenants.length === 0) run.count("partner", "unchanged");
    else {
      await reg.putOrganisation({ globalId: p.globalId, name: p.name, tenantIds, createdAt: existing?.createdAt ?? SINCE_ALWAYS });
      run.count("partner", existing ? "updated" : "created");
    }

    const stored = await reg.listLocations(p.globalId);
    for (const [li, l] of (p.locations ?? []).entries()) {
      const lp = `$.partners[${pi}].locations[${li}]`;
      const loc = stored.find((s) => s.id === l.id);
      const next = { id: l.id, globalId: p.globalId, country: l.country ?? loc?.country ?? null, name: l.name ?? loc?.name ?? null, createdAt: loc?.createdAt ?? SINCE_ALWAYS };
      if (loc && loc.country === next.country && loc.name === next.name) run.count("location", "unchanged");
      else {
        await reg.putLocation(next);
        run.count("location", loc ? "updated" : "created");
      }
      await applyLocationStatus(run, l.id, lp, l.active, l.inactive);
    }
  }
}

/**
 * A location's activity is a sequence of status rows. `inactive` lists the intervals when it was
 * deactivated (history, reconciled like other intervals); `active` alone states the current status,
 * changed from now when it differs.
 */
async function applyLocationStatus(run: Run, locationId: string, lp: string, active: boolean | undefined, inactive: readonly WorldInterval[] | undefined): Promise<void> {
  const reg = run.tx.partners;
  const rows = await reg.listLocationStatus(locationId);
  if (inactive === undefined) {
    if (active === undefined) return;
    const open = rows.find((r) => r.validTo === null);
    const current = open ? open.active : true;
    if (current === active) run.count("locationStatus", "unchanged");
    else {
      // A location with no history that a file declares inactive has been so since always.
      await reg.setLocationActive(locationId, active, rows.length === 0 ? null : run.opts.clock.now());
      run.count("locationStatus", rows.length === 0 ? "created" : "updated");
    }
    return;
  }
  const existing = rows.filter((r) => !r.active).map((r) => ({ from: r.validFrom, to: r.validTo }));
  const lastStart = rows.reduce<number | null>((m, r) => (r.validFrom !== null && (m === null || r.validFrom > m) ? r.validFrom : m), null);
  const sorted = inactive.map((d, i) => ({ iv: toInterval(d), i })).sort((a, b) => (a.iv.from ?? -Infinity) - (b.iv.from ?? -Infinity));
  let latest = lastStart;
  for (const { iv, i } of sorted) {
    await reconcile(run, "locationStatus", `${lp}.inactive[${i}]`, iv, existing, {
      insert: async (d) => {
        // Status rows form one timeline: new intervals can only follow the last recorded change.
        if (latest !== null && (d.from === null || d.from < latest)) {
          run.conflicts.push({ path: `${lp}.inactive[${i}]`, message: `starts before the location's last recorded status change (${new Date(latest).toISOString()}); world files can extend its history, not rewrite it.` });
          return;
        }
        await reg.setLocationActive(locationId, false, d.from);
        if (d.to !== null) await reg.setLocationActive(locationId, true, d.to);
        latest = d.to ?? d.from;
      },
      close: (at) => reg.setLocationActive(locationId, true, at),
    });
  }
}

// --- links --------------------------------------------------------------------------------------

async function applyLinks(run: Run, world: WorldFile, notApplied: PendingSection[]): Promise<void> {
  const items = world.links ?? [];
  if (items.length === 0) return;
  const links = linkAggregate(run.tx);
  if (!links) {
    notApplied.push({ section: "links", items: items.length, reason: "validated; the link store is not there yet" });
    return;
  }
  for (const [li, l] of items.entries()) {
    const tid = lc(l.tenantId);
    const oid = lc(l.objectId);
    const history = await links.history({ tenantId: tid, objectId: oid });
    const iv = toInterval(l);
    if (history.some((h) => h.partnerId === l.partnerId && h.validFrom === iv.from && h.validTo === iv.to)) {
      run.count("link", "unchanged");
      continue;
    }
    const clash = history.find((h) => overlaps({ from: h.validFrom, to: h.validTo }, iv));
    if (clash) {
      run.conflicts.push({
        path: `$.links[${li}]`,
        message: `overlaps the link to ${clash.partnerId} ${show({ from: clash.validFrom, to: clash.validTo })} already in the store; a principal has one link at a time (end the stored link through the PAL API first).`,
      });
      continue;
    }
    await links.insertHistoricalLink(tid, oid, l.partnerId, iv.from, iv.to);
    run.count("link", "created");
  }
}
