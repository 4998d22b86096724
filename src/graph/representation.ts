/** Graph v1.0 JSON shapes of directory objects. */
import type { Application, Group, ServicePrincipal, User } from "../store/index.ts";

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString().replace(/\.000Z$/, "Z"));

export function userJson(u: User, enabled: boolean): Record<string, unknown> {
  return {
    id: u.id,
    businessPhones: [],
    displayName: u.displayName,
    givenName: null,
    jobTitle: null,
    mail: null,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: null,
    userPrincipalName: u.userPrincipalName,
    accountEnabled: enabled,
    userType: u.kind === "guest" ? "Guest" : "Member",
    createdDateTime: iso(u.createdAt),
  };
}

export function applicationJson(a: Application, secrets: readonly { keyId: string; hint: string; displayName: string | null; createdAt: number; expiresAt: number | null }[]): Record<string, unknown> {
  return {
    id: a.objectId ?? null,
    appId: a.appId,
    displayName: a.displayName,
    createdDateTime: iso(a.createdAt),
    publisherDomain: null,
    signInAudience: "AzureADMultipleOrgs",
    passwordCredentials: secrets.map((s) => ({
      customKeyIdentifier: null,
      displayName: s.displayName,
      endDateTime: iso(s.expiresAt),
      hint: s.hint,
      keyId: s.keyId,
      secretText: null,
      startDateTime: iso(s.createdAt),
    })),
  };
}

export function servicePrincipalJson(sp: ServicePrincipal, enabled: boolean, appOwnerTenantId: string | undefined): Record<string, unknown> {
  return {
    id: sp.id,
    accountEnabled: enabled,
    appId: sp.appId,
    appDisplayName: sp.displayName,
    appOwnerOrganizationId: appOwnerTenantId ?? null,
    displayName: sp.displayName,
    servicePrincipalType: "Application",
    createdDateTime: iso(sp.createdAt),
  };
}

export function groupJson(g: Group): Record<string, unknown> {
  return {
    id: g.id,
    displayName: g.displayName,
    mailEnabled: false,
    securityEnabled: true,
    groupTypes: [],
    createdDateTime: iso(g.createdAt),
  };
}
