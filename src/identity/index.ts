/**
 * Identity platform: per-tenant OIDC discovery, JWKS, the token endpoint and sign-in pages, and
 * the verifier every protected route uses. Public face of the component.
 */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../server/context.ts";
import { KeyRing } from "./keys.ts";
import { TokenVerifier } from "./verifier.ts";

export { KeyRing } from "./keys.ts";
export { hashPassword, hashClientSecret, verifyCredential, newClientSecret } from "./credentials.ts";
export { TokenVerifier, TokenVerificationError, ALLOWED_ALGORITHMS, type Caller, type AccessTokenClaims, type VerifyFailure } from "./verifier.ts";

export interface Identity {
  readonly keys: KeyRing;
  readonly verifier: TokenVerifier;
  /** The issuer of tokens for a tenant: `<base>/<tenantId>/v2.0`. */
  issuerFor(tenantId: string): string;
  /** Registers the identity routes (discovery, JWKS, token, sign-in pages). */
  register(app: FastifyInstance): Promise<void>;
}

export async function createIdentity(ctx: AppContext): Promise<Identity> {
  const keys = new KeyRing(ctx.store.signingKeys, ctx.clock, ctx.options.tokenLifetimeSeconds);
  await keys.init();
  const issuerFor = (tenantId: string): string => `${ctx.baseUrl()}/${tenantId}/v2.0`;
  const verifier = new TokenVerifier(keys, ctx.clock, issuerFor);
  return {
    keys,
    verifier,
    issuerFor,
    async register(app) {
      const { registerIdentityRoutes } = await import("./routes.ts");
      await registerIdentityRoutes(app, { ctx, keys, issuerFor });
    },
  };
}
