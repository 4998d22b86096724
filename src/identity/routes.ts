/**
 * Identity HTTP routes, per tenant (`{tenant}` is the tenant GUID or its domain):
 *   GET  /{tenant}/v2.0/.well-known/openid-configuration   discovery
 *   GET  /{tenant}/discovery/v2.0/keys                     JWKS
 *   POST /{tenant}/oauth2/v2.0/token                       token endpoint (all grants)
 *   POST /{tenant}/oauth2/v2.0/devicecode                  device authorization
 *   GET  /{tenant}/oauth2/v2.0/authorize  (+ POST)         sign-in page (authorization code + PKCE)
 *   GET  /{tenant}/oauth2/v2.0/logout                      end session
 *   GET  /devicelogin, /{tenant}/oauth2/deviceauth (+ POST /devicelogin)   device code page
 *   GET  /error?code=n                                      what an AADSTS code means here
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../context/index.ts";
import type { KeyRing } from "./keys.ts";
import { OAUTH_ERRORS, OAuthError, oauthError, sendOAuthError as sendOAuthErrorReply } from "./errors.ts";
import type { TokenService} from "./service.ts";
import { AuthorizePageError, AuthorizeRedirectError, multiTenantAuthority, param, type FormParams, type TokenRequestContext } from "./service.ts";
import { deviceCodePage, errorPage, escapeHtml, redirectToClient, sendPage, signInPage } from "./pages.ts";
import { isLoopbackRedirect, isPortalRedirect } from "./clients.ts";

export interface IdentityRouteDeps {
  readonly ctx: AppContext;
  readonly keys: KeyRing;
  readonly service: TokenService;
  issuerFor(tenantId: string): string;
}

type TenantRequest = FastifyRequest<{ Params: { tenant: string }; Body: FormParams | undefined; Querystring: FormParams }>;

export async function registerIdentityRoutes(root: FastifyInstance, deps: IdentityRouteDeps): Promise<void> {
  await root.register(async (app) => routes(app, deps));
}

/** The routes, in their own scope: its error handler answers in OAuth's shape. */
async function routes(app: FastifyInstance, deps: IdentityRouteDeps): Promise<void> {
  const { ctx, keys, issuerFor, service } = deps;

  // A client error that no route of the token service answered itself (the web framework's 413
  // or 415, malformed JSON, a NUL in a value) is answered in OAuth's shape with its status, as
  // Entra answers a request it cannot process (AADSTS90023). Server errors go on to the root
  // handler, which logs them.
  app.setErrorHandler((error: Error & { statusCode?: number }, req, reply) => {
    const status = error.statusCode;
    if (status === undefined || status < 400 || status >= 500) throw error;
    return sendOAuthError(req, reply, new OAuthError("invalidRequest", error.message), status);
  });

  /** `status` overrides the error's own, for a transport error (413, 415…) that reached these routes. */
  const sendOAuthError = (req: FastifyRequest, reply: FastifyReply, err: OAuthError, status?: number): FastifyReply =>
    sendOAuthErrorReply(req, reply, err, { now: ctx.clock.now(), baseUrl: ctx.baseUrl(), ...(status === undefined ? {} : { status }) });

  /** Runs an OAuth endpoint: OAuthError becomes Entra's error body; anything else is a real 500. */
  const oauth = async (req: FastifyRequest, reply: FastifyReply, work: () => Promise<unknown>): Promise<FastifyReply> => {
    try {
      const body = await work();
      return reply.header("cache-control", "no-store").header("pragma", "no-cache").send(body);
    } catch (error) {
      if (error instanceof OAuthError) return sendOAuthError(req, reply, error);
      throw error;
    }
  };

  app.get<{ Params: { tenant: string } }>("/:tenant/v2.0/.well-known/openid-configuration", async (req, reply) => {
    return oauth(req, reply, async () => {
      // organizations/common: Entra's document for them names the segment in every endpoint and
      // the issuer with the literal {tenantid} (each token's issuer is its tenant's).
      const multi = multiTenantAuthority(req.params.tenant);
      const tenant = multi && multi !== "consumers" ? { id: multi } : await service.tenant(req.params.tenant);
      const base = `${ctx.baseUrl()}/${tenant.id}`;
      reply.header("cache-control", "max-age=86400, private");
      return {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_modes_supported: ["query", "fragment", "form_post"],
        subject_types_supported: ["pairwise"],
        id_token_signing_alg_values_supported: ["RS256"],
        response_types_supported: ["code"],
        scopes_supported: ["openid", "profile", "email", "offline_access"],
        issuer: multi ? issuerFor("{tenantid}") : issuerFor(tenant.id),
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${base}/oidc/userinfo`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        grant_types_supported: ["authorization_code", "client_credentials", "password", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        code_challenge_methods_supported: ["S256"],
        claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username", "name", "tid", "ver", "oid", "idp", "home_tid", "foreign"],
        kerberos_endpoint: `${base}/kerberos`,
        tenant_region_scope: "EU",
        cloud_instance_name: new URL(ctx.baseUrl()).host,
        cloud_graph_host_name: new URL(ctx.baseUrl()).host,
        msgraph_host: new URL(ctx.baseUrl()).host,
        rbac_url: ctx.baseUrl(),
      };
    });
  });

  app.get<{ Params: { tenant: string } }>("/:tenant/discovery/v2.0/keys", async (req, reply) => {
    return oauth(req, reply, async () => {
      const multi = multiTenantAuthority(req.params.tenant);
      if (!multi || multi === "consumers") await service.tenant(req.params.tenant);
      return keys.jwks();
    });
  });

  // Instance discovery, as login.microsoftonline.com/common/discovery/instance answers it: MSAL
  // asks it whether an authority is a real one before it trusts the authority's own metadata.
  // Only this server's own host is a valid instance here.
  app.get<{ Params: { tenant: string }; Querystring: FormParams }>("/:tenant/discovery/instance", async (req, reply) => {
    const endpoint = param(req.query, "authorization_endpoint");
    const base = new URL(ctx.baseUrl());
    let url: URL | undefined;
    try {
      url = endpoint ? new URL(endpoint) : undefined;
    } catch {
      url = undefined;
    }
    const segment = url?.pathname.split("/")[1];
    const metadata = [{ preferred_network: base.host, preferred_cache: base.host, aliases: [base.host, base.hostname] }];
    reply.header("cache-control", "max-age=86400, private");
    // MSAL also asks about Microsoft's own authority, only to learn the instance aliases it
    // knows (for its token cache): the answer lists this server's.
    if (url?.hostname.toLowerCase() === "login.microsoftonline.com") {
      return { tenant_discovery_endpoint: `${ctx.baseUrl()}/common/v2.0/.well-known/openid-configuration`, "api-version": param(req.query, "api-version") ?? "1.1", metadata };
    }
    // MSAL names the instance by host name without the port.
    if (!url || url.hostname.toLowerCase() !== base.hostname.toLowerCase() || !segment) {
      const err = new OAuthError("invalidInstance", `Unknown or invalid instance. The authorization_endpoint must be an authority of this server, e.g. ${ctx.baseUrl()}/organizations/oauth2/v2.0/authorize.`);
      return sendOAuthError(req, reply, err);
    }
    return {
      tenant_discovery_endpoint: `${ctx.baseUrl()}/${segment}/v2.0/.well-known/openid-configuration`,
      "api-version": param(req.query, "api-version") ?? "1.1",
      metadata,
    };
  });

  // Home realm discovery (MSAL asks it before a password sign-in): every account here is managed
  // by this server (no federation), so MSAL goes on with the password grant.
  app.get<{ Params: { tenant: string; username: string } }>("/:tenant/userrealm/:username", async (req, reply) => {
    const upn = req.params.username;
    const member = await ctx.store.directory.findMemberByUpn(upn.trim());
    const domain = upn.includes("@") ? upn.slice(upn.lastIndexOf("@") + 1) : "";
    reply.header("cache-control", "no-store");
    return {
      ver: "1.0", account_type: member ? "Managed" : "Unknown", domain_name: domain,
      cloud_instance_name: new URL(ctx.baseUrl()).hostname, cloud_audience_urn: "urn:federation:MicrosoftOnline",
    };
  });

  // --- token endpoint ------------------------------------------------------------------------

  app.post("/:tenant/oauth2/v2.0/token", async (req: TenantRequest, reply) => {
    return oauth(req, reply, async () => {
      const form = formOf(req);
      const context: TokenRequestContext = { tenantSegment: req.params.tenant, source: req.ip, ...basicCredentials(req.headers.authorization) };
      return service.token(form, context);
    });
  });

  app.post("/:tenant/oauth2/v2.0/devicecode", async (req: TenantRequest, reply) => {
    return oauth(req, reply, async () => service.deviceAuthorization(req.params.tenant, formOf(req)));
  });

  // --- authorization code: sign-in page --------------------------------------------------------

  const authorizeAction = (req: TenantRequest) => `${ctx.baseUrl()}/${encodeURIComponent(req.params.tenant)}/oauth2/v2.0/authorize`;
  const AUTHORIZE_FIELDS = ["client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "login_hint"];

  const authorizeFailure = (req: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply => {
    if (error instanceof AuthorizePageError) {
      return sendPage(reply, error.oauth.spec.status, "Sign in", errorPage(error.oauth.spec.code, error.oauth.message, req.id));
    }
    if (error instanceof AuthorizeRedirectError) {
      return redirectToClient(reply, error, { error: error.error, error_description: error.message, state: error.state });
    }
    if (error instanceof OAuthError) {
      // e.g. a duplicated parameter before the redirect URI could be trusted.
      return sendPage(reply, error.spec.status, "Sign in", errorPage(error.spec.code, error.message, req.id));
    }
    throw error;
  };

  app.get("/:tenant/oauth2/v2.0/authorize", async (req: TenantRequest, reply) => {
    try {
      const request = await service.authorizeRequest(req.params.tenant, req.query);
      const fields = Object.fromEntries(AUTHORIZE_FIELDS.map((f) => [f, param(req.query, f)]));
      return sendPage(reply, 200, "Sign in to your account", signInPage({
        action: authorizeAction(req), tenantName: request.tenant.displayName, clientName: request.clientName, fields, loginHint: request.loginHint,
      }));
    } catch (error) {
      return authorizeFailure(req, reply, error);
    }
  });

  app.post("/:tenant/oauth2/v2.0/authorize", async (req: TenantRequest, reply) => {
    const form = formOf(req);
    try {
      const request = await service.authorizeRequest(req.params.tenant, form);
      if (param(form, "action") === "cancel") {
        return redirectToClient(reply, request, { error: "access_denied", error_description: "AADSTS65004: User declined to consent to access the app.", state: request.state });
      }
      const login = param(form, "login") ?? "";
      try {
        const code = await service.issueAuthorizationCode(request, login, param(form, "passwd") ?? "", req.ip);
        return redirectToClient(reply, request, { code, state: request.state, session_state: req.id });
      } catch (error) {
        if (!(error instanceof OAuthError)) throw error;
        // Wrong password and the like: show the form again with the reason, as Entra's page does.
        const fields = Object.fromEntries(AUTHORIZE_FIELDS.map((f) => [f, param(form, f)]));
        return sendPage(reply, 200, "Sign in to your account", signInPage({
          action: authorizeAction(req), tenantName: request.tenant.displayName, clientName: request.clientName, fields, loginHint: login,
          error: `AADSTS${error.spec.code}: ${error.message}`,
        }));
      }
    } catch (error) {
      return authorizeFailure(req, reply, error);
    }
  });

  // --- end session -----------------------------------------------------------------------------

  app.get("/:tenant/oauth2/v2.0/logout", async (req: TenantRequest, reply) => {
    try {
      // organizations / common: a session of any tenant ends here (the ID token names its tenant).
      const multi = multiTenantAuthority(req.params.tenant);
      const tenant = !multi || multi === "consumers" ? await service.tenant(req.params.tenant) : undefined;
      const target = param(req.query, "post_logout_redirect_uri");
      // Sign-in keeps no browser session (every sign-in asks for the password); what a session
      // leaves behind is its refresh tokens: with `id_token_hint` (the session's ID token) they
      // are revoked. Open redirects are refused.
      const hint = param(req.query, "id_token_hint");
      if (hint) await service.endSession(tenant, hint);
      if (target) {
        if (!isLoopbackRedirect(target) && !isPortalRedirect(target, ctx.baseUrl())) {
          return sendPage(reply, 400, "Sign out", errorPage(50011, `The post_logout_redirect_uri '${target}' is not allowed; use a URI under ${ctx.baseUrl()}/portal/ or a loopback URI.`, req.id));
        }
        const url = new URL(target);
        const state = param(req.query, "state");
        if (state) url.searchParams.set("state", state);
        return reply.code(302).header("cache-control", "no-store").header("location", url.toString()).send();
      }
      return sendPage(reply, 200, "Signed out", "<h1>You signed out of your account</h1><p>It's a good idea to close all browser windows.</p>");
    } catch (error) {
      if (error instanceof OAuthError) return sendPage(reply, error.spec.status, "Sign out", errorPage(error.spec.code, error.message, req.id));
      throw error;
    }
  });

  // --- device code page ------------------------------------------------------------------------

  const deviceAction = () => `${ctx.baseUrl()}/devicelogin`;
  const showDevicePage = async (req: FastifyRequest<{ Querystring: FormParams }>, reply: FastifyReply) => {
    const code = typeof req.query.otc === "string" ? req.query.otc : undefined;
    return sendPage(reply, 200, "Enter code", deviceCodePage({ action: deviceAction(), code }));
  };
  app.get("/devicelogin", showDevicePage);
  app.get("/:tenant/oauth2/deviceauth", showDevicePage);

  app.post("/devicelogin", async (req: FastifyRequest<{ Body: FormParams | undefined }>, reply) => {
    const form = formOf(req);
    const code = typeof form.otc === "string" ? form.otc : "";
    try {
      if (param(form, "action") === "decline") {
        await service.completeDeviceCode(code, { approve: false });
        return sendPage(reply, 200, "Sign-in declined", deviceCodePage({ action: deviceAction(), done: "You declined the sign-in" }));
      }
      const upn = param(form, "login");
      const password = param(form, "passwd");
      if (!upn || !password) {
        await service.pendingDeviceCode(code);
        return sendPage(reply, 200, "Sign in", deviceCodePage({ action: deviceAction(), code, error: "Enter your email and password to sign in." }));
      }
      const { tenant } = await service.completeDeviceCode(code, { approve: true, upn, password }, req.ip);
      return sendPage(reply, 200, "Signed in", deviceCodePage({ action: deviceAction(), done: `You have signed in to ${tenant.displayName} on your device` }));
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      return sendPage(reply, 200, "Enter code", deviceCodePage({ action: deviceAction(), code, error: `AADSTS${error.spec.code}: ${error.message}` }));
    }
  });

  app.get<{ Querystring: { code?: string } }>("/error", async (req, reply) => {
    const code = Number(req.query.code);
    const entry = Object.entries(OAUTH_ERRORS).find(([, e]) => e.code === code);
    const text = entry
      ? `AADSTS${code} (${entry[1].error}, HTTP ${entry[1].status}): see docs/IDENTITY.md, "Errors", entry ${escapeHtml(entry[0])}.`
      : `AADSTS${Number.isFinite(code) ? code : "?"} is not an error this server sends. See docs/IDENTITY.md, "Errors".`;
    return sendPage(reply, 200, "Error code lookup", `<h1>Error code lookup</h1><p>${text}</p>`);
  });
}

function formOf(req: FastifyRequest): FormParams {
  const body = req.body;
  return body && typeof body === "object" && !Array.isArray(body) ? (body as FormParams) : {};
}

/** `Authorization: Basic` client credentials (RFC 6749 §2.3.1: form-urlencoded, then base64). */
function basicCredentials(header: string | undefined): Pick<TokenRequestContext, "basic"> {
  if (!header || !/^Basic\s+/i.test(header)) return {};
  const decoded = Buffer.from(header.replace(/^Basic\s+/i, "").trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw oauthError("clientAuthRequired", "The Authorization: Basic header must carry 'client_id:client_secret' in base64.");
  try {
    return { basic: { clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " ")), clientSecret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " ")) } };
  } catch {
    throw oauthError("clientAuthRequired", "The Authorization: Basic header is not valid form-urlencoded 'client_id:client_secret'.");
  }
}
