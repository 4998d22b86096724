/**
 * Clients and resources the token service knows without registration.
 *
 * - Well-known public clients: Azure CLI and Azure PowerShell are first-party Microsoft apps that
 *   exist in every Entra tenant, so users sign in with them anywhere without an app registration.
 *   The OpenPAL portal is our own first-party public client, with the same standing.
 * - Resources: a scope names a resource and a permission (`https://management.azure.com/.default`);
 *   the token's audience is the resource's identifier as Entra writes it.
 */

/** Azure CLI (`az login`). */
export const AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
/** Azure PowerShell (`Connect-AzAccount`). */
export const AZURE_POWERSHELL_CLIENT_ID = "1950a258-227b-4e31-a9cf-717495945fc2";
/**
 * The OpenPAL portal's public client (authorization code + PKCE, redirect URIs under the server's
 * own `/portal/`). A fixed GUID in OpenPAL's own namespace, so no real Entra app collides with it.
 */
export const OPENPAL_PORTAL_CLIENT_ID = "0be9a1a4-7b1e-4c4f-9a51-6f70656e7061";
/** The `openpal` CLI signs users in as the Azure CLI does (same first-party standing). */
export const OPENPAL_CLI_CLIENT_ID = AZURE_CLI_CLIENT_ID;

export interface WellKnownClient {
  readonly clientId: string;
  readonly displayName: string;
  /** Whether `redirectUri` may receive authorization codes for this client. */
  allowsRedirect(redirectUri: string, baseUrl: string): boolean;
}

/** http://localhost or 127.0.0.1 (any port, any path): where native apps receive codes (RFC 8252). */
export function isLoopbackRedirect(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  return url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]");
}

/** A URI under the server's own `/portal/` path (same origin). */
export function isPortalRedirect(uri: string, baseUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  const base = new URL(baseUrl);
  return url.origin === base.origin && (url.pathname === "/portal" || url.pathname.startsWith("/portal/"));
}

export const WELL_KNOWN_CLIENTS: ReadonlyMap<string, WellKnownClient> = new Map([
  [AZURE_CLI_CLIENT_ID, { clientId: AZURE_CLI_CLIENT_ID, displayName: "Microsoft Azure CLI", allowsRedirect: (u: string) => isLoopbackRedirect(u) }],
  [AZURE_POWERSHELL_CLIENT_ID, { clientId: AZURE_POWERSHELL_CLIENT_ID, displayName: "Microsoft Azure PowerShell", allowsRedirect: (u: string) => isLoopbackRedirect(u) }],
  [OPENPAL_PORTAL_CLIENT_ID, { clientId: OPENPAL_PORTAL_CLIENT_ID, displayName: "OpenPAL portal", allowsRedirect: (u: string, base: string) => isPortalRedirect(u, base) }],
]);

/** Scopes that are about the sign-in itself, not a resource. */
export const OIDC_SCOPES = new Set(["openid", "profile", "email", "offline_access"]);

/** Resource identifiers as Entra writes them in `aud` (by host). */
const KNOWN_AUDIENCES: ReadonlyMap<string, string> = new Map([
  ["management.azure.com", "https://management.azure.com/"],
  ["management.core.windows.net", "https://management.core.windows.net/"],
  ["graph.microsoft.com", "https://graph.microsoft.com"],
  // Partner Center (the insights API, src/partner-insights): Entra writes it without a slash.
  ["api.partnercenter.microsoft.com", "https://api.partnercenter.microsoft.com"],
  // Power Platform (src/powerplatform/audiences.ts); Power BI and Dataverse keep the resource as written.
  ["service.powerapps.com", "https://service.powerapps.com/"],
  ["service.flow.microsoft.com", "https://service.flow.microsoft.com/"],
]);

export const GRAPH_AUDIENCE = "https://graph.microsoft.com";

export interface ParsedScope {
  /** Every scope as requested, in order, de-duplicated. */
  readonly requested: string[];
  /** The token audience. */
  readonly audience: string;
  /** The `scp` value for delegated (user) tokens. */
  readonly scp: string;
  /** Whether the client asked for a refresh token. */
  readonly offlineAccess: boolean;
  /** Whether the client asked for an id token. */
  readonly openid: boolean;
  /** Resource scopes only (what the access token is for), as requested. */
  readonly resourceScopes: string[];
}

export class ScopeError extends Error {}

/**
 * Parses a scope parameter. One resource per request (as in Entra: scopes for two resources in one
 * request are refused). A scope without a resource (only `openid profile offline_access`) is for
 * Microsoft Graph, as in Entra.
 */
export function parseScope(scopeParam: string | undefined): ParsedScope {
  const requested = [...new Set((scopeParam ?? "").split(/\s+/).filter((s) => s.length > 0))];
  const resourceScopes = requested.filter((s) => !OIDC_SCOPES.has(s.toLowerCase()));
  const audiences = new Set<string>();
  const permissions: string[] = [];
  for (const scope of resourceScopes) {
    const { audience, permission } = splitResourceScope(scope);
    audiences.add(audience);
    permissions.push(permission);
  }
  if (audiences.size > 1) {
    throw new ScopeError(`The scopes ${resourceScopes.join(", ")} name more than one resource (${[...audiences].join(", ")}); request a token for one resource at a time.`);
  }
  const lower = requested.map((s) => s.toLowerCase());
  const audience = [...audiences][0] ?? GRAPH_AUDIENCE;
  const scpParts = permissions.map((p) => (p === ".default" ? "user_impersonation" : p));
  return {
    requested,
    audience,
    scp: resourceScopes.length === 0 ? "openid profile email User.Read" : [...new Set(scpParts)].join(" "),
    offlineAccess: lower.includes("offline_access"),
    openid: lower.includes("openid"),
    resourceScopes,
  };
}

function splitResourceScope(scope: string): { audience: string; permission: string } {
  // `https://management.azure.com//.default` (the Azure CLI form) and `…/.default` name the same
  // resource; the permission is the last path segment.
  const slash = scope.lastIndexOf("/");
  if (slash <= 0 || !/^[a-z][a-z0-9+.-]*:\/\//i.test(scope)) {
    // A bare permission (`User.Read`) or api://… without a path: Graph permissions, as in Entra.
    if (/^api:\/\/[^/]+$/i.test(scope)) return { audience: scope, permission: "user_impersonation" };
    if (slash < 0) return { audience: GRAPH_AUDIENCE, permission: scope };
    throw new ScopeError(`The scope "${scope}" is not valid; use "<resource URI>/.default", e.g. https://management.azure.com/.default.`);
  }
  const permission = scope.slice(slash + 1);
  if (!permission) throw new ScopeError(`The scope "${scope}" names no permission; use "<resource URI>/.default".`);
  const resource = scope.slice(0, slash).replace(/\/+$/, "");
  let host: string;
  try {
    host = new URL(resource).host.toLowerCase();
  } catch {
    throw new ScopeError(`The scope "${scope}" does not start with a valid resource URI.`);
  }
  const known = KNOWN_AUDIENCES.get(host);
  if (known && new URL(resource).pathname.replace(/\/+$/, "") === "") return { audience: known, permission };
  // Other resources: the identifier as written; a doubled slash means the identifier itself ends
  // with a slash (as `https://management.azure.com/` does).
  const doubled = scope.slice(0, slash).endsWith("/");
  return { audience: doubled ? `${resource}/` : resource, permission };
}
