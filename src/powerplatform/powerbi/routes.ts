/**
 * Power BI REST API subset (`/v1.0/myorg`), as the Power BI .NET SDK, `MicrosoftPowerBIMgmt`
 * (`Get-PowerBIDataset -Scope Organization`, `Get-PowerBIActivityEvent`) and `Invoke-PowerBIRestMethod` call it:
 *   GET  /v1.0/myorg/admin/datasets                                   (Fabric Administrator)
 *   GET  /v1.0/myorg/admin/groups/{groupId}/datasets                  (Fabric Administrator)
 *   POST /v1.0/myorg/groups/{groupId}/imports?datasetDisplayName=…&nameConflict=…   multipart file (a .pbix: a zip)
 *   GET  /v1.0/myorg/groups/{groupId}/imports/{importId}
 *   POST /v1.0/myorg/groups/{groupId}/datasets/{datasetId}/Default.TakeOver          (no body; 200)
 *   GET  /v1.0/myorg/admin/activityevents?startDateTime='…'&endDateTime='…'[&$filter=…]   then ?continuationToken='…'
 * Publishing makes the caller the dataset's publisher; a take-over makes the caller its attributed
 * user from that instant. Both need a workspace role other than Viewer. Both are recorded as
 * activity events (`Import`, `TakeOverDataset`), which the activity events endpoint returns.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import multipart from "@fastify/multipart";
import type { AppContext } from "../../context/index.ts";
import type { PpResource } from "../../store/index.ts";
import { mayPublish } from "../../domain/power-platform/index.ts";
import { stableGuid } from "../../world/ids.ts";
import { setPublisher } from "../ownership.ts";
import { actorOf, callerOf, iso, principalDirectory, query, requireAdmin, ServiceError } from "../http.ts";

const MAX_PBIX_BYTES = 32 * 1024 * 1024;
/** Activity events per page (the real service returns variable pages; clients must follow continuations). */
export const ACTIVITY_PAGE = 200;
const NAME_CONFLICTS = ["Abort", "Overwrite", "CreateOrOverwrite", "Ignore", "GenerateUniqueName"];

function datasetJson(d: PpResource, configuredBy: string | null): Record<string, unknown> {
  return {
    id: d.id, name: d.displayName, addRowsAPIEnabled: false, configuredBy: configuredBy ?? "", isRefreshable: true, isEffectiveIdentityRequired: false,
    isEffectiveIdentityRolesRequired: false, isOnPremGatewayRequired: false, targetStorageMode: "Abf", createdDate: iso(d.createdAt), workspaceId: d.workspaceId,
  };
}

interface ContinuationState {
  readonly s: number;
  readonly e: number;
  readonly after: number;
  readonly activity?: string;
  readonly user?: string;
}

const unquote = (v: string | undefined) => (v === undefined ? undefined : v.replace(/^'(.*)'$/, "$1"));

/** `$filter` on Activity and UserId only, joined by `and` (as the service allows). */
function parseActivityFilter(filter: string | undefined): { activity?: string; user?: string } {
  if (!filter) return {};
  const out: { activity?: string; user?: string } = {};
  for (const part of filter.split(/\s+and\s+/i)) {
    const m = /^\s*(Activity|UserId)\s+eq\s+'([^']*)'\s*$/i.exec(part);
    if (!m?.[1] || m[2] === undefined) throw new ServiceError(400, "InvalidRequest", `$filter supports only Activity eq '…' and UserId eq '…' joined by and (got '${part.trim()}').`);
    if (m[1].toLowerCase() === "activity") out.activity = m[2].toLowerCase();
    else out.user = m[2].toLowerCase();
  }
  return out;
}

export async function registerPowerBiRoutes(s: FastifyInstance, ctx: AppContext): Promise<void> {
  const store = ctx.store;
  await s.register(multipart, { limits: { fileSize: MAX_PBIX_BYTES, files: 1 } });
  const base = "/v1.0/myorg";

  const upnOf = async (tenantId: string, objectId: string | null): Promise<string | null> => (await principalDirectory(ctx, tenantId)(objectId))?.email || objectId;
  const publisherOf = async (tenantId: string, d: PpResource) =>
    (await store.powerPlatform.relationships(tenantId, d.id)).find((r) => r.relation === "publisher" && r.to === null)?.principalId ?? d.createdBy;
  const workspace = async (tenantId: string, id: string) => {
    const ws = await store.powerPlatform.getWorkspace(tenantId, id);
    if (!ws) throw new ServiceError(404, "PowerBIEntityNotFound", `Workspace ${id} was not found; list workspaces with GET /v1.0/myorg/admin/groups.`);
    return ws;
  };
  const memberOrDeny = async (req: FastifyRequest, workspaceId: string) => {
    const caller = callerOf(req);
    const role = await store.powerPlatform.workspaceRole(caller.tenantId, workspaceId, caller.objectId, ctx.clock.now());
    if (!mayPublish(role)) throw new ServiceError(403, "PowerBINotAuthorizedException", `The caller needs the Admin, Member or Contributor role in workspace ${workspaceId} (has ${role ?? "none"}).`);
    return caller;
  };

  const listDatasets = async (tenantId: string, workspaceId?: string) => {
    const datasets = await store.powerPlatform.listResources(tenantId, { kinds: ["dataset"], ...(workspaceId ? { workspaceId } : {}) });
    const value = [];
    for (const d of datasets) value.push(datasetJson(d, await upnOf(tenantId, await publisherOf(tenantId, d))));
    return value;
  };
  s.get(`${base}/admin/datasets`, async (req) => {
    const caller = callerOf(req);
    requireAdmin(caller, "powerBi", "PowerBINotAuthorizedException");
    return { "@odata.context": `${ctx.baseUrl()}/v1.0/myorg/admin/$metadata#datasets`, value: await listDatasets(caller.tenantId) };
  });
  s.get(`${base}/admin/groups/:group/datasets`, async (req) => {
    const caller = callerOf(req);
    requireAdmin(caller, "powerBi", "PowerBINotAuthorizedException");
    const ws = await workspace(caller.tenantId, (req.params as { group: string }).group);
    return { "@odata.context": `${ctx.baseUrl()}/v1.0/myorg/admin/$metadata#datasets`, value: await listDatasets(caller.tenantId, ws.id) };
  });

  s.post(`${base}/groups/:group/imports`, async (req, reply) => {
    const ws = await workspace(callerOf(req).tenantId, (req.params as { group: string }).group);
    const caller = await memberOrDeny(req, ws.id);
    const displayName = query(req, "datasetDisplayName");
    if (!displayName) throw new ServiceError(400, "InvalidRequest", "datasetDisplayName is required, e.g. ?datasetDisplayName=Sales.pbix&nameConflict=CreateOrOverwrite.");
    const conflict = query(req, "nameConflict") ?? "Ignore";
    if (!NAME_CONFLICTS.includes(conflict)) throw new ServiceError(400, "InvalidRequest", `nameConflict must be one of ${NAME_CONFLICTS.join(", ")}.`);
    if (!req.isMultipart()) throw new ServiceError(400, "InvalidRequest", "Send the .pbix file as multipart/form-data (one file part).");
    const file = await req.file();
    if (!file) throw new ServiceError(400, "InvalidRequest", "The multipart body has no file part; attach the .pbix file.");
    const bytes = await file.toBuffer();
    if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) throw new ServiceError(400, "RequestedFileIsEncryptedOrCorrupted", "The file is not a Power BI file (.pbix is a zip archive); export it from Power BI Desktop again.");
    const name = displayName.replace(/\.pbix$/i, "");
    const at = ctx.clock.now();
    const importId = ctx.ids.newGuid();
    const existing = (await store.powerPlatform.listResources(caller.tenantId, { kinds: ["dataset"], workspaceId: ws.id })).find((d) => d.displayName.toLowerCase() === name.toLowerCase());
    if (existing && conflict === "Abort") throw new ServiceError(409, "DuplicatePackageNameError", `A dataset named ${name} already exists in the workspace; use nameConflict=CreateOrOverwrite to replace it.`);
    const datasetId = existing && conflict !== "GenerateUniqueName" ? existing.id : ctx.ids.newGuid();
    await store.transaction(async (tx) => {
      if (!existing || datasetId !== existing.id) {
        await tx.powerPlatform.putResource({ tenantId: caller.tenantId, id: datasetId, kind: "dataset", environmentId: null, workspaceId: ws.id, displayName: name, createdBy: caller.objectId, createdAt: at, modifiedAt: at, deletedAt: null, details: {} });
      }
      const dataset = (await tx.powerPlatform.getResource(caller.tenantId, datasetId)) as PpResource;
      await setPublisher(tx, caller.tenantId, dataset, caller.objectId, at, "published", actorOf(caller, req));
      await tx.powerPlatform.putAsyncOperation({
        tenantId: caller.tenantId, id: importId, environmentId: ws.id, name: `pbiImport:${name}`, state: "Succeeded", createdBy: caller.objectId, createdAt: at, completedAt: at,
        message: null, solutionId: datasetId, payload: null,
      });
      await tx.powerPlatform.recordActivity({ tenantId: caller.tenantId, id: ctx.ids.newGuid(), at, workload: "PowerBI", operation: "Import", userId: caller.objectId, resourceId: datasetId, details: { workspaceId: ws.id, workspaceName: ws.displayName, datasetName: name } });
    });
    return reply.code(202).send({ id: importId });
  });

  s.get(`${base}/groups/:group/imports/:import`, async (req) => {
    const ws = await workspace(callerOf(req).tenantId, (req.params as { group: string }).group);
    const caller = await memberOrDeny(req, ws.id);
    const op = await store.powerPlatform.getAsyncOperation(caller.tenantId, (req.params as { import: string }).import);
    if (!op || op.environmentId !== ws.id || !op.name.startsWith("pbiImport:")) throw new ServiceError(404, "PowerBIEntityNotFound", "Import not found in this workspace.");
    const name = op.name.slice("pbiImport:".length);
    return {
      id: op.id, name, importState: op.state, createdDateTime: iso(op.createdAt), updatedDateTime: iso(op.completedAt ?? op.createdAt),
      datasets: [{ id: op.solutionId, name }], reports: [{ id: stableGuid("pbiReport", op.solutionId ?? ""), name }],
    };
  });

  s.post(`${base}/groups/:group/datasets/:dataset/Default.TakeOver`, async (req, reply) => {
    const { group, dataset } = req.params as { group: string; dataset: string };
    const ws = await workspace(callerOf(req).tenantId, group);
    const caller = await memberOrDeny(req, ws.id);
    const d = await store.powerPlatform.getResource(caller.tenantId, dataset);
    if (!d || d.kind !== "dataset" || d.workspaceId !== ws.id) throw new ServiceError(404, "PowerBIEntityNotFound", `Dataset ${dataset} was not found in workspace ${ws.id}.`);
    const at = ctx.clock.now();
    await store.transaction(async (tx) => {
      const result = await setPublisher(tx, caller.tenantId, d, caller.objectId, at, "takeover", actorOf(caller, req));
      if (result === "changed") {
        await tx.powerPlatform.recordActivity({ tenantId: caller.tenantId, id: ctx.ids.newGuid(), at, workload: "PowerBI", operation: "TakeOverDataset", userId: caller.objectId, resourceId: d.id, details: { workspaceId: ws.id, workspaceName: ws.displayName, datasetName: d.displayName } });
      }
    });
    return reply.code(200).send();
  });

  s.get(`${base}/admin/activityevents`, async (req) => {
    const caller = callerOf(req);
    requireAdmin(caller, "powerBi", "PowerBINotAuthorizedException");
    const token = unquote(query(req, "continuationToken"));
    let state: ContinuationState;
    if (token) {
      try {
        state = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as ContinuationState;
        if (typeof state.s !== "number" || typeof state.e !== "number" || typeof state.after !== "number") throw new Error("shape");
      } catch {
        throw new ServiceError(400, "InvalidContinuationToken", "The continuation token is not one this service issued; start again with startDateTime and endDateTime.");
      }
    } else {
      const start = unquote(query(req, "startDateTime"));
      const end = unquote(query(req, "endDateTime"));
      const s0 = start ? Date.parse(start.endsWith("Z") ? start : `${start}Z`) : NaN;
      const e0 = end ? Date.parse(end.endsWith("Z") ? end : `${end}Z`) : NaN;
      if (Number.isNaN(s0) || Number.isNaN(e0)) throw new ServiceError(400, "InvalidRequest", "startDateTime and endDateTime are required, quoted ISO 8601 UTC times, e.g. startDateTime='2026-10-03T00:00:00.000Z'&endDateTime='2026-10-03T23:59:59.999Z'.");
      if (new Date(s0).toISOString().slice(0, 10) !== new Date(e0).toISOString().slice(0, 10) || e0 < s0) {
        throw new ServiceError(400, "InvalidRequest", "startDateTime and endDateTime must be within the same UTC day, start before end; ask one day at a time.");
      }
      state = { s: s0, e: e0 + 1, after: 0, ...parseActivityFilter(query(req, "$filter")) };
    }
    const who = principalDirectory(ctx, caller.tenantId);
    const rows = await store.powerPlatform.listActivity(caller.tenantId, { from: state.s, to: state.e }, { afterSeq: state.after, limit: ACTIVITY_PAGE * 4, workload: "PowerBI" });
    const entities: Record<string, unknown>[] = [];
    let lastSeq = state.after;
    let more = false;
    for (const r of rows) {
      if (entities.length === ACTIVITY_PAGE) {
        more = true;
        break;
      }
      lastSeq = r.seq;
      const upn = (await who(r.userId))?.email || r.userId;
      if (state.activity && r.operation.toLowerCase() !== state.activity) continue;
      if (state.user && upn.toLowerCase() !== state.user) continue;
      entities.push({
        Id: r.id, RecordType: 20, CreationTime: iso(r.at).replace(/\.\d{3}Z$/, ""), Operation: r.operation, OrganizationId: caller.tenantId, UserType: 0, UserKey: r.userId,
        Workload: "PowerBI", UserId: upn, ClientIP: "", Activity: r.operation, ItemName: r.details.datasetName ?? "", WorkSpaceName: r.details.workspaceName ?? "",
        DatasetName: r.details.datasetName ?? "", WorkspaceId: r.details.workspaceId ?? "", DatasetId: r.resourceId ?? "", IsSuccess: true,
      });
    }
    if (!more && rows.length === ACTIVITY_PAGE * 4) more = true;
    const next = Buffer.from(JSON.stringify({ ...state, after: lastSeq }), "utf8").toString("base64url");
    return {
      activityEventEntities: entities,
      continuationUri: more ? `${ctx.baseUrl()}${base}/admin/activityevents?continuationToken='${next}'` : null,
      continuationToken: more ? next : null,
      lastResultSet: !more,
    };
  });
}
