/**
 * Bearer authentication for other components: extracts `Authorization: Bearer <token>` and asks
 * the verifier for the Caller. Framework-light on purpose (takes the header value, or anything with
 * `headers.authorization`), so the ARM layer builds its own 401 shape on top of the reason.
 *
 * @example
 * try {
 *   const caller = await bearerCaller(identity.verifier, req, ["https://management.azure.com/"]);
 * } catch (e) {
 *   if (e instanceof TokenVerificationError) { // e.reason: "missing" | "expired" | …
 *   }
 * }
 */
import { TokenVerificationError, type Caller, type TokenVerifier } from "./verifier.ts";

export interface HasAuthorizationHeader {
  readonly headers: { readonly authorization?: string | string[] | undefined };
}

/** The token of an `Authorization: Bearer` header value; throws "missing"/"malformed". */
export function bearerToken(authorization: string | string[] | undefined): string {
  if (Array.isArray(authorization)) throw new TokenVerificationError("malformed", "Send one Authorization header.");
  if (!authorization || authorization.trim() === "") {
    throw new TokenVerificationError("missing", "The request has no Authorization header; send 'Authorization: Bearer <access token>'.");
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
  if (!match?.[1]) {
    throw new TokenVerificationError("malformed", "The Authorization header must be 'Bearer <access token>'.");
  }
  return match[1];
}

/** Verifies the request's bearer token for one of `audiences` and returns the caller. */
export async function bearerCaller(verifier: TokenVerifier, req: HasAuthorizationHeader | string | undefined, audiences: readonly string[]): Promise<Caller> {
  const header = typeof req === "string" || req === undefined ? req : req.headers.authorization;
  return verifier.authenticate(bearerToken(header), audiences);
}
