/**
 * Identity platform: per-tenant OIDC discovery, JWKS, the token endpoint and sign-in pages, and
 * the verifier every protected route uses. Public face of the component.
 */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context/index.ts";
import { KeyRing } from "./keys.ts";
import type { KeyEncryptionKey } from "./key-protection.ts";
import type { GuessingPolicies } from "./throttle.ts";
import { TokenVerifier, type Caller } from "./verifier.ts";
import { TokenService } from "./service.ts";
import { bearerCaller, type HasAuthorizationHeader } from "./bearer.ts";

export { KeyRing, UNKNOWN_KID_RELOAD_MS } from "./keys.ts";
export { KeyEncryptionKey, KeyProtectionError, loadKeyEncryptionKey, KEK_ENV, KEK_FILE_NAME } from "./key-protection.ts";
export { hashPassword, hashPasswordAsync, hashClientSecret, verifyCredential, verifyCredentialAsync, newClientSecret } from "./credentials.ts";
export { TokenVerifier, TokenVerificationError, ALLOWED_ALGORITHMS, type Caller, type AccessTokenClaims, type VerifyFailure } from "./verifier.ts";
export { bearerCaller, bearerToken, type HasAuthorizationHeader } from "./bearer.ts";
export { certificateThumbprints } from "./client-auth.ts";
export {
  AZURE_CLI_CLIENT_ID, AZURE_POWERSHELL_CLIENT_ID, OPENPAL_PORTAL_CLIENT_ID, OPENPAL_CLI_CLIENT_ID, WELL_KNOWN_CLIENTS,
  parseScope, type ParsedScope,
} from "./clients.ts";
export { PLAYED_RESOURCES, PLAYED_RESOURCE_PATTERNS, playedAudience, type PlayedResource } from "./audiences.ts";
export { DEFAULT_GUESSING_POLICIES, NO_GUESSING_LIMITS, type GuessingPolicies } from "./throttle.ts";
export { OAUTH_ERRORS, OAuthError, sendOAuthError, type OAuthErrorBody, type OAuthErrorName } from "./errors.ts";
export type { TokenService, DeviceCodeResponse } from "./service.ts";
export type { TokenResponse } from "./tokens.ts";

export interface Identity {
  readonly keys: KeyRing;
  readonly verifier: TokenVerifier;
  /** The token service behind the endpoints (in-process issuance for tests and benches). */
  readonly tokens: TokenService;
  /** The issuer of tokens for a tenant: `<base>/<tenantId>/v2.0`. */
  issuerFor(tenantId: string): string;
  /**
   * The caller of a request with `Authorization: Bearer`, for a route accepting `audiences`.
   * Throws TokenVerificationError (reason "missing" when there is no bearer token).
   */
  authenticate(req: HasAuthorizationHeader, audiences: readonly string[]): Promise<Caller>;
  /** Registers the identity routes (discovery, JWKS, token, sign-in pages). */
  register(app: FastifyInstance): Promise<void>;
}

/**
 * `keyEncryptionKey` seals private signing keys at rest (see key-protection.ts); `guessingPolicies`
 * replace the lock-out and throttling defaults (benchmarks).
 */
export async function createIdentity(ctx: AppContext, keyEncryptionKey: KeyEncryptionKey, opts: { guessingPolicies?: GuessingPolicies } = {}): Promise<Identity> {
  const keys = new KeyRing(ctx.store.signingKeys, ctx.clock, ctx.options.tokenLifetimeSeconds, keyEncryptionKey);
  await keys.init();
  const issuerFor = (tenantId: string): string => `${ctx.baseUrl()}/${tenantId}/v2.0`;
  const verifier = new TokenVerifier(keys, ctx.clock, issuerFor);
  const tokens = new TokenService(ctx, keys, issuerFor, opts.guessingPolicies);
  return {
    keys,
    verifier,
    tokens,
    issuerFor,
    authenticate: (req, audiences) => bearerCaller(verifier, req, audiences),
    async register(app) {
      const { registerIdentityRoutes } = await import("./routes.ts");
      await registerIdentityRoutes(app, { ctx, keys, issuerFor, service: tokens });
    },
  };
}
