/**
 * Users and resources of activity events against the control plane.
 *
 * A user given as a UPN (or mail) resolves, in the event's tenant, to (first that applies):
 *   1. the user of that tenant whose UPN is it, case-insensitively (members, and guests by their
 *      `…#EXT#@…` UPN);
 *   2. the guest object in that tenant of the member account whose home UPN is it (Power BI and
 *      the audit log name a guest by its home address);
 *   3. that home account itself when its tenant holds a delegatedAdmins entry in the event's
 *      tenant (decision 7: a delegated administrator acts from its own tenant).
 * Anything else is unresolved: counted and listed, never guessed. Object ids (GUIDs) are taken as
 * they are; the ones the directory does not know are reported as unknown users.
 */
import type { Store } from "../store/index.ts";
import { WORKLOAD_OF } from "../domain/power-platform/index.ts";

/** A business-applications resource as activity names it: (tenant, workload, id), lower-case ids. */
export interface KnownResource {
  readonly tenantId: string;
  readonly workload: string;
  readonly id: string;
}

export interface ControlPlane {
  /** Every business-applications resource, deleted ones included: a resource is (tenant, workload, id) (deviation 143). */
  readonly resources: readonly KnownResource[];
  /** Object ids of every user and service principal, any tenant (lower case). */
  readonly principals: ReadonlySet<string>;
}

const PAGE = 5000;

export async function loadControlPlane(store: Store): Promise<ControlPlane> {
  const resources: KnownResource[] = [];
  const principals = new Set<string>();
  for (const tenant of await store.directory.listTenants()) {
    const tenantId = tenant.id.toLowerCase();
    let afterId: string | undefined;
    for (;;) {
      const page = await store.powerPlatform.listResources(tenantId, { includeDeleted: true, limit: PAGE, ...(afterId ? { afterId } : {}) });
      for (const r of page) resources.push({ tenantId, workload: WORKLOAD_OF[r.kind], id: r.id.toLowerCase() });
      if (page.length < PAGE) break;
      afterId = page[page.length - 1]?.id;
    }
    for (const u of await store.directory.listUsers(tenantId)) principals.add(u.id.toLowerCase());
    for (const sp of await store.directory.listServicePrincipals(tenantId)) principals.add(sp.id.toLowerCase());
  }
  return { resources, principals };
}

export interface ResolvedUser {
  readonly tenantId: string;
  readonly upn: string;
  readonly objectId: string | null;
}

/** Resolves distinct (tenant, UPN) pairs; `objectId` null when nothing matches (or no store). */
export async function resolveUsers(store: Store | undefined, pairs: readonly { tenantId: string; upn: string }[]): Promise<ResolvedUser[]> {
  const delegatedPartners = new Map<string, Set<string>>();
  const out: ResolvedUser[] = [];
  for (const { tenantId, upn } of pairs) {
    out.push({ tenantId, upn, objectId: store ? await resolveOne(store, tenantId, upn, delegatedPartners) : null });
  }
  return out;
}

async function resolveOne(store: Store, tenantId: string, upn: string, delegatedPartners: Map<string, Set<string>>): Promise<string | null> {
  const value = upn.trim();
  if (!value.includes("@")) return null;
  const direct = await store.directory.findUserByUpn(tenantId, value);
  if (direct) return direct.id.toLowerCase();
  const home = await store.directory.findMemberByUpn(value);
  if (!home) return null;
  const guest = await store.directory.findGuestOf(tenantId, home.tenantId, home.id);
  if (guest) return guest.id.toLowerCase();
  let partners = delegatedPartners.get(tenantId);
  if (!partners) {
    partners = new Set((await store.directory.listDelegatedAdmins(tenantId)).map((d) => d.partnerTenantId.toLowerCase()));
    delegatedPartners.set(tenantId, partners);
  }
  return partners.has(home.tenantId.toLowerCase()) ? home.id.toLowerCase() : null;
}
