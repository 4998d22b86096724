/**
 * Token audiences of the Power Platform services this server plays (the resource identifiers
 * Entra writes in `aud`). The token service issues a token for whatever resource a client names;
 * each service accepts only its own. Dataverse's audience is the environment's instance URL,
 * which on this server is a path of it: `<base URL>/dataverse/<environment id>`.
 */
export const POWER_APPS_AUDIENCES = ["https://service.powerapps.com/", "https://service.powerapps.com", "https://api.powerapps.com", "https://api.bap.microsoft.com"] as const;
export const FLOW_AUDIENCES = ["https://service.flow.microsoft.com/", "https://service.flow.microsoft.com", "https://api.flow.microsoft.com", "https://api.flow.microsoft.com/"] as const;
export const POWER_BI_AUDIENCES = ["https://analysis.windows.net/powerbi/api"] as const;

/** Every fixed audience above (for the token service's list of known resources). */
export const POWER_PLATFORM_AUDIENCES: readonly string[] = [...POWER_APPS_AUDIENCES, ...FLOW_AUDIENCES, ...POWER_BI_AUDIENCES];

/** The Dataverse instance URL (and so the token audience) of an environment on this server. */
export function dataverseInstanceUrl(baseUrl: string, environmentId: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/dataverse/${environmentId.toLowerCase()}`;
}

/** Audiences Dataverse accepts for an environment: the instance URL with and without a slash. */
export function dataverseAudiences(baseUrl: string, environmentId: string): string[] {
  const u = dataverseInstanceUrl(baseUrl, environmentId);
  return [u, `${u}/`];
}
