/**
 * Entra directory roles that matter for the directory writes OpenPAL models, by their real role
 * template ids, and which writes each allows. Pure data and logic.
 */
export const DirectoryRole = {
  GlobalAdministrator: "62e90394-69f5-4237-9190-012177145e10",
  UserAdministrator: "fe930be7-5e62-47db-91af-98c3a49a38b1",
  GuestInviter: "95e79109-95c0-4d8e-aee3-d01accf2d47b",
  GroupsAdministrator: "fdd7a751-b60b-444a-984c-02652fe8fa1c",
  ApplicationAdministrator: "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
  CloudApplicationAdministrator: "158c047a-c907-4556-b7ef-446551a6b5f7",
  PrivilegedRoleAdministrator: "e8611ab8-c189-46e8-94e1-60213ab1f814",
  // Power Platform admin APIs (src/powerplatform) check these two.
  PowerPlatformAdministrator: "11648597-926c-4cf3-9c36-bcebb0ba8dcc",
  FabricAdministrator: "a9ea8996-122f-4c74-9520-8edcd192826c",
  // Not an Entra role: Partner Center's "Executive report viewer" (may see revenue in insights),
  // kept with the partner tenant's directory roles under a template id chosen by OpenPAL. The
  // insights API (src/partner-insights) checks it (docs/SPEC-DEVIATIONS.md 85).
  ExecutiveReportViewer: "c3f5a0e1-7b7d-4e4b-9a1e-0a5e1c0e8d01",
} as const;

/** Display names, as Entra ID shows them (and as world files may name them). */
export const directoryRoleNames: Readonly<Record<string, string>> = {
  [DirectoryRole.GlobalAdministrator]: "Global Administrator",
  [DirectoryRole.UserAdministrator]: "User Administrator",
  [DirectoryRole.GuestInviter]: "Guest Inviter",
  [DirectoryRole.GroupsAdministrator]: "Groups Administrator",
  [DirectoryRole.ApplicationAdministrator]: "Application Administrator",
  [DirectoryRole.CloudApplicationAdministrator]: "Cloud Application Administrator",
  [DirectoryRole.PrivilegedRoleAdministrator]: "Privileged Role Administrator",
  [DirectoryRole.PowerPlatformAdministrator]: "Power Platform Administrator",
  [DirectoryRole.FabricAdministrator]: "Fabric Administrator",
  [DirectoryRole.ExecutiveReportViewer]: "Executive report viewer",
};

/** Resolves a directory role given by display name (case-insensitive) or template id. */
export function resolveDirectoryRole(nameOrId: string): string | undefined {
  const key = nameOrId.toLowerCase();
  if (directoryRoleNames[key]) return key;
  return Object.entries(directoryRoleNames).find(([, name]) => name.toLowerCase() === key)?.[0];
}

export type DirectoryWrite = "users" | "invitations" | "groups" | "applications" | "servicePrincipals" | "roleAssignments";

const allowedBy: Readonly<Record<DirectoryWrite, readonly string[]>> = {
  users: [DirectoryRole.GlobalAdministrator, DirectoryRole.UserAdministrator],
  invitations: [DirectoryRole.GlobalAdministrator, DirectoryRole.UserAdministrator, DirectoryRole.GuestInviter],
  groups: [DirectoryRole.GlobalAdministrator, DirectoryRole.UserAdministrator, DirectoryRole.GroupsAdministrator],
  applications: [DirectoryRole.GlobalAdministrator, DirectoryRole.ApplicationAdministrator, DirectoryRole.CloudApplicationAdministrator],
  servicePrincipals: [DirectoryRole.GlobalAdministrator, DirectoryRole.ApplicationAdministrator, DirectoryRole.CloudApplicationAdministrator],
  roleAssignments: [DirectoryRole.GlobalAdministrator, DirectoryRole.PrivilegedRoleAdministrator],
};

/** Whether holding `roles` allows the write. */
export function mayWrite(write: DirectoryWrite, roles: readonly string[]): boolean {
  return allowedBy[write].some((r) => roles.includes(r));
}

/** The roles that would allow a write, by name, for error messages that name the fix. */
export function rolesAllowing(write: DirectoryWrite): string[] {
  return allowedBy[write].map((r) => directoryRoleNames[r] ?? r);
}
