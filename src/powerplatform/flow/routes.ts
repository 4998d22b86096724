/**
 * Power Automate (Flow) admin API, as `Get-AdminFlow` and `Set-AdminFlowOwnerRole` /
 * `Remove-AdminFlowOwnerRole` call it:
 *   GET  /providers/Microsoft.ProcessSimple/scopes/admin/environments/{env}/v2/flows   (and the older …/flows)
 *   GET  …/flows/{flow}
 *   GET  …/flows/{flow}/permissions
 *   POST …/flows/{flow}/modifyPermissions   {"put": [{"properties": {"roleName": "CanEdit", "principal": {"id", "type"}}}]} | {"delete": [{"id"}]}
 * `creator` is who created the flow and never changes; co-owners added here are CanEdit
 * permissions that never count for attribution (decision 1). The owner changes through a solution
 * import or a Dataverse `ownerid` reassignment.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AppContext } from "../../context/index.ts";
import type { PpResource, StoredRelationship } from "../../store/index.ts";
import { requirePrincipal, setCoOwner } from "../ownership.ts";
import { actorOf, callerOf, fromOwnership, iso, principalDirectory, query, requireAdmin, requireApiVersion, ServiceError } from "../http.ts";
import { environmentName, resolveEnvironment } from "../bap/routes.ts";
import { nextLink, pageSize, parsePermissionChanges } from "../powerapps/routes.ts";

const BASE = "/providers/Microsoft.ProcessSimple/scopes/admin/environments";
const codes = { notFound: "FlowNotFound", badRequest: "InvalidRequestContent", forbidden: "Forbidden" };

function flowJson(flow: PpResource, envName: string, managed: boolean): Record<string, unknown> {
  return {
    name: flow.id,
    id: `/providers/Microsoft.ProcessSimple/environments/${envName}/flows/${flow.id}`,
    type: "Microsoft.ProcessSimple/environments/flows",
    properties: {
      apiId: "/providers/Microsoft.PowerApps/apis/shared_logicflows",
      displayName: flow.displayName,
      userType: "Owner",
      state: typeof flow.details.state === "string" ? flow.details.state : "Started",
      createdTime: iso(flow.createdAt),
      lastModifiedTime: iso(flow.modifiedAt),
      flowSuspensionReason: "None",
      templateName: "",
      environment: { name: envName, type: "Microsoft.ProcessSimple/environments", id: `/providers/Microsoft.ProcessSimple/environments/${envName}` },
      definitionSummary: { triggers: [], actions: [] },
      creator: { tenantId: flow.tenantId, objectId: flow.createdBy, userId: flow.createdBy, userType: "ActiveDirectory" },
      provisioningMethod: managed ? "FromSolution" : "FromDefinition",
      flowFailureAlertSubscribed: false,
      isManaged: managed,
      workflowEntityId: flow.id,
    },
  };
}

async function permissionsJson(flow: PpResource, envName: string, rels: readonly StoredRelationship[], who: ReturnType<typeof principalDirectory>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const r of rels) {
    if (r.to !== null || (r.relation !== "owner" && r.relation !== "coOwner")) continue;
    const p = await who(r.principalId);
    out.push({
      name: r.principalId,
      id: `/providers/Microsoft.ProcessSimple/environments/${envName}/flows/${flow.id}/permissions/${r.principalId}`,
      type: "Microsoft.ProcessSimple/environments/flows/permissions",
      properties: { roleName: r.relation === "owner" ? "Owner" : "CanEdit", permissionType: "Principal", principal: { id: r.principalId, type: p?.type ?? "User", tenantId: p?.tenantId ?? flow.tenantId } },
    });
  }
  return out;
}

export function registerFlowRoutes(s: FastifyInstance, ctx: AppContext): void {
  const store = ctx.store;
  const context = async (req: FastifyRequest) => {
    requireApiVersion(req);
    const caller = callerOf(req);
    requireAdmin(caller, "powerPlatform", "Forbidden");
    const env = await resolveEnvironment(store, caller.tenantId, (req.params as { env: string }).env);
    return { caller, env, envName: environmentName(env) };
  };
  const findFlow = async (tenantId: string, envId: string, id: string) => {
    const flow = await store.powerPlatform.getResource(tenantId, id);
    if (!flow || flow.kind !== "flow" || flow.environmentId !== envId || flow.deletedAt !== null) throw new ServiceError(404, "FlowNotFound", `The flow '${id}' could not be found in environment '${envId}'.`);
    return flow;
  };
  const managedFlows = async (tenantId: string, envId: string) => {
    const managed = new Set<string>();
    const solutions = (await store.powerPlatform.listSolutions(tenantId, envId)).filter((x) => x.managed);
    for (const sol of solutions) for (const c of await store.powerPlatform.listComponents(tenantId, sol.id)) managed.add(c.resourceId);
    return managed;
  };

  for (const prefix of [`${BASE}/:env/v2/flows`, `${BASE}/:env/flows`]) {
    s.get(prefix, async (req) => {
      const { caller, env, envName } = await context(req);
      const limit = pageSize(req);
      const flows = await store.powerPlatform.listResources(caller.tenantId, { environmentId: env.id, kinds: ["flow"], afterId: query(req, "$skiptoken"), limit: limit + 1 });
      const page = flows.slice(0, limit);
      const managed = await managedFlows(caller.tenantId, env.id);
      const last = page[page.length - 1];
      return { value: page.map((f) => flowJson(f, envName, managed.has(f.id))), ...(flows.length > limit && last ? { nextLink: nextLink(ctx, req, last.id) } : {}) };
    });
    s.get(`${prefix}/:flow`, async (req) => {
      const { caller, env, envName } = await context(req);
      const flow = await findFlow(caller.tenantId, env.id, (req.params as { flow: string }).flow);
      return flowJson(flow, envName, (await managedFlows(caller.tenantId, env.id)).has(flow.id));
    });
    s.get(`${prefix}/:flow/permissions`, async (req) => {
      const { caller, env, envName } = await context(req);
      const flow = await findFlow(caller.tenantId, env.id, (req.params as { flow: string }).flow);
      return { value: await permissionsJson(flow, envName, await store.powerPlatform.relationships(caller.tenantId, flow.id), principalDirectory(ctx, caller.tenantId)) };
    });
    s.post(`${prefix}/:flow/modifyPermissions`, async (req, reply) => {
      const { caller, env } = await context(req);
      const flow = await findFlow(caller.tenantId, env.id, (req.params as { flow: string }).flow);
      const changes = parsePermissionChanges(req.body);
      const at = ctx.clock.now();
      try {
        // Every principal is checked before anything is written, so a bad item changes nothing.
        for (const c of changes) if (c.present) await requirePrincipal(store, caller.tenantId, c.principalId, at);
        for (const c of changes) if (c.roleName !== "CanView") await setCoOwner(store, caller.tenantId, flow.id, c.principalId, c.present, at, actorOf(caller, req));
      } catch (error) {
        throw fromOwnership(error, codes);
      }
      return reply.code(200).send({});
    });
  }
}
