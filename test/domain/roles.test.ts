import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RoleCatalog, allRolesPolicy, builtInRoles, eligibilityPolicy, findBuiltInRole, pecPolicy, roleGuidFrom } from "../../src/domain/roles.ts";

describe("built-in roles carry their real GUIDs", () => {
  it("knows the roles attribution needs, by name (any case) or GUID or resource id", () => {
    assert.equal(findBuiltInRole("owner")?.id, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
    assert.equal(findBuiltInRole("CONTRIBUTOR")?.id, "b24988ac-6180-42a0-ab88-20f7382dd24c");
    assert.equal(findBuiltInRole("Reader")?.id, "acdd72a7-3385-48ef-bd42-f606fba81ae7");
    assert.equal(findBuiltInRole("user access administrator")?.id, "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9");
    assert.equal(findBuiltInRole("Support Request Contributor")?.id, "cfd33db6-4a06-4a6c-ac8c-6b1f0e4f1cc3");
    assert.equal(findBuiltInRole("/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/ACDD72A7-3385-48EF-BD42-F606FBA81AE7")?.name, "Reader");
    assert.equal(findBuiltInRole("Not A Role"), undefined);
    assert.ok(builtInRoles().length >= 125);
  });
  it("extracts GUIDs from role definition references", () => {
    assert.equal(roleGuidFrom("/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"), "8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
    assert.equal(roleGuidFrom("Owner"), undefined);
  });
});

describe("custom roles are per tenant", () => {
  const custom = { id: "11111111-2222-3333-4444-555555555555", name: "Deployer", type: "CustomRole" as const, tenantId: "t1", description: "", assignableScopes: ["/subscriptions/s"], pecEligible: null };
  const catalog = new RoleCatalog([custom]);
  it("is found by GUID, and by name only within its tenant", () => {
    assert.equal(catalog.find(custom.id)?.name, "Deployer");
    assert.equal(catalog.find("deployer", "T1")?.id, custom.id);
    assert.equal(catalog.find("deployer", "t2"), undefined);
    assert.equal(catalog.find(custom.id, "t2"), undefined);
  });
});

describe("role eligibility policy is versioned", () => {
  it("pec: the published table decides; absent and custom roles are not eligible", () => {
    assert.equal(pecPolicy.isEligible(findBuiltInRole("Owner")!), true);
    assert.equal(pecPolicy.isEligible(findBuiltInRole("Reader")!), false);
    assert.equal(pecPolicy.isEligible(findBuiltInRole("Support Request Contributor")!), false, "absent from the table");
    assert.equal(pecPolicy.isEligible({ type: "CustomRole", pecEligible: null }), false);
    assert.match(pecPolicy.version, /2022-11-08/);
  });
  it("all-roles counts every role; unknown policy names say which exist", () => {
    assert.equal(allRolesPolicy.isEligible({ type: "CustomRole", pecEligible: null }), true);
    assert.equal(eligibilityPolicy(), pecPolicy);
    assert.throws(() => eligibilityPolicy("some"), /use "pec".*"all-roles"/);
  });
});
