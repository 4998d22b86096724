/**
 * The token service: the grants of the token endpoint, the device authorization endpoint and the
 * sign-in decisions behind the HTML pages. Framework-free: routes.ts turns HTTP into calls here and
 * OAuthError into Entra-shaped error bodies.
 *
 * Order of checks for every grant (so errors are the ones Entra gives first):
 *   tenant → grant_type → client (known, present in the tenant) → client credential → grant
 *   material (password, code, refresh token) → principal state (disabled, deleted) → mint.
 * One-time material (codes, refresh tokens) is consumed with a compare-and-set only after every
 * check has passed, so a refused request never burns a valid code.
 *
 * Hardening (docs/IDENTITY.md, "Abuse resistance"):
 * - a confidential client (an application with a secret or certificate) authenticates in every
 *   grant, not only client credentials (AADSTS7000218 otherwise);
 * - tokens are issued only for resources the server plays (audiences.ts), else AADSTS500011;
 * - one-time credentials belong to a token family (one sign-in): a used refresh token presented
 *   again, or a code replayed, revokes the whole family; ending the session revokes it too;
 * - wrong passwords lock the account and wrong secrets throttle the client and the source
 *   (throttle.ts), counted in the store.
 */
import { createHash, randomInt, randomUUID } from "node:crypto";
import { compactVerify, decodeJwt, decodeProtectedHeader } from "jose";
import type { AppContext } from "../context/index.ts";
import type { Application, Grant, Tenant } from "../store/index.ts";
import { OAUTH_ERRORS, oauthError, OAuthError } from "./errors.ts";
import { parseScope, ScopeError, WELL_KNOWN_CLIENTS, OPENPAL_PORTAL_CLIENT_ID, isLoopbackRedirect, type ParsedScope } from "./clients.ts";
import { authenticateClient, hasClientCredential, type ClientCredentialInput } from "./client-auth.ts";
import { PrincipalResolver, type HomeAccount, type UserSubject } from "./principals.ts";
import { handleHash, newHandle, TokenMinter, type RefreshTokenDetails, type TokenResponse } from "./tokens.ts";
import type { KeyRing } from "./keys.ts";
import { applicationResourceAppId, playedAudience, PLAYED_RESOURCES } from "./audiences.ts";
import { DEFAULT_GUESSING_POLICIES, GuessingDefence, type GrantFlow, type GuessingPolicies } from "./throttle.ts";

/**
 * The tenant-independent authorities of Entra: `organizations` and `common` sign a work account in
 * at its home tenant (the token's `tid`); `consumers` is for personal Microsoft accounts, which
 * this server does not have.
 */
export type MultiTenantAuthority = "organizations" | "common" | "consumers";

export function multiTenantAuthority(segment: string): MultiTenantAuthority | undefined {
  const s = segment.toLowerCase();
  return s === "organizations" || s === "common" || s === "consumers" ? s : undefined;
}

/** Entra's answer on /consumers for an app that is not registered for personal accounts. */
export function consumersRefused(clientId: string | undefined): OAuthError {
  return oauthError("consumersNotEnabled", `Application with identifier '${clientId ?? "(none)"}' was not found in the directory 'Microsoft Accounts'. This server has work accounts only: sign in at /organizations, /common or a tenant id or domain instead of /consumers.`);
}

export const GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code";
/** Device codes: 15 minutes, poll every 5 seconds (Entra's values). */
export const DEVICE_CODE_LIFETIME_SECONDS = 900;
export const DEVICE_CODE_INTERVAL_SECONDS = 5;
/** Authorization codes are redeemable for 10 minutes, once. */
export const AUTHORIZATION_CODE_LIFETIME_MS = 10 * 60 * 1000;
/** Letters and digits a user cannot confuse when typing a device code (no vowels, no 0/O, 1/I). */
const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789";

/** Form parameters as @fastify/formbody parses them. */
export type FormParams = Readonly<Record<string, string | string[] | undefined>>;

/** What the token endpoint knows about the HTTP request beyond the form. */
export interface TokenRequestContext {
  /** Credentials from an `Authorization: Basic` header, if any. */
  readonly basic?: { readonly clientId: string; readonly clientSecret: string };
  /** The tenant segment as the client wrote it in the URL (GUID or domain). */
  readonly tenantSegment: string;
  /** The client's address (throttling per source). */
  readonly source?: string;
}

export interface DeviceCodeResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  expires_in: number;
  interval: number;
  message: string;
}

/** Parameters of an authorization request (GET query or the sign-in form's hidden fields). */
export interface AuthorizeRequest {
  readonly tenant: Tenant;
  readonly clientId: string;
  readonly clientName: string;
  readonly redirectUri: string;
  readonly responseMode: "query" | "fragment" | "form_post";
  readonly scope: ParsedScope;
  readonly state: string | undefined;
  readonly nonce: string | undefined;
  readonly codeChallenge: string;
  readonly loginHint: string | undefined;
}

/** An authorization request that cannot be answered by redirecting (bad client or redirect URI). */
export class AuthorizePageError extends Error {
  readonly oauth: OAuthError;
  constructor(oauth: OAuthError) {
    super(oauth.message);
    this.oauth = oauth;
  }
}

/** An authorization request whose error goes back to the client's redirect URI. */
export class AuthorizeRedirectError extends Error {
  readonly error: string;
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly responseMode: "query" | "fragment" | "form_post";
  constructor(error: string, description: string, target: { redirectUri: string; state: string | undefined; responseMode: "query" | "fragment" | "form_post" }) {
    super(description);
    this.error = error;
    this.redirectUri = target.redirectUri;
    this.state = target.state;
    this.responseMode = target.responseMode;
  }
}

export function param(form: FormParams, name: string): string | undefined {
  const v = form[name];
  if (Array.isArray(v)) throw oauthError("duplicateParameter", `The '${name}' parameter was sent more than once; send it once.`);
  return v === undefined || v === "" ? undefined : v;
}

function required(form: FormParams, name: string): string {
  const v = param(form, name);
  if (v === undefined) throw oauthError("missingParameter", `The request body must contain the following parameter: '${name}'.`);
  return v;
}

function scopeOf(form: FormParams, require: boolean): ParsedScope {
  const raw = param(form, "scope");
  if (raw === undefined && require) throw oauthError("missingParameter", "The request body must contain the following parameter: 'scope'. For Azure Resource Manager use https://management.azure.com/.default.");
  try {
    return parseScope(raw);
  } catch (error) {
    if (error instanceof ScopeError) throw oauthError("invalidScope", error.message);
    throw error;
  }
}

/** The client a user flow runs under: a well-known first-party client or a registered application. */
interface UserFlowClient {
  readonly clientId: string;
  readonly displayName: string;
  readonly app: Application | undefined;
}

export class TokenService {
  readonly #ctx: AppContext;
  readonly #minter: TokenMinter;
  readonly #principals: PrincipalResolver;
  readonly #guard: GuessingDefence;
  readonly #keys: KeyRing;
  readonly #issuerFor: (tenantId: string) => string;

  constructor(ctx: AppContext, keys: KeyRing, issuerFor: (tenantId: string) => string, policies: GuessingPolicies = DEFAULT_GUESSING_POLICIES) {
    this.#ctx = ctx;
    this.#keys = keys;
    this.#issuerFor = issuerFor;
    this.#guard = new GuessingDefence(ctx.store.credentialThrottle, ctx.clock, policies);
    this.#principals = new PrincipalResolver(ctx.store.directory, this.#guard);
    this.#minter = new TokenMinter({ keys, clock: ctx.clock, grants: ctx.store.grants, lifetimeSeconds: ctx.options.tokenLifetimeSeconds, issuerFor });
  }

  get minter(): TokenMinter {
    return this.#minter;
  }

  #now(): number {
    return this.#ctx.clock.now();
  }

  async tenant(segment: string): Promise<Tenant> {
    if (multiTenantAuthority(segment) === "consumers") throw consumersRefused(undefined);
    const tenant = await this.#ctx.store.directory.findTenant(segment);
    if (!tenant) {
      throw oauthError("tenantNotFound", `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`);
    }
    return tenant;
  }

  #tokenEndpoints(tenant: Tenant, segment: string): string[] {
    const base = this.#ctx.baseUrl();
    return [...new Set([tenant.id, tenant.domain, segment].map((t) => `${base}/${t}/oauth2/v2.0/token`))];
  }

  // --- the token endpoint --------------------------------------------------------------------

  async token(form: FormParams, req: TokenRequestContext): Promise<TokenResponse> {
    const multi = multiTenantAuthority(req.tenantSegment);
    const tenant = multi ? await this.#tenantOfRequest(multi, form, req) : await this.tenant(req.tenantSegment);
    const grantType = param(form, "grant_type");
    if (!grantType) throw oauthError("missingParameter", "The request body must contain the following parameter: 'grant_type'.");
    switch (grantType) {
      case "client_credentials":
        return this.#clientCredentials(tenant, form, req);
      case "password":
        return this.#password(tenant, form, req);
      case "refresh_token":
        return this.#refreshToken(tenant, form, req);
      case "authorization_code":
        return this.#authorizationCode(tenant, form, req);
      case GRANT_DEVICE_CODE:
      case "device_code":
        return this.#deviceCode(tenant, form, req);
      default:
        throw oauthError("unsupportedGrantType", `The provided value for the input parameter 'grant_type' is not valid: '${grantType}'. Use one of client_credentials, password, refresh_token, authorization_code, ${GRANT_DEVICE_CODE}.`);
    }
  }

  /**
   * The tenant a request to /organizations or /common is served in: the home tenant of the user
   * (by user name, or by the refresh token or code it presents). App-only and device code flows
   * name no user up front, so they need a tenant in the URL (AADSTS50059, as Entra answers).
   */
  async #tenantOfRequest(multi: MultiTenantAuthority, form: FormParams, req: TokenRequestContext): Promise<Tenant> {
    if (multi === "consumers") throw consumersRefused(req.basic?.clientId ?? param(form, "client_id"));
    const directory = this.#ctx.store.directory;
    const home = async (tenantId: string | undefined): Promise<Tenant | undefined> => (tenantId ? directory.getTenant(tenantId) : undefined);
    const grantType = param(form, "grant_type");
    if (grantType === "password") {
      const username = required(form, "username");
      const member = await directory.findMemberByUpn(username.trim());
      const tenant = await home(member?.tenantId);
      if (!tenant || !member || member.deletedAt !== null) {
        throw oauthError("userNotFound", `User account '${username}' does not exist in any directory of this server. Check the user name, or sign in at the tenant (/{tenant-id}/) where the account lives.`);
      }
      return tenant;
    }
    if (grantType === "refresh_token" || grantType === "authorization_code") {
      const handle = required(form, grantType === "refresh_token" ? "refresh_token" : "code");
      const grant = await this.#ctx.store.grants.get(handleHash(handle));
      const details = grant?.details as { homeTenantId?: string } | undefined;
      const tenant = await home(grant?.kind === "authorization_code" ? grant.tenantId : details?.homeTenantId);
      if (!grant || grant.kind !== grantType || !tenant) {
        throw grantType === "refresh_token"
          ? oauthError("refreshTokenInvalid", "The provided value for the input parameter 'refresh_token' is not valid. Sign in again to get a new refresh token.")
          : oauthError("invalidGrant", "The provided value for the 'code' parameter is not valid. Start the sign-in again to get a new code.");
      }
      return tenant;
    }
    throw oauthError("noTenantIdentified", `No tenant-identifying information found in either the request or implied by any provided credentials. The ${grantType ?? "requested"} grant needs a tenant: use /{tenant-id}/oauth2/v2.0/token instead of /${multi}/.`);
  }

  /** client_id and credential from the form or HTTP Basic (never both client ids disagreeing). */
  #clientIdentity(form: FormParams, req: TokenRequestContext): { clientId: string; credential: ClientCredentialInput } {
    const formClientId = param(form, "client_id");
    if (req.basic && formClientId && req.basic.clientId.toLowerCase() !== formClientId.toLowerCase()) {
      throw oauthError("clientAuthRequired", "The client_id in the Authorization header and in the request body differ; send one client id.");
    }
    const clientId = (req.basic?.clientId ?? formClientId)?.toLowerCase();
    if (!clientId) throw oauthError("missingParameter", "The request body must contain the following parameter: 'client_id'.");
    const clientSecret = req.basic?.clientSecret ?? param(form, "client_secret");
    const clientAssertion = param(form, "client_assertion");
    const clientAssertionType = param(form, "client_assertion_type");
    return {
      clientId,
      credential: {
        ...(clientSecret !== undefined ? { clientSecret } : {}),
        ...(clientAssertion !== undefined ? { clientAssertion } : {}),
        ...(clientAssertionType !== undefined ? { clientAssertionType } : {}),
      },
    };
  }

  /**
   * Authenticates a confidential client. Secret guessing is throttled per application and per
   * source: a throttled one is refused before its secret is checked.
   */
  async #authenticate(app: Application, credential: ClientCredentialInput, tenant: Tenant, tenantSegment: string, source: string | undefined, flow: GrantFlow): Promise<"secret" | "certificate"> {
    if (credential.clientSecret !== undefined && credential.clientAssertion === undefined) {
      await this.#guard.assertSourceOpen(source, flow);
      await this.#guard.assertClientOpen(app.appId, flow);
    }
    try {
      return await authenticateClient(this.#ctx.store.directory, app, credential, { now: this.#now(), tokenEndpoints: this.#tokenEndpoints(tenant, tenantSegment) });
    } catch (error) {
      if (error instanceof OAuthError && error.spec === OAUTH_ERRORS.invalidClientSecret) {
        throw await this.#guard.clientSecretFailed(app.appId, source, flow, error);
      }
      throw error;
    }
  }

  /**
   * The scope with the audience to issue: a resource the server plays, or a registered
   * application's own `api://<appId>`; anything else is AADSTS500011, as Entra answers for a
   * resource with no service principal in the tenant.
   */
  async #playedScope(scope: ParsedScope, tenant: Tenant): Promise<ParsedScope> {
    const played = playedAudience(scope.audience, this.#ctx.baseUrl());
    if (played) return played === scope.audience ? scope : { ...scope, audience: played };
    const appId = applicationResourceAppId(scope.audience);
    if (appId) {
      const app = await this.#ctx.store.directory.getApplication(appId);
      if (app && app.deletedAt === null) return scope;
    }
    throw oauthError("resourceNotFound", `The resource principal named ${scope.audience} was not found in the tenant named ${tenant.displayName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant. This server issues tokens for ${PLAYED_RESOURCES.map((r) => r.audience).join(", ")}, Dataverse environments and registered applications (api://<appId>).`);
  }

  #unknownClient(clientId: string, tenant: Tenant): OAuthError {
    return oauthError("unknownClient", `Application with identifier '${clientId}' was not found in the directory '${tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
  }

  async #clientCredentials(tenant: Tenant, form: FormParams, req: TokenRequestContext): Promise<TokenResponse> {
    const { clientId, credential } = this.#clientIdentity(form, req);
    const scope = scopeOf(form, true);
    if (scope.resourceScopes.length !== 1 || !scope.resourceScopes[0]?.endsWith("/.default")) {
      throw oauthError("clientCredentialsScope", `The provided value for scope '${param(form, "scope") ?? ""}' is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI), e.g. https://management.azure.com/.default.`);
    }
    const directory = this.#ctx.store.directory;
    const app = await directory.getApplication(clientId);
    if (!app || app.deletedAt !== null) throw this.#unknownClient(clientId, tenant);
    // A multi-tenant app gets tokens only where it has a live service principal, each with that
    // tenant's service principal as the subject.
    const sp = await directory.findServicePrincipalByApp(tenant.id, app.appId);
    if (!sp || sp.deletedAt !== null) throw this.#unknownClient(clientId, tenant);
    const kind = await this.#authenticate(app, credential, tenant, req.tenantSegment, req.source, "client");
    if (await directory.isDisabled(tenant.id, sp.id, this.#now())) {
      throw oauthError("servicePrincipalDisabled", `Application '${app.appId}'(${app.displayName}) is disabled in the directory '${tenant.displayName}'. Ask an administrator to enable its service principal.`);
    }
    return this.#minter.appToken(tenant, sp, await this.#playedScope(scope, tenant), kind);
  }

  /**
   * Resolves the client of a user flow at the token endpoint and authenticates it: a confidential
   * client (an application with a secret or certificate) must present its credential in every
   * grant, as Entra requires (AADSTS7000218).
   */
  async #userFlowClient(tenant: Tenant, form: FormParams, req: TokenRequestContext): Promise<UserFlowClient> {
    const { clientId, credential } = this.#clientIdentity(form, req);
    return this.userFlowClientById(tenant, clientId, credential, req.tenantSegment, { atTokenEndpoint: true, source: req.source });
  }

  /**
   * The client of a user flow. At the token endpoint (`atTokenEndpoint`) a confidential client
   * must authenticate; at the front channel (authorize, device authorization) it cannot.
   */
  async userFlowClientById(tenant: Tenant, clientId: string, credential: ClientCredentialInput, tenantSegment: string, opts: { atTokenEndpoint: boolean; source?: string | undefined } = { atTokenEndpoint: false }): Promise<UserFlowClient> {
    const wellKnown = WELL_KNOWN_CLIENTS.get(clientId.toLowerCase());
    if (wellKnown) {
      if (hasClientCredential(credential)) {
        throw oauthError("publicClientNoCredentials", `'${wellKnown.displayName}' (${wellKnown.clientId}) is a public client; do not send client_secret or client_assertion with it.`);
      }
      return { clientId: wellKnown.clientId, displayName: wellKnown.displayName, app: undefined };
    }
    const app = await this.#ctx.store.directory.getApplication(clientId);
    if (!app || app.deletedAt !== null) throw this.#unknownClient(clientId, tenant);
    if (hasClientCredential(credential)) {
      await this.#authenticate(app, credential, tenant, tenantSegment, opts.source, "user");
    } else if (opts.atTokenEndpoint && (await this.#isConfidential(app))) {
      throw oauthError("clientAuthRequired", `The request body must contain the following parameter: 'client_assertion' or 'client_secret'. Application '${app.appId}' (${app.displayName}) has credentials, so it is a confidential client and must authenticate in every grant.`);
    }
    return { clientId: app.appId, displayName: app.displayName, app };
  }

  /** An application with a secret or a certificate is a confidential client. */
  async #isConfidential(app: Application): Promise<boolean> {
    const directory = this.#ctx.store.directory;
    return (await directory.listSecrets(app.appId)).length > 0 || (await directory.listCertificates(app.appId)).length > 0;
  }

  async #password(tenant: Tenant, form: FormParams, req: TokenRequestContext): Promise<TokenResponse> {
    const client = await this.#userFlowClient(tenant, form, req);
    const username = required(form, "username");
    const password = required(form, "password");
    const scope = await this.#playedScope(scopeOf(form, false), tenant);
    const user = await this.#principals.signIn(tenant, username, password, this.#now(), req.source);
    return this.#userTokens(tenant, user, client.clientId, scope, form, undefined, ["pwd"], randomUUID());
  }

  async #userTokens(tenant: Tenant, user: UserSubject, clientId: string, scope: ParsedScope, form: FormParams, nonce: string | undefined, amr: readonly string[], familyId: string): Promise<TokenResponse> {
    const played = await this.#playedScope(scope, tenant);
    return this.#minter.userTokens(tenant, user, { clientId, scope: played, nonce, clientInfo: param(form, "client_info") === "1", amr, familyId });
  }

  /** Revokes a token family after one of its one-time credentials was presented again. */
  async #revokeFamily(grant: Grant, why: string): Promise<void> {
    if (!grant.familyId) return;
    const revoked = await this.#ctx.store.grants.revokeFamily(grant.familyId);
    this.#ctx.log.warn({ tenantId: grant.tenantId, clientId: grant.clientId, kind: grant.kind, revoked }, `token family revoked: ${why}`);
  }

  async #refreshToken(tenant: Tenant, form: FormParams, req: TokenRequestContext): Promise<TokenResponse> {
    const client = await this.#userFlowClient(tenant, form, req);
    const handle = required(form, "refresh_token");
    const grant = await this.#ctx.store.grants.get(handleHash(handle));
    if (!grant || grant.kind !== "refresh_token") {
      throw oauthError("refreshTokenInvalid", "The provided value for the input parameter 'refresh_token' is not valid. Sign in again to get a new refresh token.");
    }
    this.#checkLive(grant, "refresh token");
    if (grant.status === "redeemed") {
      // A used refresh token presented again: stolen, or a client that kept an old one. Either
      // way the family can no longer be trusted.
      await this.#revokeFamily(grant, "a used refresh token was presented again");
      throw oauthError("refreshTokenRevoked", "The refresh token was already used (refresh tokens are replaced on every use), so every refresh token of this sign-in is now revoked. Sign in again.");
    }
    if (grant.status !== "pending") {
      throw oauthError("refreshTokenRevoked", "The refresh token has been revoked (the session ended, or a used refresh token of the same sign-in was presented again). Sign in again.");
    }
    if (grant.clientId !== client.clientId) {
      throw oauthError("codeClientMismatch", `The refresh token was issued to a different client than '${client.clientId}'. Refresh it with the client it was issued to.`);
    }
    const details = grant.details as unknown as RefreshTokenDetails;
    const scope = param(form, "scope") === undefined ? parseScope(details.scope) : scopeOf(form, false);
    // Refresh tokens work across tenants, as Entra's do: the home account is re-resolved in the
    // tenant asked for now (home, a tenant where it is a guest, or a delegated-admin customer).
    // A user disabled or deleted since is refused here.
    const user = await this.#principals.resolve(tenant, { homeTenantId: details.homeTenantId, homeObjectId: details.homeObjectId }, this.#now());
    if (!(await this.#ctx.store.grants.transition(grant.handleHash, "pending", "redeemed"))) {
      await this.#revokeFamily(grant, "a refresh token was used twice at once");
      throw oauthError("refreshTokenRevoked", "The refresh token was already used (refresh tokens are replaced on every use), so every refresh token of this sign-in is now revoked. Sign in again.");
    }
    return this.#userTokens(tenant, user, client.clientId, scope, form, undefined, ["pwd"], grant.familyId ?? randomUUID());
  }

  #checkLive(grant: Grant, what: string): void {
    if (grant.expiresAt <= this.#now()) {
      throw oauthError("codeExpired", `The provided ${what} has expired due to inactivity. Sign in again.`);
    }
  }

  // --- authorization code + PKCE -------------------------------------------------------------

  /**
   * Validates an authorization request. Errors about the client or the redirect URI cannot be
   * sent to the redirect URI (it is not trusted yet), so they are AuthorizePageError; the rest go
   * back to the client as AuthorizeRedirectError.
   */
  async authorizeRequest(tenantSegment: string, q: FormParams): Promise<AuthorizeRequest> {
    let tenant: Tenant;
    let clientId: string;
    let redirectUri: string;
    let client: UserFlowClient;
    try {
      const multi = multiTenantAuthority(tenantSegment);
      // organizations/common: the tenant is the signing-in user's home tenant, known after sign-in.
      tenant = multi && multi !== "consumers"
        ? { id: multi, displayName: "your organization", domain: multi, createdAt: 0 }
        : await this.tenant(tenantSegment);
      clientId = required(q, "client_id").toLowerCase();
      redirectUri = required(q, "redirect_uri");
      client = await this.userFlowClientById(tenant, clientId, {}, tenantSegment);
    } catch (error) {
      if (error instanceof OAuthError) throw new AuthorizePageError(error);
      throw error;
    }
    const wellKnown = WELL_KNOWN_CLIENTS.get(client.clientId);
    // Registered apps have no redirect URI list in the store; they may use loopback redirects
    // (native apps, RFC 8252) only. Well-known clients have their own fixed rules.
    const allowed = wellKnown ? wellKnown.allowsRedirect(redirectUri, this.#ctx.baseUrl()) : isLoopbackRedirect(redirectUri);
    if (!allowed) {
      throw new AuthorizePageError(oauthError("redirectMismatch", `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${client.clientId}'. ${wellKnown?.clientId === OPENPAL_PORTAL_CLIENT_ID ? `Use a URI under ${this.#ctx.baseUrl()}/portal/.` : "Use a loopback URI such as http://localhost:<port>/."}`));
    }
    const modeRaw = param(q, "response_mode") ?? "query";
    const responseMode = modeRaw === "fragment" || modeRaw === "form_post" ? modeRaw : "query";
    const state = param(q, "state");
    const back = { redirectUri, state, responseMode } as const;
    const responseType = param(q, "response_type");
    if (responseType !== "code") {
      throw new AuthorizeRedirectError("unsupported_response_type", `AADSTS700054: response_type '${responseType ?? ""}' is not enabled for the application; use response_type=code.`, back);
    }
    const codeChallenge = param(q, "code_challenge");
    const method = param(q, "code_challenge_method");
    if (!codeChallenge || method !== "S256") {
      throw new AuthorizeRedirectError("invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required: send code_challenge with code_challenge_method=S256.", back);
    }
    if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) {
      throw new AuthorizeRedirectError("invalid_request", "AADSTS501481: The code_challenge must be the base64url SHA-256 of the code_verifier (43 characters).", back);
    }
    let scope: ParsedScope;
    try {
      scope = parseScope(param(q, "scope") ?? "openid profile offline_access");
    } catch (error) {
      throw new AuthorizeRedirectError("invalid_scope", `AADSTS70011: ${(error as Error).message}`, back);
    }
    return {
      tenant, clientId: client.clientId, clientName: client.displayName, redirectUri, responseMode, scope, state,
      nonce: param(q, "nonce"), codeChallenge, loginHint: param(q, "login_hint"),
    };
  }

  /** Signs the user in for an authorization request and returns a one-time code. */
  async issueAuthorizationCode(request: AuthorizeRequest, upn: string, password: string, source?: string): Promise<string> {
    const now = this.#now();
    let tenant = request.tenant;
    if (multiTenantAuthority(tenant.id)) {
      const member = await this.#ctx.store.directory.findMemberByUpn(upn.trim());
      const home = member ? await this.#ctx.store.directory.getTenant(member.tenantId) : undefined;
      if (!home) throw oauthError("userNotFound", `User account '${upn}' does not exist in any directory of this server. Check the user name.`);
      tenant = home;
    }
    const user = await this.#principals.signIn(tenant, upn, password, now, source);
    const code = newHandle(64);
    const details: Record<string, unknown> = {
      homeTenantId: user.homeTenantId, homeObjectId: user.homeObjectId, redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge, scope: request.scope.requested.join(" "), nonce: request.nonce ?? null,
    };
    await this.#ctx.store.grants.add({
      tenantId: tenant.id, handleHash: handleHash(code), kind: "authorization_code", clientId: request.clientId,
      userCode: null, status: "approved", objectId: user.objectId, details, createdAt: now, expiresAt: now + AUTHORIZATION_CODE_LIFETIME_MS,
      familyId: randomUUID(),
    });
    return code;
  }

  async #authorizationCode(tenant: Tenant, form: FormParams, req: TokenRequestContext): Promise<TokenResponse> {
    const client = await this.#userFlowClient(tenant, form, req);
    const code = required(form, "code");
    const redirectUri = required(form, "redirect_uri");
    const grant = await this.#ctx.store.grants.get(handleHash(code));
    if (!grant || grant.kind !== "authorization_code" || grant.tenantId !== tenant.id) {
      throw oauthError("invalidGrant", "The provided value for the 'code' parameter is not valid. Start the sign-in again to get a new code.");
    }
    if (grant.status === "redeemed" || grant.status === "revoked") {
      // A replayed code: the refresh tokens it produced can no longer be trusted (RFC 9700 §4.5).
      if (grant.status === "redeemed") await this.#revokeFamily(grant, "an authorization code was replayed");
      throw oauthError("codeRedeemed", "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token. The tokens issued for it are revoked.");
    }
    this.#checkLive(grant, "authorization code");
    const details = grant.details as { homeTenantId: string; homeObjectId: string; redirectUri: string; codeChallenge: string; scope: string; nonce: string | null };
    if (grant.clientId !== client.clientId) {
      throw oauthError("codeClientMismatch", `The authorization code was issued to a different client than '${client.clientId}'.`);
    }
    if (details.redirectUri !== redirectUri) {
      throw oauthError("redirectMismatch", "The redirect_uri must be the one sent in the authorization request.");
    }
    const verifier = param(form, "code_verifier");
    if (!verifier) throw oauthError("pkceRequired", "The request body must contain the following parameter: 'code_verifier' (PKCE is required).");
    if (createHash("sha256").update(verifier).digest("base64url") !== details.codeChallenge) {
      throw oauthError("pkceMismatch", "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.");
    }
    const user = await this.#principals.resolve(tenant, details, this.#now());
    if (!(await this.#ctx.store.grants.transition(grant.handleHash, "approved", "redeemed"))) {
      await this.#revokeFamily(grant, "an authorization code was redeemed twice at once");
      throw oauthError("codeRedeemed", "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.");
    }
    // The scope of the token is the one the user consented to at /authorize.
    const requestedScope = param(form, "scope");
    const scope = requestedScope ? scopeOf(form, false) : parseScope(details.scope);
    return this.#userTokens(tenant, user, client.clientId, scope, form, details.nonce ?? undefined, ["pwd"], grant.familyId ?? randomUUID());
  }

  // --- device code ---------------------------------------------------------------------------

  async deviceAuthorization(tenantSegment: string, form: FormParams): Promise<DeviceCodeResponse> {
    const multi = multiTenantAuthority(tenantSegment);
    if (multi === "organizations" || multi === "common") {
      throw oauthError("noTenantIdentified", `No tenant-identifying information found in either the request or implied by any provided credentials. Device code sign-in on this server needs a tenant: use /{tenant-id}/oauth2/v2.0/devicecode instead of /${multi}/.`);
    }
    const tenant = await this.tenant(tenantSegment);
    const clientId = required(form, "client_id").toLowerCase();
    const client = await this.userFlowClientById(tenant, clientId, {}, tenantSegment);
    const scope = scopeOf(form, false);
    const deviceCode = newHandle();
    const userCode = Array.from({ length: 9 }, () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]).join("");
    const now = this.#now();
    await this.#ctx.store.grants.add({
      tenantId: tenant.id, handleHash: handleHash(deviceCode), kind: "device_code", clientId: client.clientId, userCode,
      status: "pending", objectId: null, details: { scope: scope.requested.join(" ") }, createdAt: now,
      expiresAt: now + DEVICE_CODE_LIFETIME_SECONDS * 1000, familyId: randomUUID(),
    });
    const verificationUri = `${this.#ctx.baseUrl()}/devicelogin`;
    return {
      user_code: userCode,
      device_code: deviceCode,
      verification_uri: verificationUri,
      expires_in: DEVICE_CODE_LIFETIME_SECONDS,
      interval: DEVICE_CODE_INTERVAL_SECONDS,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
    };
  }

  /** The pending device code a user typed, or an explanation for the page. */
  async pendingDeviceCode(userCode: string): Promise<Grant> {
    const normalized = userCode.replace(/[\s-]/g, "").toUpperCase();
    const grant = await this.#ctx.store.grants.findByUserCode(normalized);
    if (!grant || grant.status !== "pending") {
      throw oauthError("deviceCodeInvalid", "The code you entered is not valid or was already used. Check the code shown by the application, or start its sign-in again.");
    }
    if (grant.expiresAt <= this.#now()) {
      throw oauthError("deviceCodeExpired", "The code you entered has expired. Start the sign-in in the application again to get a new code.");
    }
    return grant;
  }

  /** The user at /devicelogin signs in (approves) or declines a device code. */
  async completeDeviceCode(userCode: string, decision: { approve: true; upn: string; password: string } | { approve: false }, source?: string): Promise<{ tenant: Tenant; user?: UserSubject }> {
    const grant = await this.pendingDeviceCode(userCode);
    const tenant = await this.tenant(grant.tenantId);
    if (!decision.approve) {
      await this.#ctx.store.grants.transition(grant.handleHash, "pending", "denied");
      return { tenant };
    }
    const user = await this.#principals.signIn(tenant, decision.upn, decision.password, this.#now(), source);
    const account: HomeAccount = { homeTenantId: user.homeTenantId, homeObjectId: user.homeObjectId };
    const moved = await this.#ctx.store.grants.transitionWithDetails(grant.handleHash, "pending", "approved", user.objectId, { ...grant.details, ...account });
    if (!moved) throw oauthError("deviceCodeInvalid", "This code was already used. Start the sign-in in the application again.");
    return { tenant, user };
  }

  async #deviceCode(tenant: Tenant, form: FormParams, req: TokenRequestContext): Promise<TokenResponse> {
    const client = await this.#userFlowClient(tenant, form, req);
    const deviceCode = param(form, "device_code") ?? param(form, "code");
    if (!deviceCode) throw oauthError("missingParameter", "The request body must contain the following parameter: 'device_code'.");
    const grant = await this.#ctx.store.grants.get(handleHash(deviceCode));
    if (!grant || grant.kind !== "device_code" || grant.tenantId !== tenant.id) {
      throw oauthError("deviceCodeInvalid", "The provided value for the input parameter 'device_code' is not valid. Request a new device code.");
    }
    if (grant.clientId !== client.clientId) {
      throw oauthError("codeClientMismatch", `The device code was issued to a different client than '${client.clientId}'.`);
    }
    if (grant.status === "redeemed" || grant.status === "revoked") {
      if (grant.status === "redeemed") await this.#revokeFamily(grant, "a device code was replayed");
      throw oauthError("codeRedeemed", "The device code was already redeemed. Request a new device code.");
    }
    if (grant.expiresAt <= this.#now()) {
      throw oauthError("deviceCodeExpired", "The provided value for the input parameter 'device_code' is not valid. This device code has expired; request a new one.");
    }
    if (grant.status === "pending") {
      throw oauthError("authorizationPending", "The provided request has not yet been authorized by the user. The user must input their code.");
    }
    if (grant.status !== "approved") {
      throw oauthError("authorizationDeclined", "The user declined the sign-in request.");
    }
    const details = grant.details as unknown as { scope: string } & HomeAccount;
    const user = await this.#principals.resolve(tenant, details, this.#now());
    if (!(await this.#ctx.store.grants.transition(grant.handleHash, "approved", "redeemed"))) {
      await this.#revokeFamily(grant, "a device code was redeemed twice at once");
      throw oauthError("codeRedeemed", "The device code was already redeemed. Request a new device code.");
    }
    return this.#userTokens(tenant, user, client.clientId, parseScope(details.scope), form, undefined, ["pwd"], grant.familyId ?? randomUUID());
  }

  // --- end session ---------------------------------------------------------------------------

  /**
   * Ends the session an id token names (`id_token_hint` at the logout endpoint): revokes every
   * refresh token of its family (`sid`). The hint must be an id token this server signed for the
   * tenant; an expired one is accepted (OpenID Connect RP-Initiated Logout allows it). Returns how
   * many grants were revoked; a hint that is not ours is refused.
   */
  /** Revokes the refresh tokens of the session the ID token names; `tenant` undefined = any tenant (organizations/common). */
  async endSession(tenant: Tenant | undefined, idTokenHint: string): Promise<number> {
    let claims: ReturnType<typeof decodeJwt>;
    try {
      const header = decodeProtectedHeader(idTokenHint);
      const key = header.alg === "RS256" && header.kid ? await this.#keys.publicKey(header.kid) : undefined;
      if (!key) throw new Error("unknown key");
      await compactVerify(idTokenHint, key, { algorithms: ["RS256"] });
      claims = decodeJwt(idTokenHint);
    } catch {
      throw oauthError("invalidGrant", "The id_token_hint is not an ID token issued by this server; send the ID token of the session to end, or leave id_token_hint out.");
    }
    const tid = tenant?.id ?? String(claims.tid);
    if (claims.tid !== tid || claims.iss !== this.#issuerFor(tid)) {
      throw oauthError("invalidGrant", `The id_token_hint was issued for another tenant; send it to the logout endpoint of tenant ${String(claims.tid)}.`);
    }
    if (typeof claims.sid !== "string") return 0;
    return this.#ctx.store.grants.revokeFamily(claims.sid);
  }
}
