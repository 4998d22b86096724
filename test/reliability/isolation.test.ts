/**
 * Isolation matrix: every route the server serves (read from fastify's route tree; the ARM
 * catch-all expanded into every provider × resource type × scope × method) × every principal of the
 * demo world that can get a token. Each request aims at another tenant's objects (its ids and
 * subscriptions in the path, query and body). The rules:
 *   - the answer never carries an object id of a tenant that did not grant the caller's tenant access;
 *   - an ARM, Graph, insights or admin request aimed at a foreign object is refused (4xx, never 2xx, never 5xx);
 *   - no request changes a link other than the caller's own (the whole link history is compared).
 * Then each principal writes, reads and deletes its own link: only the link's own principal ever
 * touches it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";
import { managementPartnerProvider } from "../../src/providers/managementpartner/index.ts";
import { resourcesProvider } from "../../src/providers/resources/index.ts";
import { authorizationProvider } from "../../src/providers/authorization/index.ts";
import { partnerOfRecordProvider } from "../../src/providers/partnerofrecord/index.ts";
import { managementProvider } from "../../src/providers/management/index.ts";
import { managedServicesProvider } from "../../src/providers/managedservices/index.ts";
import type { ArmProvider } from "../../src/arm/index.ts";
import { systemClock } from "../../src/domain/time.ts";
import type { Store } from "../../src/store/index.ts";
import { ARM_SCOPE, DEMO_WORLD_FILE, GRAPH_SCOPE, demoPrincipals, demoWorld, objectIdsByTenant, routeTable, tenantsGrantingAccessTo, tokenFor, type Principal, type RouteEntry } from "./support.ts";

interface Armed extends Principal { readonly arm: string; readonly graph: string }

function armProviders(store: Store): ArmProvider[] {
  const baseUrl = () => "https://localhost";
  return [
    managementPartnerProvider({ store, clock: systemClock }),
    authorizationProvider({ store, baseUrl }), resourcesProvider({ store, baseUrl }), partnerOfRecordProvider({ store, baseUrl }),
    managementProvider({ store, baseUrl }), managedServicesProvider({ store, baseUrl }),
  ];
}

/** What a principal must never see, and what to aim at: the tenants that did not grant it access. */
function victimsOf(p: Principal) {
  const granted = tenantsGrantingAccessTo(p.tenantId);
  const tenants = (demoWorld.tenants ?? []).filter((t) => t.id !== p.tenantId && !granted.has(t.id));
  const ids = objectIdsByTenant();
  const foreign = new Set<string>();
  for (const t of tenants) for (const id of ids.get(t.id) ?? []) foreign.add(id);
  if (p.homeObjectId) foreign.delete(p.homeObjectId);
  // The caller's own people in other tenants (guests homed in its tenant, service principals of
  // its tenant's apps) are its partner organisation's identities, which the insights API shows it.
  const ownApps = new Set((demoWorld.applications ?? []).filter((a) => a.homeTenantId === p.tenantId).map((a) => a.appId));
  for (const t of tenants) {
    for (const u of (t.users ?? []) as unknown as { id: string; homeTenantId?: string }[]) if (u.homeTenantId === p.tenantId) foreign.delete(u.id);
    for (const sp of t.servicePrincipals ?? []) if (ownApps.has(sp.appId)) foreign.delete(sp.id);
  }
  const victim = tenants.find((t) => (t.subscriptions ?? []).length > 0) ?? tenants[0];
  if (!victim) throw new Error(`no foreign tenant for ${p.label}`);
  const objectId = [...(ids.get(victim.id) ?? [])][0] as string;
  const subscription = (victim.subscriptions ?? [])[0]?.id ?? "ffffffff-0000-4000-8000-000000000000";
  const mg = ((victim as { managementGroups?: { id: string }[] }).managementGroups ?? [])[0]?.id ?? "no-such-group";
  return { foreign, tenantId: victim.id, objectId, subscription, mg };
}

type Victim = ReturnType<typeof victimsOf>;

function scopePrefix(kind: string, v: Victim): string | undefined {
  switch (kind) {
    case "root": return "";
    case "subscription": return `/subscriptions/${v.subscription}`;
    case "resourceGroup": return `/subscriptions/${v.subscription}/resourceGroups/rg-web`;
    case "resource": return `/subscriptions/${v.subscription}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm1`;
    case "managementGroup": return `/providers/Microsoft.Management/managementGroups/${v.mg}`;
    default: return undefined;
  }
}

interface Probe { readonly method: string; readonly url: string; readonly route: string; readonly body?: unknown; readonly mustRefuse: boolean; readonly graph: boolean }

/** Concrete requests for one route, aimed at the victim. */
function probes(route: RouteEntry, v: Victim, providers: ArmProvider[]): Probe[] {
  const { method, url } = route;
  if (url === "*" || url.startsWith("/:root(")) {
    if (url === "*") return [{ method, url: `//subscriptions/${v.subscription}/resourceGroups?api-version=2021-04-01`, route: `${method} ${url}`, mustRefuse: true, graph: false }];
    const out: Probe[] = [];
    for (const p of providers) {
      for (const t of p.resourceTypes) {
        for (const kind of t.scopes ?? ["root"]) {
          const prefix = scopePrefix(kind, v);
          if (prefix === undefined) continue;
          for (const [part, handlers] of [["collection", t.collection], ["item", t.item]] as const) {
            if (!handlers || !(method in handlers)) continue;
            // Aim an item at the victim's own name for the type: its subscription, its management group, an object of it.
            // A management group written at the root is created in the caller's own tenant: give it a name of its own.
            const named: Record<string, string> = { partners: "4000001", subscriptions: v.subscription, managementgroups: method === "GET" ? v.mg : "probe-own-group" };
            const name = part === "item" ? `/${named[t.type.toLowerCase()] ?? v.objectId}` : "";
            const path = `${prefix}/providers/${p.namespace}/${t.type}${name}?api-version=${p.apiVersions[0]}`;
            // A link (tenant-level partners) is always the caller's own: writing it is allowed, it cannot aim elsewhere.
            // Role definitions are the built-in roles, the same for everyone.
            const own = p.namespace === "Microsoft.ManagementPartner" || kind === "root" || t.type === "roleDefinitions";
            out.push({ method, url: path, route: `${method} ${p.namespace}/${t.type} (${kind}, ${part})`, body: method === "GET" || method === "DELETE" ? undefined : { properties: { partnerId: "4000001", principalId: v.objectId, scope: prefix } }, mustRefuse: !own, graph: false });
          }
        }
      }
    }
    return out;
  }
  const concrete = url
    .replace(/:tenant\b/, v.tenantId).replace(/:subscriptionId\b/, v.subscription).replace(/:partnerId\b/, "4000001")
    .replace(/:globalId\b/, "4000000").replace(/:memberId\b/, v.objectId).replace(/:id\b/, url.startsWith("/admin/partners/locations") ? "4000001" : v.objectId);
  const graph = url.startsWith("/v1.0/");
  const aimed = concrete !== url && !url.startsWith("/:tenant/") && !url.startsWith("/insights/") && !url.startsWith("/admin/partners/");
  const query = url.startsWith("/insights/") || url.startsWith("/portal/api/") ? `?month=2026-10&tenantId=${v.tenantId}&subscriptionId=${v.subscription}&api-version=2024-01-01` : "";
  const body = method === "GET" || method === "DELETE" ? undefined : { "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${v.objectId}`, principalId: v.objectId, tenantId: v.tenantId, objectId: v.objectId, partnerId: "4000001" };
  return [{ method, url: concrete + query, route: `${method} ${url}`, body, mustRefuse: aimed || url.startsWith("/admin/"), graph }];
}

let server: TestServer;
const principals: Armed[] = [];
let routes: RouteEntry[] = [];

before(async () => {
  server = await startTestServer({ options: { world: DEMO_WORLD_FILE } });
  routes = routeTable(server.openpal.app);
  for (const p of demoPrincipals()) {
    try {
      principals.push({ ...p, arm: await tokenFor(server, p, ARM_SCOPE), graph: await tokenFor(server, p, GRAPH_SCOPE) });
    } catch {
      // A principal the world disables cannot sign in; that refusal is tested in test/identity.
    }
  }
});
after(async () => server?.close());

const linkKey = (i: { tenantId: string; objectId: string }) => `${i.tenantId}/${i.objectId}`;
async function othersHistory(store: Store, p: Principal): Promise<string> {
  const all = await store.links.history();
  return JSON.stringify(all.filter((i) => linkKey(i) !== linkKey(p)).map((i) => [linkKey(i), i.partnerId, i.validFrom, i.validTo]).sort());
}

describe("isolation matrix: every route × every demo principal", () => {
  it("the matrix covers the route table and the world's principals", () => {
    assert.ok(routes.length >= 60, `only ${routes.length} routes found in the route tree`);
    assert.ok(principals.length >= 15, `only ${principals.length} principals got tokens`);
  });

  it("no principal reads or writes another tenant's objects, on any route", async () => {
    const providers = armProviders(server.openpal.context.store);
    const failures: string[] = [];
    let requests = 0;
    for (const p of principals) {
      const v = victimsOf(p);
      const before = await othersHistory(server.openpal.context.store, p);
      const all = routes.flatMap((route) => probes(route, v, providers));
      requests += all.length;
      // Eight requests in flight per principal: one principal at a time, so a changed link is attributable.
      const lanes = Array.from({ length: 8 }, async (_, lane) => {
        for (let k = lane; k < all.length; k += 8) {
          const probe = all[k] as Probe;
          const headers: Record<string, string> = { authorization: `Bearer ${probe.graph ? p.graph : p.arm}` };
          if (probe.body !== undefined) headers["content-type"] = "application/json";
          const res = await server.fetch(probe.url, { method: probe.method, headers, redirect: "manual", ...(probe.body !== undefined ? { body: JSON.stringify(probe.body) } : {}) });
          const text = await res.text();
          const where = `${p.label}: ${probe.route} → ${probe.method} ${probe.url} answered ${res.status}`;
          if (res.status >= 500) failures.push(`${where} (5xx): ${text.slice(0, 200)}`);
          if (probe.mustRefuse && res.status < 400) failures.push(`${where}, expected a refusal: ${text.slice(0, 200)}`);
          // An error may name what the request named; anything else foreign in an answer is a leak.
          const asked = `${probe.url} ${JSON.stringify(probe.body ?? "")}`.toLowerCase();
          const leaked = [...v.foreign].filter((id) => text.toLowerCase().includes(id) && (res.status < 400 || !asked.includes(id)));
          if (leaked.length) failures.push(`${where} and leaked ${leaked.join(", ")}: ${text.slice(0, 300)}`);
        }
      });
      await Promise.all(lanes);
      assert.equal(await othersHistory(server.openpal.context.store, p), before, `${p.label} changed a link that is not its own`);
    }
    assert.ok(requests > 1000, `only ${requests} requests`);
    console.log(`isolation matrix: ${requests} requests, ${principals.length} principals, ${routes.length} routes`);
    assert.deepEqual(failures, []);
  });
});

describe("a link is touched only by its own principal", () => {
  const api = "/providers/Microsoft.ManagementPartner/partners";
  const call = async (p: Armed, method: string, partnerId = "") => {
    const res = await server.fetch(`${api}${partnerId ? `/${partnerId}` : ""}?api-version=2018-02-01`, { method, headers: { authorization: `Bearer ${p.arm}` } });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as { properties?: { tenantId?: string; objectId?: string; partnerId?: string } }) : undefined };
  };

  it("each principal's PUT, GET and DELETE act on its own (tenant, object) and leave every other link as it was", async () => {
    const partners = ["4000001", "5100001"];
    for (const [i, p] of principals.entries()) {
      // Start unlinked: the demo world, or the matrix above (a principal's PUT on its own link is
      // allowed there), may have linked this principal already; its own DELETE clears that.
      const current = await call(p, "GET");
      const linkedTo = current.status === 200 ? current.body?.properties?.partnerId : undefined;
      if (linkedTo) assert.equal((await call(p, "DELETE", linkedTo)).status, 200, `${p.label} unlinks itself first`);
      const before = await othersHistory(server.openpal.context.store, p);
      const put = await call(p, "PUT", partners[i % 2]);
      assert.equal(put.status, 200, `${p.label} PUT: ${JSON.stringify(put.body)}`);
      assert.deepEqual([put.body?.properties?.tenantId, put.body?.properties?.objectId], [p.tenantId, p.objectId], p.label);
      assert.equal(await othersHistory(server.openpal.context.store, p), before, `${p.label}'s PUT changed another link`);
    }
    for (const [i, p] of principals.entries()) {
      const get = await call(p, "GET", partners[i % 2]);
      assert.equal(get.status, 200, `${p.label} GET: ${JSON.stringify(get.body)}`);
      assert.deepEqual([get.body?.properties?.tenantId, get.body?.properties?.objectId, get.body?.properties?.partnerId], [p.tenantId, p.objectId, partners[i % 2]], p.label);
    }
    for (const [i, p] of principals.entries()) {
      const before = await othersHistory(server.openpal.context.store, p);
      assert.equal((await call(p, "DELETE", partners[i % 2])).status, 200, p.label);
      assert.equal(await othersHistory(server.openpal.context.store, p), before, `${p.label}'s DELETE changed another link`);
      assert.equal((await call(p, "GET", partners[i % 2])).status, 404, `${p.label}'s link is gone after its DELETE`);
    }
  });
});
