/**
 * The OAuth error catalog of the token service. Every refusal is one entry: an OAuth `error`, an
 * AADSTS number, an HTTP status and a message template, in the shape Entra ID sends, so that MSAL
 * and @azure/identity surface them to users exactly as they would surface Entra's:
 *
 *   {"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. …\r\n
 *    Trace ID: …\r\nCorrelation ID: …\r\nTimestamp: 2026-11-01 10:00:00Z","error_codes":[7000215],
 *    "timestamp":"2026-11-01 10:00:00Z","trace_id":"…","correlation_id":"…","error_uri":"…"}
 */
import { randomUUID } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

export interface OAuthErrorSpec {
  readonly error: string;
  readonly code: number;
  readonly status: number;
}

/** Catalog entries; the message is built by the factory so it can name the offending value. */
export const OAUTH_ERRORS = {
  tenantNotFound: { error: "invalid_request", code: 90002, status: 400 },
  invalidInstance: { error: "invalid_instance", code: 50049, status: 400 },
  noTenantIdentified: { error: "invalid_request", code: 50059, status: 400 },
  consumersNotEnabled: { error: "unauthorized_client", code: 700016, status: 400 },
  missingParameter: { error: "invalid_request", code: 900144, status: 400 },
  unsupportedGrantType: { error: "unsupported_grant_type", code: 70003, status: 400 },
  invalidScope: { error: "invalid_scope", code: 70011, status: 400 },
  clientCredentialsScope: { error: "invalid_scope", code: 1002012, status: 400 },
  duplicateParameter: { error: "invalid_request", code: 90014, status: 400 },
  unknownClient: { error: "unauthorized_client", code: 700016, status: 400 },
  invalidClientSecret: { error: "invalid_client", code: 7000215, status: 401 },
  expiredClientSecret: { error: "invalid_client", code: 7000222, status: 401 },
  clientAuthRequired: { error: "invalid_client", code: 7000218, status: 401 },
  publicClientNoCredentials: { error: "unauthorized_client", code: 700025, status: 400 },
  assertionSignature: { error: "invalid_client", code: 700027, status: 401 },
  assertionIssuer: { error: "invalid_client", code: 700021, status: 401 },
  assertionTime: { error: "invalid_client", code: 700024, status: 401 },
  assertionMalformed: { error: "invalid_client", code: 50027, status: 401 },
  assertionType: { error: "invalid_request", code: 70002, status: 400 },
  servicePrincipalDisabled: { error: "unauthorized_client", code: 7000112, status: 400 },
  invalidPassword: { error: "invalid_grant", code: 50126, status: 400 },
  userNotFound: { error: "invalid_grant", code: 50034, status: 400 },
  userDisabled: { error: "invalid_grant", code: 50057, status: 400 },
  userNotInTenant: { error: "invalid_grant", code: 50020, status: 400 },
  invalidGrant: { error: "invalid_grant", code: 9002313, status: 400 },
  codeExpired: { error: "invalid_grant", code: 70008, status: 400 },
  codeRedeemed: { error: "invalid_grant", code: 54005, status: 400 },
  codeClientMismatch: { error: "invalid_grant", code: 70000, status: 400 },
  redirectMismatch: { error: "invalid_grant", code: 50011, status: 400 },
  pkceMismatch: { error: "invalid_grant", code: 50148, status: 400 },
  pkceRequired: { error: "invalid_request", code: 9002325, status: 400 },
  refreshTokenInvalid: { error: "invalid_grant", code: 9002313, status: 400 },
  refreshTokenRevoked: { error: "invalid_grant", code: 50173, status: 400 },
  authorizationPending: { error: "authorization_pending", code: 70016, status: 400 },
  deviceCodeExpired: { error: "expired_token", code: 70019, status: 400 },
  authorizationDeclined: { error: "authorization_declined", code: 70000, status: 400 },
  deviceCodeInvalid: { error: "invalid_grant", code: 70000, status: 400 },
  accountLocked: { error: "invalid_grant", code: 50053, status: 400 },
  throttledClient: { error: "temporarily_unavailable", code: 50196, status: 429 },
  throttledUser: { error: "invalid_grant", code: 50196, status: 400 },
  resourceNotFound: { error: "invalid_resource", code: 500011, status: 400 },
  /** Entra's AADSTS90023 InvalidRequest: a request it cannot process (e.g. a NUL in a value). */
  invalidRequest: { error: "invalid_request", code: 90023, status: 400 },
} as const satisfies Record<string, OAuthErrorSpec>;

export type OAuthErrorName = keyof typeof OAUTH_ERRORS;

export class OAuthError extends Error {
  readonly spec: OAuthErrorSpec;
  override readonly name = "OAuthError";
  /** Seconds for a `Retry-After` header (throttling). */
  readonly retryAfterSeconds: number | undefined;
  constructor(which: OAuthErrorName, message: string, retryAfterSeconds?: number) {
    super(message);
    this.spec = OAUTH_ERRORS[which];
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function oauthError(which: OAuthErrorName, message: string, retryAfterSeconds?: number): OAuthError {
  return new OAuthError(which, message, retryAfterSeconds);
}

/** Entra's timestamp format in error bodies: "2026-11-01 10:00:00Z". */
function entraTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export interface OAuthErrorBody {
  readonly error: string;
  readonly error_description: string;
  readonly error_codes: number[];
  readonly timestamp: string;
  readonly trace_id: string;
  readonly correlation_id: string;
  readonly error_uri: string;
}

/**
 * The response body for an OAuth error. `traceId` is the request id (so a user can quote it and an
 * operator find the log line); the correlation id is the client's `client-request-id` when sent.
 */
export function oauthErrorBody(err: OAuthError, opts: { now: number; traceId: string; correlationId?: string; baseUrl: string }): OAuthErrorBody {
  const timestamp = entraTimestamp(opts.now);
  const correlationId = opts.correlationId ?? randomUUID();
  return {
    error: err.spec.error,
    error_description: `AADSTS${err.spec.code}: ${err.message}\r\nTrace ID: ${opts.traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [err.spec.code],
    timestamp,
    trace_id: opts.traceId,
    correlation_id: correlationId,
    error_uri: `${opts.baseUrl}/error?code=${err.spec.code}`,
  };
}

/**
 * Answers `err` as Entra does: its status (or `status`, for a transport error such as 413 or 415
 * that reached a token-service route), no caching, the client's `client-request-id` as the
 * correlation id.
 */
export function sendOAuthError(req: FastifyRequest, reply: FastifyReply, err: OAuthError, opts: { now: number; baseUrl: string; status?: number }): FastifyReply {
  const correlation = req.headers["client-request-id"];
  if (err.retryAfterSeconds !== undefined) reply.header("retry-after", String(err.retryAfterSeconds));
  return reply.code(opts.status ?? err.spec.status)
    .header("cache-control", "no-store").header("pragma", "no-cache")
    .send(oauthErrorBody(err, { now: opts.now, traceId: req.id, correlationId: typeof correlation === "string" && correlation ? correlation : undefined, baseUrl: opts.baseUrl }));
}
