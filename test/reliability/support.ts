/**
 * Shared pieces of the reliability suite: the demo world's principals (generated from
 * src/world/demo/world.json, not listed by hand), a token for each, and the server's route table
 * (read from fastify's own route tree, so a route added later is covered without editing a test).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { AZURE_CLI_CLIENT_ID } from "../../src/identity/index.ts";
import type { WorldFile } from "../../src/world/index.ts";
import type { TestServer } from "../support/server.ts";

export const DEMO_WORLD_FILE = path.resolve(import.meta.dirname, "../../src/world/demo/world.json");
export const demoWorld = JSON.parse(readFileSync(DEMO_WORLD_FILE, "utf8")) as WorldFile;
export const ARM_SCOPE = "https://management.azure.com/.default";
export const GRAPH_SCOPE = "https://graph.microsoft.com/.default";

/** Someone who can get a token in one tenant: a member, a guest (home credentials) or an app's service principal. */
export interface Principal {
  readonly label: string;
  readonly tenantId: string;
  readonly objectId: string;
  /** The home object of a guest (it may legitimately appear in the guest's own answers). */
  readonly homeObjectId?: string;
  readonly form: Record<string, string>;
}

interface WorldUser { id: string; userPrincipalName: string; password?: string; type?: string; homeTenantId?: string; homeObjectId?: string; disabledFrom?: string; accountEnabled?: boolean }

export function demoPrincipals(world: WorldFile = demoWorld): Principal[] {
  const users = new Map<string, WorldUser>();
  for (const t of world.tenants ?? []) for (const u of (t.users ?? []) as WorldUser[]) users.set(u.id, u);
  const secrets = new Map((world.applications ?? []).map((a) => [a.appId, (a.secrets ?? [])[0] as string | undefined]));
  const out: Principal[] = [];
  for (const t of world.tenants ?? []) {
    for (const u of (t.users ?? []) as WorldUser[]) {
      if (u.disabledFrom !== undefined || u.accountEnabled === false) continue;
      const home = u.type === "guest" && u.homeObjectId ? users.get(u.homeObjectId) : u;
      if (!home?.password) continue;
      out.push({
        label: `${u.type === "guest" ? "guest " : ""}${home.userPrincipalName} in ${t.displayName}`,
        tenantId: t.id, objectId: u.id, ...(u.type === "guest" && u.homeObjectId ? { homeObjectId: u.homeObjectId } : {}),
        form: { grant_type: "password", client_id: AZURE_CLI_CLIENT_ID, username: home.userPrincipalName, password: home.password },
      });
    }
    for (const sp of t.servicePrincipals ?? []) {
      const secret = secrets.get(sp.appId);
      if (!secret) continue;
      out.push({ label: `SP ${sp.appId} in ${t.displayName}`, tenantId: t.id, objectId: sp.id, form: { grant_type: "client_credentials", client_id: sp.appId, client_secret: secret } });
    }
  }
  return out;
}

/** Object ids (users, service principals, groups) per tenant: what must never leak across tenants. */
export function objectIdsByTenant(world: WorldFile = demoWorld): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const t of world.tenants ?? []) {
    const ids = new Set<string>();
    for (const u of t.users ?? []) ids.add(u.id);
    for (const s of t.servicePrincipals ?? []) ids.add(s.id);
    for (const g of t.groups ?? []) ids.add(g.id);
    map.set(t.id, ids);
  }
  return map;
}

export async function tokenFor(server: TestServer, p: Principal, scope: string): Promise<string> {
  const res = await server.fetch(`/${p.tenantId}/oauth2/v2.0/token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...p.form, scope }).toString(),
  });
  const body = (await res.json()) as { access_token?: string; error_description?: string };
  if (!body.access_token) throw new Error(`no token for ${p.label}: ${res.status} ${body.error_description ?? ""}`);
  return body.access_token;
}

export interface RouteEntry { readonly method: string; readonly url: string }

/** Every method + url fastify serves, parsed from its route tree (`printRoutes({ commonPrefix: false })`). */
export function routeTable(app: FastifyInstance): RouteEntry[] {
  const text = app.printRoutes({ commonPrefix: false });
  const stack: { depth: number; url: string }[] = [];
  const out: RouteEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] as string).length / 4;
    while (stack.length && (stack.at(-1) as { depth: number }).depth >= depth) stack.pop();
    const url = (stack.at(-1)?.url ?? "") + (m[2] as string);
    stack.push({ depth, url });
    for (const method of (m[3] ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
      if (method !== "HEAD") out.push({ method, url });
    }
  }
  return out;
}

/** Tenants that granted `tenantId` access (Lighthouse delegations, delegated-admin relationships): not foreign to it. */
export function tenantsGrantingAccessTo(tenantId: string, world: WorldFile = demoWorld): Set<string> {
  const out = new Set<string>();
  for (const t of world.tenants ?? []) {
    const raw = t as unknown as { delegations?: { managedByTenantId: string }[]; delegatedAdmins?: { partnerTenantId: string }[] };
    if ((raw.delegations ?? []).some((d) => d.managedByTenantId === tenantId) || (raw.delegatedAdmins ?? []).some((d) => d.partnerTenantId === tenantId)) out.add(t.id);
  }
  return out;
}
