/**
 * What every Power Platform service (BAP, Power Apps, Flow, Power BI, Dataverse) shares on the
 * wire: the bearer caller for the service's audience, directory-role checks, the principal shape
 * the services print, and one error type each service renders in its own shape.
 *
 * Pipeline per service plugin: bearer token (the service's audience) → caller, who must be an
 * enabled object of the token's tenant, or a delegated administrator of a partner tenant with a
 * delegatedAdmins entry in it (decision 7) → permission check → handler → the service's JSON or
 * the service's error body.
 */
import type { FastifyRequest } from "fastify";
import type { AppContext } from "../context/index.ts";
import type { Identity, Caller } from "../identity/index.ts";
import { TokenVerificationError } from "../identity/index.ts";
import { isAdministrator, administratorRoleNames, type AdminSurface } from "../domain/power-platform/index.ts";
import type { Actor } from "./ownership.ts";
import { OwnershipError } from "./ownership.ts";

/** An error a service renders in its own shape; `code` is the service's own code. */
export class ServiceError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The caller of a Power Platform request, resolved. */
export interface PpCaller {
  readonly tenantId: string;
  readonly objectId: string;
  readonly principalType: "User" | "ServicePrincipal";
  /** A delegated administrator from a partner tenant (no object in this tenant). */
  readonly foreign: boolean;
  readonly roles: readonly string[];
}

export interface ErrorCodes {
  readonly unauthorized: string;
  readonly forbidden: string;
}

const callers = new WeakMap<FastifyRequest, PpCaller>();

export function callerOf(req: FastifyRequest): PpCaller {
  const c = callers.get(req);
  if (!c) throw new ServiceError(401, "Unauthorized", "No bearer token was sent; send Authorization: Bearer <token>.");
  return c;
}

/**
 * Authenticates the request for one of `audiences` and remembers the caller. Foreign (delegated
 * admin) callers act in the token's tenant only when it holds a delegatedAdmins entry for their
 * home tenant now.
 */
export async function authenticate(ctx: AppContext, identity: Identity, req: FastifyRequest, audiences: readonly string[], codes: ErrorCodes): Promise<PpCaller> {
  const header = req.headers.authorization;
  const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1]) throw new ServiceError(401, codes.unauthorized, "The request has no bearer token; send Authorization: Bearer <token> for this service's audience.");
  let caller: Caller;
  try {
    caller = await identity.verifier.authenticate(match[1], audiences);
  } catch (error) {
    if (error instanceof TokenVerificationError) throw new ServiceError(401, codes.unauthorized, `${error.message} Request a token for ${audiences[0] ?? "this service"}.`);
    throw error;
  }
  const now = ctx.clock.now();
  const store = ctx.store;
  if (caller.foreign) {
    const home = caller.homeTenantId;
    if (!home || !(await store.directory.hasDelegatedAdmin(caller.tenantId, home, now))) {
      throw new ServiceError(403, codes.forbidden, "The delegated administrator's tenant has no delegated admin relationship with this tenant.");
    }
  } else {
    const p = await store.directory.findPrincipal(caller.tenantId, caller.objectId);
    const deleted = p?.type === "User" ? p.user.deletedAt : p?.type === "ServicePrincipal" ? p.servicePrincipal.deletedAt : 0;
    if (!p || p.type === "Group" || deleted !== null || (await store.directory.isDisabled(caller.tenantId, caller.objectId, now))) {
      throw new ServiceError(401, codes.unauthorized, "The signed-in principal no longer exists or is disabled in this tenant.");
    }
  }
  const roles = caller.foreign ? [] : await store.directoryRoles.rolesOf(caller.tenantId, caller.objectId, now);
  const resolved: PpCaller = { tenantId: caller.tenantId.toLowerCase(), objectId: caller.objectId.toLowerCase(), principalType: caller.principalType, foreign: caller.foreign, roles };
  callers.set(req, resolved);
  return resolved;
}

/** Refuses a caller who is not an administrator of `surface`, naming the roles that would do. */
export function requireAdmin(caller: PpCaller, surface: AdminSurface, code: string): void {
  if (!isAdministrator(surface, caller.roles)) {
    throw new ServiceError(403, code, `The caller does not have permission for this admin operation; it needs the ${administratorRoleNames(surface)} role in tenant ${caller.tenantId}.`);
  }
}

export function actorOf(caller: PpCaller, req: FastifyRequest): Actor {
  return { tenantId: caller.tenantId, objectId: caller.objectId, requestId: req.id };
}

/** Maps the ownership writes' refusals to a service's status codes. */
export function fromOwnership(error: unknown, codes: { notFound: string; badRequest: string; forbidden: string }): unknown {
  if (!(error instanceof OwnershipError)) return error;
  switch (error.code) {
    case "ResourceNotFound":
    case "EnvironmentNotFound":
      return new ServiceError(404, codes.notFound, error.message);
    case "Forbidden":
      return new ServiceError(403, codes.forbidden, error.message);
    default:
      return new ServiceError(400, codes.badRequest, error.message);
  }
}

/** The principal object the Power Apps / BAP services print (owner, createdBy, permissions). */
export interface PrincipalJson {
  readonly id: string;
  readonly displayName: string;
  readonly email: string;
  readonly type: "User" | "ServicePrincipal";
  readonly tenantId: string;
  readonly userPrincipalName?: string;
}

/** Looks principals up once per request (users and service principals, of the tenant or a partner tenant). */
export function principalDirectory(ctx: AppContext, tenantId: string): (objectId: string | null) => Promise<PrincipalJson | null> {
  const cache = new Map<string, PrincipalJson | null>();
  return async (objectId) => {
    if (!objectId) return null;
    const id = objectId.toLowerCase();
    if (cache.has(id)) return cache.get(id) ?? null;
    let tid = tenantId;
    let p = await ctx.store.directory.findPrincipal(tenantId, id);
    if (!p) {
      for (const d of await ctx.store.directory.listDelegatedAdmins(tenantId)) {
        p = await ctx.store.directory.findPrincipal(d.partnerTenantId, id);
        if (p) {
          tid = d.partnerTenantId;
          break;
        }
      }
    }
    let out: PrincipalJson | null = null;
    if (p?.type === "User") out = { id, displayName: p.user.displayName, email: p.user.userPrincipalName, type: "User", tenantId: tid, userPrincipalName: p.user.userPrincipalName };
    else if (p?.type === "ServicePrincipal") out = { id, displayName: p.servicePrincipal.displayName, email: "", type: "ServicePrincipal", tenantId: tid };
    cache.set(id, out);
    return out;
  };
}

/** Reads a string query parameter (first value). */
export function query(req: FastifyRequest, name: string): string | undefined {
  const q = req.query as Record<string, string | string[] | undefined>;
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The api-versions the public Power Platform clients send (docs/POWER-PLATFORM.md). */
export const PP_API_VERSIONS = ["2016-11-01", "2017-08-01", "2018-01-01", "2020-06-01", "2020-10-01", "2021-04-01", "2022-05-01", "2022-11-01", "2023-06-01"];

export function requireApiVersion(req: FastifyRequest): void {
  const v = query(req, "api-version");
  if (!v) throw new ServiceError(400, "MissingApiVersionParameter", `The api-version query parameter (?api-version=) is required for all requests. Use one of ${PP_API_VERSIONS.join(", ")}.`);
  if (!PP_API_VERSIONS.includes(v.replace(/-preview$/, ""))) {
    throw new ServiceError(400, "InvalidApiVersionParameter", `The api-version '${v}' is invalid. The supported versions are '${PP_API_VERSIONS.join(",")}'.`);
  }
}

export const iso = (ms: number) => new Date(ms).toISOString();
