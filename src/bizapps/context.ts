/**
 * What explain, diagnose and coverage of business applications share: the partner organisation a
 * partner id stands for, whose identities a principal is (a guest from its tenants, a principal of
 * its own tenants acting as delegated administrator, a service principal of its application, or
 * an account linked to one of its locations), names, and the facts file of a month.
 */
import type { PartnerLinkInterval, PartnerOrganisation, Store } from "../store/index.ts";
import { ReportError } from "../domain/report.ts";
import { PARTNER_REGISTRATION_HINT } from "../domain/partner-id.ts";
import { bizappsFactsFile, type BizappsFact, type BizappsResourceKind } from "./facts-reader.ts";
import type { BizappsRun } from "../store/bizapps.ts";

export interface OrgContext {
  readonly org: PartnerOrganisation;
  /** Every location id of the organisation. */
  readonly locations: readonly string[];
  readonly locationNames: ReadonlyMap<string, string>;
  readonly tenants: ReadonlySet<string>;
}

export async function orgContext(store: Store, partnerId: string): Promise<OrgContext> {
  const found = await store.partners.lookup(partnerId.trim(), Date.now());
  if (found.kind === "unknown") throw new ReportError(`partner id ${partnerId} is not registered; use a location id or the organisation's global id. ${PARTNER_REGISTRATION_HINT}`);
  const org = found.organisation;
  const locs = await store.partners.listLocations(org.globalId);
  return {
    org, locations: locs.map((l) => l.id), locationNames: new Map(locs.map((l) => [l.id, l.name ?? org.name])),
    tenants: new Set(org.tenantIds.map((t) => t.toLowerCase())),
  };
}

export interface PrincipalInfo {
  readonly objectId: string;
  /** The tenant the principal lives in (the customer's, or the partner's for a delegated administrator). */
  readonly tenantId: string | null;
  readonly displayName: string | null;
  readonly userPrincipalName: string | null;
  /** guest | delegatedAdmin | servicePrincipal | member (an account of the customer) | unknown */
  readonly kind: "guest" | "delegatedAdmin" | "servicePrincipal" | "member" | "unknown";
  /** The partner organisation whose identity it is (home tenant, own tenant, application), if any. */
  readonly homeOrganisation: string | null;
  readonly deletedAt: number | null;
}

/** Looks principals up once per (tenant, object) and tells whose identity each is. */
export class PrincipalDirectory {
  readonly #store: Store;
  readonly #cache = new Map<string, Promise<PrincipalInfo>>();
  #orgByTenant: Promise<Map<string, string>> | undefined;
  #links: Promise<Map<string, PartnerLinkInterval[]>> | undefined;
  #locationOrg: Promise<Map<string, string>> | undefined;
  constructor(store: Store) {
    this.#store = store;
  }

  async #orgs(): Promise<Map<string, string>> {
    this.#orgByTenant ??= this.#store.partners.listOrganisations().then((orgs) => new Map(orgs.flatMap((o) => o.tenantIds.map((t) => [t.toLowerCase(), o.globalId] as const))));
    return this.#orgByTenant;
  }

  /** Every link interval of a principal (any tenant). */
  async links(objectId: string): Promise<PartnerLinkInterval[]> {
    this.#links ??= this.#store.links.history().then((all) => {
      const by = new Map<string, PartnerLinkInterval[]>();
      for (const l of all) by.set(l.objectId.toLowerCase(), [...(by.get(l.objectId.toLowerCase()) ?? []), l]);
      return by;
    });
    return (await this.#links).get(objectId.toLowerCase()) ?? [];
  }

  /** The organisation of a location id. */
  async organisationOfLocation(locationId: string): Promise<string | undefined> {
    this.#locationOrg ??= this.#store.partners.listLocations().then((ls) => new Map(ls.map((l) => [l.id, l.globalId])));
    return (await this.#locationOrg).get(locationId);
  }

  info(customerTenantId: string, objectId: string): Promise<PrincipalInfo> {
    const k = `${customerTenantId.toLowerCase()}|${objectId.toLowerCase()}`;
    let p = this.#cache.get(k);
    if (!p) {
      p = this.#lookup(customerTenantId.toLowerCase(), objectId.toLowerCase());
      this.#cache.set(k, p);
    }
    return p;
  }

  async #lookup(tenant: string, objectId: string): Promise<PrincipalInfo> {
    const orgs = await this.#orgs();
    const d = this.#store.directory;
    const local = await d.findPrincipal(tenant, objectId);
    if (local?.type === "User") {
      const u = local.user;
      const home = u.homeTenantId ? orgs.get(u.homeTenantId.toLowerCase()) ?? null : null;
      return { objectId, tenantId: tenant, displayName: u.displayName, userPrincipalName: u.userPrincipalName, kind: u.homeTenantId ? "guest" : "member", homeOrganisation: home ?? orgs.get(tenant) ?? null, deletedAt: u.deletedAt };
    }
    if (local?.type === "ServicePrincipal") {
      const sp = local.servicePrincipal;
      const app = await d.getApplication(sp.appId);
      const home = app ? orgs.get(app.homeTenantId.toLowerCase()) ?? null : null;
      return { objectId, tenantId: tenant, displayName: sp.displayName, userPrincipalName: null, kind: "servicePrincipal", homeOrganisation: home ?? orgs.get(tenant) ?? null, deletedAt: sp.deletedAt };
    }
    // A principal of a partner tenant with a delegatedAdmins entry here (decision 7).
    for (const da of await d.listDelegatedAdmins(tenant)) {
      const p = await d.findPrincipal(da.partnerTenantId, objectId);
      if (p && p.type !== "Group") {
        const name = p.type === "User" ? p.user.displayName : p.servicePrincipal.displayName;
        const upn = p.type === "User" ? p.user.userPrincipalName : null;
        const deletedAt = p.type === "User" ? p.user.deletedAt : p.servicePrincipal.deletedAt;
        return { objectId, tenantId: da.partnerTenantId.toLowerCase(), displayName: name, userPrincipalName: upn, kind: "delegatedAdmin", homeOrganisation: orgs.get(da.partnerTenantId.toLowerCase()) ?? null, deletedAt };
      }
    }
    return { objectId, tenantId: null, displayName: null, userPrincipalName: null, kind: "unknown", homeOrganisation: null, deletedAt: null };
  }

  /** Whether the principal is an identity of organisation `globalId` (by home, or by a link to one of its locations, ever). */
  async isOf(globalId: string, customerTenantId: string, objectId: string, facts: readonly BizappsFact[] = []): Promise<boolean> {
    if (facts.some((f) => f.principalId === objectId.toLowerCase() && f.globalId === globalId)) return true;
    const info = await this.info(customerTenantId, objectId);
    if (info.homeOrganisation === globalId) return true;
    for (const l of await this.links(objectId)) {
      if ((await this.organisationOfLocation(l.partnerId)) === globalId) return true;
    }
    return false;
  }
}

/** The month's facts file (the run's own path when it recorded one). */
export function factsFileOf(dataDir: string, run: BizappsRun): string {
  return run.factsPath ?? bizappsFactsFile(dataDir, run.month);
}

export const isoTime = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString().replace(".000Z", "Z"));
export const span = (from: number | null, to: number | null) => `[${from === null ? "-∞" : isoTime(from)}, ${to === null ? "∞" : isoTime(to)})`;

export const KIND_NOUN: Readonly<Record<BizappsResourceKind, string>> = {
  canvasApp: "canvas app", modelDrivenApp: "model-driven app", flow: "flow", dataset: "Power BI dataset", ciInstance: "Customer Insights instance",
};

export function who(p: PrincipalInfo): string {
  const name = p.userPrincipalName ?? p.displayName;
  return name ? `${name} (${p.objectId})` : p.objectId;
}
