/**
 * Handlers of Microsoft.Authorization roleAssignments and roleDefinitions at any scope. Each one:
 * resolve the scope and the caller's effective access there (src/arm/access.ts), check the action
 * as ARM would (`…/roleAssignments/write` is Owner or User Access Administrator, not
 * Contributor), validate the body against the directory and role catalog, then write through the
 * access aggregate with its audit entry in one transaction.
 */
import type { Store } from "../../store/index.ts";
import { AccessConflictError } from "../../store/index.ts";
import { accessAt, armError, auditedWrite, guidProperty, jsonObject, parseFilter, propertiesOf, stringProperty, type ArmCall, type ArmResult } from "../../arm/index.ts";
import { isGuid } from "../../domain/ids.ts";
import { builtInRoles, roleGuidFrom } from "../../domain/roles.ts";
import { builtInPermissions, type RolePermission } from "../../domain/permissions.ts";
import { scopeKey } from "../../domain/scope.ts";
import { NAMESPACE, roleAssignmentResource, roleAssignmentResourceId, roleDefinitionResource } from "./representation.ts";

export interface AuthorizationDeps {
  readonly store: Store;
  readonly baseUrl: () => string;
}

const ACTION = {
  read: `${NAMESPACE}/roleAssignments/read`,
  write: `${NAMESPACE}/roleAssignments/write`,
  delete: `${NAMESPACE}/roleAssignments/delete`,
};
const PRINCIPAL_TYPES = ["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"];

function assignmentName(call: ArmCall): string {
  const name = call.name as string;
  if (!isGuid(name)) throw armError("InvalidRoleAssignmentId", { name });
  return name.toLowerCase();
}

/** Groups `principalId` belongs to at `now`, transitively (for `assignedTo('…')`). */
async function groupsOf(store: Store, tenantId: string, principalId: string, now: number): Promise<Set<string>> {
  const live = (await store.directory.listMemberships(tenantId)).filter((m) => (m.validFrom ?? -Infinity) <= now && now < (m.validTo ?? Infinity));
  const out = new Set<string>([principalId.toLowerCase()]);
  for (let grew = true; grew;) {
    grew = false;
    for (const m of live) {
      if (out.has(m.memberId.toLowerCase()) && !out.has(m.groupId.toLowerCase())) {
        out.add(m.groupId.toLowerCase());
        grew = true;
      }
    }
  }
  return out;
}

export function authorizationHandlers(deps: AuthorizationDeps) {
  const { store } = deps;
  const at = (call: ArmCall) => accessAt(store, call.caller, call.scope, call.now, deps.baseUrl());

  return {
    async listAssignments(call: ArmCall): Promise<ArmResult> {
      const { target, access } = await at(call);
      access.require(target, ACTION.read);
      const terms = parseFilter(call.query.$filter, ["atScope()", "principalId eq", "assignedTo()"]);
      const principalId = terms.find((t) => t.fn === "principalId eq")?.arg;
      const assignedTo = terms.find((t) => t.fn === "assignedTo()")?.arg;
      const list = await store.access.listRoleAssignmentsForScope(target.tenantId, target.scope.id, {
        atScope: terms.some((t) => t.fn === "atScope()"), ...(principalId ? { principalId } : {}), at: call.now,
      });
      const holders = assignedTo ? await groupsOf(store, target.tenantId, assignedTo, call.now) : undefined;
      const value = list.filter((a) => !holders || holders.has(a.principalId)).map((a) => roleAssignmentResource(a, target.scope));
      return { body: { value } };
    },

    async getAssignment(call: ArmCall): Promise<ArmResult> {
      const name = assignmentName(call);
      const { target, access } = await at(call);
      access.require(target, ACTION.read);
      const found = await store.access.getRoleAssignment(target.tenantId, name, call.now);
      if (!found || scopeKey(found.scope) !== target.scope.key) throw armError("RoleAssignmentNotFound", { name });
      return { body: roleAssignmentResource(found, target.scope) };
    },

    async putAssignment(call: ArmCall): Promise<ArmResult> {
      const name = assignmentName(call);
      const properties = propertiesOf(jsonObject(call, `{"properties":{"roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/<guid>","principalId":"<guid>"}}`));
      const roleReference = stringProperty(properties, "roleDefinitionId", "properties.roleDefinitionId", true);
      const principalId = guidProperty(properties, "principalId", "properties.principalId");
      const givenType = stringProperty(properties, "principalType", "properties.principalType");
      if (givenType !== undefined && !PRINCIPAL_TYPES.includes(givenType)) {
        throw armError("InvalidRequestContent", { reason: `'properties.principalType' must be one of ${PRINCIPAL_TYPES.join(", ")}` });
      }
      const { target, access } = await at(call);
      access.require(target, ACTION.write);

      const roleId = roleGuidFrom(roleReference);
      const role = roleId ? (await store.access.roleCatalog(target.tenantId)).find(roleId, target.tenantId) : undefined;
      if (!role) throw armError("RoleDefinitionDoesNotExist", { id: roleReference, tenantId: target.tenantId });
      const principal = await store.directory.findPrincipal(target.tenantId, principalId);
      const alive = principal?.type === "User" ? principal.user.deletedAt === null
        : principal?.type === "ServicePrincipal" ? principal.servicePrincipal.deletedAt === null
          : principal?.type === "Group" ? principal.group.deletedAt === null : false;
      if (!principal || !alive) throw armError("PrincipalNotFound", { principalId, tenantId: target.tenantId });
      if (givenType !== undefined && givenType !== principal.type) {
        throw armError("UnmatchedPrincipalType", { principalId, actual: principal.type, given: givenType });
      }

      const outcome = await auditedWrite(store, call, async (tx) => {
        let result;
        try {
          result = await tx.access.createRoleAssignment({
            tenantId: target.tenantId, id: name, scope: target.scope.id, roleDefinitionId: role.id, principalId, principalType: principal.type,
            description: stringProperty(properties, "description", "properties.description") ?? null,
            condition: stringProperty(properties, "condition", "properties.condition") ?? null,
            conditionVersion: stringProperty(properties, "conditionVersion", "properties.conditionVersion") ?? null,
            createdBy: call.caller.objectId,
          }, { at: call.now });
        } catch (error) {
          if (error instanceof AccessConflictError && error.code === "RoleAssignmentExists") throw armError("RoleAssignmentExists", { detail: error.message });
          if (error instanceof AccessConflictError && error.code === "RoleAssignmentUpdateNotPermitted") throw armError("RoleAssignmentUpdateNotPermitted", { name });
          throw error;
        }
        return {
          result,
          ...(result === "created" ? { audit: { tenantId: target.tenantId, action: "roleAssignment.create", target: roleAssignmentResourceId(target.scope.id, name), details: { principalId, principalType: principal.type, roleDefinitionId: role.id, roleName: role.name } } } : {}),
        };
      });
      const stored = await store.access.getRoleAssignment(target.tenantId, name, call.now);
      return { status: outcome === "created" ? 201 : 200, body: roleAssignmentResource(stored!, target.scope) };
    },

    async deleteAssignment(call: ArmCall): Promise<ArmResult> {
      const name = assignmentName(call);
      const { target, access } = await at(call);
      access.require(target, ACTION.delete);
      const found = await store.access.getRoleAssignment(target.tenantId, name, call.now);
      // ARM answers 204 for an assignment that is not there (DELETE is idempotent).
      if (!found || scopeKey(found.scope) !== target.scope.key) return { empty: true, status: 204 };
      const closed = await auditedWrite(store, call, async (tx) => ({
        result: await tx.access.deleteRoleAssignment(target.tenantId, name, call.now),
        audit: { tenantId: target.tenantId, action: "roleAssignment.delete", target: roleAssignmentResourceId(found.scope, name), details: { principalId: found.principalId, roleDefinitionId: found.roleDefinitionId } },
      }));
      return { body: roleAssignmentResource(closed ?? found, target.scope) };
    },

    async listDefinitions(call: ArmCall): Promise<ArmResult> {
      const { target } = await at(call);
      const terms = parseFilter(call.query.$filter, ["roleName eq", "type eq"]);
      const roleName = terms.find((t) => t.fn === "roleName eq")?.arg?.toLowerCase();
      const type = terms.find((t) => t.fn === "type eq")?.arg?.toLowerCase();
      const custom = await store.access.listRoleDefinitions(target.tenantId, call.now);
      const roles: { role: typeof custom[number] | ReturnType<typeof builtInRoles>[number]; permissions: readonly RolePermission[] }[] = [
        ...builtInRoles().map((role) => ({ role, permissions: builtInPermissions(role.id) })),
        ...custom.map((role) => ({ role, permissions: role.permissions })),
      ];
      const value = roles
        .filter(({ role }) => (roleName === undefined || role.name.toLowerCase() === roleName) && (type === undefined || role.type.toLowerCase() === type))
        .map(({ role, permissions }) => roleDefinitionResource(role, permissions, target.scope));
      return { body: { value } };
    },

    async getDefinition(call: ArmCall): Promise<ArmResult> {
      const { target } = await at(call);
      const id = call.name as string;
      const role = roleGuidFrom(id) ? (await store.access.roleCatalog(target.tenantId)).find(id, target.tenantId) : undefined;
      if (!role) throw armError("RoleDefinitionNotFound", { id });
      const stored = role.type === "CustomRole" || role.tenantId ? (await store.access.listRoleDefinitions(target.tenantId, call.now)).find((r) => r.id === role.id) : undefined;
      return { body: roleDefinitionResource(role, stored ? stored.permissions : builtInPermissions(role.id), target.scope) };
    },
  };
}
