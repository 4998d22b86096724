/**
 * Dataverse Web API subset, under each environment's instance URL (`/dataverse/{env}`), as
 * `pac solution import`, the Power Platform Build Tools and plain OData clients call it:
 *   GET   /api/data/v9.2/solutions | solutioncomponents | canvasapps | appmodules | workflows | systemusers
 *         ($filter with `eq` on the listed fields, $select, $top), and each by key: entity(<guid>)
 *   POST  /api/data/v9.2/ImportSolution         {"CustomizationFile": "<base64 zip>", "ImportJobId", "OverwriteUnmanagedCustomizations", "PublishWorkflows"}
 *   POST  /api/data/v9.2/StageSolution          {"CustomizationFile"} → StageSolutionResults (StageSolutionUploadId)
 *   POST  /api/data/v9.2/ImportSolutionAsync    {"SolutionParameters": {"StageSolutionUploadId"}} | {"CustomizationFile"} → {AsyncOperationId, ImportJobKey}
 *   GET   /api/data/v9.2/asyncoperations(<id>)
 *   PATCH /api/data/v9.2/workflows(<id>) | canvasapps(<id>)   {"ownerid@odata.bind": "/systemusers(<id>)"}
 * The token's audience is the instance URL. Callers are the environment's makers or Power Platform
 * administrators. Importing re-owns every component to the caller from that instant; a malformed
 * solution file is refused (400) and changes nothing. A system user's `systemuserid` is its Entra
 * object id here (docs/SPEC-DEVIATIONS.md). Errors are OData errors `{"error": {"code", "message"}}`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../../context/index.ts";
import type { PpEnvironment, PpResource, StoredRelationship } from "../../store/index.ts";
import { COMPONENT_TYPE_CODE, isAdministrator, type SolutionComponentKind } from "../../domain/power-platform/index.ts";
import { isGuid } from "../../domain/ids.ts";
import { dataverseInstanceUrl } from "../audiences.ts";
import { changeOwner, importSolutionManifest, type Actor } from "../ownership.ts";
import { actorOf, callerOf, fromOwnership, iso, query, ServiceError, type PpCaller } from "../http.ts";
import { readSolutionZip } from "./solution-zip.ts";

/** OData error codes Dataverse returns (hex of the platform error). */
export const DataverseCode = {
  notFound: "0x80040217",
  forbidden: "0x80040220",
  invalidArgument: "0x80040203",
  importFailed: "0x80048060",
} as const;

type Row = Record<string, unknown>;
const ENTITY_SETS = ["solutions", "solutioncomponents", "canvasapps", "appmodules", "workflows", "systemusers", "asyncoperations"] as const;
type EntitySet = (typeof ENTITY_SETS)[number];

/** `$filter=a eq 'x' and b eq 5` (the subset these clients send); anything else is a 400 that says so. */
function parseFilter(filter: string | undefined): [string, string][] {
  if (!filter) return [];
  return filter.split(/\s+and\s+/i).map((part) => {
    const m = /^\s*\(?\s*([A-Za-z_][\w]*)\s+eq\s+('([^']*)'|[\w.-]+)\s*\)?\s*$/.exec(part);
    if (!m?.[1]) throw new ServiceError(400, DataverseCode.invalidArgument, `The $filter part '${part.trim()}' is not supported; OpenPAL supports 'field eq value' joined by 'and'.`);
    return [m[1].toLowerCase(), (m[3] ?? m[2] ?? "").toLowerCase()];
  });
}

function shape(rows: Row[], req: FastifyRequest): Row[] {
  const conditions = parseFilter(query(req, "$filter"));
  let out = rows.filter((r) => conditions.every(([k, v]) => String(r[k] ?? "null").toLowerCase() === v));
  const top = query(req, "$top");
  if (top !== undefined) {
    const n = Number(top);
    if (!Number.isInteger(n) || n < 1) throw new ServiceError(400, DataverseCode.invalidArgument, "$top must be a positive integer.");
    out = out.slice(0, n);
  }
  const select = query(req, "$select");
  if (select) {
    const fields = select.split(",").map((f) => f.trim().toLowerCase());
    out = out.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => fields.includes(k) || k.startsWith("@odata"))));
  }
  return out;
}

export function registerDataverseRoutes(s: FastifyInstance, ctx: AppContext, envOf: (req: FastifyRequest) => PpEnvironment): void {
  const store = ctx.store;
  const api = "/dataverse/:env/api/data/:version";

  /** Makers of the environment and administrators may use its Dataverse. */
  const authorise = async (req: FastifyRequest): Promise<{ caller: PpCaller; env: PpEnvironment }> => {
    const version = (req.params as { version: string }).version;
    if (!/^v9\.[0-2]$/.test(version)) throw new ServiceError(404, DataverseCode.invalidArgument, `Web API version '${version}' is not available; use v9.2.`);
    const caller = callerOf(req);
    const env = envOf(req);
    if (!isAdministrator("powerPlatform", caller.roles) && !(await store.powerPlatform.isMaker(env.tenantId, env.id, caller.objectId, ctx.clock.now()))) {
      throw new ServiceError(403, DataverseCode.forbidden, `Principal user (Id=${caller.objectId}) is missing the privileges for environment ${env.id}: it is not a maker of the environment nor a Power Platform administrator.`);
    }
    return { caller, env };
  };

  const rowsOf = async (set: EntitySet, env: PpEnvironment): Promise<Row[]> => {
    const tid = env.tenantId;
    const pp = store.powerPlatform;
    const solutions = await pp.listSolutions(tid, env.id);
    if (set === "solutions") {
      return solutions.map((x) => ({ solutionid: x.id, uniquename: x.uniqueName, friendlyname: x.friendlyName, ismanaged: x.managed, version: x.version, installedon: iso(x.createdAt), modifiedon: iso(x.modifiedAt) }));
    }
    if (set === "solutioncomponents") {
      const kinds = new Map((await pp.listResources(tid, { environmentId: env.id })).map((r) => [r.id, r.kind]));
      const out: Row[] = [];
      for (const sol of solutions) {
        for (const c of await pp.listComponents(tid, sol.id)) {
          const kind = kinds.get(c.resourceId) as SolutionComponentKind | undefined;
          out.push({ solutioncomponentid: `${sol.id.slice(0, 24)}${c.resourceId.slice(24)}`, objectid: c.resourceId, componenttype: kind ? COMPONENT_TYPE_CODE[kind] : 0, _solutionid_value: sol.id, rootcomponentbehavior: 0, ismetadata: false });
        }
      }
      return out;
    }
    if (set === "systemusers") {
      const users = (await store.directory.listUsers(tid)).filter((u) => u.deletedAt === null);
      return users.map((u) => ({ systemuserid: u.id, azureactivedirectoryobjectid: u.id, domainname: u.userPrincipalName, internalemailaddress: u.userPrincipalName, fullname: u.displayName, isdisabled: false }));
    }
    const kinds = { canvasapps: ["canvasApp"], appmodules: ["modelDrivenApp"], workflows: ["flow"] } as const;
    if (set === "asyncoperations") return [];
    const resources = await pp.listResources(tid, { environmentId: env.id, kinds: [...kinds[set]] });
    const rels = await pp.relationshipsOf(tid, resources.map((r) => r.id));
    const managed = new Set<string>();
    for (const sol of solutions.filter((x) => x.managed)) for (const c of await pp.listComponents(tid, sol.id)) managed.add(c.resourceId);
    return resources.map((r) => resourceRow(set, r, rels.get(r.id) ?? [], managed.has(r.id)));
  };

  const sendList = (req: FastifyRequest, reply: FastifyReply, set: string, rows: Row[]) => {
    const base = `${dataverseInstanceUrl(ctx.baseUrl(), envOf(req).id)}/api/data/v9.2`;
    return reply.header("OData-Version", "4.0").send({ "@odata.context": `${base}/$metadata#${set}`, value: shape(rows, req) });
  };

  for (const set of ENTITY_SETS) {
    if (set !== "asyncoperations") {
      s.get(`${api}/${set}`, async (req, reply) => {
        const { env } = await authorise(req);
        return sendList(req, reply, set, await rowsOf(set, env));
      });
    }
  }
  // Entity by key: `workflows(<guid>)`. fastify cannot route on "name(" so one route takes the segment.
  s.get(`${api}/:segment`, async (req, reply) => {
    const { env, caller } = await authorise(req);
    const m = /^([a-z]+)\(([0-9a-fA-F-]{36})\)$/.exec((req.params as { segment: string }).segment);
    if (!m?.[1] || !m[2] || !(ENTITY_SETS as readonly string[]).includes(m[1])) {
      throw new ServiceError(404, DataverseCode.invalidArgument, `Resource not found for the segment '${(req.params as { segment: string }).segment}'. OpenPAL's Dataverse subset: ${ENTITY_SETS.join(", ")}.`);
    }
    const set = m[1] as EntitySet;
    const id = m[2].toLowerCase();
    if (set === "asyncoperations") {
      const op = await store.powerPlatform.getAsyncOperation(caller.tenantId, id);
      if (!op || op.environmentId !== env.id) throw new ServiceError(404, DataverseCode.notFound, `asyncoperation With Id = ${id} Does Not Exist`);
      const done = op.state === "Succeeded" || op.state === "Failed";
      return reply.header("OData-Version", "4.0").send({
        asyncoperationid: op.id, name: op.name, operationtype: 207, statecode: done ? 3 : 0, statuscode: op.state === "Succeeded" ? 30 : op.state === "Failed" ? 31 : 0,
        message: op.message, friendlymessage: op.message, createdon: iso(op.createdAt), completedon: op.completedAt === null ? null : iso(op.completedAt), _ownerid_value: op.createdBy,
      });
    }
    const row = (await rowsOf(set, env)).find((r) => Object.entries(r).some(([k, v]) => k.endsWith("id") && !k.startsWith("_") && v === id));
    if (!row) throw new ServiceError(404, DataverseCode.notFound, `${set.replace(/s$/, "")} With Id = ${id} Does Not Exist`);
    return reply.header("OData-Version", "4.0").send(row);
  });

  // --- owner reassignment -----------------------------------------------------------------
  s.patch(`${api}/:segment`, async (req, reply) => {
    const { env, caller } = await authorise(req);
    const m = /^(workflows|canvasapps)\(([0-9a-fA-F-]{36})\)$/.exec((req.params as { segment: string }).segment);
    if (!m?.[1] || !m[2]) throw new ServiceError(405, DataverseCode.invalidArgument, "Only workflows(<id>) and canvasapps(<id>) can be updated here, and only their ownerid.");
    const body = (req.body ?? {}) as Record<string, unknown>;
    const bind = body["ownerid@odata.bind"];
    const other = Object.keys(body).filter((k) => k !== "ownerid@odata.bind");
    const owner = typeof bind === "string" ? /^\/?systemusers\(([0-9a-fA-F-]{36})\)$/.exec(bind)?.[1] : undefined;
    if (!owner || other.length > 0) throw new ServiceError(400, DataverseCode.invalidArgument, "Send {\"ownerid@odata.bind\": \"/systemusers(<systemuserid>)\"} and nothing else; OpenPAL updates only the owner.");
    const resource = await store.powerPlatform.getResource(caller.tenantId, m[2]);
    const kind = m[1] === "workflows" ? "flow" : "canvasApp";
    if (!resource || resource.kind !== kind || resource.environmentId !== env.id) throw new ServiceError(404, DataverseCode.notFound, `${m[1].replace(/s$/, "")} With Id = ${m[2]} Does Not Exist`);
    try {
      await changeOwner(store, caller.tenantId, resource.id, owner, ctx.clock.now(), actorOf(caller, req));
    } catch (error) {
      throw fromOwnership(error, { notFound: DataverseCode.notFound, badRequest: DataverseCode.invalidArgument, forbidden: DataverseCode.forbidden });
    }
    return reply.code(204).send();
  });

  // --- solution import ------------------------------------------------------------------------
  const decodeZip = (value: unknown) => {
    if (typeof value !== "string" || value.length === 0) throw new ServiceError(400, DataverseCode.invalidArgument, "CustomizationFile is required: the solution .zip, base64-encoded.");
    if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) throw new ServiceError(400, DataverseCode.invalidArgument, "CustomizationFile is not base64; encode the solution .zip with base64.");
    const read = readSolutionZip(new Uint8Array(Buffer.from(value, "base64")));
    if (!read.ok) throw new ServiceError(400, DataverseCode.importFailed, read.message);
    return read.manifest;
  };
  const runImport = async (req: FastifyRequest, caller: PpCaller, env: PpEnvironment, manifest: ReturnType<typeof decodeZip>, importJobId: string | null) => {
    const actor: Actor = actorOf(caller, req);
    try {
      return await store.transaction((tx) => importSolutionManifest(tx, env.tenantId, env.id, manifest, ctx.clock.now(), actor, importJobId));
    } catch (error) {
      throw fromOwnership(error, { notFound: DataverseCode.notFound, badRequest: DataverseCode.importFailed, forbidden: DataverseCode.forbidden });
    }
  };
  const importJobIdOf = (body: Row) => {
    const v = body.ImportJobId;
    if (v === undefined || v === null) return null;
    if (typeof v !== "string" || !isGuid(v)) throw new ServiceError(400, DataverseCode.invalidArgument, "ImportJobId must be a GUID.");
    return v.toLowerCase();
  };

  s.post(`${api}/ImportSolution`, async (req, reply) => {
    const { caller, env } = await authorise(req);
    const body = (req.body ?? {}) as Row;
    const manifest = decodeZip(body.CustomizationFile);
    await runImport(req, caller, env, manifest, importJobIdOf(body));
    return reply.code(204).send();
  });

  s.post(`${api}/StageSolution`, async (req) => {
    const { caller, env } = await authorise(req);
    const body = (req.body ?? {}) as Row;
    const manifest = decodeZip(body.CustomizationFile);
    const id = ctx.ids.newGuid();
    await store.transaction(async (tx) => {
      await tx.powerPlatform.putAsyncOperation({
        tenantId: env.tenantId, id, environmentId: env.id, name: `StageSolution:${manifest.uniqueName}`, state: "Staged", createdBy: caller.objectId, createdAt: ctx.clock.now(),
        completedAt: null, message: null, solutionId: null, payload: body.CustomizationFile as string,
      });
      await tx.audit.append({ at: ctx.clock.now(), tenantId: env.tenantId, actorTenantId: caller.tenantId, actorObjectId: caller.objectId, action: "powerPlatform.solution.stage", target: `/powerplatform/${env.id}/stagedSolutions/${id}`, requestId: req.id, details: { uniqueName: manifest.uniqueName } });
    });
    return {
      "@odata.context": `${dataverseInstanceUrl(ctx.baseUrl(), env.id)}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.StageSolutionResponse`,
      StageSolutionResults: {
        StageSolutionUploadId: id, StageSolutionStatus: 0, SolutionValidationResults: [], MissingDependencies: [],
        SolutionDetails: { SolutionUniqueName: manifest.uniqueName, SolutionFriendlyName: manifest.friendlyName, SolutionVersion: manifest.version, IsManaged: manifest.managed, IsSolutionInstalled: (await store.powerPlatform.findSolution(env.tenantId, env.id, manifest.uniqueName)) !== undefined },
      },
    };
  });

  s.post(`${api}/ImportSolutionAsync`, async (req) => {
    const { caller, env } = await authorise(req);
    const body = (req.body ?? {}) as Row;
    let file: unknown = body.CustomizationFile;
    let staged: string | null = null;
    const params = body.SolutionParameters as { StageSolutionUploadId?: unknown } | undefined;
    if (file === undefined && params?.StageSolutionUploadId !== undefined) {
      const id = String(params.StageSolutionUploadId).toLowerCase();
      const op = isGuid(id) ? await store.powerPlatform.getAsyncOperation(env.tenantId, id) : undefined;
      if (!op || op.state !== "Staged" || op.environmentId !== env.id) throw new ServiceError(404, DataverseCode.notFound, `No staged solution with StageSolutionUploadId ${id}; call StageSolution first.`);
      file = op.payload;
      staged = id;
    }
    const manifest = decodeZip(file);
    const opId = ctx.ids.newGuid();
    const importJobKey = ctx.ids.newGuid();
    const startedAt = ctx.clock.now();
    // The import itself runs now; the async operation reports its outcome to pollers.
    const outcome = await runImport(req, caller, env, manifest, importJobKey);
    await store.transaction(async (tx) => {
      await tx.powerPlatform.putAsyncOperation({
        tenantId: env.tenantId, id: opId, environmentId: env.id, name: "ImportSolutionAsync", state: "Succeeded", createdBy: caller.objectId, createdAt: startedAt,
        completedAt: ctx.clock.now(), message: `Imported ${manifest.uniqueName} ${manifest.version}: ${outcome.componentIds.length} components, ${outcome.reownedComponents} re-owned.`, solutionId: outcome.solution.id, payload: null,
      });
      if (staged) {
        const op = await tx.powerPlatform.getAsyncOperation(env.tenantId, staged);
        if (op) await tx.powerPlatform.putAsyncOperation({ ...op, state: "Succeeded", completedAt: ctx.clock.now(), payload: null, solutionId: outcome.solution.id });
      }
    });
    return { "@odata.context": `${dataverseInstanceUrl(ctx.baseUrl(), env.id)}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.ImportSolutionAsyncResponse`, AsyncOperationId: opId, ImportJobKey: importJobKey };
  });

  // Unknown Web API functions and entity sets: an OData error, not a bare 404.
  s.all(`${api}/*`, async (req) => {
    await authorise(req);
    throw new ServiceError(404, DataverseCode.invalidArgument, `Resource not found for the segment '${req.url.split("?")[0]}'. OpenPAL's Dataverse subset: ${ENTITY_SETS.join(", ")}, ImportSolution, StageSolution, ImportSolutionAsync.`);
  });
}

function resourceRow(set: "canvasapps" | "appmodules" | "workflows", r: PpResource, rels: readonly StoredRelationship[], managed: boolean): Row {
  const owner = rels.find((x) => x.relation === "owner" && x.to === null)?.principalId ?? r.createdBy;
  const schemaName = typeof r.details.schemaName === "string" ? r.details.schemaName : r.id;
  switch (set) {
    case "canvasapps":
      return { canvasappid: r.id, name: schemaName, displayname: r.displayName, _ownerid_value: owner, _createdby_value: r.createdBy, createdtime: iso(r.createdAt), lastmodifiedtime: iso(r.modifiedAt), ismanaged: managed, canvasapptype: 0 };
    case "appmodules":
      return { appmoduleid: r.id, uniquename: schemaName, name: r.displayName, _ownerid_value: owner, _createdby_value: r.createdBy, createdon: iso(r.createdAt), modifiedon: iso(r.modifiedAt), ismanaged: managed, clienttype: 4 };
    case "workflows":
      return {
        workflowid: r.id, workflowidunique: r.id, name: r.displayName, category: 5, type: 1, statecode: r.details.state === "Started" || r.details.state === undefined ? 1 : 0,
        _ownerid_value: owner, _createdby_value: r.createdBy, createdon: iso(r.createdAt), modifiedon: iso(r.modifiedAt), ismanaged: managed,
      };
  }
}
