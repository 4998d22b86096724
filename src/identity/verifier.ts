/**
 * The token verifier used by every protected route. A token is accepted only if all hold:
 * - it is a JWS signed with RS256 (the allow-list; `none`, HS256 and others are refused, which
 *   defeats the "HS256 signed with the public key" confusion);
 * - its `kid` names one of our published keys and the signature verifies against it;
 * - `iss` is this server's issuer for the token's own `tid`;
 * - `aud` is one of the audiences the route accepts;
 * - `exp` / `nbf` hold, with a small clock skew.
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import type { KeyRing } from "./keys.ts";
import type { Clock } from "../domain/time.ts";

export const ALLOWED_ALGORITHMS = ["RS256"] as const;
export const CLOCK_SKEW_SECONDS = 60;

/** The claims OpenPAL puts in access tokens (see docs/API.md, "Tokens"). */
export interface AccessTokenClaims extends JWTPayload {
  readonly tid: string;
  readonly oid: string;
  readonly sub: string;
  readonly ver: string;
  readonly idtyp: "app" | "user";
  readonly appid?: string;
  readonly azp?: string;
  /** Home tenant issuer, for guests and foreign principals. */
  readonly idp?: string;
  /** Home tenant of a guest or foreign principal. */
  readonly home_tid?: string;
  /** True for a delegated-admin (CSP/GDAP) user acting in a tenant where it has no object. */
  readonly foreign?: boolean;
  readonly upn?: string;
  readonly preferred_username?: string;
  readonly name?: string;
  readonly scp?: string;
  readonly roles?: string[];
}

export type VerifyFailure =
  | "missing"
  | "malformed"
  | "algorithm"
  | "unknown_key"
  | "signature"
  | "issuer"
  | "audience"
  | "expired"
  | "not_yet_valid"
  | "claims";

export class TokenVerificationError extends Error {
  readonly reason: VerifyFailure;
  constructor(reason: VerifyFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** The authenticated caller, as the ARM layer and providers see it. */
export interface Caller {
  readonly tenantId: string;
  readonly objectId: string;
  readonly principalType: "User" | "ServicePrincipal";
  /** A delegated-admin user with no object in this tenant. */
  readonly foreign: boolean;
  readonly appId: string | undefined;
  readonly homeTenantId: string | undefined;
  readonly claims: AccessTokenClaims;
}

/** How many verified tokens are remembered (oldest forgotten first). */
const VERIFIED_CACHE_SIZE = 10_000;

export class TokenVerifier {
  readonly #keys: KeyRing;
  readonly #clock: Clock;
  readonly #issuerFor: (tenantId: string) => string;
  /**
   * Tokens whose signature and issuer were verified, by their exact text. A token's signature and
   * issuer cannot change, so a repeat request skips the RSA verification; expiry, not-before and
   * audience are still checked on every use.
   */
  readonly #verified = new Map<string, AccessTokenClaims>();

  constructor(keys: KeyRing, clock: Clock, issuerFor: (tenantId: string) => string) {
    this.#keys = keys;
    this.#clock = clock;
    this.#issuerFor = issuerFor;
  }

  /** Verifies a bearer token for one of `audiences`; throws TokenVerificationError. */
  async verify(token: string, audiences: readonly string[]): Promise<AccessTokenClaims> {
    const known = this.#verified.get(token);
    if (known) return this.#checkTimesAndAudience(known, audiences);
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new TokenVerificationError("malformed", "The access token is not a well-formed JWT.");
    }
    if (!header.alg || !(ALLOWED_ALGORITHMS as readonly string[]).includes(header.alg)) {
      throw new TokenVerificationError("algorithm", `The access token's algorithm "${String(header.alg)}" is not allowed; tokens must be RS256.`);
    }
    if (!header.kid) throw new TokenVerificationError("unknown_key", "The access token has no key id (kid).");
    const key = await this.#keys.publicKey(header.kid);
    if (!key) throw new TokenVerificationError("unknown_key", "The access token was signed by a key this server does not publish.");
    const tid = typeof unverified.tid === "string" ? unverified.tid : undefined;
    if (!tid) throw new TokenVerificationError("claims", "The access token has no tid claim.");
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [...ALLOWED_ALGORITHMS],
        issuer: this.#issuerFor(tid),
        audience: [...audiences],
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: new Date(this.#clock.now()),
        requiredClaims: ["exp", "iat", "oid", "sub"],
      });
      if (this.#verified.size >= VERIFIED_CACHE_SIZE) {
        const oldest = this.#verified.keys().next().value;
        if (oldest !== undefined) this.#verified.delete(oldest);
      }
      this.#verified.set(token, payload as AccessTokenClaims);
      return payload as AccessTokenClaims;
    } catch (error) {
      throw translate(error);
    }
  }

  /** The per-use checks of a token whose signature was verified before. */
  #checkTimesAndAudience(claims: AccessTokenClaims, audiences: readonly string[]): AccessTokenClaims {
    const now = this.#clock.now() / 1000;
    if (typeof claims.exp === "number" && now - CLOCK_SKEW_SECONDS >= claims.exp) {
      throw new TokenVerificationError("expired", "The access token has expired.");
    }
    if (typeof claims.nbf === "number" && now + CLOCK_SKEW_SECONDS < claims.nbf) {
      throw new TokenVerificationError("not_yet_valid", "The access token is not valid yet (nbf).");
    }
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.some((a) => typeof a === "string" && audiences.includes(a))) {
      throw new TokenVerificationError("audience", "The access token's audience is not accepted here.");
    }
    return claims;
  }

  /** Verifies and turns the claims into a Caller. */
  async authenticate(token: string, audiences: readonly string[]): Promise<Caller> {
    const claims = await this.verify(token, audiences);
    return {
      tenantId: claims.tid,
      objectId: claims.oid,
      principalType: claims.idtyp === "app" ? "ServicePrincipal" : "User",
      foreign: claims.foreign === true,
      appId: claims.appid ?? claims.azp,
      homeTenantId: claims.home_tid,
      claims,
    };
  }
}

function translate(error: unknown): TokenVerificationError {
  if (error instanceof joseErrors.JWTExpired) return new TokenVerificationError("expired", "The access token has expired.");
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenVerificationError("signature", "The access token's signature is invalid.");
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new TokenVerificationError("algorithm", "The access token's algorithm is not allowed.");
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return new TokenVerificationError("issuer", "The access token's issuer is not this server's issuer for its tenant.");
    if (error.claim === "aud") return new TokenVerificationError("audience", "The access token's audience is not accepted here.");
    if (error.claim === "nbf") return new TokenVerificationError("not_yet_valid", "The access token is not valid yet (nbf).");
    return new TokenVerificationError("claims", `The access token's ${error.claim} claim is invalid.`);
  }
  return new TokenVerificationError("malformed", "The access token could not be verified.");
}
