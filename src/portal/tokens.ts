/**
 * The portal as an OAuth client of this server's own identity platform: builds the authorization
 * request (code + PKCE S256), redeems the code, and gets ARM access tokens per tenant with the
 * session's refresh token. The token endpoint is called in-process (`app.inject`), exactly as a
 * client would call it over HTTPS: the portal goes through the public protocol, not around it.
 */
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { decodeJwt } from "jose";
import { OPENPAL_PORTAL_CLIENT_ID } from "../identity/index.ts";
import type { AccessToken, PendingLogin, PortalAccount, PortalSession, PortalSessionStore } from "./sessions.ts";

export const ARM_SCOPE = "https://management.azure.com/.default";
/** What the portal asks for at sign-in: ARM, a refresh token, and who the person is. */
export const SIGN_IN_SCOPE = `${ARM_SCOPE} offline_access openid profile`;
/** Renew an access token this long before it expires. */
const RENEW_BEFORE_MS = 5 * 60_000;

export const CALLBACK_PATH = "/portal/auth/callback";

/** A refusal from the token endpoint, in the identity's words (AADSTS code and description). */
export class TokenRefused extends Error {
  constructor(readonly status: number, readonly error: string, readonly aadsts: number | undefined, description: string) {
    super(description);
  }
}

interface TokenAnswer {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly expires_in: number;
}

export class PortalTokenClient {
  readonly #app: FastifyInstance;
  readonly #baseUrl: () => string;
  readonly #now: () => number;
  readonly #sessions: PortalSessionStore;

  constructor(app: FastifyInstance, baseUrl: () => string, now: () => number, sessions: PortalSessionStore) {
    this.#app = app;
    this.#baseUrl = baseUrl;
    this.#now = now;
    this.#sessions = sessions;
  }

  redirectUri(): string {
    return `${this.#baseUrl()}${CALLBACK_PATH}`;
  }

  /** Where the browser goes to sign in: the server's own authorize endpoint for the tenant. */
  authorizeUrl(login: PendingLogin, loginHint: string | undefined): string {
    const url = new URL(`${this.#baseUrl()}/${encodeURIComponent(login.tenant)}/oauth2/v2.0/authorize`);
    const challenge = createHash("sha256").update(login.codeVerifier).digest("base64url");
    const params: Record<string, string> = {
      client_id: OPENPAL_PORTAL_CLIENT_ID, redirect_uri: this.redirectUri(), response_type: "code", response_mode: "query",
      scope: SIGN_IN_SCOPE, state: login.state, nonce: login.nonce, code_challenge: challenge, code_challenge_method: "S256",
    };
    if (loginHint) params.login_hint = loginHint;
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  logoutUrl(tenantId: string): string {
    const url = new URL(`${this.#baseUrl()}/${encodeURIComponent(tenantId)}/oauth2/v2.0/logout`);
    url.searchParams.set("post_logout_redirect_uri", `${this.#baseUrl()}/portal/`);
    return url.toString();
  }

  /**
   * Ends the session at the identity (in-process, through its public logout endpoint with the
   * session's ID token as `id_token_hint`): every refresh token of the sign-in is revoked, so a
   * copy of one taken before sign-out is worthless. Throws TokenRefused if the identity refuses.
   */
  async endSession(session: PortalSession): Promise<void> {
    if (!session.idToken) return;
    // The hint names the tenant the ID token was issued in (the sign-in tenant).
    const tenant = String(decodeJwt(session.idToken).tid);
    const url = new URL(`${this.#baseUrl()}/${encodeURIComponent(tenant)}/oauth2/v2.0/logout`);
    url.searchParams.set("id_token_hint", session.idToken);
    const res = await this.#app.inject({ method: "GET", url: `${url.pathname}${url.search}` });
    if (res.statusCode >= 400) throw new TokenRefused(res.statusCode, "invalid_request", undefined, "The identity refused to end the session.");
  }

  async #token(tenant: string, form: Record<string, string>): Promise<TokenAnswer> {
    const res = await this.#app.inject({
      method: "POST", url: `/${encodeURIComponent(tenant)}/oauth2/v2.0/token`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams(form).toString(),
    });
    const body = res.json() as Record<string, unknown>;
    if (res.statusCode !== 200) {
      const codes = Array.isArray(body.error_codes) ? (body.error_codes as number[]) : [];
      const description = String(body.error_description ?? body.error ?? "the token endpoint refused the request").split("\r\n")[0] ?? "";
      throw new TokenRefused(res.statusCode, String(body.error ?? "invalid_request"), codes[0], description);
    }
    return body as unknown as TokenAnswer;
  }

  /** Redeems the authorization code of a pending sign-in. */
  async redeem(login: PendingLogin, code: string): Promise<{ account: PortalAccount; tenantId: string; refreshToken: string; accessToken: AccessToken; idToken: string }> {
    const answer = await this.#token(login.tenant, {
      grant_type: "authorization_code", client_id: OPENPAL_PORTAL_CLIENT_ID, code, redirect_uri: this.redirectUri(),
      code_verifier: login.codeVerifier, scope: SIGN_IN_SCOPE,
    });
    if (!answer.refresh_token || !answer.id_token) throw new TokenRefused(500, "server_error", undefined, "The token endpoint sent no refresh token or ID token.");
    const idClaims = decodeJwt(answer.id_token);
    // The ID token was just issued to us in-process; the nonce check still guards against a code
    // injected from another sign-in.
    if (idClaims.nonce !== login.nonce) throw new TokenRefused(400, "invalid_grant", undefined, "The sign-in answer does not belong to this sign-in (nonce mismatch). Sign in again.");
    const claims = decodeJwt(answer.access_token);
    const tenantId = String(claims.tid);
    const homeTenantId = String(claims.home_tid ?? claims.tid);
    const account: PortalAccount = {
      homeTenantId,
      homeObjectId: String(claims.oid),
      name: String(idClaims.name ?? claims.name ?? claims.upn ?? ""),
      username: String(idClaims.preferred_username ?? claims.upn ?? ""),
    };
    return { account, tenantId, refreshToken: answer.refresh_token, accessToken: this.#accessToken(answer), idToken: answer.id_token };
  }

  #accessToken(answer: TokenAnswer): AccessToken {
    return { token: answer.access_token, expiresAt: this.#now() + answer.expires_in * 1000 };
  }

  /**
   * An ARM access token for `tenantId` in this session: the cached one while it has more than five
   * minutes left, else a new one from the refresh token (which is replaced). Refreshes of one
   * session run one after another, on every server, because each use replaces the refresh token
   * (PortalSessionStore.refreshedToken holds the session's refresh lease).
   */
  async accessToken(session: PortalSession, tenantId: string): Promise<string> {
    const usable = (t: AccessToken | undefined): boolean => t !== undefined && t.expiresAt - RENEW_BEFORE_MS > this.#now();
    const cached = session.accessTokens.get(tenantId);
    if (cached && usable(cached)) return cached.token;
    return this.#sessions.refreshedToken(session, tenantId, usable, async (refreshToken) => {
      const answer = await this.#token(tenantId, {
        grant_type: "refresh_token", client_id: OPENPAL_PORTAL_CLIENT_ID, refresh_token: refreshToken, scope: `${ARM_SCOPE} offline_access`,
      });
      const claims = decodeJwt(answer.access_token);
      if (String(claims.tid) !== tenantId) throw new TokenRefused(400, "invalid_grant", undefined, `The token endpoint answered for tenant ${String(claims.tid)} instead of ${tenantId}.`);
      return { refreshToken: answer.refresh_token, accessToken: this.#accessToken(answer) };
    });
  }
}
