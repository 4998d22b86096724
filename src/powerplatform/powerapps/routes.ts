/**
 * Power Apps admin API, as `Get-AdminPowerApp`, `Set-AdminPowerAppOwner` and
 * `Get/Set-AdminPowerAppRoleAssignment` call it (Microsoft.PowerApps.Administration.PowerShell):
 *   GET  /providers/Microsoft.PowerApps/scopes/admin/environments/{env}/apps            ($top, $skiptoken, $expand=permissions)
 *   GET  …/apps/{app}
 *   POST …/apps/{app}/modifyAppOwner        {"newAppOwner": "<objectId>", "roleForOldAppOwner": "CanView" | "CanEdit"}
 *   GET  …/apps/{app}/permissions
 *   POST …/apps/{app}/modifyPermissions     {"put": [{"properties": {"roleName": "CanEdit", "principal": {"id", "type"}}}]} | {"delete": [{"id"}]}
 * Canvas apps only (model-driven apps are Dataverse `appmodules`). A co-owner is a CanEdit
 * permission; there is exactly one Owner. CanView shares are accepted and not kept (they never
 * count; docs/SPEC-DEVIATIONS.md).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AppContext } from "../../context/index.ts";
import type { PpResource, StoredRelationship } from "../../store/index.ts";
import { isGuid } from "../../domain/ids.ts";
import { changeOwner, requirePrincipal, setCoOwner } from "../ownership.ts";
import { actorOf, callerOf, fromOwnership, iso, principalDirectory, query, requireAdmin, requireApiVersion, ServiceError, type PrincipalJson } from "../http.ts";
import { environmentName, resolveEnvironment } from "../bap/routes.ts";

const BASE = "/providers/Microsoft.PowerApps/scopes/admin/environments";
const DEFAULT_PAGE = 250;
const MAX_PAGE = 1000;
const codes = { notFound: "AppNotFound", badRequest: "InvalidRequestContent", forbidden: "Forbidden" };

type Directory = (id: string | null) => Promise<PrincipalJson | null>;
const open = (rels: readonly StoredRelationship[]) => rels.filter((r) => r.to === null);

export function pageSize(req: FastifyRequest): number {
  const top = query(req, "$top");
  if (top === undefined) return DEFAULT_PAGE;
  const n = Number(top);
  if (!Number.isInteger(n) || n < 1) throw new ServiceError(400, "InvalidRequestContent", `$top must be a positive integer (got '${top}').`);
  return Math.min(n, MAX_PAGE);
}

/** `nextLink` for the page after `lastId`, keeping the query parameters the client sent. */
export function nextLink(ctx: AppContext, req: FastifyRequest, lastId: string): string {
  const url = new URL(req.url, ctx.baseUrl());
  url.searchParams.set("$skiptoken", lastId);
  return `${ctx.baseUrl()}${url.pathname}${url.search}`;
}

async function permissionsJson(app: PpResource, rels: readonly StoredRelationship[], who: Directory): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const r of open(rels)) {
    if (r.relation !== "owner" && r.relation !== "coOwner") continue;
    const p = (await who(r.principalId)) ?? { id: r.principalId, displayName: r.principalId, email: "", type: "User" as const, tenantId: app.tenantId };
    out.push({
      name: r.principalId,
      id: `/providers/Microsoft.PowerApps/apps/${app.id}/permissions/${r.principalId}`,
      type: "Microsoft.PowerApps/apps/permissions",
      properties: {
        roleName: r.relation === "owner" ? "Owner" : "CanEdit", principal: p, scope: `/providers/Microsoft.PowerApps/apps/${app.id}`,
        notifyShareTargetOption: "Notify", inviteGuestToTenant: false, createdOn: r.from === null ? null : iso(r.from), createdBy: r.setBy,
      },
    });
  }
  return out;
}

async function appJson(app: PpResource, envName: string, rels: readonly StoredRelationship[], who: Directory, expandPermissions: boolean): Promise<Record<string, unknown>> {
  const owner = open(rels).find((r) => r.relation === "owner")?.principalId ?? app.createdBy;
  const coOwners = open(rels).filter((r) => r.relation === "coOwner").length;
  return {
    name: app.id,
    id: `${BASE}/${envName}/apps/${app.id}`,
    type: "Microsoft.PowerApps/scopes/admin/apps",
    tags: { primaryDeviceWidth: "1366", primaryDeviceHeight: "768", sienaVersion: "", deviceCapabilities: "", supportsPortrait: "false", primaryFormFactor: "Tablet" },
    appType: "ClassicCanvasApp",
    properties: {
      appVersion: iso(app.modifiedAt),
      displayName: app.displayName,
      description: "",
      owner: await who(owner),
      createdBy: await who(app.createdBy),
      lastModifiedBy: await who(owner),
      createdTime: iso(app.createdAt),
      lastModifiedTime: iso(app.modifiedAt),
      sharedGroupsCount: 0,
      sharedUsersCount: coOwners,
      appOpenProtocolUri: `ms-apps:///providers/Microsoft.PowerApps/apps/${app.id}`,
      appOpenUri: `https://apps.powerapps.com/play/e/${envName}/a/${app.id}?tenantId=${app.tenantId}`,
      environment: { id: `/providers/Microsoft.PowerApps/environments/${envName}`, name: envName },
      isFeaturedApp: false,
      bypassConsent: false,
      ...(expandPermissions ? { permissions: await permissionsJson(app, rels, who) } : {}),
    },
  };
}

export function registerPowerAppsRoutes(s: FastifyInstance, ctx: AppContext): void {
  const store = ctx.store;
  const context = async (req: FastifyRequest) => {
    requireApiVersion(req);
    const caller = callerOf(req);
    requireAdmin(caller, "powerPlatform", "Forbidden");
    const params = req.params as { env: string; app?: string };
    const env = await resolveEnvironment(store, caller.tenantId, params.env);
    return { caller, env, envName: environmentName(env), who: principalDirectory(ctx, caller.tenantId) };
  };
  const findApp = async (tenantId: string, envId: string, appId: string | undefined) => {
    const app = appId ? await store.powerPlatform.getResource(tenantId, appId) : undefined;
    if (!app || app.kind !== "canvasApp" || app.environmentId !== envId || app.deletedAt !== null) {
      throw new ServiceError(404, "AppNotFound", `The app '${appId ?? ""}' could not be found in environment '${envId}'.`);
    }
    return app;
  };

  s.get(`${BASE}/:env/apps`, async (req) => {
    const { caller, env, envName, who } = await context(req);
    const limit = pageSize(req);
    const apps = await store.powerPlatform.listResources(caller.tenantId, { environmentId: env.id, kinds: ["canvasApp"], afterId: query(req, "$skiptoken"), limit: limit + 1 });
    const page = apps.slice(0, limit);
    const rels = await store.powerPlatform.relationshipsOf(caller.tenantId, page.map((a) => a.id));
    const expand = /permissions/i.test(query(req, "$expand") ?? "");
    const value = [];
    for (const a of page) value.push(await appJson(a, envName, rels.get(a.id) ?? [], who, expand));
    const last = page[page.length - 1];
    return { value, ...(apps.length > limit && last ? { nextLink: nextLink(ctx, req, last.id) } : {}) };
  });

  s.get(`${BASE}/:env/apps/:app`, async (req) => {
    const { caller, env, envName, who } = await context(req);
    const app = await findApp(caller.tenantId, env.id, (req.params as { app: string }).app);
    return appJson(app, envName, await store.powerPlatform.relationships(caller.tenantId, app.id), who, /permissions/i.test(query(req, "$expand") ?? ""));
  });

  s.get(`${BASE}/:env/apps/:app/permissions`, async (req) => {
    const { caller, env, who } = await context(req);
    const app = await findApp(caller.tenantId, env.id, (req.params as { app: string }).app);
    return { value: await permissionsJson(app, await store.powerPlatform.relationships(caller.tenantId, app.id), who) };
  });

  s.post(`${BASE}/:env/apps/:app/modifyAppOwner`, async (req, reply) => {
    const { caller, env } = await context(req);
    const app = await findApp(caller.tenantId, env.id, (req.params as { app: string }).app);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const newOwner = body.newAppOwner;
    if (typeof newOwner !== "string" || !isGuid(newOwner)) throw new ServiceError(400, "InvalidRequestContent", "The body must carry newAppOwner: the object id (GUID) of the new owner, e.g. {\"newAppOwner\": \"…\", \"roleForOldAppOwner\": \"CanEdit\"}.");
    const keep = body.roleForOldAppOwner;
    if (keep !== undefined && keep !== null && keep !== "CanView" && keep !== "CanEdit") throw new ServiceError(400, "InvalidRequestContent", "roleForOldAppOwner must be CanView or CanEdit (or absent: the old owner loses access).");
    try {
      await changeOwner(store, caller.tenantId, app.id, newOwner, ctx.clock.now(), actorOf(caller, req), (keep as "CanView" | "CanEdit" | undefined) ?? undefined);
    } catch (error) {
      throw fromOwnership(error, codes);
    }
    return reply.code(200).send({});
  });

  s.post(`${BASE}/:env/apps/:app/modifyPermissions`, async (req, reply) => {
    const { caller, env } = await context(req);
    const app = await findApp(caller.tenantId, env.id, (req.params as { app: string }).app);
    const changes = parsePermissionChanges(req.body);
    const at = ctx.clock.now();
    try {
      // Every principal is checked before anything is written, so a bad item changes nothing.
      for (const c of changes) if (c.present) await requirePrincipal(store, caller.tenantId, c.principalId, at);
      for (const c of changes) if (c.roleName !== "CanView") await setCoOwner(store, caller.tenantId, app.id, c.principalId, c.present, at, actorOf(caller, req));
    } catch (error) {
      throw fromOwnership(error, codes);
    }
    return reply.code(200).send({});
  });
}

export interface PermissionChange {
  readonly principalId: string;
  readonly present: boolean;
  readonly roleName: "CanEdit" | "CanView" | null;
}

/**
 * Reads a modifyPermissions body (Power Apps and Flow): `put` items name a principal and a role;
 * `delete` items name a permission id (`…/permissions/<principalId>`, the principal id, or
 * `<tenantId>/<principalId>`). Anything else is a 400 that shows the expected body. Refusing the
 * whole body before writing keeps a bad request from changing anything.
 */
export function parsePermissionChanges(body: unknown): PermissionChange[] {
  const example = "{\"put\": [{\"properties\": {\"roleName\": \"CanEdit\", \"principal\": {\"id\": \"<objectId>\", \"type\": \"User\"}}}]} or {\"delete\": [{\"id\": \"<permission id>\"}]}";
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new ServiceError(400, "InvalidRequestContent", `The body must be ${example}.`);
  const b = body as { put?: unknown; delete?: unknown };
  if (b.put === undefined && b.delete === undefined) throw new ServiceError(400, "InvalidRequestContent", `The body has neither put nor delete; send ${example}.`);
  const out: PermissionChange[] = [];
  if (b.put !== undefined) {
    if (!Array.isArray(b.put)) throw new ServiceError(400, "InvalidRequestContent", `put must be an array; send ${example}.`);
    for (const [i, item] of b.put.entries()) {
      const props = (item as { properties?: { roleName?: unknown; principal?: { id?: unknown } } } | null)?.properties;
      const id = props?.principal?.id;
      const role = props?.roleName;
      if (typeof id !== "string" || !isGuid(id)) throw new ServiceError(400, "InvalidRequestContent", `put[${i}].properties.principal.id must be the object id (GUID) of a user or service principal.`);
      if (role !== "CanEdit" && role !== "CanView") throw new ServiceError(400, "InvalidRequestContent", `put[${i}].properties.roleName must be CanEdit or CanView (the owner changes with modifyAppOwner).`);
      out.push({ principalId: id.toLowerCase(), present: true, roleName: role });
    }
  }
  if (b.delete !== undefined) {
    if (!Array.isArray(b.delete)) throw new ServiceError(400, "InvalidRequestContent", `delete must be an array; send ${example}.`);
    for (const [i, item] of b.delete.entries()) {
      const raw = (item as { id?: unknown } | null)?.id;
      const id = typeof raw === "string" ? raw.split("/").pop() ?? "" : "";
      if (!isGuid(id)) throw new ServiceError(400, "InvalidRequestContent", `delete[${i}].id must be a permission id as the permissions list returns it.`);
      out.push({ principalId: id.toLowerCase(), present: false, roleName: null });
    }
  }
  return out;
}
