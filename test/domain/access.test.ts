import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { effectiveAccess, entriesCovering, indexAccess, type AccessInput } from "../../src/domain/access.ts";
import { allRolesPolicy } from "../../src/domain/roles.ts";

const day = (d: number) => Date.UTC(2026, 9, d);
const OCT = { from: day(1), to: day(31) };
const CUST = "c0000000-0000-0000-0000-000000000001";
const PARTNER = "p0000000-0000-0000-0000-000000000001";
const SUB = "5ub00000-0000-0000-0000-000000000001";
const OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

function world(extra: Partial<AccessInput> = {}): AccessInput {
  return {
    principals: [
      { tenantId: CUST, objectId: "alice", type: "User", homeTenantId: CUST, deletedAt: null },
      { tenantId: CUST, objectId: "guest-bob", type: "User", homeTenantId: PARTNER, deletedAt: null },
      { tenantId: CUST, objectId: "g-inner", type: "Group", homeTenantId: CUST, deletedAt: null },
      { tenantId: CUST, objectId: "g-outer", type: "Group", homeTenantId: CUST, deletedAt: null },
      { tenantId: PARTNER, objectId: "bob", type: "User", homeTenantId: PARTNER, deletedAt: null },
      { tenantId: PARTNER, objectId: "sp-auto", type: "ServicePrincipal", homeTenantId: PARTNER, deletedAt: null },
      { tenantId: PARTNER, objectId: "p-admins", type: "Group", homeTenantId: PARTNER, deletedAt: null },
    ],
    memberships: [], disabled: [], roleAssignments: [], registrationDefinitions: [], registrationAssignments: [], activations: [],
    managementGroups: [
      { tenantId: CUST, id: CUST, parentId: null, validFrom: null, validTo: null },
      { tenantId: CUST, id: "Platform", parentId: CUST, validFrom: null, validTo: null },
      { tenantId: CUST, id: "LandingZones", parentId: "Platform", validFrom: null, validTo: null },
    ],
    subscriptions: [{ tenantId: CUST, id: SUB, managementGroupId: "LandingZones", validFrom: null, validTo: null }],
    roleDefinitions: [],
    ...extra,
  };
}

const ra = (id: string, principalId: string, scope: string, role = CONTRIBUTOR, validFrom: number | null = null, validTo: number | null = null) =>
  ({ tenantId: CUST, id, scope, principalId, principalType: "User", roleDefinitionId: role, validFrom, validTo });

describe("direct assignment: the principal itself holds the role", () => {
  it("reports the scope, role, path and the intervals clipped to the range", () => {
    const input = world({ roleAssignments: [ra("ra1", "alice", `/subscriptions/${SUB}/resourceGroups/RG1`, CONTRIBUTOR, day(10), null)] });
    const access = effectiveAccess(input, { kind: "principal", tenantId: CUST, objectId: "alice" }, OCT);
    assert.equal(access.entries.length, 1);
    const [e] = access.entries;
    assert.equal(e!.scope, `/subscriptions/${SUB}/resourceGroups/RG1`);
    assert.deepEqual(e!.role, { id: CONTRIBUTOR, name: "Contributor", eligible: true });
    assert.deepEqual(e!.path, { kind: "direct", roleAssignmentId: "ra1" });
    assert.deepEqual(e!.intervals, [{ from: day(10), to: day(31) }]);
    assert.match(access.policy, /^pec@/);
  });
  it("an assignment that ended before the range gives nothing", () => {
    const input = world({ roleAssignments: [ra("ra1", "alice", `/subscriptions/${SUB}`, OWNER, day(1) - 10, day(1))] });
    assert.deepEqual(effectiveAccess(input, { kind: "principal", tenantId: CUST, objectId: "alice" }, OCT).entries, []);
  });
  it("rejects an empty range", () => {
    assert.throws(() => effectiveAccess(world(), { kind: "principal", tenantId: CUST, objectId: "alice" }, { from: 5, to: 5 }), /from < to/);
  });
});

describe("group path: nested groups, every link must hold at the same time", () => {
  const input = world({
    memberships: [
      { tenantId: CUST, groupId: "g-inner", memberId: "alice", validFrom: day(10), validTo: null },   // joins mid-month
      { tenantId: CUST, groupId: "g-outer", memberId: "g-inner", validFrom: null, validTo: day(20) }, // nesting ends
    ],
    roleAssignments: [{ ...ra("ra-outer", "g-outer", `/subscriptions/${SUB}`, OWNER), principalType: "Group" }],
  });
  it("reports the chain [g-inner, g-outer] over the overlap of membership intervals", () => {
    const access = effectiveAccess(input, { kind: "principal", tenantId: CUST, objectId: "alice" }, OCT);
    assert.equal(access.entries.length, 1);
    assert.deepEqual(access.entries[0]!.path, { kind: "group", roleAssignmentId: "ra-outer", groups: ["g-inner", "g-outer"] });
    assert.deepEqual(access.entries[0]!.intervals, [{ from: day(10), to: day(20) }]);
  });
  it("a deleted group passes nothing on after its deletion", () => {
    const deleted = { ...input, principals: input.principals.map((p) => p.objectId === "g-inner" ? { ...p, deletedAt: day(15) } : p) };
    const access = effectiveAccess(deleted, { kind: "principal", tenantId: CUST, objectId: "alice" }, OCT);
    assert.deepEqual(access.entries[0]!.intervals, [{ from: day(10), to: day(15) }]);
  });
  it("a membership cycle in bad data does not loop", () => {
    const cyclic = { ...input, memberships: [...input.memberships, { tenantId: CUST, groupId: "g-inner", memberId: "g-outer", validFrom: null, validTo: null }] };
    assert.equal(effectiveAccess(cyclic, { kind: "principal", tenantId: CUST, objectId: "alice" }, OCT).entries.length, 1);
  });
});

describe("management group inheritance: grants above a subscription reach it while it sits there", () => {
  it("an assignment on an ancestor group is reported on the group and on the subscription", () => {
    const input = world({
      roleAssignments: [ra("ra-mg", "alice", "/providers/Microsoft.Management/managementGroups/Platform", OWNER)],
      subscriptions: [
        { tenantId: CUST, id: SUB, managementGroupId: "LandingZones", validFrom: null, validTo: day(12) },
        { tenantId: CUST, id: SUB, managementGroupId: null, validFrom: day(12), validTo: null }, // moved to the root group
      ],
    });
    const access = effectiveAccess(input, { kind: "principal", tenantId: CUST, objectId: "alice" }, OCT);
    const onSub = access.entries.find((e) => e.inheritedFrom !== null)!;
    assert.equal(onSub.scope, `/subscriptions/${SUB}`);
    assert.equal(onSub.inheritedFrom, "/providers/Microsoft.Management/managementGroups/Platform");
    assert.deepEqual(onSub.intervals, [{ from: day(1), to: day(12) }]);
    assert.equal(entriesCovering(access, `/subscriptions/${SUB}/resourcegroups/rg1/providers/microsoft.web/sites/app`).length, 1);
  });
  it("an assignment at / reaches every subscription of the tenant", () => {
    const input = world({ roleAssignments: [ra("ra-root", "alice", "/", READER)] });
    const access = effectiveAccess(input, { kind: "principal", tenantId: CUST, objectId: "alice" }, OCT, { policy: allRolesPolicy });
    assert.deepEqual(access.entries.map((e) => [e.scope, e.role.eligible]), [["/", true], [`/subscriptions/${SUB}`, true]]);
    assert.match(access.policy, /^all-roles@/);
  });
});

describe("scope ids compare case-insensitively", () => {
  it("merges two writings of the same scope and finds resources in lower case", () => {
    const input = world({ roleAssignments: [
      ra("ra1", "alice", `/subscriptions/${SUB}/resourceGroups/RG1`, CONTRIBUTOR, day(1), day(5)),
      ra("ra1", "alice", `/SUBSCRIPTIONS/${SUB.toUpperCase()}/resourcegroups/rg1`, CONTRIBUTOR, day(5), day(9)),
    ] });
    const access = effectiveAccess(input, { kind: "principal", tenantId: CUST, objectId: "ALICE" }, OCT);
    assert.equal(access.entries.length, 1);
    assert.deepEqual(access.entries[0]!.intervals, [{ from: day(1), to: day(9) }]);
    assert.equal(entriesCovering(access, `/subscriptions/${SUB}/resourcegroups/rg1/providers/microsoft.storage/storageaccounts/x`).length, 1);
    assert.equal(entriesCovering(access, `/subscriptions/${SUB}/resourcegroups/rg10`).length, 0);
  });
});

describe("disabled and deleted principals hold nothing", () => {
  it("a disabled interval cuts the access; re-enabling resumes it", () => {
    const input = world({
      roleAssignments: [ra("ra1", "alice", `/subscriptions/${SUB}`, OWNER)],
      disabled: [{ tenantId: CUST, objectId: "alice", validFrom: day(10), validTo: day(15) }],
    });
    const access = effectiveAccess(input, { kind: "principal", tenantId: CUST, objectId: "alice" }, OCT);
    assert.deepEqual(access.entries[0]!.intervals, [{ from: day(1), to: day(10) }, { from: day(15), to: day(31) }]);
  });
  it("deletion stops it for good", () => {
    const input = world({ roleAssignments: [ra("ra1", "alice", `/subscriptions/${SUB}`, OWNER)] });
    const gone = { ...input, principals: input.principals.map((p) => p.objectId === "alice" ? { ...p, deletedAt: day(3) } : p) };
    assert.deepEqual(effectiveAccess(gone, { kind: "principal", tenantId: CUST, objectId: "alice" }, OCT).entries[0]!.intervals, [{ from: day(1), to: day(3) }]);
  });
});

describe("Lighthouse delegation: managing-tenant principals hold the authorized role on the delegated scope", () => {
  const input = world({
    memberships: [{ tenantId: PARTNER, groupId: "p-admins", memberId: "bob", validFrom: null, validTo: null }],
    registrationDefinitions: [{
      tenantId: CUST, id: "def1", name: "Contoso managed services", managedByTenantId: PARTNER,
      authorizations: [
        { principalId: "sp-auto", roleDefinitionId: CONTRIBUTOR, kind: "permanent" },
        { principalId: "p-admins", roleDefinitionId: OWNER, kind: "eligible", maximumActivationDuration: "PT8H" },
      ],
    }],
    registrationAssignments: [{ tenantId: CUST, id: "ra-lh", scope: `/subscriptions/${SUB}`, registrationDefinitionId: "def1", validFrom: day(5), validTo: null }],
  });
  it("a permanent authorization holds for the registration assignment's interval", () => {
    const access = effectiveAccess(input, { kind: "principal", tenantId: PARTNER, objectId: "sp-auto" }, OCT);
    assert.equal(access.entries.length, 1);
    assert.deepEqual(access.entries[0]!.path, { kind: "delegation", registrationAssignmentId: "ra-lh", registrationDefinitionId: "def1", managedByTenantId: PARTNER, authorization: "permanent", groups: [] });
    assert.equal(access.entries[0]!.scopeTenantId, CUST);
    assert.deepEqual(access.entries[0]!.intervals, [{ from: day(5), to: day(31) }]);
  });
  it("an eligible authorization that was never activated gives nothing", () => {
    assert.deepEqual(effectiveAccess(input, { kind: "principal", tenantId: PARTNER, objectId: "bob" }, OCT).entries, []);
  });
  it("an activated eligible authorization holds only while activated (through the group)", () => {
    const activated = { ...input, activations: [{ tenantId: CUST, registrationAssignmentId: "ra-lh", principalId: "bob", roleDefinitionId: OWNER, validFrom: day(7), validTo: day(7) + 8 * 3600_000 }] };
    const access = effectiveAccess(activated, { kind: "principal", tenantId: PARTNER, objectId: "bob" }, OCT);
    assert.equal(access.entries.length, 1);
    assert.equal(access.entries[0]!.path.kind, "delegation");
    assert.deepEqual((access.entries[0]!.path as { readonly groups: readonly string[] }).groups, ["p-admins"]);
    assert.deepEqual(access.entries[0]!.intervals, [{ from: day(7), to: day(7) + 8 * 3600_000 }]);
  });
});

describe("a partner subject stands for every principal from its home tenants", () => {
  it("collects guests in customer tenants and principals of the managing tenant", () => {
    const input = world({
      roleAssignments: [ra("ra-guest", "guest-bob", `/subscriptions/${SUB}`, OWNER)],
      registrationDefinitions: [{ tenantId: CUST, id: "def1", name: "d", managedByTenantId: PARTNER, authorizations: [{ principalId: "sp-auto", roleDefinitionId: CONTRIBUTOR, kind: "permanent" }] }],
      registrationAssignments: [{ tenantId: CUST, id: "ra-lh", scope: `/subscriptions/${SUB}/resourceGroups/rg1`, registrationDefinitionId: "def1", validFrom: null, validTo: null }],
    });
    const index = indexAccess(input);
    const access = effectiveAccess(index, { kind: "partner", homeTenantIds: [PARTNER.toUpperCase()] }, OCT);
    assert.deepEqual(access.entries.map((e) => [e.principal.objectId, e.path.kind]).sort(), [["guest-bob", "direct"], ["sp-auto", "delegation"]]);
  });
});
