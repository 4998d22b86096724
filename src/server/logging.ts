/**
 * Logs: pino, one JSON object per line (or pretty on a terminal). Credentials never reach a log:
 * authorization and cookie headers, admin keys, passwords, secrets, assertions, codes and tokens
 * are redacted wherever they appear (headers, bodies, query strings).
 */
import pino, { type Logger } from "pino";
import type { Options } from "../options/index.ts";

export const REDACTED = "[redacted]";

/**
 * Query and form parameters whose values are credentials, by base name: `client_secret`,
 * `client_secret[]`, `client_secret[0]` and `CLIENT_SECRET` are all the same parameter to a
 * lenient parser, so all are redacted (names are compared without case and bracket suffixes).
 */
const SENSITIVE_PARAMS = new Set([
  "code", "device_code", "user_code", "otc", "refresh_token", "access_token", "id_token", "id_token_hint", "client_secret",
  "client_assertion", "password", "passwd", "pwd", "assertion", "token", "secret", "code_verifier", "admin_key",
  "session_state", "state", "nonce", "key", "sig", "signature", "api_key", "apikey",
]);

/** Whether a parameter name names a credential (see SENSITIVE_PARAMS). */
export function isSensitiveParam(name: string): boolean {
  const base = name.toLowerCase().replace(/(\[[^\]]*\])+$/, "").trim();
  return SENSITIVE_PARAMS.has(base);
}

const redactPaths = [
  "req.headers.authorization",
  "req.headers.cookie",
  "req.headers[\"x-openpal-admin-key\"]",
  "res.headers[\"set-cookie\"]",
  "headers.authorization",
  "headers.cookie",
  "headers[\"x-openpal-admin-key\"]",
  "req.headers[\"set-cookie\"]",
  "headers[\"set-cookie\"]",
  "*.password",
  "*.passwd",
  "*.otc",
  "*.code",
  "*.code_verifier",
  "*.device_code",
  "*.user_code",
  "*.client_secret",
  "*.client_assertion",
  "*.assertion",
  "*.refresh_token",
  "*.access_token",
  "*.id_token",
  "*.id_token_hint",
  "*.secret",
  "*.secretText",
  "*.token",
  "*.privateJwk",
  "*.private_jwk",
];

/** Removes credential values from a URL's query string. */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const key of new Set(params.keys())) {
    if (isSensitiveParam(key)) {
      // `set` replaces every repetition of the parameter with one redacted value.
      params.set(key, REDACTED);
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}

export function createLogger(options: Pick<Options, "logLevel" | "logFormat">, destination?: pino.DestinationStream): Logger {
  const base: pino.LoggerOptions = {
    level: options.logLevel,
    redact: { paths: redactPaths, censor: REDACTED },
    base: { service: "openpal" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(base, destination);
  if (options.logFormat === "pretty") {
    return pino({ ...base, transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service" } } });
  }
  return pino(base);
}
