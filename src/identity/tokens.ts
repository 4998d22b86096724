/**
 * Token minting: access tokens, id tokens, client_info and refresh tokens. Pure of HTTP; the token
 * endpoint decides WHO gets a token, this module decides WHAT the token says.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Tenant, ServicePrincipal, GrantStore } from "../store/index.ts";
import type { Clock } from "../domain/time.ts";
import type { KeyRing } from "./keys.ts";
import type { AccessTokenClaims } from "./verifier.ts";
import type { ParsedScope } from "./clients.ts";
import type { HomeAccount, UserSubject } from "./principals.ts";

/** Refresh tokens live 90 days of inactivity, as Entra's do; each use replaces the token. */
export const REFRESH_TOKEN_LIFETIME_MS = 90 * 24 * 3600 * 1000;

/** What a token response carries (field names as on the wire). */
export interface TokenResponse {
  token_type: "Bearer";
  scope: string;
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  client_info?: string;
}

export interface UserTokenRequest {
  readonly clientId: string;
  readonly scope: ParsedScope;
  readonly nonce?: string;
  readonly clientInfo: boolean;
  /** How the user proved who they are (the `amr` claim). */
  readonly amr: readonly string[];
  /**
   * The token family (one sign-in): the new refresh token joins it, and the id token carries it
   * as `sid`, so that ending the session (`id_token_hint` at logout) revokes the family.
   */
  readonly familyId: string;
}

/** Details stored with a refresh token (never the token itself: only its hash is kept). */
export interface RefreshTokenDetails extends HomeAccount {
  readonly scope: string;
}

/** SHA-256 (hex) of a grant handle; the store keeps only this. */
export function handleHash(handle: string): string {
  return createHash("sha256").update(handle).digest("hex");
}

/** A new opaque grant handle (refresh token, device code, authorization code). */
export function newHandle(bytes = 48): string {
  return randomBytes(bytes).toString("base64url");
}

export class TokenMinter {
  readonly #keys: KeyRing;
  readonly #clock: Clock;
  readonly #grants: GrantStore;
  readonly #lifetimeSeconds: number;
  readonly #issuerFor: (tenantId: string) => string;

  constructor(deps: { keys: KeyRing; clock: Clock; grants: GrantStore; lifetimeSeconds: number; issuerFor(tenantId: string): string }) {
    this.#keys = deps.keys;
    this.#clock = deps.clock;
    this.#grants = deps.grants;
    this.#lifetimeSeconds = deps.lifetimeSeconds;
    this.#issuerFor = deps.issuerFor;
  }

  #times(): { iat: number; nbf: number; exp: number } {
    const iat = Math.floor(this.#clock.now() / 1000);
    return { iat, nbf: iat, exp: iat + this.#lifetimeSeconds };
  }

  /** An app-only token for a service principal (client credentials). */
  async appToken(tenant: Tenant, sp: ServicePrincipal, scope: ParsedScope, credentialKind: "secret" | "certificate"): Promise<TokenResponse> {
    const acr = credentialKind === "secret" ? "1" : "2";
    const claims: AccessTokenClaims = {
      aud: scope.audience,
      iss: this.#issuerFor(tenant.id),
      ...this.#times(),
      appid: sp.appId,
      appidacr: acr,
      azp: sp.appId,
      azpacr: acr,
      idtyp: "app",
      oid: sp.id,
      sub: sp.id,
      tid: tenant.id,
      uti: randomUUID(),
      ver: "2.0",
    };
    return this.#response(await this.#keys.sign(claims), scope.resourceScopes.join(" "));
  }

  /** Access token, id token, client_info and a new refresh token for a user. */
  async userTokens(tenant: Tenant, user: UserSubject, req: UserTokenRequest): Promise<TokenResponse> {
    const times = this.#times();
    const iss = this.#issuerFor(tenant.id);
    const crossTenant = user.kind !== "member";
    const access: AccessTokenClaims = {
      aud: req.scope.audience,
      iss,
      ...times,
      acct: user.kind === "member" ? 0 : 1,
      amr: [...req.amr],
      appid: req.clientId,
      appidacr: "0",
      azp: req.clientId,
      azpacr: "0",
      ...(crossTenant ? { idp: this.#issuerFor(user.homeTenantId), home_tid: user.homeTenantId } : {}),
      ...(user.kind === "foreign" ? { foreign: true } : {}),
      idtyp: "user",
      name: user.displayName,
      oid: user.objectId,
      preferred_username: user.userPrincipalName,
      scp: req.scope.scp,
      sub: user.objectId,
      tid: tenant.id,
      upn: user.userPrincipalName,
      uti: randomUUID(),
      ver: "2.0",
    };
    const idToken = {
      aud: req.clientId,
      iss,
      ...times,
      ...(crossTenant ? { idp: this.#issuerFor(user.homeTenantId), home_tid: user.homeTenantId } : {}),
      ...(user.kind === "foreign" ? { foreign: true } : {}),
      name: user.displayName,
      ...(req.nonce ? { nonce: req.nonce } : {}),
      oid: user.objectId,
      preferred_username: user.userPrincipalName,
      sid: req.familyId,
      sub: user.objectId,
      tid: tenant.id,
      ver: "2.0",
    };
    const scopeText = [...req.scope.resourceScopes, ...req.scope.requested.filter((s) => !req.scope.resourceScopes.includes(s))].join(" ");
    const response = this.#response(await this.#keys.sign(access), scopeText);
    response.id_token = await this.#keys.sign(idToken);
    // Entra's client_info names the HOME account (uid.utid), which MSAL uses as the account key
    // across tenants; for a member in its home tenant it is simply {oid, tid}.
    if (req.clientInfo) {
      response.client_info = Buffer.from(JSON.stringify({ uid: user.homeObjectId, utid: user.homeTenantId })).toString("base64url");
    }
    response.refresh_token = await this.newRefreshToken(tenant.id, req.clientId, { homeTenantId: user.homeTenantId, homeObjectId: user.homeObjectId, scope: req.scope.requested.join(" ") }, req.familyId);
    return response;
  }

  /** Stores a new refresh token (its hash) and returns the handle. */
  async newRefreshToken(tenantId: string, clientId: string, details: RefreshTokenDetails, familyId: string): Promise<string> {
    const handle = newHandle();
    const now = this.#clock.now();
    await this.#grants.add({
      tenantId, handleHash: handleHash(handle), kind: "refresh_token", clientId, userCode: null, status: "pending",
      objectId: details.homeObjectId, details: { ...details }, createdAt: now, expiresAt: now + REFRESH_TOKEN_LIFETIME_MS, familyId,
    });
    return handle;
  }

  #response(accessToken: string, scope: string): TokenResponse {
    return {
      token_type: "Bearer",
      scope,
      expires_in: this.#lifetimeSeconds,
      ext_expires_in: this.#lifetimeSeconds,
      access_token: accessToken,
    };
  }
}
