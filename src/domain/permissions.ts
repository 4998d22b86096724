/**
 * What a role allows: Azure's action strings (`Microsoft.Authorization/roleAssignments/write`)
 * matched against a role's permissions (`actions` minus `notActions`, wildcards `*`), as ARM
 * evaluates a control-plane request. Pure: no I/O.
 *
 * Built-in roles carry the permissions Azure publishes for the ones that decide control-plane
 * writes (Owner, Contributor, Reader, User Access Administrator, Support Request Contributor, the
 * Lighthouse delete role). Every other built-in is modelled as read-only (`* /read`): nearly all
 * of them include it, and none of them may write role assignments, resource groups, management
 * groups or delegations. Custom roles carry their own stored permissions.
 */
import { OWNER_ROLE_ID, CONTRIBUTOR_ROLE_ID, READER_ROLE_ID, USER_ACCESS_ADMINISTRATOR_ROLE_ID, SUPPORT_REQUEST_CONTRIBUTOR_ROLE_ID } from "./roles.ts";

export interface RolePermission {
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
}

export const LIGHTHOUSE_DELETE_ROLE_ID = "91c1777a-f3dc-4fae-b103-61d183457e46";

const READ_ONLY: readonly RolePermission[] = Object.freeze([{ actions: ["*/read"], notActions: [] }]);

/** Published permissions of the built-ins that matter for control-plane writes, by role GUID. */
export const BUILT_IN_PERMISSIONS: ReadonlyMap<string, readonly RolePermission[]> = new Map<string, readonly RolePermission[]>([
  [OWNER_ROLE_ID, [{ actions: ["*"], notActions: [] }]],
  [CONTRIBUTOR_ROLE_ID, [{
    actions: ["*"],
    notActions: [
      "Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
      "Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
      "Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
    ],
  }]],
  [READER_ROLE_ID, READ_ONLY],
  [USER_ACCESS_ADMINISTRATOR_ROLE_ID, [{ actions: ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], notActions: [] }]],
  [SUPPORT_REQUEST_CONTRIBUTOR_ROLE_ID, [{ actions: ["Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"], notActions: [] }]],
  [LIGHTHOUSE_DELETE_ROLE_ID, [{ actions: ["Microsoft.ManagedServices/registrationAssignments/read", "Microsoft.ManagedServices/registrationAssignments/delete", "Microsoft.ManagedServices/operationStatuses/read"], notActions: [] }]],
]);

/** The permissions of a role: published ones for the built-ins above, read-only for other built-ins. */
export function builtInPermissions(roleId: string): readonly RolePermission[] {
  return BUILT_IN_PERMISSIONS.get(roleId.toLowerCase()) ?? READ_ONLY;
}

const patterns = new Map<string, RegExp>();

/** Whether an action pattern (`*`, `*\/read`, `Microsoft.Authorization/*`) matches an action; case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
  let re = patterns.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`, "i");
    patterns.set(pattern, re);
  }
  return re.test(action);
}

/** ARM's rule: some permission block lists the action in `actions` and not in its `notActions`. */
export function permissionsAllow(permissions: readonly RolePermission[], action: string): boolean {
  return permissions.some((p) => p.actions.some((a) => actionMatches(a, action)) && !p.notActions.some((n) => actionMatches(n, action)));
}

/** Names of the built-in roles (from the table above) that allow `action`, for error messages. */
export function builtInRolesAllowing(action: string, names: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [id, permissions] of BUILT_IN_PERMISSIONS) if (permissionsAllow(permissions, action)) out.push(names.get(id) ?? id);
  return out;
}
