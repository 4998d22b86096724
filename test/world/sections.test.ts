/**
 * The resource and access sections of world files, on every store backend: each section's rows are
 * in the store (read back through the aggregates), re-applying changes nothing, the export
 * round-trips them, conflicts with the store roll back and name their JSON path, and the demo
 * world yields the access a partner identity should have.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import type { Store } from "../../src/store/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { effectiveAccess } from "../../src/domain/access.ts";
import { CONTRIBUTOR_ROLE_ID, READER_ROLE_ID, USER_ACCESS_ADMINISTRATOR_ROLE_ID } from "../../src/domain/roles.ts";
import { DirectoryRole } from "../../src/graph/roles.ts";
import {
  applyWorld, derivedDefinitionId, derivedDelegationId, derivedRoleAssignmentId, exportWorld, readWorldFile,
  type ApplyResult, type WorldFile, type WorldSummary,
} from "../../src/world/index.ts";
import { storeBackends, type StoreBackend } from "../support/stores.ts";
import { baseWorld, problemsOf, type Loose, CUSTOMER_T, PARTNER_T, PARTNER_GROUP, HOME_USER, GUEST, GROUP, MEMBER, SUB_EA, SUB_PLAN } from "./fixtures.ts";

const clock = new ManualClock("2026-11-01T00:00:00Z");
const opts = { clock, actor: "test" };
const DEMO = path.resolve(import.meta.dirname, "../../src/world/demo/world.json");
const T = (iso: string) => Date.parse(iso);

function ok(result: ApplyResult): WorldSummary {
  if (!result.ok) assert.fail(`apply failed:\n${result.problems.map((p) => `${p.path}: ${p.message}`).join("\n")}`);
  return result.summary;
}
const changed = (summary: WorldSummary) => Object.fromEntries(Object.entries(summary.counts).filter(([, c]) => c.created || c.updated));
function refused(result: ApplyResult): string[] {
  assert.equal(result.ok, false, "the file should have been refused");
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

async function withStore(backend: StoreBackend, work: (store: Store) => Promise<void>): Promise<void> {
  const store = await backend.open();
  try {
    await work(store);
  } finally {
    await store.close();
  }
}

function demoWorld(): WorldFile {
  const parsed = readWorldFile(DEMO);
  if (!parsed.ok) assert.fail(parsed.problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  return parsed.world;
}

for (const backend of storeBackends()) {
  describe(`world sections: resources and access (${backend.name})`, () => {
    it("management groups form a tree; a group without parent hangs under the tenant root group", () => withStore(backend, async (store) => {
      const summary = ok(await applyWorld(store, baseWorld(), opts));
      assert.deepEqual(summary.counts.managementGroup, { created: 2, updated: 0, unchanged: 0 });
      const groups = await store.resources.listManagementGroups(CUSTOMER_T);
      const parentOf = Object.fromEntries(groups.map((g) => [g.id, g.parentId]));
      assert.deepEqual(parentOf, { [CUSTOMER_T]: null, platform: CUSTOMER_T, "landing-zones": "platform" });
    }));

    it("management groups listed child first are applied parents first", () => withStore(backend, async (store) => {
      const doc: Loose = baseWorld();
      doc.tenants[1].managementGroups.reverse();
      ok(await applyWorld(store, doc, opts));
      assert.equal((await store.resources.getManagementGroup(CUSTOMER_T, "landing-zones"))?.parentId, "platform");
    }));

    it("subscriptions carry offer, account owner, management group and resource groups", () => withStore(backend, async (store) => {
      const summary = ok(await applyWorld(store, baseWorld(), opts));
      assert.deepEqual(summary.counts.subscription, { created: 2, updated: 0, unchanged: 0 });
      assert.deepEqual(summary.counts.resourceGroup, { created: 1, updated: 0, unchanged: 0 });
      const ea = await store.resources.getSubscription(SUB_EA);
      assert.deepEqual([ea?.tenantId, ea?.offerType, ea?.accountOwnerId, ea?.managementGroupId, ea?.validFrom], [CUSTOMER_T, "EA", MEMBER, "landing-zones", null]);
      assert.deepEqual((await store.resources.listResourceGroups(SUB_EA)).map((g) => g.name), ["rg-web"]);
      const plan = await store.resources.getSubscription(SUB_PLAN);
      assert.deepEqual([plan?.offerType, plan?.managementGroupId, plan?.accountOwnerId], ["AzurePlan", null, null]);
    }));

    it("a subscription's history is stored effective-dated, and re-applying it changes nothing", () => withStore(backend, async (store) => {
      const doc: Loose = baseWorld();
      doc.tenants[1].subscriptions[1].history = [
        { from: "2026-01-01T00:00:00Z", to: "2026-06-01T00:00:00Z", offer: "EA", accountOwner: MEMBER },
        { to: "2026-09-01T00:00:00Z", offer: "PayAsYouGo", managementGroup: "platform" },
      ];
      ok(await applyWorld(store, doc, opts));
      const rows = (await store.resources.subscriptionHistory(SUB_PLAN)).map((r) => [r.offerType, r.managementGroupId, r.validFrom, r.validTo]);
      assert.deepEqual(rows, [
        ["EA", null, T("2026-01-01T00:00:00Z"), T("2026-06-01T00:00:00Z")],
        ["PayAsYouGo", "platform", T("2026-06-01T00:00:00Z"), T("2026-09-01T00:00:00Z")],
        ["AzurePlan", null, T("2026-09-01T00:00:00Z"), null],
      ]);
      assert.equal((await store.resources.getSubscription(SUB_PLAN, T("2026-07-01T00:00:00Z")))?.offerType, "PayAsYouGo");
      assert.deepEqual(changed(ok(await applyWorld(store, doc, opts))), {});
    }));

    it("a subscription changed in the file without history is changed from now, keeping the old row as history", () => withStore(backend, async (store) => {
      ok(await applyWorld(store, baseWorld(), opts));
      const doc: Loose = baseWorld();
      doc.tenants[1].subscriptions[1].offer = "CSP";
      const summary = ok(await applyWorld(store, doc, opts));
      assert.deepEqual(summary.counts.subscription, { created: 0, updated: 1, unchanged: 1 });
      const rows = (await store.resources.subscriptionHistory(SUB_PLAN)).map((r) => [r.offerType, r.validFrom, r.validTo]);
      assert.deepEqual(rows, [["AzurePlan", null, clock.now()], ["CSP", clock.now(), null]]);
    }));

    it("a history that rewrites the stored one is a conflict at .history and rolls back", () => withStore(backend, async (store) => {
      const doc: Loose = baseWorld();
      doc.tenants[1].subscriptions[1].history = [{ from: "2026-01-01T00:00:00Z", to: "2026-06-01T00:00:00Z", offer: "EA", accountOwner: MEMBER }];
      ok(await applyWorld(store, doc, opts));
      doc.tenants[1].subscriptions[1].history = [{ from: "2026-01-01T00:00:00Z", to: "2026-07-01T00:00:00Z", offer: "EA", accountOwner: MEMBER }];
      doc.tenants[1].managementGroups.push({ id: "new-group", displayName: "New" });
      const problems = refused(await applyWorld(store, doc, opts));
      assert.match(problems.join("\n"), /^\$\.tenants\[1\]\.subscriptions\[1\]\.history: differs from the subscription's history in the store/m);
      assert.equal(await store.resources.getManagementGroup(CUSTOMER_T, "new-group"), undefined, "the refused file's other writes were rolled back");
    }));

    it("role assignments: role by name or GUID, principal type from the directory, stable derived ids, intervals", () => withStore(backend, async (store) => {
      const summary = ok(await applyWorld(store, baseWorld(), opts));
      assert.deepEqual(summary.counts.roleAssignment, { created: 2, updated: 0, unchanged: 0 });
      const rows = await store.access.roleAssignmentHistory(CUSTOMER_T);
      const guest = rows.find((r) => r.principalId === GUEST);
      const scope = `/subscriptions/${SUB_EA}/resourceGroups/rg-web`;
      assert.deepEqual(guest && [guest.id, guest.roleDefinitionId, guest.principalType, guest.scope, guest.validFrom, guest.validTo], [
        derivedRoleAssignmentId(CUSTOMER_T, GUEST, CONTRIBUTOR_ROLE_ID, scope, T("2026-10-01T00:00:00Z")), CONTRIBUTOR_ROLE_ID, "User", scope,
        T("2026-10-01T00:00:00Z"), T("2026-10-20T00:00:00Z"),
      ]);
      const group = rows.find((r) => r.principalId === GROUP);
      assert.deepEqual(group && [group.roleDefinitionId, group.principalType, group.validFrom, group.validTo], [READER_ROLE_ID, "Group", null, null]);
      // The group's Reader at management group "platform" reaches the EA subscription two levels down.
      const forSub = await store.access.listRoleAssignmentsForScope(CUSTOMER_T, `/subscriptions/${SUB_EA}`, { principalId: GROUP });
      assert.equal(forSub.length, 1);
    }));

    it("role assignments may name the tenant's custom roles (from its role catalog)", () => withStore(backend, async (store) => {
      ok(await applyWorld(store, baseWorld(), opts));
      const custom = "c0c0c0c0-0000-4000-8000-000000000001";
      await store.access.putRoleDefinition({ tenantId: CUSTOMER_T, id: custom, name: "Billing Reader Plus" }, { at: clock.now() });
      const doc: Loose = baseWorld();
      doc.tenants[1].roleAssignments.push({ principalId: MEMBER, role: "billing reader plus", scope: `/subscriptions/${SUB_EA}` });
      assert.deepEqual(changed(ok(await applyWorld(store, doc, opts))), { roleAssignment: { created: 1, updated: 0, unchanged: 2 } });
      assert.ok((await store.access.roleAssignmentHistory(CUSTOMER_T)).some((r) => r.roleDefinitionId === custom && r.principalId === MEMBER));
      const exported = await exportWorld(store);
      assert.ok(exported.tenants?.find((t) => t.id === CUSTOMER_T)?.roleAssignments?.some((r) => r.role === custom), "custom roles are exported by GUID");
      doc.tenants[1].roleAssignments.at(-1).role = "Janitor";
      assert.match(refused(await applyWorld(store, doc, opts)).join("\n"), /\$\.tenants\[1\]\.roleAssignments\[2\]\.role: role "Janitor" is unknown.*custom roles/);
    }));

    it("an open assignment the file now ends is closed, not duplicated", () => withStore(backend, async (store) => {
      ok(await applyWorld(store, baseWorld(), opts));
      const doc: Loose = baseWorld();
      doc.tenants[1].roleAssignments[1].to = "2026-10-25T00:00:00Z";
      doc.tenants[1].roleAssignments[1].id = derivedRoleAssignmentId(CUSTOMER_T, GROUP, READER_ROLE_ID, "/providers/Microsoft.Management/managementGroups/platform", null);
      assert.deepEqual(ok(await applyWorld(store, doc, opts)).counts.roleAssignment, { created: 0, updated: 1, unchanged: 1 });
      const rows = (await store.access.roleAssignmentHistory(CUSTOMER_T)).filter((r) => r.principalId === GROUP);
      assert.deepEqual(rows.map((r) => [r.validFrom, r.validTo]), [[null, T("2026-10-25T00:00:00Z")]]);
    }));

    it("an assignment id the store uses for another assignment is a conflict at .id", () => withStore(backend, async (store) => {
      ok(await applyWorld(store, baseWorld(), opts));
      const taken = (await store.access.roleAssignmentHistory(CUSTOMER_T)).find((r) => r.principalId === GROUP)?.id;
      const doc: Loose = baseWorld();
      doc.tenants[1].roleAssignments.push({ id: taken, principalId: MEMBER, role: "Owner", scope: `/subscriptions/${SUB_PLAN}` });
      assert.match(refused(await applyWorld(store, doc, opts)).join("\n"), /^\$\.tenants\[1\]\.roleAssignments\[2\]\.id: role assignment .* an id names one assignment/m);
    }));

    it("an assignment the store already holds under another id is a conflict naming the entry, and nothing is written", () => withStore(backend, async (store) => {
      ok(await applyWorld(store, baseWorld(), opts));
      await store.access.createRoleAssignment({ tenantId: CUSTOMER_T, id: "abababab-0000-4000-8000-000000000001", scope: `/subscriptions/${SUB_PLAN}`, roleDefinitionId: CONTRIBUTOR_ROLE_ID, principalId: MEMBER, principalType: "User" }, { at: clock.now() });
      const before = JSON.stringify(await exportWorld(store));
      const doc: Loose = baseWorld();
      doc.tenants[1].roleAssignments.push({ principalId: MEMBER, role: "Contributor", scope: `/subscriptions/${SUB_PLAN}` });
      const problems = refused(await applyWorld(store, doc, opts));
      assert.match(problems.join("\n"), /^\$\.tenants\[1\]\.roleAssignments\[2\]: the store refuses this: the role assignment already exists .*give this entry the stored assignment's id/m);
      assert.equal(JSON.stringify(await exportWorld(store)), before);
    }));

    it("delegations: a registration definition for the managing tenant and an assignment at the scope, from its start", () => withStore(backend, async (store) => {
      const summary = ok(await applyWorld(store, baseWorld(), opts));
      assert.deepEqual([summary.counts.registrationDefinition.created, summary.counts.delegation.created], [1, 1]);
      const assignmentId = derivedDelegationId(CUSTOMER_T, PARTNER_T, `/subscriptions/${SUB_PLAN}`, T("2026-09-01T00:00:00Z"));
      const assignment = await store.access.getRegistrationAssignment(CUSTOMER_T, assignmentId);
      assert.deepEqual(assignment && [assignment.scope, assignment.registrationDefinitionId, assignment.validFrom], [`/subscriptions/${SUB_PLAN}`, derivedDefinitionId(CUSTOMER_T, assignmentId), T("2026-09-01T00:00:00Z")]);
      const def = await store.access.getRegistrationDefinition(CUSTOMER_T, assignment?.registrationDefinitionId ?? "");
      assert.equal(def?.managedByTenantId, PARTNER_T);
      assert.deepEqual(def?.authorizations.map((a) => [a.principalId, a.roleDefinitionId, a.kind]), [[PARTNER_GROUP, CONTRIBUTOR_ROLE_ID, "permanent"]]);
    }));

    it("eligible authorizations are stored with their activations; activating a permanent one is refused at its path", () => withStore(backend, async (store) => {
      const doc: Loose = baseWorld();
      doc.tenants[1].delegations[0].authorizations.push({
        principalId: HOME_USER, role: "User Access Administrator", kind: "eligible",
        activations: [{ from: "2026-10-05T09:00:00Z", to: "2026-10-05T17:00:00Z" }],
      });
      const summary = ok(await applyWorld(store, doc, opts));
      assert.deepEqual(summary.counts.activation, { created: 1, updated: 0, unchanged: 0 });
      const [act] = await store.access.listActivations(CUSTOMER_T);
      assert.deepEqual(act && [act.principalId, act.roleDefinitionId, act.validFrom, act.validTo], [HOME_USER, USER_ACCESS_ADMINISTRATOR_ROLE_ID, T("2026-10-05T09:00:00Z"), T("2026-10-05T17:00:00Z")]);
      assert.deepEqual(changed(ok(await applyWorld(store, doc, opts))), {});

      doc.tenants[1].delegations[0].authorizations[0].activations = [{ from: "2026-10-05T09:00:00Z", to: "2026-10-05T10:00:00Z" }];
      assert.match(problemsOf(doc).join("\n"), /\$\.tenants\[1\]\.delegations\[0\]\.authorizations\[0\]\.activations: only eligible authorizations are activated/);
      doc.tenants[1].delegations[0].authorizations[0] = { principalId: PARTNER_GROUP, role: "Reader", kind: "eligible", activations: [{ from: "2026-10-05T09:00:00Z", to: "2026-10-05T10:00:00Z" }] };
      assert.match(problemsOf(doc).join("\n"), /\$\.tenants\[1\]\.delegations\[0\]\.authorizations\[0\]\.activations\[0\]\.principalId: is required/);
      doc.tenants[1].delegations[0].authorizations[0].activations[0] = { from: "2026-08-05T09:00:00Z", to: "2026-08-05T10:00:00Z", principalId: HOME_USER };
      assert.match(problemsOf(doc).join("\n"), /\$\.tenants\[1\]\.delegations\[0\]\.authorizations\[0\]\.activations\[0\]: lies outside the delegation's interval/);
    }));

    it("Lighthouse authorizations take built-in roles only", () => {
      const doc: Loose = baseWorld();
      doc.tenants[1].delegations[0].authorizations[0].role = "Billing Reader Plus";
      assert.match(problemsOf(doc).join("\n"), /\$\.tenants\[1\]\.delegations\[0\]\.authorizations\[0\]\.role: role "Billing Reader Plus" is not a built-in role; Azure Lighthouse/);
    });

    it("partners of record are stored as DPOR history on the EA subscription", () => withStore(backend, async (store) => {
      const doc: Loose = baseWorld();
      doc.partnersOfRecord = [
        { subscriptionId: SUB_EA, partnerId: "4000002", from: "2026-05-01T00:00:00Z", to: "2026-09-01T00:00:00Z" },
        { subscriptionId: SUB_EA, partnerId: "4000001", from: "2026-09-01T00:00:00Z" },
      ];
      assert.deepEqual(ok(await applyWorld(store, doc, opts)).counts.partnerOfRecord, { created: 2, updated: 0, unchanged: 0 });
      const history = await store.partnersOfRecord.history({ subscriptionId: SUB_EA });
      assert.deepEqual(history.map((h) => [h.tenantId, h.partnerId, h.validFrom, h.validTo]), [
        [CUSTOMER_T, "4000002", T("2026-05-01T00:00:00Z"), T("2026-09-01T00:00:00Z")],
        [CUSTOMER_T, "4000001", T("2026-09-01T00:00:00Z"), null],
      ]);
      assert.equal((await store.partnersOfRecord.current(SUB_EA))?.partnerId, "4000001");
      assert.deepEqual(changed(ok(await applyWorld(store, doc, opts))), {});
    }));

    it("a partner of record overlapping another one in the store is a conflict at its path", () => withStore(backend, async (store) => {
      ok(await applyWorld(store, baseWorld(), opts));
      const doc: Loose = baseWorld();
      doc.partnersOfRecord = [{ subscriptionId: SUB_EA, partnerId: "4000002", from: "2026-10-01T00:00:00Z" }];
      assert.match(refused(await applyWorld(store, doc, opts)).join("\n"), /^\$\.partnersOfRecord\[0\]: overlaps partner of record 4000001/m);
    }));

    it("directoryRoles grant Entra roles for the Graph subset; a revoked role listed again is granted from now", () => withStore(backend, async (store) => {
      const doc: Loose = baseWorld();
      doc.tenants[1].users[0].directoryRoles = ["Global Administrator", DirectoryRole.UserAdministrator];
      assert.deepEqual(ok(await applyWorld(store, doc, opts)).counts.directoryRole, { created: 2, updated: 0, unchanged: 0 });
      assert.deepEqual((await store.directoryRoles.rolesOf(CUSTOMER_T, MEMBER, clock.now())).sort(), [DirectoryRole.GlobalAdministrator, DirectoryRole.UserAdministrator].sort());
      assert.deepEqual(changed(ok(await applyWorld(store, doc, opts))), {});
      await store.directoryRoles.revoke(CUSTOMER_T, DirectoryRole.UserAdministrator, MEMBER, clock.now() - 1000);
      assert.deepEqual(ok(await applyWorld(store, doc, opts)).counts.directoryRole, { created: 0, updated: 1, unchanged: 1 });
      const exported = (await exportWorld(store)).tenants?.find((t) => t.id === CUSTOMER_T)?.users?.find((u) => u.id === MEMBER);
      assert.deepEqual(exported?.directoryRoles?.slice().sort(), ["Global Administrator", "User Administrator"]);
      doc.tenants[1].users[0].directoryRoles = ["Janitor", "Global Administrator", "global administrator"];
      const problems = problemsOf(doc).join("\n");
      assert.match(problems, /\$\.tenants\[1\]\.users\[0\]\.directoryRoles\[0\]: "Janitor" is not a directory role OpenPAL models; use one of Global Administrator/);
      assert.match(problems, /\$\.tenants\[1\]\.users\[0\]\.directoryRoles\[2\]: repeats Global Administrator/);
    }));

    it("the demo world applies cleanly, twice without change, and its export round-trips", () => withStore(backend, async (store) => {
      const demo = demoWorld();
      const first = ok(await applyWorld(store, demo, opts));
      assert.deepEqual([first.notApplied, first.warnings], [[], []]);
      for (const k of ["managementGroup", "subscription", "resourceGroup", "roleAssignment", "registrationDefinition", "delegation", "activation", "partnerOfRecord", "directoryRole", "link"] as const) {
        assert.ok(first.counts[k].created > 0, `the demo should exercise ${k}`);
      }
      assert.equal(first.counts.directoryRole.created, 6, "a Global Administrator per tenant, and bob@contoso's Executive report viewer (insights API)");
      assert.deepEqual(changed(ok(await applyWorld(store, demo, opts))), {});
      const exported = await exportWorld(store);
      assert.deepEqual(changed(ok(await applyWorld(store, exported, opts))), {});
      await withStore(backend, async (fresh) => {
        ok(await applyWorld(fresh, exported, opts));
        assert.deepEqual(await exportWorld(fresh), exported);
      });
    }));

    it("effectiveAccess over the applied demo: bob@contoso reaches tailspin-main through Lighthouse (group from Oct 1, eligible role while activated)", () => withStore(backend, async (store) => {
      ok(await applyWorld(store, demoWorld(), opts));
      const BOB = "10000000-0001-4000-8000-000000000002";
      const CONTOSO = "10000000-0000-4000-8000-000000000001";
      const snapshot = await store.access.loadAccessSnapshot();
      const access = effectiveAccess(snapshot, { kind: "principal", tenantId: CONTOSO, objectId: BOB }, { from: T("2026-09-01T00:00:00Z"), to: T("2026-11-01T00:00:00Z") });
      const seen = access.entries.map((e) => [e.scope, e.role.name, e.role.eligible, e.path.kind, e.path.kind === "delegation" ? e.path.authorization : "-", e.intervals.map((i) => [new Date(i.from as number).toISOString(), new Date(i.to as number).toISOString()])]);
      assert.deepEqual(seen, [
        ["/subscriptions/e4000000-0000-4000-8000-000000000001", "Contributor", true, "delegation", "permanent", [["2026-10-01T00:00:00.000Z", "2026-11-01T00:00:00.000Z"]]],
        ["/subscriptions/e4000000-0000-4000-8000-000000000001", "User Access Administrator", true, "delegation", "eligible", [["2026-10-05T09:00:00.000Z", "2026-10-05T17:00:00.000Z"]]],
      ]);
    }));
  });
}
