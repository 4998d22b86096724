/**
 * The resources this server plays: the only audiences it issues tokens for. A request for any
 * other resource (`scope=https://evil.example/.default`) is refused with AADSTS500011, as Entra
 * refuses a resource with no service principal in the tenant; besides these, a registered
 * application's own `api://<appId>` is a resource (its service principal exists wherever it does).
 *
 * One list, meant to grow: a component that plays a new resource adds its identifier here (in the
 * form Entra writes in `aud`), and the routes that accept it verify tokens for the same string.
 */

export interface PlayedResource {
  /** The `aud` of issued tokens, exactly as Entra writes it. */
  readonly audience: string;
  readonly name: string;
}

export const PLAYED_RESOURCES: readonly PlayedResource[] = Object.freeze([
  { audience: "https://management.azure.com/", name: "Azure Resource Manager" },
  { audience: "https://management.core.windows.net/", name: "Azure Resource Manager (classic identifier)" },
  { audience: "https://graph.microsoft.com", name: "Microsoft Graph" },
  { audience: "https://service.powerapps.com/", name: "Power Apps" },
  { audience: "https://api.flow.microsoft.com/", name: "Power Automate" },
  { audience: "https://service.flow.microsoft.com/", name: "Power Automate (service identifier)" },
  { audience: "https://api.powerapps.com", name: "Power Apps API" },
  { audience: "https://api.bap.microsoft.com", name: "Business Application Platform (environments)" },
  { audience: "https://analysis.windows.net/powerbi/api", name: "Power BI" },
  { audience: "https://api.partnercenter.microsoft.com", name: "Partner Center" },
]);

/** Resources identified by a pattern: Dataverse environments (`https://<org>.crm<n>.dynamics.com`). */
export const PLAYED_RESOURCE_PATTERNS: readonly { readonly pattern: RegExp; readonly name: string }[] = Object.freeze([
  { pattern: /^https:\/\/[a-z0-9][a-z0-9-]*\.crm[0-9]*\.dynamics\.com$/i, name: "Dataverse environment" },
]);

const withoutTrailingSlash = (s: string): string => s.replace(/\/+$/, "");
const byIdentifier = new Map(PLAYED_RESOURCES.map((r) => [withoutTrailingSlash(r.audience).toLowerCase(), r.audience]));

/**
 * The audience to issue for a requested resource identifier if the server plays it (with or
 * without a trailing slash, the host in any case), else undefined.
 */
export function playedAudience(resource: string, serverBaseUrl?: string): string | undefined {
  const bare = withoutTrailingSlash(resource);
  const listed = byIdentifier.get(bare.toLowerCase());
  if (listed) return listed;
  // The server's own URL (az asks for its Graph tokens by the cloud's Graph endpoint, which is the
  // server) and the Dataverse environments it plays under `<server>/dataverse/<environment>`.
  if (serverBaseUrl) {
    const base = withoutTrailingSlash(serverBaseUrl).toLowerCase();
    const lower = bare.toLowerCase();
    if (lower === base || lower.startsWith(`${base}/dataverse/`)) return resource;
  }
  if (PLAYED_RESOURCE_PATTERNS.some((p) => p.pattern.test(bare))) return bare.toLowerCase();
  return undefined;
}

/** The appId a registered application's own resource identifier names (`api://<appId>`), if any. */
export function applicationResourceAppId(resource: string): string | undefined {
  const m = /^api:\/\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i.exec(resource);
  return m?.[1]?.toLowerCase();
}
