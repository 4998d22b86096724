/**
 * Test support for business-applications reports: a facts Parquet file in the contract's columns
 * (written the way the engine writes it), and a rollup builder with defaults.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { BizappsFact } from "../../src/bizapps/facts-reader.ts";
import { ACTIVITY_EVENT_COLUMNS, activityEventsFile } from "../../src/activity/lake.ts";
import type { BizappsRollup, BizappsRun } from "../../src/store/bizapps.ts";
import type { Store } from "../../src/store/index.ts";
import { bizappsFactsFile } from "../../src/bizapps/facts-reader.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { ALICE_GUEST, BOB_GUEST, BOB_HOME, CONTOSO_TENANT, FABRIKAM_TENANT, NORA_GUEST, OWNER, baseWorld, g } from "../scenarios/world.ts";

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * Writes facts to Parquet in the contract's column types (tests and tools that build a facts file
 * without the engine).
 */
export async function writeBizappsFacts(file: string, facts: readonly BizappsFact[]): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    const s = (v: string | null) => (v === null ? "NULL" : sqlString(v));
    const t = (v: number | null) => (v === null ? "CAST(NULL AS TIMESTAMP)" : `make_timestamp(${Math.round(v * 1000)}::BIGINT)`);
    const cols = `month, customer_tenant_id, resource_id, resource_kind, workload, resource_type, environment_id, environment_type, principal_id, attributed_user_role,
      relation, basis, solution_id, relationship_from, relationship_to, qualifies, not_qualifying_reason, qualifying_from, qualifying_to, qualifying_seconds,
      partner_location_id, global_id, link_path, last_act_at, last_act_operation, credited, decided_by, quantity, quantity_type, quantity_source, link_from, link_to`;
    const values = facts.map((f) => `(${[s(f.month), s(f.customerTenantId), s(f.resourceId), s(f.resourceKind), s(f.workload), s(f.resourceType), s(f.environmentId),
      s(f.environmentType), s(f.principalId), s(f.attributedUserRole), s(f.relation), s(f.basis), s(f.solutionId), t(f.relationshipFrom), t(f.relationshipTo),
      String(f.qualifies), s(f.notQualifyingReason), t(f.qualifyingFrom), t(f.qualifyingTo), `${Math.round(f.qualifyingSeconds)}::BIGINT`, s(f.partnerLocationId),
      s(f.globalId), s(f.linkPath), t(f.lastActAt), s(f.lastActOperation), String(f.credited), s(f.decidedBy), `${Math.round(f.quantity)}::BIGINT`, s(f.quantityType),
      s(f.quantitySource), t(f.linkFrom), t(f.linkTo)].join(", ")})`);
    if (!values.length) throw new Error("writeBizappsFacts: no facts to write");
    await c.run(`COPY (SELECT * FROM (VALUES ${values.join(", ")}) v(${cols})) TO ${sqlString(file)} (FORMAT PARQUET)`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

// --- a small world with a Power Platform estate, its facts and rollups (2026-10) -------------


export const MONTH = "2026-10";
export const RAN_AT = Date.parse("2026-11-02T03:00:00Z");
export const ENV_PROD = g("e0", 1);
export const ENV_SANDBOX = g("e0", 2);
export const WORKSPACE = g("e0", 3);
export const SOLUTION = g("e0", 4);
/** Canvas app (Production): Contoso's Alice owns it, Northwind's Nora co-owns it and acted later → Northwind. */
export const APP1 = g("aa", 1);
/** Flow (Sandbox): created by the customer's own account, nobody linked → not covered. */
export const FLOW2 = g("aa", 2);
/** Dataset: published by Alice (linked) → Contoso, NotApplicable environment. */
export const DS3 = g("aa", 3);
/** Model-driven app (Production): Bob (Contoso guest, NOT linked) imported its solution → at risk, noLink. */
export const MDA4 = g("aa", 4);
/** Canvas app (Production): owned by the customer's account, used by Alice (linked) → at risk, used by a linked identity. */
export const APP5 = g("aa", 5);
/** Flow (Sandbox): created by Alice → Contoso (dropped by --production-only). */
export const FLOW6 = g("aa", 6);

const t = (iso: string) => Date.parse(iso);

export function bizWorld() {
  return baseWorld({
    users: [{ id: BOB_GUEST, userPrincipalName: "bob_contoso.example#EXT#@fabrikam.example", type: "guest", homeTenantId: CONTOSO_TENANT, homeObjectId: BOB_HOME }],
    powerPlatform: {
      environments: [
        { id: ENV_PROD, displayName: "Fabrikam Production", type: "Production", makers: [BOB_GUEST, ALICE_GUEST] },
        { id: ENV_SANDBOX, displayName: "Fabrikam Sandbox", type: "Sandbox" },
      ],
      apps: [
        { id: APP1, environment: ENV_PROD, displayName: "Field inspections", kind: "canvas", createdBy: ALICE_GUEST, createdAt: "2026-08-01T00:00:00Z",
          coOwners: [{ principalId: NORA_GUEST, from: "2026-10-05T00:00:00Z" }] },
        { id: MDA4, environment: ENV_PROD, displayName: "Case management", kind: "modelDriven", createdBy: OWNER, createdAt: "2026-08-01T00:00:00Z" },
        { id: APP5, environment: ENV_PROD, displayName: "Site survey", kind: "canvas", createdBy: OWNER, createdAt: "2026-08-01T00:00:00Z" },
      ],
      flows: [
        { id: FLOW2, environment: ENV_SANDBOX, displayName: "Invoice approval", createdBy: OWNER, createdAt: "2026-08-01T00:00:00Z" },
        { id: FLOW6, environment: ENV_SANDBOX, displayName: "Nightly sync", createdBy: ALICE_GUEST, createdAt: "2026-08-01T00:00:00Z" },
      ],
      solutions: [
        { id: SOLUTION, uniqueName: "fabrikam_cases", environment: ENV_PROD, managed: true, components: [{ type: "app", id: MDA4 }], imports: [{ by: BOB_GUEST, at: "2026-09-15T00:00:00Z" }] },
      ],
      powerBi: { workspaces: [{ id: WORKSPACE, displayName: "Finance", members: [{ principalId: ALICE_GUEST, role: "Admin" }],
        datasets: [{ id: DS3, displayName: "Sales", publishedBy: ALICE_GUEST, publishedAt: "2026-09-01T00:00:00Z" }] }] },
    },
  } as never, { links: [{ tenantId: FABRIKAM_TENANT, objectId: ALICE_GUEST, partnerId: "4000001" }, { tenantId: FABRIKAM_TENANT, objectId: NORA_GUEST, partnerId: "5000001" }] });
}

const base: BizappsFact = {
  month: MONTH, customerTenantId: FABRIKAM_TENANT, resourceId: APP1, resourceKind: "canvasApp", workload: "PowerApps", resourceType: "CanvasApp", environmentId: ENV_PROD,
  environmentType: "Production", principalId: ALICE_GUEST, attributedUserRole: "Owner", relation: "owner", basis: "created", solutionId: null,
  relationshipFrom: t("2026-08-01T00:00:00Z"), relationshipTo: null, qualifies: true, notQualifyingReason: null, qualifyingFrom: t("2026-10-01T00:00:00Z"),
  qualifyingTo: t("2026-11-01T00:00:00Z"), qualifyingSeconds: 31 * 86400, partnerLocationId: "4000001", globalId: "4000000", linkPath: "home", linkFrom: null, linkTo: null,
  lastActAt: t("2026-10-20T10:00:00Z"), lastActOperation: "LaunchPowerApp", credited: false, decidedBy: null, quantity: 12, quantityType: "MAU", quantitySource: "activity",
};
export const fact = (over: Partial<BizappsFact>): BizappsFact => ({ ...base, ...over });
const noLink = { qualifies: false, notQualifyingReason: "noLink" as const, qualifyingFrom: null, qualifyingTo: null, qualifyingSeconds: 0, partnerLocationId: null, globalId: null, linkPath: null, lastActAt: null, lastActOperation: null };

export const FACTS: BizappsFact[] = [
  fact({}),
  fact({ principalId: NORA_GUEST, attributedUserRole: "CoOwner", relation: "coOwner", basis: "shared", relationshipFrom: t("2026-10-05T00:00:00Z"), qualifyingFrom: t("2026-10-05T00:00:00Z"),
    qualifyingSeconds: 27 * 86400, partnerLocationId: "5000001", globalId: "5000000", lastActAt: t("2026-10-25T08:00:00Z"), credited: true, decidedBy: "latestActivity" }),
  fact({ resourceId: FLOW2, resourceKind: "flow", workload: "PowerAutomate", resourceType: "Flow", environmentId: ENV_SANDBOX, environmentType: "Sandbox", principalId: OWNER,
    attributedUserRole: "Creator", quantity: 4, quantitySource: "metrics", ...noLink }),
  fact({ resourceId: DS3, resourceKind: "dataset", workload: "PowerBI", resourceType: "Dataset", environmentId: null, environmentType: "NotApplicable", attributedUserRole: "Publisher",
    relation: "publisher", basis: "published", relationshipFrom: t("2026-09-01T00:00:00Z"), credited: true, decidedBy: "onlyPartner", quantity: 7, lastActOperation: "ViewReport" }),
  fact({ resourceId: MDA4, resourceKind: "modelDrivenApp", resourceType: "ModelDrivenApp", principalId: BOB_GUEST, attributedUserRole: "SolutionImporter", basis: "solutionImport",
    solutionId: SOLUTION, relationshipFrom: t("2026-09-15T00:00:00Z"), quantity: 30, ...noLink }),
  fact({ resourceId: APP5, principalId: OWNER, quantity: 9, ...noLink }),
  fact({ resourceId: FLOW6, resourceKind: "flow", workload: "PowerAutomate", resourceType: "Flow", environmentId: ENV_SANDBOX, environmentType: "Sandbox", attributedUserRole: "Creator",
    credited: true, decidedBy: "onlyPartner", quantity: 3, quantitySource: "metrics", lastActAt: null, lastActOperation: null }),
];

const roll = (f: BizappsFact, over: Partial<BizappsRollup>): BizappsRollup => ({
  month: MONTH, customerTenantId: FABRIKAM_TENANT, customerName: "Fabrikam", partnerLocationId: f.partnerLocationId as string, globalId: f.globalId as string,
  partnerName: f.globalId === "4000000" ? "Contoso Consulting" : "Northwind Traders", environmentId: f.environmentId,
  environmentName: f.environmentId === ENV_PROD ? "Fabrikam Production" : f.environmentId === ENV_SANDBOX ? "Fabrikam Sandbox" : null, environmentType: f.environmentType,
  workload: f.workload as BizappsRollup["workload"], resourceType: f.resourceType as BizappsRollup["resourceType"], resourceId: f.resourceId, resourceName: "", attributedUserObjectId: f.principalId,
  attributedUserRole: f.attributedUserRole, linkPath: "home", quantityType: "MAU", quantity: f.quantity, quantitySource: (f.quantitySource ?? "activity") as "metrics" | "activity",
  monthlyConsumptionValue: `${f.quantity * 200}.00`, decidedBy: f.decidedBy as BizappsRollup["decidedBy"], lastActAt: f.lastActAt, ...over,
});

export const ROLLUPS: BizappsRollup[] = [
  roll(FACTS[1] as BizappsFact, { resourceName: "Field inspections" }),
  roll(FACTS[3] as BizappsFact, { resourceName: "Sales" }),
  roll(FACTS[6] as BizappsFact, { resourceName: "Nightly sync" }),
];

export const RUN: BizappsRun = { month: MONTH, ranAt: RAN_AT, eventsRead: 40, resources: 6, credited: ROLLUPS.length, facts: FACTS.length, factsPath: null, details: {} };

/** Alice (Contoso, linked) uses APP5 in the month; Nora uses APP1. */
export async function writeActivity(dataDir: string): Promise<void> {
  const file = activityEventsFile(dataDir, MONTH);
  mkdirSync(path.dirname(file), { recursive: true });
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    const rows = [
      ["e1", "2026-10-18 09:00:00", APP5, ALICE_GUEST],
      ["e2", "2026-10-19 09:00:00", APP5, ALICE_GUEST],
      ["e3", "2026-10-25 08:00:00", APP1, NORA_GUEST],
    ].map(([id, at, r, u]) => `(${sqlString(id as string)}, TIMESTAMP ${sqlString(at as string)}, ${sqlString(FABRIKAM_TENANT)}, 'PowerApps', ${sqlString(r as string)}, ${sqlString(u as string)}, 'LaunchPowerApp', true, 'openpal-activity')`);
    await c.run(`COPY (SELECT * FROM (VALUES ${rows.join(", ")}) v(${ACTIVITY_EVENT_COLUMNS.map(([n]) => `"${n}"`).join(", ")})) TO ${sqlString(file)} (FORMAT PARQUET)`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** The world, the month's rollups and run, its facts file and activity. */
export async function seedBizapps(store: Store, dataDir: string): Promise<void> {
  await applyScenarioWorld(store, bizWorld());
  await store.transaction((tx) => tx.bizapps.replaceMonth(RUN, ROLLUPS));
  await writeBizappsFacts(bizappsFactsFile(dataDir, MONTH), FACTS);
  await writeActivity(dataDir);
}
