import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ResourceHierarchy, ScopeError, ancestorsOf, parseScope, scopeContains, scopeKey } from "../../src/domain/scope.ts";

const T = "896470ca-9c6e-4176-9b38-5a655403c638";
const SUB = "4dfa3b56-55bf-4059-802a-24e44a4fb60f";
const VM = `/subscriptions/${SUB}/resourceGroups/RG-Web/providers/Microsoft.Compute/virtualMachines/vm1`;
const day = (d: number) => Date.UTC(2026, 9, d);

describe("scope ids parse into their level", () => {
  it("reads every ARM scope form", () => {
    assert.equal(parseScope("/").kind, "root");
    assert.deepEqual(parseScope("/providers/Microsoft.Management/managementGroups/ESJH"), { kind: "managementGroup", id: "/providers/Microsoft.Management/managementGroups/ESJH", key: "/providers/microsoft.management/managementgroups/esjh", managementGroupId: "ESJH" });
    assert.equal(parseScope(`/subscriptions/${SUB.toUpperCase()}`).subscriptionId, SUB);
    assert.equal(parseScope(`/subscriptions/${SUB}/resourceGroups/RG-Web/`).resourceGroup, "RG-Web");
    const vm = parseScope(VM);
    assert.equal(vm.kind, "resource");
    assert.equal(vm.resourceType, "Microsoft.Compute/virtualMachines");
    assert.equal(vm.resourceName, "vm1");
    const ext = parseScope(`${VM}/extensions/agent`);
    assert.equal(ext.resourceType, "Microsoft.Compute/virtualMachines/extensions");
    assert.equal(parseScope(`/subscriptions/${SUB}/providers/Microsoft.Security/pricings/arm`).resourceGroup, undefined);
  });
  it("rejects malformed ids with a message naming the expected form", () => {
    assert.throws(() => parseScope("subscriptions/x"), (e: Error) => e instanceof ScopeError && /must start with "\/"/.test(e.message));
    assert.throws(() => parseScope(`/subscriptions/${SUB}/resourceGroups`), /add the resource group name/);
    assert.throws(() => parseScope(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines`), /providers\/<namespace>\/<type>\/<name>/);
    assert.throws(() => parseScope("/tenants/x"), /not an ARM scope/);
  });
});

describe("scopes compare case-insensitively", () => {
  it("keys are lower case and containment ignores case", () => {
    assert.equal(scopeKey(`/SUBSCRIPTIONS/${SUB}/RESOURCEGROUPS/rg-web/`), `/subscriptions/${SUB}/resourcegroups/rg-web`);
    assert.equal(scopeContains(`/subscriptions/${SUB.toUpperCase()}/resourcegroups/rg-web`, VM), true);
    assert.equal(scopeContains(`/subscriptions/${SUB}/resourceGroups/rg-we`, VM), false, "a prefix that is not a path segment does not contain");
  });
});

describe("ancestorsOf walks up the id, then the management group tree", () => {
  const h = new ResourceHierarchy(
    [{ tenantId: T, id: T, parentId: null, validFrom: null, validTo: null },
     { tenantId: T, id: "ESJH", parentId: T, validFrom: null, validTo: null },
     { tenantId: T, id: "ESJH-online", parentId: "ESJH", validFrom: null, validTo: null }],
    [{ tenantId: T, id: SUB, managementGroupId: "ESJH-online", validFrom: null, validTo: null }],
  );
  it("nearest first, ending at the root", () => {
    assert.deepEqual(ancestorsOf(`${VM}/extensions/agent`).map((s) => s.key), [VM.toLowerCase(), `/subscriptions/${SUB}/resourcegroups/rg-web`, `/subscriptions/${SUB}`, "/"]);
    assert.deepEqual(ancestorsOf(VM, h.at(T, day(1))).map((s) => s.id).slice(1), [
      `/subscriptions/${SUB}`, "/providers/Microsoft.Management/managementGroups/ESJH-online",
      "/providers/Microsoft.Management/managementGroups/ESJH", `/providers/Microsoft.Management/managementGroups/${T}`, "/"]);
  });
  it("a management group contains what sits under it at that time", () => {
    assert.equal(scopeContains("/providers/Microsoft.Management/managementGroups/esjh", VM, h.at(T, day(1))), true);
    assert.equal(scopeContains("/providers/Microsoft.Management/managementGroups/ESJHQA", VM, h.at(T, day(1))), false);
  });
});

describe("the hierarchy is effective-dated: moves change containment over time", () => {
  const h = new ResourceHierarchy(
    [{ tenantId: T, id: T, parentId: null, validFrom: null, validTo: null },
     { tenantId: T, id: "A", parentId: T, validFrom: null, validTo: null },
     { tenantId: T, id: "B", parentId: T, validFrom: null, validTo: null },
     { tenantId: T, id: "A1", parentId: "A", validFrom: null, validTo: day(20) },
     { tenantId: T, id: "A1", parentId: "B", validFrom: day(20), validTo: null }],
    [{ tenantId: T, id: SUB, managementGroupId: "A1", validFrom: day(5), validTo: day(25) },
     { tenantId: T, id: SUB, managementGroupId: null, validFrom: day(25), validTo: null }],
  );
  it("a subscription is under a group while every link of its chain holds", () => {
    assert.deepEqual(h.subscriptionUnder(T, "A", SUB), [{ from: day(5), to: day(20) }]);
    assert.deepEqual(h.subscriptionUnder(T, "b", SUB), [{ from: day(20), to: day(25) }]);
    assert.deepEqual(h.subscriptionInTenant(T, SUB), [{ from: day(5), to: null }]);
    assert.equal(h.at(T, day(22)).subscriptionManagementGroup(SUB), "A1");
    assert.equal(h.at(T, day(26)).subscriptionManagementGroup(SUB), T);
  });
});
