/**
 * Handlers of Microsoft.Resources subscriptions (list, get) and resource groups (create, get,
 * list, delete). Subscriptions are visible where the caller holds any role at, above or below
 * them, in its own tenant or through an Azure Lighthouse delegation (as ARM lists them); resource
 * group writes need `Microsoft.Resources/subscriptions/resourceGroups/write|delete` (Owner,
 * Contributor). Deletes answer synchronously.
 */
import type { Aggregates, Store, Subscription } from "../../store/index.ts";
import { accessAt, armError, auditedWrite, CallerAccess, jsonObject, stringProperty, type ArmCall, type ArmResult, type ResolvedScope } from "../../arm/index.ts";
import { parseScope, scopeContains, subscriptionScope } from "../../domain/scope.ts";
import { NAMESPACE, resourceGroupResource, subscriptionResource } from "./representation.ts";

export interface ResourcesDeps {
  readonly store: Store;
  readonly baseUrl: () => string;
}

const ACTION = {
  readGroup: `${NAMESPACE}/subscriptions/resourceGroups/read`,
  writeGroup: `${NAMESPACE}/subscriptions/resourceGroups/write`,
  deleteGroup: `${NAMESPACE}/subscriptions/resourceGroups/delete`,
};

/** Managing tenants of the Lighthouse delegations on a subscription (or its resource groups). */
async function managedByTenants(store: Aggregates, s: Subscription, now: number): Promise<string[]> {
  const assignments = await store.access.listRegistrationAssignments({ tenantId: s.tenantId, scope: subscriptionScope(s.id), at: now });
  const out = new Set<string>();
  for (const a of assignments) {
    const d = await store.access.getRegistrationDefinition(s.tenantId, a.registrationDefinitionId, now);
    if (d) out.add(d.managedByTenantId);
  }
  return [...out].sort();
}

function groupTarget(subscription: ResolvedScope, name: string): ResolvedScope {
  return { ...subscription, scope: parseScope(`/subscriptions/${subscription.subscription?.id}/resourceGroups/${name}`) };
}

export function resourcesHandlers(deps: ResourcesDeps) {
  const { store } = deps;
  const at = (call: ArmCall) => accessAt(store, call.caller, call.scope, call.now, deps.baseUrl());

  return {
    async listSubscriptions(call: ArmCall): Promise<ArmResult> {
      // Customer tenants that delegated something to the caller's tenant hold subscriptions it sees.
      const delegating = (await store.access.listRegistrationDefinitions({ managedByTenantId: call.caller.tenantId, at: call.now })).map((d) => d.tenantId);
      const access = await CallerAccess.load(store, call.caller, call.now, delegating);
      const value = [];
      for (const id of access.subscriptionIds()) {
        const s = await store.resources.getSubscription(id, call.now);
        if (s) value.push(subscriptionResource(s, await managedByTenants(store, s, call.now)));
      }
      value.sort((a, b) => a.displayName.localeCompare(b.displayName) || a.subscriptionId.localeCompare(b.subscriptionId));
      return { body: { value, count: { type: "Total", value: value.length } } };
    },

    async getSubscription(call: ArmCall): Promise<ArmResult> {
      const id = call.name as string;
      const { target, access } = await at({ ...call, scope: parseScope(subscriptionScope(id)) });
      // ARM does not tell a caller without any role that the subscription exists.
      if (!access.reaches(target)) throw armError("SubscriptionNotFound", { subscriptionId: id });
      const s = target.subscription as Subscription;
      return { body: subscriptionResource(s, await managedByTenants(store, s, call.now)) };
    },

    async listGroups(call: ArmCall): Promise<ArmResult> {
      const { target, access } = await at(call);
      if (!access.reaches(target)) access.require(target, ACTION.readGroup);
      const groups = await store.resources.listResourceGroups(target.subscription?.id as string, call.now);
      const value = groups.filter((g) => access.reaches(groupTarget(target, g.name))).map(resourceGroupResource);
      return { body: { value } };
    },

    async getGroup(call: ArmCall): Promise<ArmResult> {
      const { target, access } = await at(call);
      const group = await store.resources.getResourceGroup(target.subscription?.id as string, call.name as string, call.now);
      if (!group) throw armError("ResourceGroupNotFound", { name: call.name as string });
      const rg = groupTarget(target, group.name);
      if (!access.reaches(rg)) access.require(rg, ACTION.readGroup);
      return { body: resourceGroupResource(group) };
    },

    async putGroup(call: ArmCall): Promise<ArmResult> {
      const name = call.name as string;
      if (!/^[-\w._()]{1,90}$/.test(name) || name.endsWith(".")) {
        throw armError("InvalidRequestUri", { path: name, reason: "a resource group name is 1-90 letters, digits, '-', '_', '.', '(' or ')', and does not end with '.'" });
      }
      const body = jsonObject(call, `{"location":"westeurope","tags":{}}`);
      const location = stringProperty(body, "location", "location");
      if (!location) throw armError("LocationRequired");
      const tags = body.tags ?? {};
      if (tags === null || typeof tags !== "object" || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== "string")) {
        throw armError("InvalidRequestContent", { reason: "'tags' must be an object of string values" });
      }
      const { target, access } = await at(call);
      const rg = groupTarget(target, name);
      access.require(rg, ACTION.writeGroup);
      const subscriptionId = target.subscription?.id as string;
      const existing = await store.resources.getResourceGroup(subscriptionId, name, call.now);
      if (existing && existing.location.toLowerCase() !== location.toLowerCase()) {
        throw armError("InvalidResourceGroupLocation", { given: location, existing: existing.location });
      }
      const outcome = await auditedWrite(store, call, async (tx) => {
        const result = await tx.resources.putResourceGroup({ tenantId: target.tenantId, subscriptionId, name: existing?.name ?? name, location: existing?.location ?? location, tags: tags as Record<string, string> }, { at: call.now });
        return { result, ...(result === "unchanged" ? {} : { audit: { tenantId: target.tenantId, action: `resourceGroup.${result === "created" ? "create" : "update"}`, target: rg.scope.id, details: { location, tags } } }) };
      });
      const stored = await store.resources.getResourceGroup(subscriptionId, name, call.now);
      return { status: outcome === "created" ? 201 : 200, body: resourceGroupResource(stored!) };
    },

    async deleteGroup(call: ArmCall): Promise<ArmResult> {
      const { target, access } = await at(call);
      const subscriptionId = target.subscription?.id as string;
      const group = await store.resources.getResourceGroup(subscriptionId, call.name as string, call.now);
      if (!group) throw armError("ResourceGroupNotFound", { name: call.name as string });
      const rg = groupTarget(target, group.name);
      access.require(rg, ACTION.deleteGroup);
      await auditedWrite(store, call, async (tx) => {
        await tx.resources.deleteResourceGroup(subscriptionId, group.name, call.now);
        // Role assignments and delegations at or inside the group go with it, as in Azure.
        const inside = (await tx.access.listRoleAssignmentsForScope(target.tenantId, rg.scope.id, { at: call.now }))
          .filter((a) => scopeContains(rg.scope, parseScope(a.scope)));
        for (const a of inside) await tx.access.deleteRoleAssignment(target.tenantId, a.id, call.now);
        const delegations = await tx.access.listRegistrationAssignments({ tenantId: target.tenantId, scope: rg.scope.id, at: call.now });
        for (const d of delegations) await tx.access.deleteRegistrationAssignment(target.tenantId, d.id, call.now);
        return {
          result: undefined,
          audit: { tenantId: target.tenantId, action: "resourceGroup.delete", target: rg.scope.id, details: { roleAssignmentsClosed: inside.map((a) => a.id), registrationAssignmentsClosed: delegations.map((d) => d.id) } },
        };
      });
      return { empty: true };
    },
  };
}
