/**
 * The two ways a report leaves the server without a bearer token:
 * - `reportAccessSecureLink`: `<base>/insights/v1/mpn/reportDownload/<token>`, where the token is
 *   HMAC-SHA256(server secret, execution id + expiry) — unguessable, the same each time the
 *   execution is listed, and valid until `reportExpiryTime`. The store keeps only its SHA-256, to
 *   find the execution; the link serves that one file and nothing else.
 * - callbacks: a POST to `{CallbackUrl}/{reportId}` or a GET of `{CallbackUrl}?reportId=…`, only
 *   to hosts the operator listed in --insights-callback-hosts.
 */
import { createHash, createHmac } from "node:crypto";
import type { InsightsExecution } from "../store/partner-insights.ts";

/** How long a download link works after the report is generated. */
export const LINK_LIFETIME_MS = 24 * 3_600_000;

export const DOWNLOAD_PREFIX = "/insights/v1/mpn/reportDownload/";

export function linkToken(secret: string, executionId: string, expiresAt: number): string {
  return createHmac("sha256", secret).update(`openpal-insights-link\n${executionId}\n${expiresAt}`).digest("base64url");
}

export const tokenHash = (token: string): string => createHash("sha256").update(token).digest("hex");

export function secureLink(baseUrl: string, secret: string, e: Pick<InsightsExecution, "executionId" | "expiresAt">): string {
  return `${baseUrl}${DOWNLOAD_PREFIX}${linkToken(secret, e.executionId, e.expiresAt as number)}`;
}

/** true, or a message naming why the URL may not be called back and how to allow it. */
export function isCallbackAllowed(url: string, allowedHosts: readonly string[]): true | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `CallbackUrl "${url}" is not an absolute URL; use e.g. https://hooks.example.com/openpal.`;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return `CallbackUrl "${url}" must use https (or http).`;
  if (u.username || u.password) return "CallbackUrl must not carry credentials; put a secret in its path or query instead.";
  const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const withPort = `${host}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
  const allowed = allowedHosts.some((h) => {
    const x = h.replace(/^\[|\]$/g, "");
    return x === host || x === withPort || h === `${u.hostname.toLowerCase()}:${u.port}`;
  });
  if (!allowed) {
    return `CallbackUrl host ${u.host} is not allowed on this server; the operator allows callbacks per host with --insights-callback-hosts (OPENPAL_INSIGHTS_CALLBACK_HOSTS)${allowedHosts.length ? `, now ${allowedHosts.join(", ")}` : ", now empty"}.`;
  }
  return true;
}

/** The request a callback makes for a report. */
export function callbackRequest(url: string, method: "GET" | "POST", reportId: string): { url: string; method: "GET" | "POST" } {
  if (method === "POST") return { url: `${url.replace(/\/+$/, "")}/${encodeURIComponent(reportId)}`, method };
  const u = new URL(url);
  u.searchParams.set("reportId", reportId);
  return { url: u.toString(), method };
}
