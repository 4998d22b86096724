/**
 * BAP (Business Application Platform) admin environments, as `Get-AdminPowerAppEnvironment` and
 * the Power Platform admin connectors call them:
 *   GET /providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=…
 *   GET /providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{name}?api-version=…
 * `{name}` is the environment id, `Default-<tenantId>` or `~default` for the default environment.
 * `$expand` (permissions, properties.capacity…) is accepted; permissions are not modelled.
 */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../../context/index.ts";
import type { PpEnvironment, Store } from "../../store/index.ts";
import { dataverseInstanceUrl } from "../audiences.ts";
import { callerOf, iso, principalDirectory, requireAdmin, requireApiVersion, ServiceError, type PrincipalJson } from "../http.ts";

/** The name BAP gives an environment: `Default-<tenantId>` for the default one, else its id. */
export function environmentName(e: PpEnvironment): string {
  return e.type === "Default" ? `Default-${e.tenantId}` : e.id;
}

/** Resolves `{name}` (id, `Default-<tenantId>`, `~default`) within the caller's tenant. */
export async function resolveEnvironment(store: Store, tenantId: string, name: string, notFoundCode = "EnvironmentNotFound"): Promise<PpEnvironment> {
  const lower = name.toLowerCase();
  const env = lower === "~default" || lower === `default-${tenantId}` ? await store.powerPlatform.defaultEnvironment(tenantId) : await store.powerPlatform.getEnvironment(tenantId, lower);
  if (!env || env.deletedAt !== null) throw new ServiceError(404, notFoundCode, `The environment '${name}' could not be found in the tenant '${tenantId}'. List environments with GET /providers/Microsoft.BusinessAppPlatform/scopes/admin/environments.`);
  return env;
}

export function environmentJson(e: PpEnvironment, baseUrl: string, createdBy: PrincipalJson | null): Record<string, unknown> {
  const name = environmentName(e);
  const instanceUrl = dataverseInstanceUrl(baseUrl, e.id);
  return {
    id: `/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/${name}`,
    type: "Microsoft.BusinessAppPlatform/scopes/environments",
    location: e.location,
    name,
    properties: {
      tenantId: e.tenantId,
      azureRegion: e.location,
      displayName: e.displayName,
      createdTime: iso(e.createdAt),
      createdBy: createdBy ?? { id: "SYSTEM", displayName: "SYSTEM", type: "NotSpecified" },
      environmentSku: e.type,
      isDefault: e.type === "Default",
      creationType: e.type === "Default" ? "DefaultTenant" : "User",
      provisioningState: "Succeeded",
      linkedEnvironmentMetadata: {
        type: "Dynamics365Instance", resourceId: e.id, friendlyName: e.displayName, uniqueName: `org${e.id.slice(0, 8)}`, domainName: `org${e.id.slice(0, 8)}`,
        version: "9.2", instanceUrl: `${instanceUrl}/`, instanceApiUrl: instanceUrl, instanceState: "Ready", baseLanguage: 1033,
      },
      states: { management: { id: "Ready" }, runtime: { runtimeReasonCode: "NotSpecified", requestedBy: "System", id: "Enabled" } },
    },
  };
}

export function registerBapRoutes(s: FastifyInstance, ctx: AppContext): void {
  const base = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments";
  s.get(base, async (req) => {
    requireApiVersion(req);
    const caller = callerOf(req);
    requireAdmin(caller, "powerPlatform", "Forbidden");
    const who = principalDirectory(ctx, caller.tenantId);
    const envs = (await ctx.store.powerPlatform.listEnvironments(caller.tenantId)).filter((e) => e.deletedAt === null);
    return { value: await Promise.all(envs.map(async (e) => environmentJson(e, ctx.baseUrl(), await who(e.createdBy)))) };
  });
  s.get(`${base}/:env`, async (req) => {
    requireApiVersion(req);
    const caller = callerOf(req);
    requireAdmin(caller, "powerPlatform", "Forbidden");
    const env = await resolveEnvironment(ctx.store, caller.tenantId, (req.params as { env: string }).env);
    return environmentJson(env, ctx.baseUrl(), await principalDirectory(ctx, caller.tenantId)(env.createdBy));
  });
}
