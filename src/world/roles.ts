/**
 * Role lookup for world files: the one function through which world files resolve a role, so the
 * catalog behind it (today the built-ins of domain/roles.ts; custom roles later) can change in one
 * place.
 */
import { findBuiltInRole } from "../domain/roles.ts";

export interface RoleRef {
  /** Role definition GUID (lower case). */
  readonly id: string;
  readonly name: string;
}

/** Resolves a built-in role name (case-insensitive), role definition GUID or definition id. */
export function resolveRole(nameOrId: string): RoleRef | undefined {
  const role = findBuiltInRole(nameOrId);
  return role ? { id: role.id, name: role.name } : undefined;
}

/** A few well-known names, for error messages. */
export function exampleRoleNames(): readonly string[] {
  return ["Owner", "Contributor", "Reader", "User Access Administrator", "Support Request Contributor"];
}
