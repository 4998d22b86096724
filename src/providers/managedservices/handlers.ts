/**
 * Handlers of Microsoft.ManagedServices registrationDefinitions (subscription scope) and
 * registrationAssignments (subscription and resource group scope). Each one: resolve the scope
 * and the caller's effective access there (src/arm/access.ts), check the actions as Azure does for
 * onboarding (the ManagedServices action and `Microsoft.Authorization/roleAssignments/write`:
 * Owner), validate the body against the role catalog and the directory, then write through the
 * access aggregate with its audit entry in one transaction. Answers are synchronous.
 */
import type { Aggregates, RegistrationDefinition, Store } from "../../store/index.ts";
import { AccessConflictError } from "../../store/index.ts";
import { accessAt, armError, auditedWrite, jsonObject, parseFilter, propertiesOf, stringProperty, type ArmCall, type ArmResult, type ResolvedScope } from "../../arm/index.ts";
import { isGuid } from "../../domain/ids.ts";
import { scopeKey, subscriptionScope } from "../../domain/scope.ts";
import { assignmentResource, assignmentResourceId, definitionResource, definitionResourceId, NAMESPACE } from "./representation.ts";
import { DEFINITION_EXAMPLE, readDefinition } from "./validation.ts";

export interface ManagedServicesDeps {
  readonly store: Store;
  readonly baseUrl: () => string;
}

const ACTION = {
  definitionRead: `${NAMESPACE}/registrationDefinitions/read`,
  definitionWrite: `${NAMESPACE}/registrationDefinitions/write`,
  definitionDelete: `${NAMESPACE}/registrationDefinitions/delete`,
  assignmentRead: `${NAMESPACE}/registrationAssignments/read`,
  assignmentWrite: `${NAMESPACE}/registrationAssignments/write`,
  assignmentDelete: `${NAMESPACE}/registrationAssignments/delete`,
  /** Azure: onboarding needs a role that can write role assignments at the scope (Owner). */
  roleAssignmentWrite: "Microsoft.Authorization/roleAssignments/write",
};

function guidName(call: ArmCall, what: string): string {
  const name = call.name as string;
  if (!isGuid(name)) throw armError("InvalidRequestUri", { path: `${call.scope.id}/providers/${NAMESPACE}/${what}/${name}`, reason: `a ${what === "registrationDefinitions" ? "registration definition" : "registration assignment"} id is a GUID` });
  return name.toLowerCase();
}

/** `$expandRegistrationDefinition`: true or false (any case); anything else names the choice. */
function expand(call: ArmCall): boolean {
  const v = call.query.$expandRegistrationDefinition;
  if (v === undefined || v === "") return false;
  if (/^(true|false)$/i.test(v)) return v.toLowerCase() === "true";
  throw armError("InvalidRequestUri", { path: `${call.scope.id}/providers/${NAMESPACE}/registrationAssignments`, reason: `$expandRegistrationDefinition must be true or false, got '${v}'` });
}

/** The subscription of a definition resource id (`/subscriptions/{s}/providers/…/registrationDefinitions/{guid}`), and its GUID. */
function definitionReference(text: string): { subscriptionId: string; id: string } | undefined {
  const m = /^\/subscriptions\/([^/]+)\/providers\/microsoft\.managedservices\/registrationdefinitions\/([0-9a-f-]{36})\/?$/i.exec(text.trim());
  return m && isGuid(m[2] as string) ? { subscriptionId: m[1] as string, id: (m[2] as string).toLowerCase() } : undefined;
}

export function managedServicesHandlers(deps: ManagedServicesDeps) {
  const { store } = deps;
  const at = (call: ArmCall, scope = call.scope) => accessAt(store, call.caller, scope, call.now, deps.baseUrl());
  const subscriptionOf = (target: ResolvedScope) => subscriptionScope(target.scope.subscriptionId as string);

  const tenantName = async (s: Aggregates, id: string) => (await s.directory.getTenant(id))?.displayName ?? null;
  const render = async (s: Aggregates, d: RegistrationDefinition) =>
    definitionResource(d, { managee: await tenantName(s, d.tenantId), managedBy: await tenantName(s, d.managedByTenantId) });

  /** The open definition `id` of the subscription; undefined when absent or in another subscription. */
  const definitionIn = async (s: Aggregates, target: ResolvedScope, id: string, now: number) => {
    const d = await s.access.getRegistrationDefinition(target.tenantId, id, now);
    return d && scopeKey(d.scope) === scopeKey(subscriptionOf(target)) ? d : undefined;
  };

  /** Owner at the scope: the ManagedServices action and role-assignment write (the customer side). */
  const requireOnboarding = (access: Awaited<ReturnType<typeof at>>["access"], target: ResolvedScope, action: string) => {
    access.require(target, action);
    access.require(target, ACTION.roleAssignmentWrite);
  };

  return {
    async listDefinitions(call: ArmCall): Promise<ArmResult> {
      const { target, access } = await at(call);
      access.require(target, ACTION.definitionRead);
      const terms = parseFilter(call.query.$filter, ["managedByTenantId eq"]);
      const managedBy = terms.find((t) => t.fn === "managedByTenantId eq")?.arg?.trim();
      const list = await store.access.listRegistrationDefinitions({ tenantId: target.tenantId, ...(managedBy ? { managedByTenantId: managedBy } : {}), at: call.now });
      const mine = list.filter((d) => scopeKey(d.scope) === target.scope.key);
      return { body: { value: await Promise.all(mine.map((d) => render(store, d))) } };
    },

    async getDefinition(call: ArmCall): Promise<ArmResult> {
      const id = guidName(call, "registrationDefinitions");
      const { target, access } = await at(call);
      access.require(target, ACTION.definitionRead);
      const d = await definitionIn(store, target, id, call.now);
      if (!d) throw armError("RegistrationDefinitionNotFound", { name: id });
      return { body: await render(store, d) };
    },

    async putDefinition(call: ArmCall): Promise<ArmResult> {
      const id = guidName(call, "registrationDefinitions");
      const body = jsonObject(call, DEFINITION_EXAMPLE);
      const input = readDefinition(body, propertiesOf(body));
      const { target, access } = await at(call);
      requireOnboarding(access, target, ACTION.definitionWrite);
      const managing = await store.directory.getTenant(input.managedByTenantId);
      if (!managing) {
        throw armError("InvalidRegistrationDefinition", { reason: `managedByTenantId '${input.managedByTenantId}' is not a tenant known to this server; use the managing (service provider) tenant's id as GET /tenants shows it to its users.` });
      }
      if (managing.id.toLowerCase() === target.tenantId.toLowerCase()) {
        throw armError("InvalidRegistrationDefinition", { reason: `managedByTenantId '${input.managedByTenantId}' is the tenant of subscription '${target.scope.subscriptionId}'; a delegation is to another (the managing) tenant.` });
      }
      const existing = await store.access.getRegistrationDefinition(target.tenantId, id, call.now);
      if (existing && scopeKey(existing.scope) !== target.scope.key) {
        throw armError("InvalidRegistrationDefinition", { reason: `registration definition '${id}' already exists in '${existing.scope}'; choose another id for this subscription.` });
      }
      const outcome = await auditedWrite(store, call, async (tx) => {
        const result = await tx.access.putRegistrationDefinition({
          tenantId: target.tenantId, id, scope: existing?.scope ?? target.scope.id, name: input.name, description: input.description,
          managedByTenantId: managing.id.toLowerCase(), managedByTenantName: managing.displayName, authorizations: input.authorizations, plan: input.plan,
        }, { at: call.now });
        if (result === "unchanged") return { result };
        return {
          result,
          audit: {
            tenantId: target.tenantId, action: `registrationDefinition.${result === "created" ? "create" : "update"}`, target: definitionResourceId(target.scope.id, id),
            details: { name: input.name, managedByTenantId: managing.id, authorizations: input.authorizations.map((a) => ({ principalId: a.principalId, roleDefinitionId: a.roleDefinitionId, kind: a.kind })) },
          },
        };
      });
      const stored = await store.access.getRegistrationDefinition(target.tenantId, id, call.now);
      return { status: outcome === "created" ? 201 : 200, body: await render(store, stored as RegistrationDefinition) };
    },

    async deleteDefinition(call: ArmCall): Promise<ArmResult> {
      const id = guidName(call, "registrationDefinitions");
      const { target, access } = await at(call);
      requireOnboarding(access, target, ACTION.definitionDelete);
      const d = await definitionIn(store, target, id, call.now);
      if (!d) return { empty: true, status: 204 };
      await auditedWrite(store, call, async (tx) => {
        try {
          await tx.access.deleteRegistrationDefinition(target.tenantId, id, call.now);
        } catch (error) {
          if (error instanceof AccessConflictError && error.code === "RegistrationDefinitionInUse") throw armError("RegistrationDefinitionInUse", { name: id });
          throw error;
        }
        return { result: undefined, audit: { tenantId: target.tenantId, action: "registrationDefinition.delete", target: definitionResourceId(d.scope, id), details: { name: d.name, managedByTenantId: d.managedByTenantId } } };
      });
      return { empty: true };
    },

    async listAssignments(call: ArmCall): Promise<ArmResult> {
      const withDefinition = expand(call);
      const { target, access } = await at(call);
      access.require(target, ACTION.assignmentRead);
      parseFilter(call.query.$filter, []);
      const list = await store.access.listRegistrationAssignments({ tenantId: target.tenantId, scope: target.scope.id, at: call.now });
      const value = [];
      for (const a of list) {
        const d = await store.access.getRegistrationDefinition(target.tenantId, a.registrationDefinitionId, call.now);
        value.push(assignmentResource(a, d?.scope ?? subscriptionOf(target), withDefinition && d ? await render(store, d) : undefined));
      }
      return { body: { value } };
    },

    async getAssignment(call: ArmCall): Promise<ArmResult> {
      const id = guidName(call, "registrationAssignments");
      const withDefinition = expand(call);
      const { target, access } = await at(call);
      access.require(target, ACTION.assignmentRead);
      const a = await store.access.getRegistrationAssignment(target.tenantId, id, call.now);
      if (!a || scopeKey(a.scope) !== target.scope.key) throw armError("RegistrationAssignmentNotFound", { name: id });
      const d = await store.access.getRegistrationDefinition(target.tenantId, a.registrationDefinitionId, call.now);
      return { body: assignmentResource(a, d?.scope ?? subscriptionOf(target), withDefinition && d ? await render(store, d) : undefined) };
    },

    async putAssignment(call: ArmCall): Promise<ArmResult> {
      const id = guidName(call, "registrationAssignments");
      const sub = call.scope.subscriptionId as string;
      const exampleId = definitionResourceId(subscriptionScope(sub), "<guid>");
      const properties = propertiesOf(jsonObject(call, `{"properties":{"registrationDefinitionId":"${exampleId}"}}`));
      const reference = stringProperty(properties, "registrationDefinitionId", "properties.registrationDefinitionId", true);
      const ref = definitionReference(reference);
      if (!ref) throw armError("InvalidRequestContent", { reason: `'properties.registrationDefinitionId' must be a registration definition resource id, e.g. ${exampleId}, got '${reference}'` });
      const { target, access } = await at(call);
      requireOnboarding(access, target, ACTION.assignmentWrite);
      if (ref.subscriptionId.toLowerCase() !== sub.toLowerCase()) {
        throw armError("InvalidRegistrationAssignment", { reason: `registration definition '${ref.id}' belongs to subscription '${ref.subscriptionId}'; a definition is assigned only in its own subscription ('${sub}'): create it there first.` });
      }
      const d = await definitionIn(store, target, ref.id, call.now);
      if (!d) throw armError("RegistrationDefinitionNotFound", { name: ref.id });
      if (d.managedByTenantId.toLowerCase() === target.tenantId.toLowerCase()) {
        throw armError("InvalidRegistrationAssignment", { reason: `registration definition '${ref.id}' is managed by the subscription's own tenant; delegate to another tenant.` });
      }
      const outcome = await auditedWrite(store, call, async (tx) => {
        let result;
        try {
          result = await tx.access.createRegistrationAssignment({ tenantId: target.tenantId, id, scope: target.scope.id, registrationDefinitionId: d.id }, { at: call.now });
        } catch (error) {
          if (error instanceof AccessConflictError && error.code === "RegistrationAssignmentUpdateNotPermitted") throw armError("RegistrationAssignmentUpdateNotPermitted", { name: id });
          throw error;
        }
        if (result !== "created") return { result };
        return {
          result,
          audit: { tenantId: target.tenantId, action: "registrationAssignment.create", target: assignmentResourceId(target.scope.id, id), details: { registrationDefinitionId: d.id, managedByTenantId: d.managedByTenantId } },
        };
      });
      const stored = await store.access.getRegistrationAssignment(target.tenantId, id, call.now);
      return { status: outcome === "created" ? 201 : 200, body: assignmentResource(stored!, d.scope) };
    },

    /**
     * Ends a delegation from now (the interval closes; history stays). The customer needs Owner
     * at the scope; a principal of the managing tenant needs the Managed Services Registration
     * Assignment Delete Role, held through the delegation itself.
     */
    async deleteAssignment(call: ArmCall): Promise<ArmResult> {
      const id = guidName(call, "registrationAssignments");
      const { target, access } = await at(call);
      access.require(target, ACTION.assignmentDelete);
      const a = await store.access.getRegistrationAssignment(target.tenantId, id, call.now);
      const d = a ? await store.access.getRegistrationDefinition(target.tenantId, a.registrationDefinitionId, call.now) : undefined;
      const managing = d !== undefined && d.managedByTenantId.toLowerCase() === call.caller.tenantId.toLowerCase();
      if (!managing) access.require(target, ACTION.roleAssignmentWrite);
      if (!a || scopeKey(a.scope) !== target.scope.key) return { empty: true, status: 204 };
      await auditedWrite(store, call, async (tx) => ({
        result: await tx.access.deleteRegistrationAssignment(target.tenantId, id, call.now),
        audit: { tenantId: target.tenantId, action: "registrationAssignment.delete", target: assignmentResourceId(a.scope, id), details: { registrationDefinitionId: a.registrationDefinitionId, by: managing ? "managing tenant" : "customer" } },
      }));
      return { empty: true };
    },
  };
}
