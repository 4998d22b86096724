/**
 * The portal's server side (backend-for-frontend): sign-in, the session, and the JSON endpoints
 * under /portal/api/ that the React app calls. The browser never sees a token: it holds a random
 * session id in an HttpOnly, Secure, SameSite=Strict cookie scoped to /portal, and every call is
 * turned into a call to the real API (ARM, the PAL provider, …) with the session's bearer token
 * for the current directory, in-process.
 *
 * Order of checks on /portal/api/*:
 *   1. session  - the cookie names a live session, else 401 SignInRequired
 *   2. origin   - state-changing methods: Origin (when sent) must be this server, else 403
 *   3. csrf     - state-changing methods: x-csrf-token must equal the session's token, else 403
 *   4. handler  - acquires the directory's access token and calls the API; errors → partner words
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fastifyCookie from "@fastify/cookie";
import { decodeJwt } from "jose";
import type { AppContext } from "../context/index.ts";
import { PortalSessionStore, SessionGone, sameSecret, type PortalSession } from "./sessions.ts";
import { PortalTokenClient, TokenRefused, CALLBACK_PATH } from "./tokens.ts";
import { linkErrorInPartnerWords, portalError, type PortalError } from "./errors.ts";

export const SESSION_COOKIE = "openpal_portal_session";
/** Binds a pending sign-in to the browser that started it (login CSRF). */
export const SIGNIN_COOKIE = "openpal_portal_signin";
const COOKIE_PATH = "/portal";
const TENANTS_API_VERSION = "2020-01-01";
const PAL_API_VERSION = "2018-02-01";
const PAL_PATH = "/providers/Microsoft.ManagementPartner/partners";

export interface Directory {
  readonly tenantId: string;
  readonly displayName: string;
  readonly defaultDomain: string;
  /** "Home" for the person's own tenant, "Guest" where they are invited. */
  readonly relation: "Home" | "Guest";
}

export interface ArmCall {
  readonly status: number;
  readonly body: unknown;
}

export interface PortalRequestContext {
  readonly session: PortalSession;
  /** Calls the server's ARM API in-process as the session's person in the current directory. */
  arm(method: "GET" | "PUT" | "PATCH" | "DELETE" | "POST", url: string, body?: unknown): Promise<ArmCall>;
  directoryName(): Promise<string>;
  /** The session's access token for the current directory (server side only; never sent to the browser). */
  accessToken(): Promise<string>;
}

type Handler = (req: FastifyRequest, reply: FastifyReply, pc: PortalRequestContext) => Promise<unknown>;

export interface PortalRoutes {
  readonly sessions: PortalSessionStore;
  /** Adds an authenticated /portal/api route (checks 1-3 above run first). */
  api(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, handler: Handler): void;
}

function sendError(reply: FastifyReply, error: PortalError): FastifyReply {
  return reply.code(error.status).header("cache-control", "no-store").send({ error: { code: error.code, message: error.message } });
}

/** A portal path to come back to after sign-in; anything else lands on the portal's home. */
function safeReturnPath(value: unknown): string {
  if (typeof value !== "string") return "/portal/";
  if (!/^\/portal(\/[A-Za-z0-9\-._~/%]*)?$/.test(value) || value.includes("//") || value.startsWith("/portal/api") || value.startsWith("/portal/auth")) return "/portal/";
  return value;
}

export async function registerPortalRoutes(root: FastifyInstance, scope: FastifyInstance, ctx: AppContext): Promise<PortalRoutes> {
  await scope.register(fastifyCookie);
  const sessions = new PortalSessionStore(ctx.store, ctx.clock);
  const tokens = new PortalTokenClient(root, () => ctx.baseUrl(), () => ctx.clock.now(), sessions);
  const cookieOptions = { httpOnly: true, secure: true, sameSite: "strict", path: COOKIE_PATH } as const;

  const sessionOf = (req: FastifyRequest): Promise<PortalSession | undefined> => sessions.get(req.cookies[SESSION_COOKIE]);

  // --- sign-in -----------------------------------------------------------------------------------

  scope.get("/portal/signin", async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
    const q = req.query;
    const loginHint = typeof q.login_hint === "string" && q.login_hint.trim() ? q.login_hint.trim() : undefined;
    // The tenant to sign in to: asked for, or the domain of the account typed on the home page.
    const tenant = (typeof q.tenant === "string" && q.tenant.trim()) || loginHint?.split("@")[1];
    const returnTo = safeReturnPath(q.returnTo);
    if (!tenant) return reply.redirect(`/portal/?signin=missing-tenant`);
    const known = await ctx.store.directory.findTenant(tenant);
    if (!known) return reply.redirect(`/portal/?signin=unknown-tenant&tenant=${encodeURIComponent(tenant)}`);
    const login = await sessions.startLogin(known.id, returnTo);
    reply.setCookie(SIGNIN_COOKIE, login.browserBinding, { ...cookieOptions, maxAge: 600 });
    return reply.header("cache-control", "no-store").redirect(tokens.authorizeUrl(login, loginHint));
  });

  scope.get(CALLBACK_PATH, async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
    const q = req.query;
    const binding = req.cookies[SIGNIN_COOKIE];
    reply.clearCookie(SIGNIN_COOKIE, { path: COOKIE_PATH });
    reply.header("cache-control", "no-store");
    const login = typeof q.state === "string" ? await sessions.takeLogin(q.state, binding) : undefined;
    if (!login) return reply.redirect("/portal/?signin=expired");
    if (q.error) return reply.redirect(`/portal/?signin=${q.error === "access_denied" ? "cancelled" : "failed"}`);
    if (typeof q.code !== "string") return reply.redirect("/portal/?signin=failed");
    try {
      const signedIn = await tokens.redeem(login, q.code);
      const session = await sessions.create(signedIn);
      reply.setCookie(SESSION_COOKIE, session.id, cookieOptions);
      return reply.redirect(login.returnTo);
    } catch (error) {
      if (!(error instanceof TokenRefused)) throw error;
      req.log.warn({ aadsts: error.aadsts }, "portal sign-in: code redemption refused");
      return reply.redirect("/portal/?signin=failed");
    }
  });

  // --- the authenticated API -------------------------------------------------------------------

  const expectedOrigin = (): string => new URL(ctx.baseUrl()).origin;

  const directoriesOf = async (pc: PortalRequestContext): Promise<Directory[]> => {
    const res = await pc.arm("GET", `/tenants?api-version=${TENANTS_API_VERSION}`);
    if (res.status !== 200) return [];
    const value = (res.body as { value?: { tenantId: string; displayName: string; defaultDomain: string }[] }).value ?? [];
    return value.map((t) => ({
      tenantId: t.tenantId, displayName: t.displayName, defaultDomain: t.defaultDomain,
      relation: t.tenantId === pc.session.account.homeTenantId ? "Home" : "Guest",
    }));
  };

  const requestContext = (session: PortalSession): PortalRequestContext => {
    // Pinned at the start of the request: a directory switch in another tab cannot mix tenants
    // within one answer.
    const tenantId = session.currentTenantId;
    const pc: PortalRequestContext = {
      session,
      async arm(method, url, body) {
        const token = await tokens.accessToken(session, tenantId);
        const res = await root.inject({
          method, url,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
          ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
        });
        return { status: res.statusCode, body: res.body ? safeJson(res.body) : undefined };
      },
      accessToken: () => tokens.accessToken(session, tenantId),
      async directoryName() {
        return (await ctx.store.directory.getTenant(tenantId))?.displayName ?? tenantId;
      },
    };
    return pc;
  };

  const api: PortalRoutes["api"] = (method, path, handler) => {
    scope.route({
      method, url: `/portal/api${path}`,
      handler: async (req, reply) => {
        reply.header("cache-control", "no-store");
        const session = await sessionOf(req);
        if (!session) return sendError(reply, portalError("SignInRequired"));
        if (method !== "GET") {
          const origin = req.headers.origin;
          if (origin !== undefined && origin !== expectedOrigin()) return sendError(reply, portalError("CrossOriginRefused"));
          if (req.headers["sec-fetch-site"] === "cross-site") return sendError(reply, portalError("CrossOriginRefused"));
          const csrf = req.headers["x-csrf-token"];
          if (typeof csrf !== "string" || !sameSecret(csrf, session.csrfToken)) return sendError(reply, portalError("CsrfTokenMissing"));
        }
        try {
          return await handler(req, reply, requestContext(session));
        } catch (error) {
          if (error instanceof SessionGone) {
            reply.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH });
            return sendError(reply, portalError("SignInRequired"));
          }
          if (error instanceof TokenRefused) {
            await sessions.end(session.id);
            reply.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH });
            return sendError(reply, portalError("TokenRefused", { detail: error.aadsts ? ` (AADSTS${error.aadsts}: ${error.message})` : "" }));
          }
          throw error;
        }
      },
    });
  };

  // The session, as the page needs it. Signed out is an answer, not an error.
  scope.get("/portal/api/session", async (req, reply) => {
    reply.header("cache-control", "no-store");
    const session = await sessionOf(req);
    if (!session) return { signedIn: false };
    const tenant = await ctx.store.directory.getTenant(session.currentTenantId);
    return {
      signedIn: true,
      user: { name: session.account.name, username: session.account.username },
      directory: { tenantId: session.currentTenantId, displayName: tenant?.displayName ?? session.currentTenantId, defaultDomain: tenant?.domain ?? "" },
      csrfToken: session.csrfToken,
    };
  });

  api("POST", "/signout", async (_req, reply, pc) => {
    // Revoke the session's refresh tokens at the identity before forgetting the session.
    await tokens.endSession(pc.session);
    await sessions.end(pc.session.id);
    reply.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH });
    // The identity's end-session endpoint brings the browser back to the portal's home.
    return { signedOut: true, logoutUrl: tokens.logoutUrl(pc.session.currentTenantId) };
  });

  api("GET", "/directories", async (_req, _reply, pc) => {
    const value = await directoriesOf(pc);
    return { current: pc.session.currentTenantId, value };
  });

  api("POST", "/directory", async (req, reply, pc) => {
    const tenantId = String((req.body as { tenantId?: unknown } | undefined)?.tenantId ?? "").toLowerCase();
    const directories = await directoriesOf(pc);
    const target = directories.find((d) => d.tenantId === tenantId);
    if (!target) return sendError(reply, portalError("DirectoryNotAvailable"));
    // A token for the new directory first: if the identity refuses it, the session stays where it was.
    await tokens.accessToken(pc.session, target.tenantId);
    await sessions.setCurrentTenant(pc.session, target.tenantId);
    return { directory: target };
  });

  // --- Partner Admin Link: the signed-in identity's link in the current directory --------------

  const linkView = (body: unknown) => {
    const p = (body as { properties: Record<string, unknown> }).properties;
    return {
      partnerId: String(p.partnerId), partnerName: typeof p.partnerName === "string" ? p.partnerName : null,
      tenantId: String(p.tenantId), objectId: String(p.objectId), createdTime: String(p.createdTime), updatedTime: String(p.updatedTime),
      version: Number(p.version), state: String(p.state),
    };
  };

  /**
   * The signed-in identity's link intervals in the current directory, newest first (the identity
   * is the one of the session's own token there). PAL's createdTime outlives a removal (the real
   * service's record); "linked since" is the start of the link open now.
   */
  const linkHistory = async (pc: PortalRequestContext) => {
    const claims = decodeJwt(await pc.accessToken());
    const tenantId = String(claims.tid ?? "");
    const objectId = String(claims.oid ?? "");
    if (!tenantId || !objectId) return [];
    const rows = await ctx.store.links.history({ tenantId, objectId });
    return rows
      .map((r) => ({ partnerId: r.partnerId, from: r.validFrom === null ? null : new Date(r.validFrom).toISOString(), to: r.validTo === null ? null : new Date(r.validTo).toISOString() }))
      .reverse();
  };
  const withHistory = async (pc: PortalRequestContext, link: ReturnType<typeof linkView> | null) => {
    const history = await linkHistory(pc);
    const open = history.find((h) => h.to === null);
    return { link: link ? { ...link, since: link.partnerId === open?.partnerId ? open.from : null } : null, history };
  };

  api("GET", "/link", async (_req, reply, pc) => {
    const res = await pc.arm("GET", `${PAL_PATH}?api-version=${PAL_API_VERSION}`);
    const directory = { tenantId: pc.session.currentTenantId, displayName: await pc.directoryName() };
    if (res.status === 200) return { directory, ...(await withHistory(pc, linkView(res.body))) };
    if (res.status === 404) return { directory, ...(await withHistory(pc, null)) };
    return sendError(reply, linkErrorInPartnerWords(res.status, res.body, { directory: directory.displayName }));
  });

  const partnerIdOf = (req: FastifyRequest): string | undefined => {
    const raw = (req.body as { partnerId?: unknown } | undefined)?.partnerId;
    const id = typeof raw === "string" ? raw.trim() : typeof raw === "number" ? String(raw) : "";
    return id === "" ? undefined : id;
  };

  for (const method of ["PUT", "PATCH", "DELETE"] as const) {
    api(method, "/link", async (req, reply, pc) => {
      const partnerId = partnerIdOf(req);
      if (!partnerId) return sendError(reply, portalError("PartnerIdRequired"));
      const res = await pc.arm(method, `${PAL_PATH}/${encodeURIComponent(partnerId)}?api-version=${PAL_API_VERSION}`);
      const directory = { tenantId: pc.session.currentTenantId, displayName: await pc.directoryName() };
      if (res.status !== 200) return sendError(reply, linkErrorInPartnerWords(res.status, res.body, { partnerId, directory: directory.displayName }));
      return { directory, ...(await withHistory(pc, method === "DELETE" ? null : linkView(res.body))) };
    });
  }

  return { sessions, api };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { code: "InvalidResponse", message: text.slice(0, 200) } };
  }
}
