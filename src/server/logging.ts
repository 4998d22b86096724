/**
 * Logs: pino, one JSON object per line (or pretty on a terminal). Credentials never reach a log:
 * authorization and cookie headers, admin keys, passwords, secrets, assertions, codes and tokens
 * are redacted wherever they appear (headers, bodies, query strings).
 */
import pino, { type Logger } from "pino";
import type { Options } from "../options/index.ts";

export const REDACTED = "[redacted]";

/** Query and form parameters whose values are credentials. */
const SENSITIVE_PARAM = /^(code|device_code|user_code|refresh_token|access_token|id_token|client_secret|client_assertion|password|assertion|token|secret|code_verifier|admin_key)$/i;

const redactPaths = [
  "req.headers.authorization",
  "req.headers.cookie",
  "req.headers[\"x-openpal-admin-key\"]",
  "res.headers[\"set-cookie\"]",
  "headers.authorization",
  "headers.cookie",
  "headers[\"x-openpal-admin-key\"]",
  "*.password",
  "*.client_secret",
  "*.client_assertion",
  "*.refresh_token",
  "*.access_token",
  "*.id_token",
  "*.secret",
  "*.secretText",
  "*.token",
];

/** Removes credential values from a URL's query string. */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const key of [...params.keys()]) {
    if (SENSITIVE_PARAM.test(key)) {
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
