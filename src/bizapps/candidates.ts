/**
 * Loads what business-applications attribution reads from the control plane for a month: the
 * candidate input (resources, relationships, principals, links, locations, delegated admins —
 * src/domain/bizapps.ts turns it into the candidate table), the names report rows carry, and the
 * server's own acts (Power BI imports and take-overs it recorded, solution imports: one act per
 * component at the import instant). Principals, links and locations come from the Azure coverage
 * input, read once per run.
 */
import type { LocationStatusInterval, PartnerLinkInterval, PartnerLocation, PartnerOrganisation, Store, Tenant } from "../store/index.ts";
import type { AccessInput } from "../domain/access.ts";
import { buildCandidates, type CandidateInput, type CandidateTable } from "../domain/bizapps.ts";
import { WORKLOAD_OF, type ResourceKind } from "../domain/power-platform/index.ts";

/** An act recorded by the server itself (not in the activity lake). */
export interface StoreAct {
  readonly tenantId: string;
  readonly resourceId: string;
  readonly userId: string;
  readonly at: number;
  readonly operation: string;
  /** The resource's workload (a resource is (tenant, workload, id)); null for a component the control plane does not know. */
  readonly workload: string | null;
}

export interface BizappsSnapshot {
  readonly candidates: CandidateTable;
  /** Every resource ever recorded (deleted ones too): activity on anything else is "unknown". */
  readonly knownResources: readonly { readonly tenantId: string; readonly id: string; readonly kind: string }[];
  readonly storeActs: readonly StoreAct[];
  readonly names: {
    readonly tenants: ReadonlyMap<string, string>;
    readonly environments: ReadonlyMap<string, string>;
    /** Location id → partner (organisation) name. */
    readonly partners: ReadonlyMap<string, string>;
  };
}

const lc = (s: string) => s.toLowerCase();

/**
 * The part of the control-plane snapshot the month run has already loaded for Azure's coverage
 * (attribution/coverage.ts, CoverageInput) that the candidates read as well: read once per run.
 */
export interface ControlPlaneSnapshot {
  readonly access: Pick<AccessInput, "principals" | "disabled">;
  readonly links: readonly PartnerLinkInterval[];
  readonly organisations: readonly PartnerOrganisation[];
  readonly locations: readonly PartnerLocation[];
  readonly locationStatus: readonly LocationStatusInterval[];
  readonly tenants: readonly Tenant[];
}

export async function loadBizappsSnapshot(store: Store, window: { from: number; to: number }, coverage: ControlPlaneSnapshot): Promise<BizappsSnapshot> {
  const pp = store.powerPlatform;
  const [resources, deleted, relationships, environments, events, imports] = await Promise.all([
    pp.resourcesAlive(window), pp.resourcesDeletedBy(window.from), pp.relationshipsOverlapping(window), pp.listEnvironments(), pp.activityInRange(window), pp.importActs(window),
  ]);
  const knownResources = [...resources.map((r) => ({ tenantId: r.tenantId, id: r.id, kind: r.kind })), ...deleted];
  // Delegated-admin entries of the tenants whose resources have a principal unknown in that
  // tenant (decision 7): few tenants, one query each.
  const principalKeys = new Set(coverage.access.principals.map((p) => `${lc(p.tenantId)}|${lc(p.objectId)}`));
  const foreignTenants = new Set(relationships.filter((r) => !principalKeys.has(`${lc(r.tenantId)}|${lc(r.principalId)}`)).map((r) => lc(r.tenantId)));
  const delegatedAdmins = (await Promise.all([...foreignTenants].map((t) => store.directory.listDelegatedAdmins(t)))).flat();

  const input: CandidateInput = {
    resources,
    environments: environments.map((e) => ({ tenantId: e.tenantId, id: e.id, displayName: e.displayName, type: e.type })),
    relationships,
    principals: coverage.access.principals.filter((p) => p.type !== "Group").map((p) => ({ tenantId: p.tenantId, objectId: p.objectId, deletedAt: p.deletedAt })),
    disabled: coverage.access.disabled,
    links: coverage.links,
    locations: coverage.locations.map((l) => ({ id: l.id, globalId: l.globalId })),
    locationStatus: coverage.locationStatus,
    delegatedAdmins,
  };
  const orgs = new Map(coverage.organisations.map((o) => [o.globalId, o.name]));
  const workloadOf = new Map(knownResources.map((r) => [`${lc(r.tenantId)}|${lc(r.id)}`, WORKLOAD_OF[r.kind as ResourceKind] ?? null]));
  const storeActs: StoreAct[] = [
    ...events.map((e) => ({ tenantId: lc(e.tenantId), resourceId: lc(e.resourceId as string), userId: lc(e.userId), at: e.at, operation: e.operation, workload: e.workload })),
    ...imports.map((i) => ({
      tenantId: lc(i.tenantId), resourceId: lc(i.resourceId), userId: lc(i.importedBy), at: i.at, operation: "SolutionImport",
      workload: workloadOf.get(`${lc(i.tenantId)}|${lc(i.resourceId)}`) ?? null,
    })),
  ];
  return {
    candidates: buildCandidates(input, window),
    knownResources,
    storeActs,
    names: {
      tenants: new Map(coverage.tenants.map((t) => [lc(t.id), t.displayName])),
      environments: new Map(environments.map((e) => [`${lc(e.tenantId)}|${lc(e.id)}`, e.displayName])),
      partners: new Map(coverage.locations.map((l) => [l.id, orgs.get(l.globalId) ?? l.name ?? l.globalId])),
    },
  };
}
