/**
 * Bearer authentication of ARM requests: the token must be one this server issued, for the ARM
 * audience. Every 401 carries a `WWW-Authenticate` challenge pointing at the authority of the
 * token's tenant (or `common` when the tenant is unknown), as ARM does, so that clients know
 * where to get a token.
 */
import { decodeJwt } from "jose";
import { TokenVerificationError, type Caller, type TokenVerifier } from "../identity/index.ts";
import { formatArmTime } from "../domain/time.ts";
import { isGuid } from "../domain/ids.ts";
import { armError, type ArmError } from "./errors.ts";

/** Audiences ARM accepts: both resource URIs Azure uses, with and without the trailing slash. */
export const ARM_AUDIENCES: readonly string[] = Object.freeze([
  "https://management.azure.com/", "https://management.core.windows.net/",
  "https://management.azure.com", "https://management.core.windows.net",
]);

export function challenge(baseUrl: string, tenantId: string | undefined, description: string): Record<string, string> {
  const authority = `${baseUrl}/${tenantId ?? "common"}`;
  // Quotes would end the quoted-string early; the descriptions are our own text, but be safe.
  const safe = description.replace(/["\\]/g, "'");
  return { "www-authenticate": `Bearer authorization_uri="${authority}", error="invalid_token", error_description="${safe}"` };
}

/** The tenant a token claims, read without verifying, only to address the challenge. */
function claimedTenant(token: string): string | undefined {
  try {
    const tid = decodeJwt(token).tid;
    return typeof tid === "string" && isGuid(tid) ? tid.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies the `Authorization` header; resolves the caller or throws a 401 ArmError. */
export async function authenticateArmRequest(
  authorization: string | undefined, verifier: TokenVerifier, baseUrl: string, now: number,
): Promise<Caller> {
  if (!authorization) {
    throw armError("AuthenticationFailed", { problem: "is missing" }, challenge(baseUrl, undefined, "The access token is missing."));
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) {
    throw armError("AuthenticationFailed", { problem: "is provided in an invalid format" },
      challenge(baseUrl, undefined, "The Authorization header is not a Bearer token."));
  }
  const token = match[1] as string;
  try {
    return await verifier.authenticate(token, ARM_AUDIENCES);
  } catch (error) {
    if (!(error instanceof TokenVerificationError)) throw error;
    // Only a refused token needs its claimed tenant, to address the challenge.
    throw tokenError(error, token, baseUrl, claimedTenant(token), now);
  }
}

function tokenError(error: TokenVerificationError, token: string, baseUrl: string, tid: string | undefined, now: number): ArmError {
  if (error.reason === "expired") {
    let expiry = "unknown";
    try {
      const exp = decodeJwt(token).exp;
      if (typeof exp === "number") expiry = formatArmTime(exp * 1000);
    } catch {
      // The verifier already decoded it; an unreadable exp only loses detail.
    }
    return armError("ExpiredAuthenticationToken", { expiry, now: formatArmTime(now) }, challenge(baseUrl, tid, "The access token has expired."));
  }
  return armError("InvalidAuthenticationToken", { reason: error.message }, challenge(baseUrl, tid, error.message));
}
