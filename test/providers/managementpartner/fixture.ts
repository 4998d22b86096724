/**
 * A small world for the PAL suites, seeded through the store aggregates: two partner
 * organisations, three tenants, members, a guest, a disabled user, a deleted user and a
 * multi-tenant application with service principals in two tenants. Tokens are minted with the
 * server's own key ring, exactly as its token endpoint signs them.
 */
import type { Store } from "../../../src/store/index.ts";
import type { TestServer } from "../../support/server.ts";

export const T = {
  fabrikam: "aaaaaaaa-0000-4000-8000-000000000001",
  contoso: "aaaaaaaa-0000-4000-8000-000000000002",
  woodgrove: "aaaaaaaa-0000-4000-8000-000000000003",
} as const;

export const O = {
  alice: "bbbbbbbb-0000-4000-8000-000000000001", // member of Fabrikam
  bob: "bbbbbbbb-0000-4000-8000-000000000002", // member of Contoso
  bobGuest: "bbbbbbbb-0000-4000-8000-000000000003", // Bob's guest object in Fabrikam
  carol: "bbbbbbbb-0000-4000-8000-000000000004", // member of Fabrikam, disabled
  dave: "bbbbbbbb-0000-4000-8000-000000000005", // member of Fabrikam, deleted
  spContoso: "cccccccc-0000-4000-8000-000000000001", // the automation app's SP in Contoso
  spFabrikam: "cccccccc-0000-4000-8000-000000000002", // the same app's SP in Fabrikam
  bobGuestWoodgrove: "bbbbbbbb-0000-4000-8000-000000000006", // Bob's guest object in Woodgrove
} as const;

export const APP_ID = "dddddddd-0000-4000-8000-000000000001";

export const P = {
  contosoGlobal: "4000000",
  contosoUs: "4000001",
  contosoGb: "4000002",
  contosoRetired: "4000003",
  northwindGlobal: "5000000",
  northwindUs: "5000001",
} as const;

const CREATED = Date.parse("2026-01-01T00:00:00Z");

export async function seedWorld(store: Store): Promise<void> {
  const d = store.directory;
  await d.putTenant({ id: T.fabrikam, displayName: "Fabrikam", domain: "fabrikam.example", createdAt: CREATED });
  await d.putTenant({ id: T.contoso, displayName: "Contoso", domain: "contoso.example", createdAt: CREATED });
  await d.putTenant({ id: T.woodgrove, displayName: "Woodgrove", domain: "woodgrove.example", createdAt: CREATED });
  const user = (tenantId: string, id: string, upn: string, extra: Partial<{ kind: "member" | "guest"; homeTenantId: string; homeObjectId: string; deletedAt: number }> = {}) =>
    d.putUser({
      tenantId, id, userPrincipalName: upn, displayName: upn.split("@")[0] as string, kind: extra.kind ?? "member", passwordHash: null,
      homeTenantId: extra.homeTenantId ?? null, homeObjectId: extra.homeObjectId ?? null, createdAt: CREATED, deletedAt: extra.deletedAt ?? null,
    });
  await user(T.fabrikam, O.alice, "alice@fabrikam.example");
  await user(T.contoso, O.bob, "bob@contoso.example");
  await user(T.fabrikam, O.bobGuest, "bob_contoso.example#EXT#@fabrikam.example", { kind: "guest", homeTenantId: T.contoso, homeObjectId: O.bob });
  await user(T.woodgrove, O.bobGuestWoodgrove, "bob_contoso.example#EXT#@woodgrove.example", { kind: "guest", homeTenantId: T.contoso, homeObjectId: O.bob });
  await user(T.fabrikam, O.carol, "carol@fabrikam.example");
  await d.disable(T.fabrikam, O.carol, CREATED);
  await user(T.fabrikam, O.dave, "dave@fabrikam.example", { deletedAt: CREATED });
  await d.putApplication({ appId: APP_ID, displayName: "contoso-pal-automation", homeTenantId: T.contoso, createdAt: CREATED, deletedAt: null });
  await d.putServicePrincipal({ tenantId: T.contoso, id: O.spContoso, appId: APP_ID, displayName: "contoso-pal-automation", createdAt: CREATED, deletedAt: null });
  await d.putServicePrincipal({ tenantId: T.fabrikam, id: O.spFabrikam, appId: APP_ID, displayName: "contoso-pal-automation", createdAt: CREATED, deletedAt: null });

  const p = store.partners;
  await p.putOrganisation({ globalId: P.contosoGlobal, name: "Contoso Consulting", tenantIds: [T.contoso], createdAt: CREATED });
  for (const [id, country] of [[P.contosoUs, "US"], [P.contosoGb, "GB"], [P.contosoRetired, "FR"]] as const) {
    await p.putLocation({ id, globalId: P.contosoGlobal, country, name: null, createdAt: CREATED });
  }
  await p.setLocationActive(P.contosoRetired, false, CREATED);
  await p.putOrganisation({ globalId: P.northwindGlobal, name: "Northwind Traders", tenantIds: [], createdAt: CREATED });
  await p.putLocation({ id: P.northwindUs, globalId: P.northwindGlobal, country: "US", name: null, createdAt: CREATED });
}

export interface TokenClaims {
  readonly tid: string;
  readonly oid: string;
  readonly idtyp?: "user" | "app";
  readonly foreign?: boolean;
  readonly home_tid?: string;
  readonly aud?: string;
  /** Seconds from now until expiry (negative: already expired). */
  readonly expiresIn?: number;
}

/** A token as the server's token endpoint would issue it for ARM. */
export async function mintToken(server: TestServer, c: TokenClaims): Promise<string> {
  const now = Math.floor(server.openpal.context.clock.now() / 1000);
  const idtyp = c.idtyp ?? "user";
  const expiresIn = c.expiresIn ?? 3600;
  return server.openpal.identity.keys.sign({
    iss: server.openpal.identity.issuerFor(c.tid), aud: c.aud ?? "https://management.azure.com/",
    tid: c.tid, oid: c.oid, sub: c.oid, ver: "2.0", idtyp,
    ...(idtyp === "app" ? { appid: APP_ID, azp: APP_ID } : {}),
    ...(c.foreign ? { foreign: true } : {}), ...(c.home_tid ? { home_tid: c.home_tid } : {}),
    iat: now - 120, nbf: now - 120, exp: now + expiresIn,
  });
}

export const PAL = "/providers/Microsoft.ManagementPartner";
export const V = "api-version=2018-02-01";

/** A raw ARM call with a bearer token, as curl would make it. */
export async function arm(server: TestServer, method: string, path: string, token: string | undefined, init: { body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string; headers: Headers; json: () => Record<string, unknown> }> {
  const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers };
  const res = await server.fetch(path, { method, headers, body: init.body });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, json: () => JSON.parse(text) as Record<string, unknown> };
}
