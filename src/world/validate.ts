/**
 * Semantic validation of a world file: a pure function over a document that already passed the
 * JSON Schema check, plus a snapshot of what the store already holds (`KnownFacts`), so a file may
 * refer to tenants, principals, applications and partner ids that an earlier file declared.
 *
 * It reports every problem, each with its JSON path, and never stops at the first. Warnings are
 * things that are allowed but probably unintended (a guest whose home account cannot sign in).
 */
import { X509Certificate } from "node:crypto";
import { parseIsoTime } from "../domain/time.ts";
import { overlaps, type Interval } from "../domain/interval.ts";
import { isGuid } from "../domain/ids.ts";
import { parseScope, ScopeError, type ScopeKind } from "../domain/scope.ts";
import { resolveRole, exampleRoleNames, type RoleRef } from "./roles.ts";
import { directoryRoleNames, resolveDirectoryRole } from "../graph/roles.ts";
import { validatePowerPlatform } from "./power-platform/validate.ts";
import type { WorldAuthorization, WorldFile, WorldInterval, WorldProblem, WorldSecret, WorldGroupMember } from "./types.ts";

export type PrincipalKind = "User" | "ServicePrincipal" | "Group";

export interface KnownPrincipal {
  readonly kind: PrincipalKind;
  /** Users only. */
  readonly userKind?: "member" | "guest";
  readonly hasPassword?: boolean;
  /** Service principals only. */
  readonly appId?: string;
  readonly userPrincipalName?: string;
}

/** What the store already holds, as far as the file refers to it. All ids lower-case. */
export interface KnownFacts {
  tenant(id: string): { readonly domain: string } | undefined;
  tenantByDomain(domain: string): string | undefined;
  principal(tenantId: string, objectId: string): KnownPrincipal | undefined;
  userIdByUpn(tenantId: string, upnLower: string): string | undefined;
  servicePrincipalIdOfApp(tenantId: string, appId: string): string | undefined;
  guestIdOf(tenantId: string, homeTenantId: string, homeObjectId: string): string | undefined;
  application(appId: string): { readonly homeTenantId: string } | undefined;
  location(id: string): { readonly globalId: string } | undefined;
  organisation(globalId: string): boolean;
  /**
   * A stored subscription; `resourceGroups` (lower case) when the store lists them; `offers`: every
   * offer it ever had (its history), when known.
   */
  subscription(id: string): { readonly tenantId: string; readonly offer: string; readonly resourceGroups?: ReadonlySet<string>; readonly offers?: ReadonlySet<string> } | undefined;
  /** A tenant's own (custom) role by name or GUID, when the store has a role catalog. Built-ins need no lookup. */
  customRole?(tenantId: string, nameOrId: string): RoleRef | undefined;
  /** A Power Platform environment the store holds (world/power-platform). */
  ppEnvironment?(tenantId: string, environmentId: string): boolean;
}

/** Facts of an empty store (offline validation). */
export const NO_KNOWN_FACTS: KnownFacts = {
  tenant: () => undefined,
  tenantByDomain: () => undefined,
  principal: () => undefined,
  userIdByUpn: () => undefined,
  servicePrincipalIdOfApp: () => undefined,
  guestIdOf: () => undefined,
  application: () => undefined,
  location: () => undefined,
  organisation: () => false,
  subscription: () => undefined,
};

export interface WorldValidation {
  readonly problems: readonly WorldProblem[];
  readonly warnings: readonly WorldProblem[];
}

interface DeclaredPrincipal extends KnownPrincipal {
  readonly path: string;
}

interface DeclaredSubscription {
  readonly tenantId: string;
  readonly offer: string;
  readonly offers: ReadonlySet<string>;
  readonly path: string;
  readonly resourceGroups: ReadonlySet<string>;
}

const lc = (s: string) => s.toLowerCase();
const key = (...parts: string[]) => parts.join("\u0000");

/** Interval in ms, `null` ends meaning open. */
export function toInterval(i: WorldInterval): Interval {
  return {
    from: i.from === undefined || i.from === null ? null : (parseIsoTime(i.from) ?? null),
    to: i.to === undefined || i.to === null ? null : (parseIsoTime(i.to) ?? null),
  };
}

export function memberOf(m: WorldGroupMember): { id: string; from?: string | null; to?: string | null } {
  return typeof m === "string" ? { id: m } : m;
}

export function secretValue(s: WorldSecret): string {
  return typeof s === "string" ? s : s.value;
}

/** A scope's comparison key, tolerant of malformed scopes (reported elsewhere). */
function scopeKeyOf(scope: string): string {
  return scope === "/" ? "/" : lc(scope.trim().replace(/\/+$/, ""));
}

const within = (t: number, iv: Interval) => (iv.from === null || iv.from <= t) && (iv.to === null || t < iv.to);

/** What makes two delegations' registration definitions the same definition. */
export function definitionSignature(managedByTenantId: string, authorizations: readonly WorldAuthorization[]): string {
  return JSON.stringify([lc(managedByTenantId), authorizations.map((a) => [lc(a.principalId), resolveRole(a.role)?.id ?? lc(a.role), a.kind ?? "permanent"])]);
}

export function validateWorld(world: WorldFile, known: KnownFacts = NO_KNOWN_FACTS): WorldValidation {
  const problems: WorldProblem[] = [];
  const warnings: WorldProblem[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });

  // --- index what the file declares (and check uniqueness on the way) -------------------------

  const tenants = new Map<string, string>(); // id → path
  const domains = new Map<string, string>();
  const principals = new Map<string, DeclaredPrincipal>(); // key(tenant, object) → …
  const upns = new Map<string, string>();
  const apps = new Map<string, { path: string; homeTenantId: string }>();
  const orgs = new Map<string, string>();
  const locations = new Map<string, { path: string; globalId: string }>();
  const managementGroups = new Map<string, { path: string; parent: string | undefined }>(); // key(tenant, mg lower)
  const subscriptions = new Map<string, DeclaredSubscription>();

  (world.tenants ?? []).forEach((t, ti) => {
    const tp = `$.tenants[${ti}]`;
    const tid = lc(t.id);
    const dup = tenants.get(tid);
    if (dup) problem(`${tp}.id`, `tenant ${tid} is already declared at ${dup}; merge the two entries.`);
    else tenants.set(tid, tp);
    const dom = lc(t.domain);
    const domDup = domains.get(dom);
    if (domDup) problem(`${tp}.domain`, `domain ${dom} is already used by ${domDup}; each tenant needs its own domain.`);
    domains.set(dom, tp);
    const storeDomainOwner = known.tenantByDomain(dom);
    if (storeDomainOwner && storeDomainOwner !== tid) {
      problem(`${tp}.domain`, `domain ${dom} already belongs to tenant ${storeDomainOwner} in the store; choose another domain.`);
    }

    const declare = (path: string, id: string, p: KnownPrincipal) => {
      const k = key(tid, lc(id));
      const prev = principals.get(k);
      if (prev) {
        problem(`${path}.id`, `object id ${lc(id)} is already used in this tenant by ${prev.path}; object ids are unique per tenant across users, service principals and groups.`);
        return;
      }
      const stored = known.principal(tid, lc(id));
      if (stored && stored.kind !== p.kind) {
        problem(`${path}.id`, `object id ${lc(id)} is a ${stored.kind} in the store, not a ${p.kind}; use a new id.`);
      }
      principals.set(k, { ...p, path });
    };
    (t.users ?? []).forEach((u, ui) => {
      const up = `${tp}.users[${ui}]`;
      declare(up, u.id, { kind: "User", userKind: u.type ?? "member", hasPassword: u.password !== undefined || known.principal(tid, lc(u.id))?.hasPassword === true, userPrincipalName: u.userPrincipalName });
      const upn = lc(u.userPrincipalName);
      const upnDup = upns.get(key(tid, upn));
      if (upnDup) problem(`${up}.userPrincipalName`, `${u.userPrincipalName} is already used by ${upnDup}; user principal names are unique per tenant.`);
      upns.set(key(tid, upn), up);
      const storeOwner = known.userIdByUpn(tid, upn);
      if (storeOwner && storeOwner !== lc(u.id)) {
        problem(`${up}.userPrincipalName`, `${u.userPrincipalName} already belongs to user ${storeOwner} in the store; use that id or another name.`);
      }
    });
    (t.servicePrincipals ?? []).forEach((s, si) => declare(`${tp}.servicePrincipals[${si}]`, s.id, { kind: "ServicePrincipal", appId: lc(s.appId) }));
    (t.groups ?? []).forEach((g, gi) => declare(`${tp}.groups[${gi}]`, g.id, { kind: "Group" }));

    (t.managementGroups ?? []).forEach((m, mi) => {
      const mp = `${tp}.managementGroups[${mi}]`;
      const k = key(tid, lc(m.id));
      if (lc(m.id) === tid) problem(`${mp}.id`, `is the tenant root group's id (the tenant id); the root exists already, omit it and leave "parent" out to hang groups under it.`);
      else if (managementGroups.has(k)) problem(`${mp}.id`, `management group ${m.id} is already declared at ${managementGroups.get(k)?.path}.`);
      else managementGroups.set(k, { path: mp, parent: m.parent });
    });
    (t.subscriptions ?? []).forEach((s, si) => {
      const sp = `${tp}.subscriptions[${si}]`;
      const sid = lc(s.id);
      const prev = subscriptions.get(sid);
      if (prev) {
        problem(`${sp}.id`, `subscription ${sid} is already declared at ${prev.path}; a subscription belongs to one tenant.`);
        return;
      }
      const stored = known.subscription(sid);
      if (stored && stored.tenantId !== tid) problem(`${sp}.id`, `subscription ${sid} belongs to tenant ${stored.tenantId} in the store.`);
      const rgs = new Set<string>();
      (s.resourceGroups ?? []).forEach((rg, ri) => {
        if (rgs.has(lc(rg))) problem(`${sp}.resourceGroups[${ri}]`, `resource group ${rg} is listed twice (names compare case-insensitively).`);
        rgs.add(lc(rg));
      });
      subscriptions.set(sid, { tenantId: tid, offer: s.offer, offers: new Set([s.offer, ...(s.history ?? []).map((h) => h.offer)]), path: sp, resourceGroups: rgs });
    });
  });

  (world.applications ?? []).forEach((a, ai) => {
    const ap = `$.applications[${ai}]`;
    const id = lc(a.appId);
    if (apps.has(id)) problem(`${ap}.appId`, `application ${id} is already declared at ${apps.get(id)?.path}.`);
    else apps.set(id, { path: ap, homeTenantId: lc(a.homeTenantId) });
  });

  (world.partners ?? []).forEach((p, pi) => {
    const pp = `$.partners[${pi}]`;
    if (orgs.has(p.globalId)) problem(`${pp}.globalId`, `partner ${p.globalId} is already declared at ${orgs.get(p.globalId)}.`);
    else orgs.set(p.globalId, pp);
    (p.locations ?? []).forEach((l, li) => {
      const lp = `${pp}.locations[${li}]`;
      if (locations.has(l.id)) problem(`${lp}.id`, `location id ${l.id} is already declared at ${locations.get(l.id)?.path}.`);
      else locations.set(l.id, { path: lp, globalId: p.globalId });
      const stored = known.location(l.id);
      if (stored && stored.globalId !== p.globalId) {
        problem(`${lp}.id`, `location id ${l.id} belongs to partner ${stored.globalId} in the store; a location id belongs to one organisation.`);
      }
    });
  });
  // A partner id is either a global id or a location id, never both (links must name locations).
  for (const [id, loc] of locations) {
    if (orgs.has(id) || known.organisation(id)) problem(`${loc.path}.id`, `${id} is also a global (headquarters) partner id; location ids and global ids must differ.`);
  }
  for (const [gid, path] of orgs) {
    if (!locations.has(gid) && known.location(gid)) problem(`${path}.globalId`, `${gid} is a location id in the store; a global id must differ from every location id.`);
  }

  // --- lookups over "the file, then the store" ----------------------------------------------------

  const tenantExists = (id: string) => tenants.has(lc(id)) || known.tenant(lc(id)) !== undefined;
  const principalAt = (tenantId: string, objectId: string): KnownPrincipal | undefined =>
    principals.get(key(lc(tenantId), lc(objectId))) ?? known.principal(lc(tenantId), lc(objectId));
  const appExists = (appId: string) => apps.has(lc(appId)) || known.application(lc(appId)) !== undefined;
  const subscriptionAt = (id: string): { tenantId: string; offer: string; resourceGroups?: ReadonlySet<string>; offers?: ReadonlySet<string> } | undefined =>
    subscriptions.get(lc(id)) ?? known.subscription(lc(id));
  const notDeclared = (what: string) => `${what} is not declared in this file or the store`;

  const requireTenant = (path: string, id: string, role: string) => {
    if (!tenantExists(id)) problem(path, `${notDeclared(`tenant ${lc(id)}`)}; declare it under "tenants" (${role}).`);
  };

  const partnerLocation = (path: string, partnerId: string) => {
    if (locations.has(partnerId) || known.location(partnerId)) return;
    if (orgs.has(partnerId) || known.organisation(partnerId)) {
      problem(path, `${partnerId} is a global (headquarters) partner id; use one of its location ids (the Associated Partner ID shown on the partner profile).`);
    } else {
      problem(path, `${notDeclared(`partner location id ${partnerId}`)}; declare it under a partner's "locations".`);
    }
  };

  /** Checks one interval: well-formed times and from < to. Returns it in ms. */
  const interval = (path: string, i: WorldInterval): Interval => {
    const iv = toInterval(i);
    for (const end of ["from", "to"] as const) {
      const v = i[end];
      if (typeof v === "string" && parseIsoTime(v) === undefined) problem(`${path}.${end}`, "must be an ISO 8601 time with a zone, e.g. 2026-10-01T00:00:00Z.");
    }
    if (iv.from !== null && iv.to !== null && iv.from >= iv.to) {
      problem(`${path}.to`, `must be later than "from" (${String(i.from)}); intervals are [from, to).`);
    }
    return iv;
  };

  /** One fact at a time: the intervals of items with the same key must not overlap. */
  const noOverlap = (items: { key: string; path: string; iv: Interval }[], fact: string) => {
    const byKey = new Map<string, { path: string; iv: Interval }[]>();
    for (const it of items) {
      const list = byKey.get(it.key) ?? [];
      for (const other of list) {
        if (overlaps(other.iv, it.iv)) {
          problem(it.path, `overlaps ${other.path}: ${fact} at a time; end one interval ("to") before the next begins.`);
          break;
        }
      }
      list.push(it);
      byKey.set(it.key, list);
    }
  };

  const checkScope = (path: string, scope: string, tenantId: string, allowed: readonly ScopeKind[]) => {
    let parsed;
    try {
      parsed = parseScope(scope);
    } catch (error) {
      problem(path, `${error instanceof ScopeError ? error.message : "is not a scope"}.`);
      return;
    }
    if (!allowed.includes(parsed.kind)) {
      problem(path, `a ${parsed.kind} scope is not allowed here; use a ${allowed.join(" or ")} scope.`);
      return;
    }
    if ((parsed.kind !== "root" && parsed.kind !== "managementGroup") && !isGuid(parsed.subscriptionId ?? "")) {
      problem(path, `"${parsed.subscriptionId ?? ""}" is not a subscription id; subscription ids are GUIDs.`);
      return;
    }
    if (parsed.kind === "managementGroup") {
      const id = lc(parsed.managementGroupId ?? "");
      if (id !== tenantId && !managementGroups.has(key(tenantId, id))) {
        problem(path, `management group ${parsed.managementGroupId} is not declared in this tenant's "managementGroups".`);
      }
      return;
    }
    if (parsed.kind === "root" || parsed.subscriptionId === undefined) return;
    const sub = subscriptionAt(parsed.subscriptionId);
    if (!sub) {
      problem(path, `${notDeclared(`subscription ${parsed.subscriptionId}`)}; declare it under this tenant's "subscriptions".`);
      return;
    }
    if (sub.tenantId !== tenantId) {
      problem(path, `subscription ${parsed.subscriptionId} belongs to tenant ${sub.tenantId}, not to this tenant; declare the assignment under that tenant.`);
      return;
    }
    // Resources are not declared in world files; a resource scope needs only its resource group.
    if (parsed.resourceGroup !== undefined && sub.resourceGroups && !sub.resourceGroups.has(lc(parsed.resourceGroup))) {
      problem(path, `resource group ${parsed.resourceGroup} is not listed in subscription ${parsed.subscriptionId}'s "resourceGroups".`);
    }
  };

  /** Role assignments: built-in roles and the tenant's own custom roles (from the store's catalog). */
  const roleIn = (tenantId: string, role: string): RoleRef | undefined => resolveRole(role) ?? known.customRole?.(tenantId, role);
  const checkRole = (path: string, role: string, tenantId: string) => {
    if (!roleIn(tenantId, role)) problem(path, `role "${role}" is unknown; use a built-in role name (${exampleRoleNames().join(", ")}), its GUID, or the name or GUID of one of this tenant's custom roles.`);
  };
  /** Lighthouse authorizations: built-in roles only (as Azure Lighthouse requires). */
  const checkBuiltInRole = (path: string, role: string) => {
    if (!resolveRole(role)) problem(path, `role "${role}" is not a built-in role; Azure Lighthouse authorizations take built-in roles only (${exampleRoleNames().join(", ")}) by name or GUID.`);
  };
  const checkDirectoryRoles = (path: string, roles: readonly string[] | undefined) => {
    const seen = new Set<string>();
    (roles ?? []).forEach((r, i) => {
      const id = resolveDirectoryRole(r);
      if (!id) problem(`${path}.directoryRoles[${i}]`, `"${r}" is not a directory role OpenPAL models; use one of ${Object.values(directoryRoleNames).join(", ")} (or its role template id).`);
      else if (seen.has(id)) problem(`${path}.directoryRoles[${i}]`, `repeats ${directoryRoleNames[id] ?? id}; list each role once.`);
      if (id) seen.add(id);
    });
  };

  // --- partners ---------------------------------------------------------------------------------

  (world.partners ?? []).forEach((p, pi) => {
    const pp = `$.partners[${pi}]`;
    (p.tenantIds ?? []).forEach((t, i) => requireTenant(`${pp}.tenantIds[${i}]`, t, "a partner's own tenant"));
    (p.locations ?? []).forEach((l, li) => {
      const lp = `${pp}.locations[${li}]`;
      const ivs = (l.inactive ?? []).map((i, ii) => ({ key: "x", path: `${lp}.inactive[${ii}]`, iv: interval(`${lp}.inactive[${ii}]`, i) }));
      noOverlap(ivs, "a location is deactivated once");
      if (l.active === false && l.inactive && !l.inactive.some((i) => i.to === undefined || i.to === null)) {
        problem(`${lp}.active`, `says inactive, but every interval in "inactive" has ended; leave "to" out of the last one or drop "active".`);
      }
      if (l.active === true && l.inactive && l.inactive.some((i) => i.to === undefined || i.to === null)) {
        problem(`${lp}.active`, `says active, but an interval in "inactive" is still open; give it a "to" or drop "active".`);
      }
    });
  });

  // --- applications -----------------------------------------------------------------------------

  (world.applications ?? []).forEach((a, ai) => {
    const ap = `$.applications[${ai}]`;
    requireTenant(`${ap}.homeTenantId`, a.homeTenantId, "an application's home tenant");
    const seen = new Set<string>();
    (a.secrets ?? []).forEach((s, si) => {
      // Never echo the secret itself in a message.
      if (seen.has(secretValue(s))) problem(`${ap}.secrets[${si}]`, "repeats an earlier secret of this application; list each secret once.");
      seen.add(secretValue(s));
      if (typeof s !== "string" && s.expiresAt) interval(`${ap}.secrets[${si}]`, { to: s.expiresAt });
    });
    const thumbs = new Set<string>();
    (a.certificates ?? []).forEach((pem, ci) => {
      try {
        const cert = new X509Certificate(pem);
        if (thumbs.has(cert.fingerprint256)) problem(`${ap}.certificates[${ci}]`, "repeats an earlier certificate of this application.");
        thumbs.add(cert.fingerprint256);
      } catch (error) {
        problem(`${ap}.certificates[${ci}]`, `is not a readable PEM certificate (${(error as Error).message}); paste the whole -----BEGIN CERTIFICATE----- block.`);
      }
    });
  });

  // --- tenants: directory -----------------------------------------------------------------------

  const homesOfGuests = new Map<string, string>(); // key(homeTenant, homeObject) → guest path

  (world.tenants ?? []).forEach((t, ti) => {
    const tp = `$.tenants[${ti}]`;
    const tid = lc(t.id);
    const guestsHere = new Map<string, string>();

    (t.users ?? []).forEach((u, ui) => {
      const up = `${tp}.users[${ui}]`;
      const kind = u.type ?? "member";
      if (kind === "guest") {
        if (u.password !== undefined) problem(`${up}.password`, "a guest signs in with its home account's credentials; remove the password (set it on the home user instead).");
        if (!u.homeTenantId) problem(`${up}.homeTenantId`, "is required for a guest: the tenant of the guest's home account.");
        if (!u.homeObjectId) problem(`${up}.homeObjectId`, "is required for a guest: the object id of the guest's home account.");
        if (u.homeTenantId && u.homeObjectId) {
          const ht = lc(u.homeTenantId);
          if (ht === tid) problem(`${up}.homeTenantId`, "is this tenant; a guest's home is another tenant (make this user a member instead).");
          else if (!tenantExists(ht)) problem(`${up}.homeTenantId`, `${notDeclared(`tenant ${ht}`)}; declare the guest's home tenant under "tenants".`);
          else {
            const home = principalAt(ht, u.homeObjectId);
            if (!home) problem(`${up}.homeObjectId`, `${notDeclared(`user ${lc(u.homeObjectId)} in tenant ${ht}`)}; declare the home account under that tenant's "users".`);
            else if (home.kind !== "User" || home.userKind === "guest") problem(`${up}.homeObjectId`, `${lc(u.homeObjectId)} in tenant ${ht} is not a member user; a guest's home account is a member user of its home tenant.`);
            else homesOfGuests.set(key(ht, lc(u.homeObjectId)), up);
          }
          const k = key(lc(u.homeTenantId), lc(u.homeObjectId));
          const prev = guestsHere.get(k);
          if (prev) problem(`${up}.homeObjectId`, `the same home account is already a guest here at ${prev}; a tenant invites an account once.`);
          guestsHere.set(k, up);
          const storedGuest = known.guestIdOf(tid, lc(u.homeTenantId), lc(u.homeObjectId));
          if (storedGuest && storedGuest !== lc(u.id)) problem(`${up}.id`, `the store already has guest ${storedGuest} for this home account in this tenant; use that id.`);
        }
      } else {
        if (u.homeTenantId !== undefined) problem(`${up}.homeTenantId`, `only guests have a home tenant; remove it or set "type": "guest".`);
        if (u.homeObjectId !== undefined) problem(`${up}.homeObjectId`, `only guests have a home object; remove it or set "type": "guest".`);
        const stored = known.principal(tid, lc(u.id));
        if (stored?.userKind === "guest") problem(`${up}.type`, `user ${lc(u.id)} is a guest in the store; a user cannot change between member and guest.`);
      }
      noOverlap((u.disabled ?? []).map((d, di) => ({ key: "x", path: `${up}.disabled[${di}]`, iv: interval(`${up}.disabled[${di}]`, d) })), "a principal is disabled once");
      if (u.deletedAt) interval(`${up}`, { from: u.createdAt ?? null, to: u.deletedAt });
      checkDirectoryRoles(up, u.directoryRoles);
    });

    const spOfApp = new Map<string, string>();
    (t.servicePrincipals ?? []).forEach((s, si) => {
      const sp = `${tp}.servicePrincipals[${si}]`;
      const app = lc(s.appId);
      if (!appExists(app)) problem(`${sp}.appId`, `${notDeclared(`application ${app}`)}; declare it under "applications".`);
      const prev = spOfApp.get(app);
      if (prev) problem(`${sp}.appId`, `application ${app} already has a service principal in this tenant at ${prev}; an application has one per tenant.`);
      spOfApp.set(app, sp);
      const stored = known.servicePrincipalIdOfApp(tid, app);
      if (stored && stored !== lc(s.id)) problem(`${sp}.id`, `the store already has service principal ${stored} for application ${app} in this tenant; use that id.`);
      noOverlap((s.disabled ?? []).map((d, di) => ({ key: "x", path: `${sp}.disabled[${di}]`, iv: interval(`${sp}.disabled[${di}]`, d) })), "a principal is disabled once");
      checkDirectoryRoles(sp, s.directoryRoles);
    });

    // Groups: members resolve in this tenant; no group contains itself, even through nesting.
    const edges = new Map<string, Set<string>>();
    (t.groups ?? []).forEach((g, gi) => {
      const gp = `${tp}.groups[${gi}]`;
      const gid = lc(g.id);
      const spans: { key: string; path: string; iv: Interval }[] = [];
      (g.members ?? []).forEach((m, mi) => {
        const mp = `${gp}.members[${mi}]`;
        const mm = memberOf(m);
        const mid = lc(mm.id);
        if (mid === gid) {
          problem(mp, "a group cannot be a member of itself.");
          return;
        }
        const member = principalAt(tid, mid);
        if (!member) problem(mp, `${notDeclared(`principal ${mid} in this tenant`)}; members are users, service principals or groups of the same tenant.`);
        else if (member.kind === "Group") edges.set(gid, (edges.get(gid) ?? new Set()).add(mid));
        spans.push({ key: mid, path: mp, iv: interval(mp, mm) });
      });
      noOverlap(spans, "a principal is a member of a group once");
    });
    const cyclePaths = new Set<string>();
    for (const [start] of edges) {
      const stack: string[] = [start];
      const seen = new Set<string>();
      while (stack.length) {
        const cur = stack.pop() as string;
        for (const next of edges.get(cur) ?? []) {
          if (next === start) cyclePaths.add(start);
          if (!seen.has(next)) {
            seen.add(next);
            stack.push(next);
          }
        }
      }
    }
    (t.groups ?? []).forEach((g, gi) => {
      if (cyclePaths.has(lc(g.id))) problem(`${tp}.groups[${gi}].members`, `group ${lc(g.id)} contains itself through nested groups; break the cycle.`);
    });

    const admins: { key: string; path: string; iv: Interval }[] = [];
    (t.delegatedAdmins ?? []).forEach((d, di) => {
      const dp = `${tp}.delegatedAdmins[${di}]`;
      const pt = lc(d.partnerTenantId);
      if (pt === tid) problem(`${dp}.partnerTenantId`, "is this tenant; a delegated-admin relationship is with another (partner) tenant.");
      else requireTenant(`${dp}.partnerTenantId`, pt, "the partner tenant of a delegated-admin relationship");
      admins.push({ key: pt, path: dp, iv: interval(dp, d) });
    });
    noOverlap(admins, "one delegated-admin relationship per partner tenant");

    // --- tenants: resources and access ----------------------------------------------------------

    (t.managementGroups ?? []).forEach((m, mi) => {
      const mp = `${tp}.managementGroups[${mi}]`;
      if (m.parent === undefined) return;
      const parent = lc(m.parent);
      if (parent === lc(m.id)) {
        problem(`${mp}.parent`, "a management group cannot be its own parent.");
        return;
      }
      if (parent !== tid && !managementGroups.has(key(tid, parent))) {
        problem(`${mp}.parent`, `management group ${m.parent} is not declared in this tenant; declare it, or leave "parent" out to hang this group under the tenant root.`);
        return;
      }
      // Walk up: a cycle never reaches the root.
      const seen = new Set<string>([lc(m.id)]);
      let cur: string | undefined = parent;
      while (cur !== undefined && cur !== tid) {
        if (seen.has(cur)) {
          problem(`${mp}.parent`, `the parents of ${m.id} form a cycle; management groups are a tree under the tenant root.`);
          break;
        }
        seen.add(cur);
        const p: string | undefined = managementGroups.get(key(tid, cur))?.parent;
        cur = p === undefined ? undefined : lc(p);
      }
    });

    (t.subscriptions ?? []).forEach((s, si) => {
      const sp = `${tp}.subscriptions[${si}]`;
      /** The fields one state of a subscription carries (the current one, or one of its `history`). */
      const checkState = (at: string, st: { offer: string; managementGroup?: string; accountOwner?: string }) => {
        if (st.managementGroup !== undefined && lc(st.managementGroup) !== tid && !managementGroups.has(key(tid, lc(st.managementGroup)))) {
          problem(`${at}.managementGroup`, `management group ${st.managementGroup} is not declared in this tenant's "managementGroups".`);
        }
        if (st.accountOwner !== undefined) {
          if (st.offer !== "EA") problem(`${at}.accountOwner`, `only EA subscriptions have an account owner; remove it or set "offer": "EA".`);
          const owner = principalAt(tid, st.accountOwner);
          if (!owner) problem(`${at}.accountOwner`, `${notDeclared(`user ${lc(st.accountOwner)} in this tenant`)}; the account owner is a user of the subscription's tenant.`);
          else if (owner.kind !== "User") problem(`${at}.accountOwner`, `${lc(st.accountOwner)} is a ${owner.kind}; the account owner is a user.`);
        }
      };
      checkState(sp, s);
      // History: earlier states, oldest first, back to back.
      let prevTo: number | null = null;
      (s.history ?? []).forEach((h, hi) => {
        const hp = `${sp}.history[${hi}]`;
        checkState(hp, h);
        const iv = interval(hp, h);
        if (hi > 0 && h.from !== undefined && h.from !== null && iv.from !== prevTo) {
          problem(`${hp}.from`, `must equal the previous state's "to" (states are back to back); leave it out to start where the previous one ended.`);
        }
        if (prevTo !== null && iv.to !== null && iv.to <= prevTo) problem(`${hp}.to`, `must be later than the previous state's "to"; list states oldest first.`);
        prevTo = iv.to;
      });
    });

    const assignments: { key: string; path: string; iv: Interval }[] = [];
    const assignmentIds = new Map<string, { path: string; what: string }>();
    (t.roleAssignments ?? []).forEach((r, ri) => {
      const rp = `${tp}.roleAssignments[${ri}]`;
      if (!principalAt(tid, r.principalId)) problem(`${rp}.principalId`, `${notDeclared(`principal ${lc(r.principalId)} in this tenant`)}; assign roles to users, service principals or groups of the same tenant (use "delegations" for another tenant's principals).`);
      checkRole(`${rp}.role`, r.role, tid);
      checkScope(`${rp}.scope`, r.scope, tid, ["root", "managementGroup", "subscription", "resourceGroup", "resource"]);
      const roleId = roleIn(tid, r.role)?.id ?? lc(r.role);
      const what = key(lc(r.principalId), roleId, scopeKeyOf(r.scope));
      if (r.id) {
        // One id may come back with several intervals (an export of its history), never with other content.
        const prev = assignmentIds.get(lc(r.id));
        if (prev && prev.what !== what) problem(`${rp}.id`, `role assignment id ${lc(r.id)} is already used at ${prev.path} for another principal, role or scope; give this assignment its own id or none.`);
        if (!prev) assignmentIds.set(lc(r.id), { path: rp, what });
      }
      assignments.push({ key: what, path: rp, iv: interval(rp, r) });
    });
    noOverlap(assignments, "one assignment of a role to a principal at a scope");

    const delegations: { key: string; path: string; iv: Interval }[] = [];
    const delegationIds = new Map<string, { path: string; what: string }>();
    const definitionIds = new Map<string, { path: string; signature: string }>();
    (t.delegations ?? []).forEach((d, di) => {
      const dp = `${tp}.delegations[${di}]`;
      checkScope(`${dp}.scope`, d.scope, tid, ["subscription", "resourceGroup"]);
      const managing = lc(d.managedByTenantId);
      if (managing === tid) problem(`${dp}.managedByTenantId`, "is this tenant; Lighthouse delegates to another (managing) tenant.");
      else requireTenant(`${dp}.managedByTenantId`, managing, "the managing tenant of a delegation");
      if (d.id) {
        // One id may come back with several intervals (an export of its history), never with other content.
        const what = key(scopeKeyOf(d.scope), managing, lc(d.definitionId ?? ""));
        const prev = delegationIds.get(lc(d.id));
        if (prev && prev.what !== what) problem(`${dp}.id`, `registration assignment id ${lc(d.id)} is already used at ${prev.path} for another scope, managing tenant or definition; give this delegation its own id or none.`);
        if (!prev) delegationIds.set(lc(d.id), { path: dp, what });
      }
      if (d.definitionId) {
        // Several delegations may share one registration definition (one offer, several scopes) if they agree on it.
        const signature = definitionSignature(managing, d.authorizations);
        const prev = definitionIds.get(lc(d.definitionId));
        if (prev && prev.signature !== signature) problem(`${dp}.definitionId`, `registration definition ${lc(d.definitionId)} is also used at ${prev.path} with another managing tenant or other authorizations; use one definition per offer.`);
        if (!prev) definitionIds.set(lc(d.definitionId), { path: dp, signature });
      }
      const delegation = interval(dp, d);
      d.authorizations.forEach((a, ai) => {
        const ap = `${dp}.authorizations[${ai}]`;
        const authorized = managing !== tid && tenantExists(managing) ? principalAt(managing, a.principalId) : undefined;
        if (managing !== tid && tenantExists(managing) && !authorized) {
          problem(`${ap}.principalId`, `${notDeclared(`principal ${lc(a.principalId)} in the managing tenant ${managing}`)}; authorizations name users, service principals or groups of the managing tenant.`);
        }
        checkBuiltInRole(`${ap}.role`, a.role);
        // Published Lighthouse restriction: Owner cannot be delegated.
        if (resolveRole(a.role)?.name === "Owner") problem(`${ap}.role`, "Azure Lighthouse does not allow the Owner role in authorizations; use Contributor or a narrower role.");
        if ((a.kind ?? "permanent") !== "eligible" && (a.activations?.length ?? 0) > 0) {
          problem(`${ap}.activations`, `only eligible authorizations are activated; set "kind": "eligible" or remove "activations".`);
        }
        const spans: { key: string; path: string; iv: Interval }[] = [];
        (a.activations ?? []).forEach((act, xi) => {
          const xp = `${ap}.activations[${xi}]`;
          const iv = interval(xp, act);
          const who = lc(act.principalId ?? a.principalId);
          if (act.principalId === undefined && authorized?.kind === "Group") {
            problem(`${xp}.principalId`, `is required: the authorization names a group, and a member activates it; give the activating user's object id.`);
          } else if (act.principalId !== undefined && tenantExists(managing)) {
            const p = principalAt(managing, act.principalId);
            if (!p) problem(`${xp}.principalId`, `${notDeclared(`principal ${who} in the managing tenant ${managing}`)}; the activating principal is a user or service principal of the managing tenant.`);
            else if (p.kind === "Group") problem(`${xp}.principalId`, `${who} is a group; a user or service principal activates an eligible authorization.`);
          }
          if (iv.from !== null && iv.to !== null && !(within(iv.from, delegation) && within(iv.to - 1, delegation))) {
            problem(xp, `lies outside the delegation's interval; an authorization is activated only while the scope is delegated.`);
          }
          spans.push({ key: who, path: xp, iv });
        });
        noOverlap(spans, "an authorization is activated once by a principal");
      });
      delegations.push({ key: key(scopeKeyOf(d.scope), managing), path: dp, iv: delegation });
    });
    noOverlap(delegations, "one delegation of a scope to a managing tenant");
  });

  // Warning: a guest signs in with its home account's password; without one it cannot sign in.
  for (const [k, guestPath] of homesOfGuests) {
    const [ht, ho] = k.split("\u0000") as [string, string];
    const home = principalAt(ht, ho);
    if (home && !home.hasPassword) {
      const homePath = principals.get(k)?.path ?? `user ${ho} in tenant ${ht}`;
      warnings.push({ path: `${homePath}.password`, message: `is missing: this account is the home of the guest at ${guestPath}, which signs in with it; add a password so the guest can sign in.` });
    }
  }

  // --- links ------------------------------------------------------------------------------------

  const links: { key: string; path: string; iv: Interval }[] = [];
  (world.links ?? []).forEach((l, li) => {
    const lp = `$.links[${li}]`;
    const tid = lc(l.tenantId);
    if (!tenantExists(tid)) problem(`${lp}.tenantId`, `${notDeclared(`tenant ${tid}`)}; declare it under "tenants".`);
    else {
      const p = principalAt(tid, l.objectId);
      if (!p) problem(`${lp}.objectId`, `${notDeclared(`principal ${lc(l.objectId)} in tenant ${tid}`)}; a link is made by a user or service principal of that tenant.`);
      else if (p.kind === "Group") problem(`${lp}.objectId`, `${lc(l.objectId)} is a group; links are made by users or service principals (a group's members are linked one by one).`);
    }
    partnerLocation(`${lp}.partnerId`, l.partnerId);
    links.push({ key: key(tid, lc(l.objectId)), path: lp, iv: interval(lp, l) });
  });
  noOverlap(links, "one link per (tenant, object)");

  // --- partners of record -----------------------------------------------------------------------

  const dpor: { key: string; path: string; iv: Interval }[] = [];
  (world.partnersOfRecord ?? []).forEach((r, ri) => {
    const rp = `$.partnersOfRecord[${ri}]`;
    const sub = subscriptionAt(r.subscriptionId);
    if (!sub) problem(`${rp}.subscriptionId`, `${notDeclared(`subscription ${lc(r.subscriptionId)}`)}; declare it under a tenant's "subscriptions".`);
    else if (sub.offer !== "EA" && !sub.offers?.has("EA")) problem(`${rp}.subscriptionId`, `subscription ${lc(r.subscriptionId)} is a ${sub.offer} subscription; a partner of record is set only on EA (Enterprise Agreement) subscriptions.`);
    partnerLocation(`${rp}.partnerId`, r.partnerId);
    dpor.push({ key: lc(r.subscriptionId), path: rp, iv: interval(rp, r) });
  });
  noOverlap(dpor, "one partner of record per subscription");

  // --- Power Platform sections (world/power-platform/validate.ts) --------------------------------
  (world.tenants ?? []).forEach((t, ti) => {
    if (!t.powerPlatform) return;
    const partnerTenants = (t.delegatedAdmins ?? []).map((d) => d.partnerTenantId);
    const person = (tid: string, oid: string) => {
      const p = principalAt(tid, oid);
      return p !== undefined && p.kind !== "Group";
    };
    const isPrincipal = (oid: string) => person(t.id, oid) || partnerTenants.some((pt) => person(pt, oid));
    problems.push(...validatePowerPlatform(t.powerPlatform, `$.tenants[${ti}].powerPlatform`, isPrincipal, (id) => known.ppEnvironment?.(lc(t.id), id) ?? false));
  });

  return { problems, warnings };
}
