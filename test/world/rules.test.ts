/**
 * The world file's rules, one test each: the schema, then every semantic rule. Each test breaks
 * the valid base world in one place and checks that the problem names that JSON path.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseWorldText, validateWorld, worldJsonSchema, type KnownFacts, NO_KNOWN_FACTS } from "../../src/world/index.ts";
import {
  baseWorld, problemsOf, type Loose, APP, CUSTOMER_T, PARTNER_T, GUEST, GROUP, INNER_GROUP, MEMBER, SUB_EA, SUB_PLAN, HOME_USER, CUSTOMER_SP,
} from "./fixtures.ts";

/** Asserts that exactly one reported problem sits at `path` and mentions `fragment`. */
function expectProblem(doc: unknown, path: string, fragment: string | RegExp, known?: KnownFacts): void {
  const problems = problemsOf(doc, known);
  const hits = problems.filter((p) => p.startsWith(`${path}: `));
  assert.ok(hits.length > 0, `expected a problem at ${path}; got:\n${problems.join("\n")}`);
  const re = typeof fragment === "string" ? new RegExp(fragment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : fragment;
  assert.ok(hits.some((h) => re.test(h)), `problem at ${path} should mention ${String(fragment)}; got:\n${hits.join("\n")}`);
}

const w = (): Loose => baseWorld();
const customer = (doc: Loose) => doc.tenants[1];

describe("world file: the base fixture and the demo world are valid", () => {
  it("the base world has no problems", () => assert.deepEqual(problemsOf(baseWorld()), []));
  it("the shipped schema is a draft-07 JSON Schema that allows an optional $schema key", () => {
    const schema = worldJsonSchema();
    assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
    assert.deepEqual(problemsOf({ ...baseWorld(), $schema: "./world.schema.json" }), []);
  });
});

describe("world file: schema", () => {
  it("unknown keys are refused with the list of known ones", () => {
    const doc = w(); doc.tenants[0].colour = "blue";
    expectProblem(doc, "$.tenants[0].colour", "is not a known property");
  });
  it("required keys are named at their path", () => {
    const doc = w(); delete doc.tenants[1].domain;
    expectProblem(doc, "$.tenants[1].domain", "is required");
  });
  it("ids must be GUIDs", () => {
    const doc = w(); customer(doc).users[0].id = "erin";
    expectProblem(doc, "$.tenants[1].users[0].id", "must be a GUID");
  });
  it("times must be ISO 8601 with a zone", () => {
    const doc = w(); doc.links[0].from = "2026-09-01";
    expectProblem(doc, "$.links[0].from", "ISO 8601");
  });
  it("partner ids are digits", () => {
    const doc = w(); doc.links[0].partnerId = "contoso";
    expectProblem(doc, "$.links[0].partnerId", "digits only");
  });
  it("offers are EA, AzurePlan, CSP or PayAsYouGo", () => {
    const doc = w(); customer(doc).subscriptions[0].offer = "MSDN";
    expectProblem(doc, "$.tenants[1].subscriptions[0].offer", '"EA", "AzurePlan", "CSP", "PayAsYouGo"');
  });
  it("a group member is a GUID or an {id, from, to} object, and only the chosen form's problem is reported", () => {
    const doc = w(); customer(doc).groups[1].members[0].from = "yesterday";
    assert.deepEqual(problemsOf(doc).filter((p) => p.startsWith("$.tenants[1].groups[1]")), [
      "$.tenants[1].groups[1].members[0].from: must be an ISO 8601 UTC time such as 2026-10-01T00:00:00Z.",
    ]);
  });
  it("a body that is not an object is refused at $", () => {
    assert.match(problemsOf([1, 2])[0] ?? "", /^\$: must be object/);
    assert.match(problemsOf(null)[0] ?? "", /^\$: the world file is empty/);
  });
  it("YAML and JSON text are both read; a syntax error names the format", () => {
    assert.equal(parseWorldText("tenants: []\n", "w.yaml").ok, true);
    const bad = parseWorldText("{ \"tenants\": [", "w.json");
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.problems[0]?.message ?? "" : "", /not valid JSON/);
  });
});

describe("world file: ids are unique where they must be", () => {
  it("tenant ids are unique", () => {
    const doc = w(); doc.tenants.push({ ...doc.tenants[0], domain: "other.example", users: [], servicePrincipals: [], groups: [] });
    expectProblem(doc, "$.tenants[2].id", "already declared at $.tenants[0]");
  });
  it("tenant domains are unique", () => {
    const doc = w(); doc.tenants[1].domain = "CONTOSO.example";
    expectProblem(doc, "$.tenants[1].domain", "already used by $.tenants[0]");
  });
  it("object ids are unique per tenant across users, service principals and groups", () => {
    const doc = w(); customer(doc).groups[0].id = MEMBER;
    expectProblem(doc, "$.tenants[1].groups[0].id", "already used in this tenant by $.tenants[1].users[0]");
  });
  it("user principal names are unique per tenant, case-insensitively", () => {
    const doc = w(); customer(doc).users.push({ id: "22222222-0001-4000-8000-000000000009", userPrincipalName: "ERIN@fabrikam.example", password: "x" });
    expectProblem(doc, "$.tenants[1].users[2].userPrincipalName", "already used by $.tenants[1].users[0]");
  });
  it("application ids are unique", () => {
    const doc = w(); doc.applications.push({ ...doc.applications[0] });
    expectProblem(doc, "$.applications[1].appId", "already declared at $.applications[0]");
  });
  it("an application has one service principal per tenant", () => {
    const doc = w(); customer(doc).servicePrincipals.push({ id: "22222222-0002-4000-8000-000000000009", appId: APP });
    expectProblem(doc, "$.tenants[1].servicePrincipals[1].appId", "one per tenant");
  });
  it("partner location ids are unique and differ from global ids", () => {
    const doc = w(); doc.partners[0].locations.push({ id: "4000001" }, { id: "4000000" });
    expectProblem(doc, "$.partners[0].locations[2].id", "already declared");
    expectProblem(doc, "$.partners[0].locations[3].id", "also a global (headquarters) partner id");
  });
  it("subscription ids are unique across tenants", () => {
    const doc = w(); doc.tenants[0].subscriptions = [{ id: SUB_EA, displayName: "again", offer: "CSP" }];
    expectProblem(doc, "$.tenants[1].subscriptions[0].id", "already declared at $.tenants[0].subscriptions[0]");
  });
  it("management group ids are unique per tenant", () => {
    const doc = w(); customer(doc).managementGroups.push({ id: "PLATFORM", displayName: "again" });
    expectProblem(doc, "$.tenants[1].managementGroups[2].id", "already declared");
  });
  it("a resource group is listed once per subscription", () => {
    const doc = w(); customer(doc).subscriptions[0].resourceGroups.push("RG-WEB");
    expectProblem(doc, "$.tenants[1].subscriptions[0].resourceGroups[1]", "listed twice");
  });
});

describe("world file: every reference resolves", () => {
  it("a guest's home tenant must be declared in the file or the store", () => {
    const doc = w(); customer(doc).users[1].homeTenantId = "3f000000-0000-4000-8000-000000000000";
    expectProblem(doc, "$.tenants[1].users[1].homeTenantId", "tenant 3f000000-0000-4000-8000-000000000000 is not declared in this file or the store");
  });
  it("a guest's home object must be a member user of its home tenant", () => {
    const doc = w(); customer(doc).users[1].homeObjectId = "11111111-0001-4000-8000-00000000beef";
    expectProblem(doc, "$.tenants[1].users[1].homeObjectId", "is not declared in this file or the store");
    const doc2 = w(); customer(doc2).users[1].homeObjectId = "11111111-0002-4000-8000-000000000001";
    expectProblem(doc2, "$.tenants[1].users[1].homeObjectId", "is not a member user");
  });
  it("a reference to the store resolves when the store holds it", () => {
    const doc = w(); customer(doc).users[1].homeTenantId = "3f000000-0000-4000-8000-000000000000";
    customer(doc).users[1].homeObjectId = "3f000000-0001-4000-8000-000000000001";
    const known: KnownFacts = {
      ...NO_KNOWN_FACTS,
      tenant: (id) => (id === "3f000000-0000-4000-8000-000000000000" ? { domain: "stored.example" } : undefined),
      principal: (t, o) => (t === "3f000000-0000-4000-8000-000000000000" && o === "3f000000-0001-4000-8000-000000000001" ? { kind: "User", userKind: "member", hasPassword: true } : undefined),
    };
    assert.deepEqual(problemsOf(doc, known), []);
  });
  it("a service principal's appId refers to an application", () => {
    const doc = w(); customer(doc).servicePrincipals[0].appId = "aaaaaaaa-0000-4000-8000-00000000ffff";
    expectProblem(doc, "$.tenants[1].servicePrincipals[0].appId", "application aaaaaaaa-0000-4000-8000-00000000ffff is not declared");
  });
  it("an application's home tenant is declared", () => {
    const doc = w(); doc.applications[0].homeTenantId = "3f000000-0000-4000-8000-000000000000";
    expectProblem(doc, "$.applications[0].homeTenantId", "is not declared in this file or the store");
  });
  it("a partner's own tenants are declared", () => {
    const doc = w(); doc.partners[0].tenantIds.push("3f000000-0000-4000-8000-000000000000");
    expectProblem(doc, "$.partners[0].tenantIds[1]", "is not declared");
  });
  it("group members are principals of the same tenant", () => {
    const doc = w(); customer(doc).groups[0].members.push(HOME_USER);
    expectProblem(doc, "$.tenants[1].groups[0].members[2]", "members are users, service principals or groups of the same tenant");
  });
  it("a group does not contain itself, directly or through nesting", () => {
    const doc = w(); customer(doc).groups[1].members.push(GROUP);
    expectProblem(doc, "$.tenants[1].groups[0].members", "contains itself through nested groups");
    const doc2 = w(); customer(doc2).groups[0].members.push(GROUP);
    expectProblem(doc2, "$.tenants[1].groups[0].members[2]", "cannot be a member of itself");
  });
  it("a management group's parent is declared in the same tenant, and parents form a tree", () => {
    const doc = w(); customer(doc).managementGroups[1].parent = "nowhere";
    expectProblem(doc, "$.tenants[1].managementGroups[1].parent", "management group nowhere is not declared");
    const doc2 = w(); customer(doc2).managementGroups[0].parent = "landing-zones";
    expectProblem(doc2, "$.tenants[1].managementGroups[0].parent", "form a cycle");
  });
  it("a subscription's management group is declared in its tenant", () => {
    const doc = w(); customer(doc).subscriptions[0].managementGroup = "elsewhere";
    expectProblem(doc, "$.tenants[1].subscriptions[0].managementGroup", "not declared in this tenant");
  });
  it("the account owner is a user of the subscription's tenant, and only EA subscriptions have one", () => {
    const doc = w(); customer(doc).subscriptions[0].accountOwner = CUSTOMER_SP;
    expectProblem(doc, "$.tenants[1].subscriptions[0].accountOwner", "the account owner is a user");
    const doc2 = w(); customer(doc2).subscriptions[1].accountOwner = MEMBER;
    expectProblem(doc2, "$.tenants[1].subscriptions[1].accountOwner", "only EA subscriptions have an account owner");
  });
  it("a role assignment's principal is in the tenant", () => {
    const doc = w(); customer(doc).roleAssignments[0].principalId = HOME_USER;
    expectProblem(doc, "$.tenants[1].roleAssignments[0].principalId", "is not declared in this file or the store");
  });
  it("roles are built-in names or GUIDs", () => {
    const doc = w(); customer(doc).roleAssignments[0].role = "Janitor";
    expectProblem(doc, "$.tenants[1].roleAssignments[0].role", 'role "Janitor" is unknown');
  });
  it("a delegation's managing tenant and its authorized principals are declared", () => {
    const doc = w(); customer(doc).delegations[0].authorizations[0].principalId = GUEST;
    expectProblem(doc, "$.tenants[1].delegations[0].authorizations[0].principalId", "in the managing tenant");
    const doc2 = w(); customer(doc2).delegations[0].managedByTenantId = CUSTOMER_T;
    expectProblem(doc2, "$.tenants[1].delegations[0].managedByTenantId", "Lighthouse delegates to another");
  });
  it("Lighthouse authorizations cannot grant Owner", () => {
    const doc = w(); customer(doc).delegations[0].authorizations[0].role = "Owner";
    expectProblem(doc, "$.tenants[1].delegations[0].authorizations[0].role", "does not allow the Owner role");
  });
  it("a delegated-admin relationship names another declared tenant", () => {
    const doc = w(); customer(doc).delegatedAdmins[0].partnerTenantId = "3f000000-0000-4000-8000-000000000000";
    expectProblem(doc, "$.tenants[1].delegatedAdmins[0].partnerTenantId", "is not declared");
  });
  it("a link's principal is a user or service principal of its tenant, not a group", () => {
    const doc = w(); doc.links[0].objectId = GROUP;
    expectProblem(doc, "$.links[0].objectId", "is a group");
    const doc2 = w(); doc2.links[0].objectId = HOME_USER;
    expectProblem(doc2, "$.links[0].objectId", `principal ${HOME_USER} in tenant ${CUSTOMER_T} is not declared`);
  });
});

describe("world file: scopes are well-formed and exist", () => {
  it("a malformed scope is refused with the accepted forms", () => {
    const doc = w(); customer(doc).roleAssignments[0].scope = "subscriptions/x";
    expectProblem(doc, "$.tenants[1].roleAssignments[0].scope", 'must start with "/"');
  });
  it("a subscription scope names a declared subscription of this tenant", () => {
    const doc = w(); customer(doc).roleAssignments[0].scope = "/subscriptions/eeeeeeee-0000-4000-8000-00000000ffff";
    expectProblem(doc, "$.tenants[1].roleAssignments[0].scope", "subscription eeeeeeee-0000-4000-8000-00000000ffff is not declared");
  });
  it("a resource group scope names a listed resource group, case-insensitively", () => {
    const doc = w(); customer(doc).roleAssignments[0].scope = `/subscriptions/${SUB_EA}/resourceGroups/RG-WEB`;
    assert.deepEqual(problemsOf(doc), []);
    customer(doc).roleAssignments[0].scope = `/subscriptions/${SUB_EA}/resourceGroups/rg-missing`;
    expectProblem(doc, "$.tenants[1].roleAssignments[0].scope", "resource group rg-missing is not listed");
  });
  it("a management group scope names a management group of this tenant", () => {
    const doc = w(); customer(doc).roleAssignments[1].scope = "/providers/Microsoft.Management/managementGroups/other";
    expectProblem(doc, "$.tenants[1].roleAssignments[1].scope", "management group other is not declared");
  });
  it("a scope in another tenant's subscription is refused", () => {
    const doc = w(); doc.tenants[0].subscriptions = [{ id: "eeeeeeee-0000-4000-8000-000000000009", displayName: "p", offer: "CSP" }];
    customer(doc).roleAssignments[0].scope = "/subscriptions/eeeeeeee-0000-4000-8000-000000000009";
    expectProblem(doc, "$.tenants[1].roleAssignments[0].scope", "belongs to tenant");
  });
  it("a delegation covers a subscription or resource group only", () => {
    const doc = w(); customer(doc).delegations[0].scope = "/";
    expectProblem(doc, "$.tenants[1].delegations[0].scope", "a root scope is not allowed here");
  });
});

describe("world file: intervals", () => {
  it("from must be before to", () => {
    const doc = w(); doc.links[0].to = "2026-08-01T00:00:00Z";
    expectProblem(doc, "$.links[0].to", 'must be later than "from"');
  });
  it("one link per (tenant, object) at a time", () => {
    const doc = w(); doc.links[1].from = "2026-09-15T00:00:00Z";
    expectProblem(doc, "$.links[1]", "overlaps $.links[0]: one link per (tenant, object)");
  });
  it("touching intervals do not overlap ([from, to) is half-open)", () => {
    assert.deepEqual(problemsOf(w()), []); // the base world's links touch at 2026-10-01
  });
  it("one partner of record per subscription at a time", () => {
    const doc = w(); doc.partnersOfRecord.push({ subscriptionId: SUB_EA, partnerId: "4000002", from: "2026-10-01T00:00:00Z" });
    expectProblem(doc, "$.partnersOfRecord[1]", "one partner of record per subscription");
  });
  it("membership intervals of the same member do not overlap", () => {
    const doc = w(); customer(doc).groups[1].members.push({ id: CUSTOMER_SP, from: "2026-11-01T00:00:00Z" });
    expectProblem(doc, "$.tenants[1].groups[1].members[1]", "a member of a group once");
  });
  it("disabled intervals do not overlap", () => {
    const doc = w(); customer(doc).users[0].disabled.push({ from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z" });
    expectProblem(doc, "$.tenants[1].users[0].disabled[1]", "disabled once");
  });
  it("role assignments of the same role, principal and scope do not overlap", () => {
    const doc = w(); customer(doc).roleAssignments.push({ ...customer(doc).roleAssignments[0], from: "2026-10-10T00:00:00Z", to: undefined });
    expectProblem(doc, "$.tenants[1].roleAssignments[2]", "one assignment of a role");
  });
  it("a location's active flag agrees with its inactive intervals", () => {
    const doc = w(); doc.partners[0].locations[1].inactive = [{ from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z" }];
    expectProblem(doc, "$.partners[0].locations[1].active", "every interval in \"inactive\" has ended");
  });
});

describe("world file: partner ids", () => {
  it("linked partner ids are location ids, not global ids", () => {
    const doc = w(); doc.links[0].partnerId = "4000000";
    expectProblem(doc, "$.links[0].partnerId", "is a global (headquarters) partner id; use one of its location ids");
  });
  it("linked partner ids are declared", () => {
    const doc = w(); doc.links[0].partnerId = "9999999";
    expectProblem(doc, "$.links[0].partnerId", "partner location id 9999999 is not declared");
  });
  it("partners of record name location ids", () => {
    const doc = w(); doc.partnersOfRecord[0].partnerId = "4000000";
    expectProblem(doc, "$.partnersOfRecord[0].partnerId", "use one of its location ids");
  });
  it("partners of record are set only on EA subscriptions", () => {
    const doc = w(); doc.partnersOfRecord[0].subscriptionId = SUB_PLAN;
    expectProblem(doc, "$.partnersOfRecord[0].subscriptionId", "only on EA (Enterprise Agreement) subscriptions");
  });
});

describe("world file: credentials", () => {
  it("guests must not carry passwords (they sign in with their home account)", () => {
    const doc = w(); customer(doc).users[1].password = "Nope-1!";
    expectProblem(doc, "$.tenants[1].users[1].password", "signs in with its home account's credentials");
  });
  it("problems never echo a password or secret", () => {
    const doc = w(); customer(doc).users[1].password = "Very-Secret-Guest-Password";
    doc.applications[0].secrets.push(doc.applications[0].secrets[0]);
    const all = problemsOf(doc).join("\n");
    assert.ok(!all.includes("Very-Secret-Guest-Password") && !all.includes(doc.applications[0].secrets[0]), all);
    expectProblem(doc, "$.applications[0].secrets[1]", "repeats an earlier secret");
  });
  it("a member that is a guest's home account without a password is a warning: the guest could not sign in", () => {
    const doc = w(); delete doc.tenants[0].users[0].password;
    const v = validateWorld(doc);
    assert.deepEqual(v.problems, []);
    assert.equal(v.warnings[0]?.path, "$.tenants[0].users[0].password");
    assert.match(v.warnings[0]?.message ?? "", /home of the guest at \$\.tenants\[1\]\.users\[1\]/);
  });
  it("members have no home tenant or home object", () => {
    const doc = w(); customer(doc).users[0].homeTenantId = PARTNER_T;
    expectProblem(doc, "$.tenants[1].users[0].homeTenantId", "only guests have a home tenant");
  });
  it("a guest needs its home tenant and home object", () => {
    const doc = w(); delete customer(doc).users[1].homeObjectId;
    expectProblem(doc, "$.tenants[1].users[1].homeObjectId", "is required for a guest");
  });
  it("certificates must be readable PEM", () => {
    const doc = w(); doc.applications[0].certificates = ["-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"];
    expectProblem(doc, "$.applications[0].certificates[0]", "is not a readable PEM certificate");
  });
});

describe("world file: every problem is reported, not just the first", () => {
  it("three independent mistakes give three problems", () => {
    const doc = w();
    doc.links[0].partnerId = "4000000";
    customer(doc).groups[0].members.push(HOME_USER);
    customer(doc).roleAssignments[1].role = "Janitor";
    const problems = problemsOf(doc);
    assert.equal(problems.length, 3, problems.join("\n"));
    void INNER_GROUP;
  });
});
