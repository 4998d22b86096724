/**
 * A Microsoft Graph v1.0 subset for directory writes: users, invitations (guests), applications
 * with password credentials, service principals, groups and their members, and directory role
 * assignments. Writes are for the tenant's administrators (directory roles, see roles.ts); every
 * write is recorded with its time (disabling or deleting a principal ends its access and its
 * attribution from that instant) and appended to the audit log in the same transaction.
 *
 * Pipeline for every route under /v1.0: bearer token (audience Microsoft Graph) → caller, who must
 * be an enabled, non-deleted object of the token's tenant → role check for writes → handler →
 * Graph-shaped JSON or Graph-shaped error.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../context/index.ts";
import type { Identity, Caller } from "../identity/index.ts";
import { TokenVerificationError, hashClientSecret, hashPasswordAsync, newClientSecret } from "../identity/index.ts";
import type { Aggregates, Principal } from "../store/index.ts";
import { isGuid } from "../domain/ids.ts";
import { contains } from "../domain/interval.ts";
import { GraphError, graphErrors } from "./errors.ts";
import { mayWrite, rolesAllowing, resolveDirectoryRole, type DirectoryWrite } from "./roles.ts";
import { applicationJson, groupJson, servicePrincipalJson, userJson } from "./representation.ts";

export { DirectoryRole, resolveDirectoryRole, directoryRoleNames } from "./roles.ts";

/** Audiences Graph accepts: its resource URI and its well-known application id. */
export const GRAPH_AUDIENCES = ["https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"];

interface GraphDeps {
  readonly context: AppContext;
  readonly identity: Identity;
}

type Body = Record<string, unknown> | undefined;

const callers = new WeakMap<FastifyRequest, Caller>();

function callerOf(req: FastifyRequest): Caller {
  const caller = callers.get(req);
  if (!caller) throw graphErrors.noToken();
  return caller;
}

function objectBody(req: FastifyRequest): Record<string, unknown> {
  const body = req.body as Body;
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw graphErrors.badRequest("The request body must be a JSON object.");
  }
  return body;
}

function requiredString(body: Record<string, unknown>, key: string, resource: string): string {
  const v = body[key];
  if (typeof v !== "string" || v.trim() === "") {
    throw graphErrors.badRequest(`Property '${key}' is required on resource '${resource}' and must be a non-empty string.`);
  }
  return v.trim();
}

function optionalBoolean(body: Record<string, unknown>, key: string, resource: string): boolean | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw graphErrors.badRequest(`Invalid value specified for property '${key}' of resource '${resource}': use true or false.`);
  return v;
}

export async function registerGraph(app: FastifyInstance, deps: GraphDeps): Promise<void> {
  const { context: ctx, identity } = deps;
  const now = () => ctx.clock.now();
  const base = () => ctx.baseUrl();
  const odata = (path: string) => `${base()}/v1.0/$metadata#${path}`;

  await app.register(async (graph) => {
    graph.setErrorHandler((error: Error & { statusCode?: number }, req, reply) => {
      let e: GraphError;
      if (error instanceof GraphError) e = error;
      else if (error.statusCode && error.statusCode < 500) e = graphErrors.badRequest(error.message);
      else {
        req.log.error({ err: error }, "graph handler failed");
        e = new GraphError(500, "generalException", `An unexpected error occurred; the request id is ${req.id}.`);
      }
      return sendError(req, reply, e);
    });
    graph.setNotFoundHandler((req, reply) => sendError(req, reply, graphErrors.badRequest(`Resource not found for the segment '${req.url.split("?")[0]}'. OpenPAL implements the Graph subset listed in docs/API.md.`), 400));

    // auth: every Graph route needs a Graph token of an enabled object of the token's tenant.
    graph.addHook("preHandler", async (req) => {
      const header = req.headers.authorization;
      const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!match?.[1]) throw graphErrors.noToken();
      let caller: Caller;
      try {
        // The Azure CLI asks for Graph tokens with its cloud's Graph endpoint as the resource,
        // which for a cloud pointed at this server is the server's own URL (docs/CLIENTS.md).
        const base = deps.context.baseUrl();
        caller = await identity.verifier.authenticate(match[1], [...GRAPH_AUDIENCES, base, `${base}/`]);
      } catch (error) {
        if (error instanceof TokenVerificationError) throw graphErrors.badToken(error.message);
        throw error;
      }
      if (caller.foreign) throw graphErrors.foreign();
      const principal = await ctx.store.directory.findPrincipal(caller.tenantId, caller.objectId);
      if (!principal || deletedAt(principal) !== null || (await ctx.store.directory.isDisabled(caller.tenantId, caller.objectId, now()))) {
        throw graphErrors.badToken("The signed-in principal no longer exists or is disabled in this tenant.");
      }
      callers.set(req, caller);
    });

    /** Checks the caller's directory roles and runs `work` in one transaction with an audit entry. */
    const write = async <T>(req: FastifyRequest, kind: DirectoryWrite, action: string, target: string, work: (tx: Aggregates, at: number) => Promise<T>): Promise<T> => {
      const caller = callerOf(req);
      const roles = await ctx.store.directoryRoles.rolesOf(caller.tenantId, caller.objectId, now());
      if (!mayWrite(kind, roles)) throw graphErrors.denied(rolesAllowing(kind));
      const at = now();
      return ctx.store.transaction(async (tx) => {
        const result = await work(tx, at);
        await tx.audit.append({ at, tenantId: caller.tenantId, actorTenantId: caller.tenantId, actorObjectId: caller.objectId, action, target, requestId: req.id });
        return result;
      });
    };

    const findUser = async (tenantId: string, idOrUpn: string) => {
      const u = isGuid(idOrUpn) ? await ctx.store.directory.getUser(tenantId, idOrUpn.toLowerCase()) : await ctx.store.directory.findUserByUpn(tenantId, idOrUpn);
      if (!u || u.deletedAt !== null) throw graphErrors.notFound(idOrUpn);
      return u;
    };
    const enabled = async (tenantId: string, id: string) => !(await ctx.store.directory.isDisabled(tenantId, id, now()));

    // --- me ------------------------------------------------------------------------------
    graph.get("/me", async (req) => {
      const caller = callerOf(req);
      if (caller.principalType !== "User") throw graphErrors.badRequest("/me is only valid with delegated (user) authentication; an application has no /me.");
      const u = await findUser(caller.tenantId, caller.objectId);
      return { "@odata.context": odata("users/$entity"), ...userJson(u, await enabled(u.tenantId, u.id)) };
    });

    // --- users ---------------------------------------------------------------------------
    graph.get("/users", async (req) => {
      const caller = callerOf(req);
      const users = (await ctx.store.directory.listUsers(caller.tenantId)).filter((u) => u.deletedAt === null);
      const value = await Promise.all(users.map(async (u) => userJson(u, await enabled(u.tenantId, u.id))));
      return { "@odata.context": odata("users"), value };
    });

    graph.get<{ Params: { id: string } }>("/users/:id", async (req) => {
      const u = await findUser(callerOf(req).tenantId, req.params.id);
      return { "@odata.context": odata("users/$entity"), ...userJson(u, await enabled(u.tenantId, u.id)) };
    });

    graph.post("/users", async (req, reply) => {
      const caller = callerOf(req);
      const body = objectBody(req);
      const displayName = requiredString(body, "displayName", "User");
      requiredString(body, "mailNickname", "User");
      const upn = requiredString(body, "userPrincipalName", "User");
      const accountEnabled = optionalBoolean(body, "accountEnabled", "User");
      if (accountEnabled === undefined) throw graphErrors.badRequest("Property 'accountEnabled' is required on resource 'User'.");
      const profile = body.passwordProfile as Record<string, unknown> | undefined;
      if (!profile || typeof profile !== "object" || typeof profile.password !== "string" || profile.password.length < 8) {
        throw graphErrors.badRequest("Property 'passwordProfile.password' is required on resource 'User' and must have at least 8 characters.");
      }
      const tenant = await ctx.store.directory.getTenant(caller.tenantId);
      const domain = upn.split("@")[1]?.toLowerCase();
      if (!tenant || !/^[^@\s]+@[^@\s]+$/.test(upn) || domain !== tenant.domain.toLowerCase()) {
        throw graphErrors.badRequest(`Invalid value specified for property 'userPrincipalName' of resource 'User': use name@${tenant?.domain ?? "<tenant domain>"} (the tenant's domain).`);
      }
      if (await ctx.store.directory.findUserByUpn(caller.tenantId, upn)) throw graphErrors.conflict("userPrincipalName");
      const id = ctx.ids.newGuid();
      // Hashed before the transaction, off the event loop.
      const passwordHash = await hashPasswordAsync(profile.password as string);
      const user = await write(req, "users", "graph.user.create", `/users/${id}`, async (tx, at) => {
        const u = { tenantId: caller.tenantId, id, userPrincipalName: upn, displayName, kind: "member" as const, passwordHash, homeTenantId: null, homeObjectId: null, createdAt: at, deletedAt: null };
        await tx.directory.putUser(u);
        if (!accountEnabled) await tx.directory.disable(caller.tenantId, id, at);
        return u;
      });
      return reply.code(201).send({ "@odata.context": odata("users/$entity"), ...userJson(user, accountEnabled) });
    });

    graph.patch<{ Params: { id: string } }>("/users/:id", async (req, reply) => {
      const caller = callerOf(req);
      const body = objectBody(req);
      const u = await findUser(caller.tenantId, req.params.id);
      const accountEnabled = optionalBoolean(body, "accountEnabled", "User");
      const displayName = body.displayName === undefined ? undefined : requiredString(body, "displayName", "User");
      const profile = body.passwordProfile as Record<string, unknown> | undefined;
      if (profile !== undefined && (typeof profile !== "object" || typeof profile.password !== "string" || profile.password.length < 8)) {
        throw graphErrors.badRequest("Property 'passwordProfile.password' must have at least 8 characters.");
      }
      if (u.kind === "guest" && profile !== undefined) throw graphErrors.badRequest("A guest signs in with its home account; its password cannot be set in this tenant.");
      const passwordHash = profile ? await hashPasswordAsync(profile.password as string) : u.passwordHash;
      await write(req, "users", accountEnabled === false ? "graph.user.disable" : accountEnabled === true ? "graph.user.enable" : "graph.user.update", `/users/${u.id}`, async (tx, at) => {
        if (displayName !== undefined || profile !== undefined) {
          await tx.directory.putUser({ ...u, displayName: displayName ?? u.displayName, passwordHash });
        }
        if (accountEnabled === false) await tx.directory.disable(u.tenantId, u.id, at);
        if (accountEnabled === true) await tx.directory.enable(u.tenantId, u.id, at);
      });
      return reply.code(204).send();
    });

    graph.delete<{ Params: { id: string } }>("/users/:id", async (req, reply) => {
      const caller = callerOf(req);
      const u = await findUser(caller.tenantId, req.params.id);
      await write(req, "users", "graph.user.delete", `/users/${u.id}`, async (tx, at) => {
        await tx.directory.markUserDeleted(u.tenantId, u.id, at);
        await closeMemberships(tx, u.tenantId, u.id, at);
      });
      return reply.code(204).send();
    });

    // --- invitations (guests) ------------------------------------------------------------
    graph.post("/invitations", async (req, reply) => {
      const caller = callerOf(req);
      const body = objectBody(req);
      const email = requiredString(body, "invitedUserEmailAddress", "Invitation");
      const redirect = requiredString(body, "inviteRedirectUrl", "Invitation");
      const tenant = await ctx.store.directory.getTenant(caller.tenantId);
      if (!tenant) throw graphErrors.notFound(caller.tenantId);
      // A guest signs in with its home account, so the home account must exist somewhere.
      const home = await ctx.store.directory.findMemberByUpn(email);
      if (!home || home.deletedAt !== null) {
        throw graphErrors.badRequest(`No account '${email}' exists in any tenant of this server; create the user in its home tenant first, then invite it.`);
      }
      if (home.tenantId === caller.tenantId) throw graphErrors.badRequest(`'${email}' is already a member of this tenant; only users of other tenants can be invited as guests.`);
      const existing = await ctx.store.directory.findGuestOf(caller.tenantId, home.tenantId, home.id);
      const guest = existing && existing.deletedAt === null ? existing : await write(req, "invitations", "graph.invitation.create", `/users/(guest of ${home.id})`, async (tx, at) => {
        const g = {
          tenantId: caller.tenantId, id: ctx.ids.newGuid(),
          userPrincipalName: `${email.replace("@", "_")}#EXT#@${tenant.domain}`,
          displayName: typeof body.invitedUserDisplayName === "string" ? body.invitedUserDisplayName : home.displayName,
          kind: "guest" as const, passwordHash: null, homeTenantId: home.tenantId, homeObjectId: home.id, createdAt: at, deletedAt: null,
        };
        await tx.directory.putUser(g);
        return g;
      });
      return reply.code(201).send({
        "@odata.context": odata("invitations/$entity"),
        id: ctx.ids.newGuid(),
        inviteRedeemUrl: `${base()}/${caller.tenantId}/oauth2/v2.0/authorize?login_hint=${encodeURIComponent(email)}`,
        invitedUserDisplayName: guest.displayName,
        invitedUserType: "Guest",
        invitedUserEmailAddress: email,
        sendInvitationMessage: body.sendInvitationMessage === true,
        resetRedemption: false,
        inviteRedirectUrl: redirect,
        status: "PendingAcceptance",
        invitedUser: { id: guest.id },
      });
    });

    // --- applications --------------------------------------------------------------------
    const findApp = async (tenantId: string, id: string) => {
      const a = await ctx.store.directory.findApplicationByObjectId(id);
      // Application objects live in their home tenant only, as in Entra ID.
      if (!a || a.deletedAt !== null || a.homeTenantId !== tenantId) throw graphErrors.notFound(id);
      return a;
    };

    graph.get("/applications", async (req) => {
      const caller = callerOf(req);
      const apps = (await ctx.store.directory.listApplications()).filter((a) => a.homeTenantId === caller.tenantId && a.deletedAt === null && a.objectId);
      const value = await Promise.all(apps.map(async (a) => applicationJson(a, await ctx.store.directory.listSecrets(a.appId))));
      return { "@odata.context": odata("applications"), value };
    });

    graph.get<{ Params: { id: string } }>("/applications/:id", async (req) => {
      const a = await findApp(callerOf(req).tenantId, req.params.id);
      return { "@odata.context": odata("applications/$entity"), ...applicationJson(a, await ctx.store.directory.listSecrets(a.appId)) };
    });

    graph.post("/applications", async (req, reply) => {
      const caller = callerOf(req);
      const body = objectBody(req);
      const displayName = requiredString(body, "displayName", "Application");
      const appId = ctx.ids.newGuid();
      const objectId = ctx.ids.newGuid();
      const a = await write(req, "applications", "graph.application.create", `/applications/${objectId}`, async (tx, at) => {
        const app = { appId, objectId, displayName, homeTenantId: caller.tenantId, createdAt: at, deletedAt: null };
        await tx.directory.putApplication(app);
        return app;
      });
      return reply.code(201).send({ "@odata.context": odata("applications/$entity"), ...applicationJson(a, []) });
    });

    graph.patch<{ Params: { id: string } }>("/applications/:id", async (req, reply) => {
      const caller = callerOf(req);
      const body = objectBody(req);
      const a = await findApp(caller.tenantId, req.params.id);
      const displayName = requiredString(body, "displayName", "Application");
      await write(req, "applications", "graph.application.update", `/applications/${req.params.id}`, (tx) => tx.directory.putApplication({ ...a, displayName }));
      return reply.code(204).send();
    });

    graph.delete<{ Params: { id: string } }>("/applications/:id", async (req, reply) => {
      const a = await findApp(callerOf(req).tenantId, req.params.id);
      await write(req, "applications", "graph.application.delete", `/applications/${req.params.id}`, (tx, at) => tx.directory.markApplicationDeleted(a.appId, at));
      return reply.code(204).send();
    });

    graph.post<{ Params: { id: string } }>("/applications/:id/addPassword", async (req) => {
      const a = await findApp(callerOf(req).tenantId, req.params.id);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const credential = (body.passwordCredential ?? {}) as Record<string, unknown>;
      const displayName = typeof credential.displayName === "string" ? credential.displayName : null;
      let expiresAt: number | null = null;
      if (credential.endDateTime !== undefined) {
        expiresAt = typeof credential.endDateTime === "string" ? Date.parse(credential.endDateTime) : Number.NaN;
        if (Number.isNaN(expiresAt)) throw graphErrors.badRequest("Invalid value specified for property 'endDateTime' of resource 'PasswordCredential': use an ISO 8601 time.");
      }
      const secret = newClientSecret();
      const keyId = ctx.ids.newGuid();
      const at = await write(req, "applications", "graph.application.addPassword", `/applications/${req.params.id}/passwordCredentials/${keyId}`, async (tx, at) => {
        await tx.directory.addSecret({ appId: a.appId, keyId, secretHash: hashClientSecret(secret), hint: secret.slice(0, 3), displayName, createdAt: at, expiresAt });
        return at;
      });
      // The secret text is returned once, here, and never again (it is stored hashed).
      return {
        "@odata.context": odata("microsoft.graph.passwordCredential"),
        customKeyIdentifier: null,
        displayName,
        endDateTime: expiresAt === null ? null : new Date(expiresAt).toISOString(),
        hint: secret.slice(0, 3),
        keyId,
        secretText: secret,
        startDateTime: new Date(at).toISOString(),
      };
    });

    graph.post<{ Params: { id: string } }>("/applications/:id/removePassword", async (req, reply) => {
      const a = await findApp(callerOf(req).tenantId, req.params.id);
      const keyId = requiredString(objectBody(req), "keyId", "PasswordCredential");
      const removed = await write(req, "applications", "graph.application.removePassword", `/applications/${req.params.id}/passwordCredentials/${keyId}`, (tx) => tx.directory.removeSecret(a.appId, keyId));
      if (!removed) throw graphErrors.notFound(keyId);
      return reply.code(204).send();
    });

    // --- service principals --------------------------------------------------------------
    const findSp = async (tenantId: string, id: string) => {
      const sp = await ctx.store.directory.getServicePrincipal(tenantId, id.toLowerCase());
      if (!sp || sp.deletedAt !== null) throw graphErrors.notFound(id);
      return sp;
    };
    const spJson = async (sp: Awaited<ReturnType<typeof findSp>>) =>
      servicePrincipalJson(sp, await enabled(sp.tenantId, sp.id), (await ctx.store.directory.getApplication(sp.appId))?.homeTenantId);

    graph.get("/servicePrincipals", async (req) => {
      const caller = callerOf(req);
      const sps = (await ctx.store.directory.listServicePrincipals(caller.tenantId)).filter((s) => s.deletedAt === null);
      return { "@odata.context": odata("servicePrincipals"), value: await Promise.all(sps.map(spJson)) };
    });

    graph.get<{ Params: { id: string } }>("/servicePrincipals/:id", async (req) => {
      return { "@odata.context": odata("servicePrincipals/$entity"), ...(await spJson(await findSp(callerOf(req).tenantId, req.params.id))) };
    });

    graph.post("/servicePrincipals", async (req, reply) => {
      const caller = callerOf(req);
      const appId = requiredString(objectBody(req), "appId", "ServicePrincipal").toLowerCase();
      const app = await ctx.store.directory.getApplication(appId);
      if (!app || app.deletedAt !== null) throw graphErrors.badRequest(`No application with appId '${appId}' exists; register the application in its home tenant first (POST /v1.0/applications).`);
      const existing = await ctx.store.directory.findServicePrincipalByApp(caller.tenantId, appId);
      if (existing && existing.deletedAt === null) throw graphErrors.conflict("appId");
      const id = ctx.ids.newGuid();
      const sp = await write(req, "servicePrincipals", "graph.servicePrincipal.create", `/servicePrincipals/${id}`, async (tx, at) => {
        const s = { tenantId: caller.tenantId, id, appId, displayName: app.displayName, createdAt: at, deletedAt: null };
        await tx.directory.putServicePrincipal(s);
        return s;
      });
      return reply.code(201).send({ "@odata.context": odata("servicePrincipals/$entity"), ...(await spJson(sp)) });
    });

    graph.patch<{ Params: { id: string } }>("/servicePrincipals/:id", async (req, reply) => {
      const caller = callerOf(req);
      const body = objectBody(req);
      const sp = await findSp(caller.tenantId, req.params.id);
      const accountEnabled = optionalBoolean(body, "accountEnabled", "ServicePrincipal");
      if (accountEnabled === undefined) throw graphErrors.badRequest("OpenPAL can change only 'accountEnabled' of a service principal.");
      await write(req, "servicePrincipals", accountEnabled ? "graph.servicePrincipal.enable" : "graph.servicePrincipal.disable", `/servicePrincipals/${sp.id}`, async (tx, at) => {
        if (accountEnabled) await tx.directory.enable(sp.tenantId, sp.id, at);
        else await tx.directory.disable(sp.tenantId, sp.id, at);
      });
      return reply.code(204).send();
    });

    graph.delete<{ Params: { id: string } }>("/servicePrincipals/:id", async (req, reply) => {
      const sp = await findSp(callerOf(req).tenantId, req.params.id);
      await write(req, "servicePrincipals", "graph.servicePrincipal.delete", `/servicePrincipals/${sp.id}`, async (tx, at) => {
        await tx.directory.markServicePrincipalDeleted(sp.tenantId, sp.id, at);
        await closeMemberships(tx, sp.tenantId, sp.id, at);
      });
      return reply.code(204).send();
    });

    // --- groups --------------------------------------------------------------------------
    const findGroup = async (tenantId: string, id: string) => {
      const g = await ctx.store.directory.getGroup(tenantId, id.toLowerCase());
      if (!g || g.deletedAt !== null) throw graphErrors.notFound(id);
      return g;
    };

    graph.get("/groups", async (req) => {
      const groups = (await ctx.store.directory.listGroups(callerOf(req).tenantId)).filter((g) => g.deletedAt === null);
      return { "@odata.context": odata("groups"), value: groups.map(groupJson) };
    });

    graph.get<{ Params: { id: string } }>("/groups/:id", async (req) => {
      return { "@odata.context": odata("groups/$entity"), ...groupJson(await findGroup(callerOf(req).tenantId, req.params.id)) };
    });

    graph.post("/groups", async (req, reply) => {
      const caller = callerOf(req);
      const body = objectBody(req);
      const displayName = requiredString(body, "displayName", "Group");
      requiredString(body, "mailNickname", "Group");
      if (optionalBoolean(body, "securityEnabled", "Group") === false) {
        throw graphErrors.badRequest("OpenPAL models security groups only (they are what RBAC assigns roles to); set securityEnabled to true.");
      }
      const id = ctx.ids.newGuid();
      const g = await write(req, "groups", "graph.group.create", `/groups/${id}`, async (tx, at) => {
        const group = { tenantId: caller.tenantId, id, displayName, createdAt: at, deletedAt: null };
        await tx.directory.putGroup(group);
        return group;
      });
      return reply.code(201).send({ "@odata.context": odata("groups/$entity"), ...groupJson(g) });
    });

    graph.delete<{ Params: { id: string } }>("/groups/:id", async (req, reply) => {
      const g = await findGroup(callerOf(req).tenantId, req.params.id);
      await write(req, "groups", "graph.group.delete", `/groups/${g.id}`, async (tx, at) => {
        await tx.directory.markGroupDeleted(g.tenantId, g.id, at);
        // A deleted group grants nothing from then on: close its members' intervals and its own.
        for (const m of await currentMembers(tx, g.tenantId, g.id, at)) await tx.directory.removeMember(g.tenantId, g.id, m, at);
        await closeMemberships(tx, g.tenantId, g.id, at);
      });
      return reply.code(204).send();
    });

    graph.get<{ Params: { id: string } }>("/groups/:id/members", async (req) => {
      const caller = callerOf(req);
      const g = await findGroup(caller.tenantId, req.params.id);
      const value: Record<string, unknown>[] = [];
      for (const memberId of await currentMembers(ctx.store, g.tenantId, g.id, now())) {
        const p = await ctx.store.directory.findPrincipal(g.tenantId, memberId);
        if (!p || deletedAt(p) !== null) continue;
        if (p.type === "User") value.push({ "@odata.type": "#microsoft.graph.user", ...userJson(p.user, await enabled(g.tenantId, memberId)) });
        else if (p.type === "ServicePrincipal") value.push({ "@odata.type": "#microsoft.graph.servicePrincipal", ...(await spJson(p.servicePrincipal)) });
        else value.push({ "@odata.type": "#microsoft.graph.group", ...groupJson(p.group) });
      }
      return { "@odata.context": odata("directoryObjects"), value };
    });

    graph.post<{ Params: { id: string } }>("/groups/:id/members/$ref", async (req, reply) => {
      const caller = callerOf(req);
      const g = await findGroup(caller.tenantId, req.params.id);
      const ref = requiredString(objectBody(req), "@odata.id", "Reference");
      const memberId = /\/(?:directoryObjects|users|servicePrincipals|groups)\/([0-9a-fA-F-]{36})$/.exec(ref)?.[1]?.toLowerCase();
      if (!memberId) throw graphErrors.badRequest("Invalid '@odata.id': use https://graph.microsoft.com/v1.0/directoryObjects/{id}.");
      const member = await ctx.store.directory.findPrincipal(caller.tenantId, memberId);
      if (!member || deletedAt(member) !== null) throw graphErrors.notFound(memberId);
      if (member.type === "Group" && (memberId === g.id || (await reaches(ctx.store, caller.tenantId, memberId, g.id, now())))) {
        throw graphErrors.badRequest("Adding this group would make a membership cycle; a group cannot contain itself, directly or through nested groups.");
      }
      if ((await currentMembers(ctx.store, g.tenantId, g.id, now())).includes(memberId)) throw graphErrors.referenceExists();
      await write(req, "groups", "graph.group.addMember", `/groups/${g.id}/members/${memberId}`, (tx, at) => tx.directory.addMember(g.tenantId, g.id, memberId, at));
      return reply.code(204).send();
    });

    graph.delete<{ Params: { id: string; memberId: string } }>("/groups/:id/members/:memberId/$ref", async (req, reply) => {
      const caller = callerOf(req);
      const g = await findGroup(caller.tenantId, req.params.id);
      const memberId = req.params.memberId.toLowerCase();
      if (!(await currentMembers(ctx.store, g.tenantId, g.id, now())).includes(memberId)) throw graphErrors.notFound(memberId);
      await write(req, "groups", "graph.group.removeMember", `/groups/${g.id}/members/${memberId}`, (tx, at) => tx.directory.removeMember(g.tenantId, g.id, memberId, at));
      return reply.code(204).send();
    });

    // --- directory role assignments ------------------------------------------------------
    const assignmentJson = (roleTemplateId: string, principalId: string) => ({
      id: `${roleTemplateId}_${principalId}`, principalId, roleDefinitionId: roleTemplateId, directoryScopeId: "/",
    });

    graph.get("/roleManagement/directory/roleAssignments", async (req) => {
      const caller = callerOf(req);
      const t = now();
      const open = (await ctx.store.directoryRoles.list(caller.tenantId)).filter((m) => heldAt(m, t));
      return { "@odata.context": odata("roleManagement/directory/roleAssignments"), value: open.map((m) => assignmentJson(m.roleTemplateId, m.objectId)) };
    });

    graph.post("/roleManagement/directory/roleAssignments", async (req, reply) => {
      const caller = callerOf(req);
      const body = objectBody(req);
      const principalId = requiredString(body, "principalId", "UnifiedRoleAssignment").toLowerCase();
      const roleDefinitionId = resolveDirectoryRole(requiredString(body, "roleDefinitionId", "UnifiedRoleAssignment"));
      if (!roleDefinitionId) throw graphErrors.badRequest("Unknown 'roleDefinitionId'; OpenPAL knows the directory roles listed in docs/API.md (e.g. Global Administrator 62e90394-69f5-4237-9190-012177145e10).");
      if (body.directoryScopeId !== undefined && body.directoryScopeId !== "/") throw graphErrors.badRequest("Only 'directoryScopeId': '/' (the whole directory) is supported.");
      const p = await ctx.store.directory.findPrincipal(caller.tenantId, principalId);
      if (!p || p.type === "Group" || deletedAt(p) !== null) throw graphErrors.notFound(principalId);
      const granted = await write(req, "roleAssignments", "graph.directoryRole.assign", `/roleManagement/directory/roleAssignments/${roleDefinitionId}_${principalId}`, (tx, at) => tx.directoryRoles.grant(caller.tenantId, roleDefinitionId, principalId, at));
      if (!granted) throw graphErrors.conflict("roleDefinitionId and principalId");
      return reply.code(201).send({ "@odata.context": odata("roleManagement/directory/roleAssignments/$entity"), ...assignmentJson(roleDefinitionId, principalId) });
    });

    graph.delete<{ Params: { id: string } }>("/roleManagement/directory/roleAssignments/:id", async (req, reply) => {
      const caller = callerOf(req);
      const [roleTemplateId, principalId] = req.params.id.toLowerCase().split("_");
      if (!roleTemplateId || !principalId) throw graphErrors.notFound(req.params.id);
      const revoked = await write(req, "roleAssignments", "graph.directoryRole.revoke", `/roleManagement/directory/roleAssignments/${req.params.id}`, (tx, at) => tx.directoryRoles.revoke(caller.tenantId, roleTemplateId, principalId, at));
      if (!revoked) throw graphErrors.notFound(req.params.id);
      return reply.code(204).send();
    });
  }, { prefix: "/v1.0" });
}

function sendError(req: FastifyRequest, reply: FastifyReply, e: GraphError, status = e.status) {
  const clientRequestId = req.headers["client-request-id"] ?? req.headers["x-ms-client-request-id"];
  return reply.code(status).header("request-id", req.id).send({
    error: {
      code: e.code,
      message: e.message,
      innerError: { date: new Date().toISOString().replace(/\.\d+Z$/, ""), "request-id": req.id, "client-request-id": typeof clientRequestId === "string" ? clientRequestId : req.id },
    },
  });
}

/** Whether an effective-dated row holds at `at`. */
const heldAt = (row: { validFrom: number | null; validTo: number | null }, at: number): boolean =>
  contains({ from: row.validFrom, to: row.validTo }, at);

function deletedAt(p: Principal): number | null {
  return p.type === "User" ? p.user.deletedAt : p.type === "ServicePrincipal" ? p.servicePrincipal.deletedAt : p.group.deletedAt;
}

/** Object ids with an open membership interval in the group at `at`. */
async function currentMembers(store: Pick<Aggregates, "directory">, tenantId: string, groupId: string, at: number): Promise<string[]> {
  const all = await store.directory.listMemberships(tenantId);
  return all
    .filter((m) => m.groupId === groupId && heldAt(m, at))
    .map((m) => m.memberId);
}

/** Whether `from` (a group) contains `target` through nested membership at `at`. */
async function reaches(store: Pick<Aggregates, "directory">, tenantId: string, from: string, target: string, at: number): Promise<boolean> {
  const all = (await store.directory.listMemberships(tenantId)).filter((m) => heldAt(m, at));
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const g = stack.pop() as string;
    if (seen.has(g)) continue;
    seen.add(g);
    for (const m of all) {
      if (m.groupId !== g) continue;
      if (m.memberId === target) return true;
      stack.push(m.memberId);
    }
  }
  return false;
}

/** Ends every open membership of `memberId` (a deleted object belongs to no group from then on). */
async function closeMemberships(tx: Aggregates, tenantId: string, memberId: string, at: number): Promise<void> {
  const open = (await tx.directory.listMemberships(tenantId)).filter((m) => m.memberId === memberId && m.validTo === null);
  for (const m of open) await tx.directory.removeMember(tenantId, m.groupId, memberId, at);
}
