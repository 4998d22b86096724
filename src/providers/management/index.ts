/**
 * The Microsoft.Management resource provider: management groups of the caller's tenant (get,
 * list, create/move). Creating needs `Microsoft.Management/managementGroups/write` on the parent
 * (Owner, Contributor); moving needs it on the group and on the new parent. Answers are
 * synchronous (ARM answers 202 and an async operation). Public face.
 */
import type { ArmCall, ArmProvider, ArmResult, ResolvedScope } from "../../arm/index.ts";
import { accessAt, armError, auditedWrite, jsonObject, propertiesOf, stringProperty } from "../../arm/index.ts";
import type { ManagementGroup, Store } from "../../store/index.ts";
import { managementGroupScope, parseScope } from "../../domain/scope.ts";
import { apiVersionsOf } from "../../arm/api-versions.ts";

export const NAMESPACE = "Microsoft.Management";
export const MANAGEMENT_API_VERSIONS: readonly string[] = apiVersionsOf(NAMESPACE);
const WRITE = `${NAMESPACE}/managementGroups/write`;
const READ = `${NAMESPACE}/managementGroups/read`;

export interface ManagementDeps {
  readonly store: Store;
  readonly baseUrl: () => string;
}

function groupResource(g: ManagementGroup, byId: ReadonlyMap<string, ManagementGroup>) {
  const parent = g.parentId ? byId.get(g.parentId.toLowerCase()) : undefined;
  return {
    id: managementGroupScope(g.id), type: `${NAMESPACE}/managementGroups`, name: g.id,
    properties: {
      tenantId: g.tenantId, displayName: g.displayName,
      details: { ...(g.validFrom === null ? {} : { updatedTime: new Date(g.validFrom).toISOString() }), ...(parent ? { parent: { id: managementGroupScope(parent.id), name: parent.id, displayName: parent.displayName } } : {}) },
    },
  };
}

export function managementProvider(deps: ManagementDeps): ArmProvider {
  const { store } = deps;
  const target = (call: ArmCall, id: string) => accessAt(store, call.caller, parseScope(managementGroupScope(id)), call.now, deps.baseUrl());
  const groups = async (tenantId: string, now: number) => new Map((await store.resources.listManagementGroups(tenantId, now)).map((g) => [g.id.toLowerCase(), g]));

  const get = async (call: ArmCall): Promise<ArmResult> => {
    const id = call.name as string;
    const { target: t, access } = await target(call, id);
    access.require(t, READ);
    const byId = await groups(call.caller.tenantId, call.now);
    const g = byId.get(id.toLowerCase());
    if (!g) throw armError("ManagementGroupNotFound", { name: id, tenantId: call.caller.tenantId });
    return { body: groupResource(g, byId) };
  };

  const list = async (call: ArmCall): Promise<ArmResult> => {
    const { target: root, access } = await accessAt(store, call.caller, parseScope("/"), call.now, deps.baseUrl());
    const byId = await groups(call.caller.tenantId, call.now);
    const value = [...byId.values()]
      .filter((g) => access.allows({ ...root, scope: parseScope(managementGroupScope(g.id)) }, READ))
      .map((g) => ({ id: managementGroupScope(g.id), type: `${NAMESPACE}/managementGroups`, name: g.id, properties: { tenantId: g.tenantId, displayName: g.displayName } }));
    return { body: { value } };
  };

  const put = async (call: ArmCall): Promise<ArmResult> => {
    const id = call.name as string;
    const tenantId = call.caller.tenantId;
    if (!/^[-\w.()]{1,90}$/.test(id)) throw armError("InvalidRequestUri", { path: managementGroupScope(id), reason: "a management group id is 1-90 letters, digits, '-', '_', '.', '(' or ')'" });
    if (id.toLowerCase() === tenantId.toLowerCase()) throw armError("InvalidManagementGroupParent", { name: id, parent: "-", reason: "the tenant root group cannot be created or moved." });
    const properties = propertiesOf(jsonObject(call, `{"properties":{"displayName":"Production","details":{"parent":{"id":"/providers/Microsoft.Management/managementGroups/<parent>"}}}}`));
    const details = (properties.details ?? {}) as Record<string, unknown>;
    const parentRef = stringProperty((details.parent ?? {}) as Record<string, unknown>, "id", "properties.details.parent.id") ?? tenantId;
    const parentId = parentRef.split("/").filter(Boolean).at(-1) as string;
    const byId = await groups(tenantId, call.now);
    const existing = byId.get(id.toLowerCase());
    const isRoot = parentId.toLowerCase() === tenantId.toLowerCase();
    if (!isRoot && !byId.has(parentId.toLowerCase())) throw armError("InvalidManagementGroupParent", { name: id, parent: parentId, reason: "the parent does not exist; create it first." });
    // A group may not move under itself or one of its descendants.
    for (let p: string | null | undefined = parentId; p; p = byId.get(p.toLowerCase())?.parentId) {
      if (p.toLowerCase() === id.toLowerCase()) throw armError("InvalidManagementGroupParent", { name: id, parent: parentId, reason: "the parent is the group itself or one of its descendants." });
    }
    const { target: parentTarget, access } = await target(call, isRoot ? tenantId : parentId);
    const moving = existing && (existing.parentId ?? tenantId).toLowerCase() !== parentId.toLowerCase();
    if (!existing || moving) access.require(parentTarget, WRITE);
    if (existing) access.require({ ...parentTarget, scope: parseScope(managementGroupScope(existing.id)) } as ResolvedScope, WRITE);
    const displayName = stringProperty(properties, "displayName", "properties.displayName") ?? existing?.displayName ?? id;
    await auditedWrite(store, call, async (tx) => {
      const result = await tx.resources.putManagementGroup({ tenantId, id: existing?.id ?? id, displayName, parentId: isRoot ? null : parentId }, { at: call.now });
      return { result, ...(result === "unchanged" ? {} : { audit: { tenantId, action: `managementGroup.${result === "created" ? "create" : "update"}`, target: managementGroupScope(id), details: { displayName, parentId } } }) };
    });
    const after = await groups(tenantId, call.now);
    return { body: groupResource(after.get(id.toLowerCase()) as ManagementGroup, after) };
  };

  return {
    namespace: NAMESPACE,
    apiVersions: MANAGEMENT_API_VERSIONS,
    resourceTypes: [{ type: "managementGroups", scopes: ["root"], collection: { GET: list }, item: { GET: get, PUT: put } }],
  };
}
