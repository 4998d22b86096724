/**
 * Confidential client authentication at the token endpoint: a client secret (form `client_secret`
 * or HTTP Basic) or a client assertion (RFC 7523 JWT signed by a certificate registered on the
 * application). Applications are global; their credentials live on the application.
 */
import { createHash, X509Certificate } from "node:crypto";
import { decodeProtectedHeader, errors as joseErrors, importX509, jwtVerify } from "jose";
import type { Application, ApplicationCertificate, DirectoryStore } from "../store/index.ts";
import { verifyCredentialAsync } from "./credentials.ts";
import { oauthError } from "./errors.ts";

export const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const ASSERTION_ALGORITHMS = ["RS256", "PS256"];
/** Clock skew allowed on client assertions (Entra allows a few minutes). */
const ASSERTION_SKEW_SECONDS = 300;

export interface ClientCredentialInput {
  readonly clientSecret?: string;
  readonly clientAssertion?: string;
  readonly clientAssertionType?: string;
}

/** base64url SHA-1 and SHA-256 thumbprints of a PEM certificate (the `x5t` / `x5t#S256` values). */
export function certificateThumbprints(pem: string): { sha1: string; sha256: string } {
  const der = new X509Certificate(pem).raw;
  return {
    sha1: createHash("sha1").update(der).digest("base64url"),
    sha256: createHash("sha256").update(der).digest("base64url"),
  };
}

export function hasClientCredential(input: ClientCredentialInput): boolean {
  return Boolean(input.clientSecret || input.clientAssertion);
}

/**
 * Authenticates `app` with the presented credential. `tokenEndpoints` are the URLs a client may
 * put in the assertion's `aud` (the endpoint by tenant id and by domain). Returns which kind of
 * credential was used (the `appidacr` of the token).
 */
export async function authenticateClient(
  directory: DirectoryStore,
  app: Application,
  input: ClientCredentialInput,
  opts: { now: number; tokenEndpoints: readonly string[] },
): Promise<"secret" | "certificate"> {
  if (input.clientAssertion !== undefined) {
    if (input.clientAssertionType !== JWT_BEARER_ASSERTION) {
      throw oauthError("assertionType", `client_assertion_type must be '${JWT_BEARER_ASSERTION}'.`);
    }
    await verifyAssertion(directory, app, input.clientAssertion, opts);
    return "certificate";
  }
  if (input.clientSecret !== undefined) {
    const secrets = await directory.listSecrets(app.appId);
    let match: (typeof secrets)[number] | undefined;
    for (const s of secrets) {
      if (await verifyCredentialAsync(input.clientSecret, s.secretHash)) {
        match = s;
        break;
      }
    }
    if (!match) {
      throw oauthError("invalidClientSecret", `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.appId}'.`);
    }
    if (match.expiresAt !== null && match.expiresAt <= opts.now) {
      throw oauthError("expiredClientSecret", `The provided client secret keys for app '${app.appId}' are expired. Create a new secret for the app and use it instead.`);
    }
    return "secret";
  }
  throw oauthError("clientAuthRequired", "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
}

async function verifyAssertion(directory: DirectoryStore, app: Application, assertion: string, opts: { now: number; tokenEndpoints: readonly string[] }): Promise<void> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw oauthError("assertionMalformed", "The client assertion is not a well-formed JWT.");
  }
  if (!header.alg || !ASSERTION_ALGORITHMS.includes(header.alg)) {
    throw oauthError("assertionSignature", `The client assertion's algorithm '${String(header.alg)}' is not supported; sign it with RS256 or PS256.`);
  }
  const x5t = typeof header.x5t === "string" ? header.x5t : undefined;
  const x5tS256 = typeof header["x5t#S256"] === "string" ? (header["x5t#S256"] as string) : undefined;
  if (!x5t && !x5tS256) {
    throw oauthError("assertionSignature", "The client assertion's header has neither 'x5t' nor 'x5t#S256'; name the certificate that signed it.");
  }
  const certificates = await directory.listCertificates(app.appId);
  const cert: ApplicationCertificate | undefined = certificates.find((c) =>
    (x5tS256 !== undefined && c.thumbprintSha256 === x5tS256) || (x5t !== undefined && c.thumbprintSha1 === x5t));
  if (!cert) {
    throw oauthError("assertionSignature", `The certificate with identifier used to sign the client assertion is not registered on application '${app.appId}'. Upload the certificate to the app registration.`);
  }
  if (cert.expiresAt !== null && cert.expiresAt <= opts.now) {
    throw oauthError("assertionSignature", `The certificate used to sign the client assertion expired on ${new Date(cert.expiresAt).toISOString()}; register a current certificate on application '${app.appId}'.`);
  }
  try {
    const key = await importX509(cert.certificatePem, header.alg);
    await jwtVerify(assertion, key, {
      algorithms: ASSERTION_ALGORITHMS,
      audience: [...opts.tokenEndpoints],
      issuer: app.appId,
      subject: app.appId,
      clockTolerance: ASSERTION_SKEW_SECONDS,
      currentDate: new Date(opts.now),
      requiredClaims: ["exp", "jti", "aud", "iss", "sub"],
    });
  } catch (error) {
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw oauthError("assertionSignature", "Client assertion failed signature validation.");
    }
    if (error instanceof joseErrors.JWTExpired) {
      throw oauthError("assertionTime", "Client assertion is not within its valid time range (it has expired); sign a new one.");
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      if (error.claim === "nbf" || error.claim === "iat") throw oauthError("assertionTime", "Client assertion is not within its valid time range (nbf is in the future).");
      if (error.claim === "iss" || error.claim === "sub") throw oauthError("assertionIssuer", `Client assertion application identifier doesn't match 'client_id' parameter; iss and sub must both be '${app.appId}'.`);
      if (error.claim === "aud") throw oauthError("assertionMalformed", `The client assertion's audience must be the token endpoint, ${opts.tokenEndpoints[0] ?? ""}.`);
      throw oauthError("assertionMalformed", `The client assertion has no valid '${error.claim}' claim.`);
    }
    throw oauthError("assertionSignature", "Client assertion failed signature validation.");
  }
}
