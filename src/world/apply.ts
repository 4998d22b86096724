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
 *
 * Sections and their stores: directory (tenants, applications, principals, groups, directory
 * roles), partners, management groups / subscriptions / resource groups (resources.ts), role
 * assignments and Lighthouse delegations with activations (access.ts), links, partners of record
 * (partner-of-record.ts). Entries without an id (role assignments, delegations) get a stable
 * version-5 GUID derived from what identifies them (ids.ts), so re-applying matches the stored row.
 */
import { createHash, X509Certificate } from "node:crypto";
import type { Aggregates, Store } from "../store/index.ts";
import type { Clock } from "../domain/time.ts";
import { randomIds, type IdSource } from "../domain/ids.ts";
import { overlaps, type Interval } from "../domain/interval.ts";
import { parseIsoTime } from "../domain/time.ts";
import { hashClientSecret, hashPasswordAsync, verifyCredentialAsync } from "../identity/credentials.ts";
import { AccessConflictError } from "../store/access.ts";
import { DporConflictError } from "../store/partner-of-record.ts";
import type { OfferType, PutOutcome, Subscription } from "../store/resources.ts";
import { parseScope, scopeKey } from "../domain/scope.ts";
import type { LighthouseAuthorization } from "../domain/access.ts";
import { resolveDirectoryRole, directoryRoleNames } from "../graph/roles.ts";
import { loadKnownFacts } from "./facts.ts";
import { applyPowerPlatform } from "./power-platform/apply.ts";
import { stableGuid } from "./ids.ts";
import { resolveRole } from "./roles.ts";
import { memberOf, secretValue, toInterval, validateWorld } from "./validate.ts";
import type { WorldFile, WorldInterval, WorldProblem, WorldSubscription, WorldTenant } from "./types.ts";

export { WORLD_KINDS, type KindCount, type WorldKind } from "./kinds.ts";
import { WORLD_KINDS, type KindCount, type WorldKind } from "./kinds.ts";

/** A section the file may carry that this server validates but cannot store (its store is absent). */
export interface PendingSection {
  readonly section: string;
  readonly items: number;
  readonly reason: string;
}

export interface WorldSummary {
  readonly counts: Readonly<Record<WorldKind, KindCount>>;
  /** Sections validated but not applied because this server has no store for them (normally empty). */
  readonly notApplied: readonly PendingSection[];
  readonly warnings: readonly WorldProblem[];
}

export type ApplyResult =
  | { readonly ok: true; readonly summary: WorldSummary }
  | { readonly ok: false; readonly problems: readonly WorldProblem[]; readonly warnings: readonly WorldProblem[]; /** true: the file is valid but conflicts with the store's history. */ readonly conflict?: boolean };

export interface ApplyOptions {
  readonly clock: Clock;
  /** Who applies: "operator" (admin endpoint), "serve --world", … (recorded in the audit log). */
  readonly actor: string;
  readonly requestId?: string | null;
  /** Key ids for new secrets and certificates. */
  readonly ids?: IdSource;
  /** Where the file came from (recorded in the audit entry), e.g. `serve --world`'s file and its SHA-256. */
  readonly source?: { readonly file: string; readonly sha256: string };
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
      for (const [ti, t] of (world.tenants ?? []).entries()) {
        const tp = `$.tenants[${ti}]`;
        await applyManagementGroups(run, t, tp);
        await applySubscriptions(run, t, tp);
        await applyRoleAssignments(run, t, tp);
        await applyDelegations(run, t, tp);
        await applyPowerPlatform(run, t, tp);
      }
      const notApplied: PendingSection[] = [];
      await applyLinks(run, world, notApplied);
      await applyPartnersOfRecord(run, world);
      if (run.conflicts.length > 0) throw new WorldConflict(run.conflicts);

      const summary: WorldSummary = { counts: run.counts, notApplied, warnings };
      await tx.audit.append({
        at: opts.clock.now(), tenantId: null, actorTenantId: null, actorObjectId: null,
        action: "world.apply", target: "/admin/world", requestId: opts.requestId ?? null,
        details: { actor: opts.actor, ...(opts.source ? { file: opts.source.file, sha256: opts.source.sha256 } : {}), counts: changedCounts(run.counts), notApplied: notApplied.map((s) => s.section) },
      });
      return { ok: true as const, summary };
    });
  } catch (error) {
    if (error instanceof WorldConflict) return { ok: false, problems: error.problems, warnings: [], conflict: true };
    throw error;
  }
}

/** Only the kinds that changed, to keep audit entries short. */
function changedCounts(counts: Record<WorldKind, KindCount>): Record<string, { created: number; updated: number }> {
  const out: Record<string, { created: number; updated: number }> = {};
  for (const k of WORLD_KINDS) if (counts[k].created || counts[k].updated) out[k] = { created: counts[k].created, updated: counts[k].updated };
  return out;
}

/**
 * Runs one store write; a refusal by the store (a conflict it detects: an id used for something
 * else, an assignment that already exists under another id…) becomes a problem at `path` with
 * `fix` appended, and the run goes on so every conflict is reported. Database errors propagate.
 */
async function guarded<T>(run: Run, path: string, fix: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof WorldConflict) throw error;
    if (error instanceof AccessConflictError || error instanceof DporConflictError || (error instanceof Error && error.constructor === Error)) {
      run.conflicts.push({ path, message: `the store refuses this: ${error.message.replace(/\.$/, "")}; ${fix}` });
      return undefined;
    }
    throw error;
  }
}

const count = (run: Run, kind: WorldKind, outcome: PutOutcome | undefined) => {
  if (outcome) run.count(kind, outcome);
};

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
      if ((await Promise.all(stored.map((h) => verifyCredentialAsync(value, h.secretHash)))).some(Boolean)) {
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
    if (u.password !== undefined && !(passwordHash && (await verifyCredentialAsync(u.password, passwordHash)))) passwordHash = await hashPasswordAsync(u.password);
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
    await applyDirectoryRoles(run, tid, id, `${tp}.users[${ui}]`, u.directoryRoles);
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
    await applyDirectoryRoles(run, tid, id, `${tp}.servicePrincipals[${si}]`, s.directoryRoles);
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

// --- directory roles ----------------------------------------------------------------------------

/**
 * `directoryRoles` lists the Entra roles a principal holds now. A role already held is unchanged;
 * one never held is granted since always; one held before and revoked since is granted again from
 * now (its history stays). A role absent from the list is left as the store has it.
 */
async function applyDirectoryRoles(run: Run, tid: string, oid: string, path: string, roles: readonly string[] | undefined): Promise<void> {
  if (!roles?.length) return;
  const now = run.opts.clock.now();
  const held = await run.tx.directoryRoles.rolesOf(tid, oid, now);
  const rows = (await run.tx.directoryRoles.list(tid)).filter((r) => r.objectId === oid);
  for (const [ri, name] of roles.entries()) {
    const template = resolveDirectoryRole(name);
    if (!template) {
      run.conflicts.push({ path: `${path}.directoryRoles[${ri}]`, message: `"${name}" is not a directory role; use one of ${Object.values(directoryRoleNames).join(", ")}.` });
      continue;
    }
    if (held.includes(template)) {
      run.count("directoryRole", "unchanged");
      continue;
    }
    const before = rows.some((r) => r.roleTemplateId === template);
    await run.tx.directoryRoles.grant(tid, template, oid, before ? now : null);
    run.count("directoryRole", before ? "updated" : "created");
  }
}

// --- management groups, subscriptions, resource groups ------------------------------------------

/** Resource groups in world files have a name only; the store needs a location. */
export const WORLD_RESOURCE_GROUP_LOCATION = "westeurope";

/** Groups parents first (the file may list them in any order); a group without parent hangs under the tenant root group. */
async function applyManagementGroups(run: Run, t: WorldTenant, tp: string): Promise<void> {
  const tid = lc(t.id);
  const pending = (t.managementGroups ?? []).map((m, i) => ({ m, i }));
  const placed = new Set<string>([tid]);
  while (pending.length > 0) {
    const ready = pending.filter(({ m }) => m.parent === undefined || placed.has(lc(m.parent)));
    // Validation rejects cycles and unknown parents; this only guards against looping.
    if (ready.length === 0) break;
    for (const item of ready) {
      const { m, i } = item;
      const outcome = await guarded(run, `${tp}.managementGroups[${i}]`, "fix the group's id or parent in the file.", () =>
        run.tx.resources.putManagementGroup({ tenantId: tid, id: m.id, displayName: m.displayName, parentId: m.parent ?? null }, { at: run.opts.clock.now(), since: null }));
      count(run, "managementGroup", outcome);
      placed.add(lc(m.id));
      pending.splice(pending.indexOf(item), 1);
    }
  }
}

interface SubscriptionState {
  readonly displayName: string;
  readonly offerType: OfferType;
  readonly accountOwnerId: string | null;
  readonly managementGroupId: string | null;
  readonly from: number | null;
  readonly to: number | null;
}

/** The states a file declares for a subscription, oldest first, consecutive equal states merged. */
function desiredStates(tid: string, s: WorldSubscription): SubscriptionState[] {
  const mg = (id: string | undefined) => (id === undefined || lc(id) === tid ? null : lc(id));
  const out: SubscriptionState[] = [];
  let from: number | null = null;
  const push = (st: Omit<SubscriptionState, "from">) => {
    const last = out[out.length - 1];
    if (last && sameState(last, st)) out[out.length - 1] = { ...last, to: st.to };
    else out.push({ ...st, from });
    from = st.to;
  };
  for (const h of s.history ?? []) {
    if (out.length === 0) from = timeOf(h.from);
    push({ displayName: h.displayName ?? s.displayName, offerType: h.offer, accountOwnerId: h.accountOwner ? lc(h.accountOwner) : null, managementGroupId: mg(h.managementGroup), to: timeOf(h.to) });
  }
  push({ displayName: s.displayName, offerType: s.offer, accountOwnerId: s.accountOwner ? lc(s.accountOwner) : null, managementGroupId: mg(s.managementGroup), to: null });
  return out;
}

function sameState(a: Omit<SubscriptionState, "from" | "to">, b: Omit<SubscriptionState, "from" | "to">): boolean {
  return a.displayName === b.displayName && a.offerType === b.offerType && a.accountOwnerId === b.accountOwnerId
    && (a.managementGroupId ?? "").toLowerCase() === (b.managementGroupId ?? "").toLowerCase();
}

const storedState = (r: Subscription): SubscriptionState => ({
  displayName: r.displayName, offerType: r.offerType, accountOwnerId: r.accountOwnerId, managementGroupId: r.managementGroupId, from: r.validFrom, to: r.validTo,
});

/**
 * A subscription without `history` is brought to the file's state: created since always, or changed
 * from now (the store closes the previous row, so the change is effective-dated). With `history`,
 * the store's rows must be a prefix of the declared states; the rest is written in order.
 */
async function applySubscriptions(run: Run, t: WorldTenant, tp: string): Promise<void> {
  const tid = lc(t.id);
  const res = run.tx.resources;
  for (const [si, s] of (t.subscriptions ?? []).entries()) {
    const sp = `${tp}.subscriptions[${si}]`;
    const sid = lc(s.id);
    const states = desiredStates(tid, s);
    const rows = (await res.subscriptionHistory(sid)).map(storedState);
    const put = (st: SubscriptionState, when: { at: number; since?: number | null }) =>
      guarded(run, sp, "fix the subscription in the file (its management group must be declared).", () =>
        res.putSubscription({ tenantId: tid, id: sid, displayName: st.displayName, offerType: st.offerType, accountOwnerId: st.accountOwnerId, managementGroupId: st.managementGroupId }, when));

    if (s.history === undefined) {
      const current = states[0] as SubscriptionState;
      const outcome = await put(current, { at: run.opts.clock.now(), since: null });
      count(run, "subscription", outcome);
      // Rule 12: a partner of record ends when its subscription leaves EA.
      if (outcome === "updated" && current.offerType !== "EA") await run.tx.partnersOfRecord.endIfOfferLeftEa(sid);
    } else {
      const mismatch = rows.findIndex((r, i) => {
        const d = states[i];
        if (!d || !sameState(r, d) || r.from !== d.from) return true;
        return i < rows.length - 1 ? r.to !== d.to : !(r.to === d.to || (r.to === null && d.to !== null));
      });
      if (mismatch >= 0 || rows.length > states.length) {
        run.conflicts.push({
          path: `${sp}.history`,
          message: `differs from the subscription's history in the store (first difference at state ${Math.max(mismatch, states.length)}); a world file extends history but does not rewrite it: start "history" with the stored states, or leave "history" out to change the subscription from now.`,
        });
      } else if (rows.length === states.length && rows.every((r, i) => r.to === states[i]?.to)) {
        run.count("subscription", "unchanged");
      } else {
        for (let i = Math.max(rows.length - 1, 0); i < states.length; i++) {
          const st = states[i] as SubscriptionState;
          if (i < rows.length) continue; // the last stored state is closed by the next put
          await put(st, i === 0 ? { at: st.from ?? run.opts.clock.now(), since: st.from } : { at: states[i - 1]?.to as number });
        }
        run.count("subscription", rows.length === 0 ? "created" : "updated");
      }
    }

    const since = states[0]?.from ?? null;
    for (const [ri, name] of (s.resourceGroups ?? []).entries()) {
      if (await res.getResourceGroup(sid, name)) {
        run.count("resourceGroup", "unchanged");
        continue;
      }
      const outcome = await guarded(run, `${sp}.resourceGroups[${ri}]`, "fix the resource group name.", () =>
        res.putResourceGroup({ tenantId: tid, subscriptionId: sid, name, location: WORLD_RESOURCE_GROUP_LOCATION }, { at: run.opts.clock.now(), since }));
      if (outcome) run.count("resourceGroup", "created");
    }
  }
}

// --- role assignments ---------------------------------------------------------------------------

/** The id a role assignment without one gets: the same entry always derives the same GUID. */
export function derivedRoleAssignmentId(tenantId: string, principalId: string, roleId: string, scope: string, from: number | null): string {
  return stableGuid("roleAssignment", lc(tenantId), lc(principalId), lc(roleId), scopeKey(scope), from === null ? "" : String(from));
}

async function principalTypeOf(run: Run, tid: string, oid: string): Promise<string> {
  if (await run.tx.directory.getGroup(tid, oid)) return "Group";
  if (await run.tx.directory.getServicePrincipal(tid, oid)) return "ServicePrincipal";
  return "User";
}

/**
 * Each entry is one interval of one assignment (by id). Entries are written oldest first, so a
 * principal can hold a role at a scope again after an earlier assignment ended. Roles resolve
 * through the tenant's role catalog (built-ins and its custom roles).
 */
async function applyRoleAssignments(run: Run, t: WorldTenant, tp: string): Promise<void> {
  const items = t.roleAssignments ?? [];
  if (items.length === 0) return;
  const tid = lc(t.id);
  const access = run.tx.access;
  const catalog = await access.roleCatalog(tid);
  const history = await access.roleAssignmentHistory(tid);
  const ordered = items.map((r, i) => ({ r, i, iv: toInterval(r) })).sort((a, b) => (a.iv.from ?? -Infinity) - (b.iv.from ?? -Infinity) || a.i - b.i);
  for (const { r, i, iv } of ordered) {
    const rp = `${tp}.roleAssignments[${i}]`;
    const role = catalog.find(r.role, tid);
    if (!role) {
      run.conflicts.push({ path: `${rp}.role`, message: `role "${r.role}" is not in this tenant's role catalog; use a built-in role or a custom role of this tenant.` });
      continue;
    }
    const principal = lc(r.principalId);
    const id = lc(r.id ?? derivedRoleAssignmentId(tid, principal, role.id, r.scope, iv.from));
    const rows = history.filter((h) => h.id === id);
    const other = rows.find((h) => h.principalId !== principal || h.roleDefinitionId !== role.id || scopeKey(h.scope) !== scopeKey(r.scope));
    if (other) {
      run.conflicts.push({ path: `${rp}.id`, message: `role assignment ${id} in the store gives role ${other.roleDefinitionId} to ${other.principalId} at ${other.scope}; an id names one assignment: use another id, or none.` });
      continue;
    }
    const principalType = await principalTypeOf(run, tid, principal);
    const existing = rows.map((h) => ({ from: h.validFrom, to: h.validTo }));
    await reconcile(run, "roleAssignment", rp, iv, existing, {
      insert: async (d) => {
        if (existing.some((e) => e.to === null) || (existing.length > 0 && d.from === null)) {
          run.conflicts.push({ path: rp, message: `adds an earlier interval to role assignment ${id}, which the store already holds from ${show(existing[0] as Interval)}; give the earlier interval its own id (or none).` });
          return;
        }
        const created = await guarded(run, rp, "end the stored assignment through the ARM API first, or give this entry the stored assignment's id.", () =>
          access.createRoleAssignment({ tenantId: tid, id, scope: r.scope, roleDefinitionId: role.id, principalId: principal, principalType }, { at: d.from ?? run.opts.clock.now(), since: d.from }));
        if (created && d.to !== null) await access.deleteRoleAssignment(tid, id, d.to);
        if (created) history.push({ tenantId: tid, id, scope: r.scope, roleDefinitionId: role.id, principalId: principal, principalType, description: null, condition: null, conditionVersion: null, createdBy: null, validFrom: d.from, validTo: d.to });
      },
      close: async (at) => void (await access.deleteRoleAssignment(tid, id, at)),
    });
  }
}

// --- Lighthouse delegations ---------------------------------------------------------------------

/** The registration assignment id of a delegation without one. */
export function derivedDelegationId(tenantId: string, managedByTenantId: string, scope: string, from: number | null): string {
  return stableGuid("registrationAssignment", lc(tenantId), lc(managedByTenantId), scopeKey(scope), from === null ? "" : String(from));
}

/** The registration definition id of a delegation without `definitionId`. */
export function derivedDefinitionId(tenantId: string, registrationAssignmentId: string): string {
  return stableGuid("registrationDefinition", lc(tenantId), lc(registrationAssignmentId));
}

/**
 * A delegation is a registration definition (managing tenant + authorizations) and a registration
 * assignment of it at the delegated scope over [from, to). The definition is kept when the
 * delegation ends (history reads it). Activations of eligible authorizations are added as listed.
 */
async function applyDelegations(run: Run, t: WorldTenant, tp: string): Promise<void> {
  const items = t.delegations ?? [];
  if (items.length === 0) return;
  const tid = lc(t.id);
  const access = run.tx.access;
  const snapshot = await access.loadAccessSnapshot({ tenantIds: [tid] });
  const assignmentRows = [...snapshot.registrationAssignments];
  const definitionsDone = new Set<string>();
  for (const [di, d] of items.entries()) {
    const dp = `${tp}.delegations[${di}]`;
    const iv = toInterval(d);
    const managing = lc(d.managedByTenantId);
    const assignmentId = lc(d.id ?? derivedDelegationId(tid, managing, d.scope, iv.from));
    const definitionId = lc(d.definitionId ?? derivedDefinitionId(tid, assignmentId));

    if (!definitionsDone.has(definitionId)) {
      definitionsDone.add(definitionId);
      const stored = await access.getRegistrationDefinition(tid, definitionId);
      const authorizations: LighthouseAuthorization[] = d.authorizations.map((a) => {
        const roleDefinitionId = resolveRole(a.role)?.id ?? lc(a.role);
        const kind = a.kind ?? "permanent";
        // Keep what only the ARM API sets (delegated roles, activation duration) on an unchanged authorization.
        const same = stored?.authorizations.find((x) => lc(x.principalId) === lc(a.principalId) && lc(x.roleDefinitionId) === roleDefinitionId && x.kind === kind);
        return {
          principalId: lc(a.principalId), principalIdDisplayName: a.principalIdDisplayName ?? same?.principalIdDisplayName ?? null, roleDefinitionId, kind,
          ...(same?.delegatedRoleDefinitionIds?.length ? { delegatedRoleDefinitionIds: same.delegatedRoleDefinitionIds } : {}),
          ...(same?.maximumActivationDuration ? { maximumActivationDuration: same.maximumActivationDuration } : {}),
        };
      });
      const managingTenant = await run.tx.directory.getTenant(managing);
      const scope = parseScope(d.scope);
      const outcome = await guarded(run, dp, "fix the delegation's definition.", () => access.putRegistrationDefinition({
        tenantId: tid, id: definitionId, scope: stored?.scope ?? `/subscriptions/${scope.subscriptionId ?? ""}`,
        name: d.displayName ?? stored?.name ?? `Delegation to ${managingTenant?.displayName ?? managing}`,
        description: stored?.description ?? null, managedByTenantId: managing,
        managedByTenantName: stored?.managedByTenantName ?? managingTenant?.displayName ?? null, authorizations, plan: stored?.plan ?? null,
      }, { at: run.opts.clock.now(), since: iv.from }));
      count(run, "registrationDefinition", outcome);
    }

    const rows = assignmentRows.filter((r) => r.id === assignmentId);
    const other = rows.find((r) => scopeKey(r.scope) !== scopeKey(d.scope) || r.registrationDefinitionId !== definitionId);
    if (other) {
      run.conflicts.push({ path: `${dp}.id`, message: `registration assignment ${assignmentId} in the store delegates ${other.scope} with definition ${other.registrationDefinitionId}; an id names one delegation: use another id, or none.` });
      continue;
    }
    const existing = rows.map((r) => ({ from: r.validFrom, to: r.validTo }));
    await reconcile(run, "delegation", dp, iv, existing, {
      insert: async (x) => {
        if (existing.some((e) => e.to === null) || (existing.length > 0 && x.from === null)) {
          run.conflicts.push({ path: dp, message: `adds an earlier interval to delegation ${assignmentId}, which the store already holds from ${show(existing[0] as Interval)}; give the earlier interval its own id (or none).` });
          return;
        }
        const created = await guarded(run, dp, "end the stored delegation through the ARM API first, or give this entry the stored assignment's id.", () =>
          access.createRegistrationAssignment({ tenantId: tid, id: assignmentId, scope: d.scope, registrationDefinitionId: definitionId }, { at: x.from ?? run.opts.clock.now(), since: x.from }));
        if (created && x.to !== null) await access.deleteRegistrationAssignment(tid, assignmentId, x.to);
        if (created) assignmentRows.push({ tenantId: tid, id: assignmentId, scope: d.scope, registrationDefinitionId: definitionId, validFrom: x.from, validTo: x.to });
      },
      close: async (at) => void (await access.deleteRegistrationAssignment(tid, assignmentId, at)),
    });

    for (const [ai, a] of d.authorizations.entries()) {
      for (const [xi, act] of (a.activations ?? []).entries()) {
        const from = timeOf(act.from);
        const to = timeOf(act.to);
        if (from === null || to === null) continue; // validation reports malformed times
        const outcome = await guarded(run, `${dp}.authorizations[${ai}].activations[${xi}]`, "fix the activation's interval.", () => access.addActivation({
          tenantId: tid, registrationAssignmentId: assignmentId, principalId: lc(act.principalId ?? a.principalId), roleDefinitionId: resolveRole(a.role)?.id ?? lc(a.role), from, to,
        }));
        count(run, "activation", outcome);
      }
    }
  }
}

// --- partners of record -------------------------------------------------------------------------

/** DPOR history: each entry one interval of one subscription's partner of record (EA only). */
async function applyPartnersOfRecord(run: Run, world: WorldFile): Promise<void> {
  const dpor = run.tx.partnersOfRecord;
  for (const [ri, r] of (world.partnersOfRecord ?? []).entries()) {
    const rp = `$.partnersOfRecord[${ri}]`;
    const sid = lc(r.subscriptionId);
    const sub = (await run.tx.resources.getSubscription(sid)) ?? (await run.tx.resources.subscriptionHistory(sid)).at(-1);
    if (!sub) {
      run.conflicts.push({ path: `${rp}.subscriptionId`, message: `subscription ${sid} is not in the store; declare it under a tenant's "subscriptions".` });
      continue;
    }
    const iv = toInterval(r);
    const history = await dpor.history({ subscriptionId: sid });
    if (history.some((h) => h.partnerId === r.partnerId && h.validFrom === iv.from && h.validTo === iv.to)) {
      run.count("partnerOfRecord", "unchanged");
      continue;
    }
    const open = history.find((h) => h.validTo === null && h.validFrom === iv.from && h.partnerId === r.partnerId);
    if (open && iv.to !== null) {
      await dpor.remove(sid, iv.to, null);
      run.count("partnerOfRecord", "updated");
      continue;
    }
    const clash = history.find((h) => overlaps({ from: h.validFrom, to: h.validTo }, iv));
    if (clash) {
      run.conflicts.push({ path: rp, message: `overlaps partner of record ${clash.partnerId} ${show({ from: clash.validFrom, to: clash.validTo })} already in the store; a subscription has one partner of record at a time (change it through the ARM API, or end the earlier interval first).` });
      continue;
    }
    const done = await guarded(run, rp, "fix the interval.", () => dpor.insertHistorical({ tenantId: sub.tenantId, subscriptionId: sid, partnerId: r.partnerId, from: iv.from, to: iv.to }).then(() => true));
    if (done) run.count("partnerOfRecord", "created");
  }
}
