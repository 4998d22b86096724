/**
 * Who may call the Power Platform admin APIs (simplified, docs/POWER-PLATFORM.md):
 * - BAP, Power Apps, Flow and Dataverse admin operations: Power Platform Administrator or Global
 *   Administrator (Entra directory roles, by role template id);
 * - Power BI admin endpoints (`/admin/...`): Fabric Administrator (formerly Power BI
 *   Administrator) or Global Administrator;
 * - importing a solution: a maker of the environment (or an administrator);
 * - publishing into a workspace and taking a dataset over: a member of the workspace (any role
 *   but Viewer).
 */
export const POWER_PLATFORM_ADMINISTRATOR = "11648597-926c-4cf3-9c36-bcebb0ba8dcc";
export const FABRIC_ADMINISTRATOR = "a9ea8996-122f-4c74-9520-8edcd192826c";
export const GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10";

export type AdminSurface = "powerPlatform" | "powerBi";

const ADMIN_ROLES: Readonly<Record<AdminSurface, readonly string[]>> = {
  powerPlatform: [POWER_PLATFORM_ADMINISTRATOR, GLOBAL_ADMINISTRATOR],
  powerBi: [FABRIC_ADMINISTRATOR, GLOBAL_ADMINISTRATOR],
};

/** Whether holding directory roles `roles` (template ids) allows the admin surface. */
export function isAdministrator(surface: AdminSurface, roles: readonly string[]): boolean {
  return ADMIN_ROLES[surface].some((r) => roles.includes(r));
}

/** The role names that would allow it, for error messages that name the fix. */
export function administratorRoleNames(surface: AdminSurface): string {
  return surface === "powerBi" ? "Fabric Administrator or Global Administrator" : "Power Platform Administrator or Global Administrator";
}

/** Workspace roles that may publish into a workspace and take its datasets over. */
export function mayPublish(workspaceRole: string | undefined): boolean {
  return workspaceRole === "Admin" || workspaceRole === "Member" || workspaceRole === "Contributor";
}
