/**
 * The kinds of things a world apply counts, below apply.ts and its per-domain parts (Power
 * Platform) so that both can name them without importing each other.
 */
/** Kinds of things apply counts. */
export const WORLD_KINDS = [
  "tenant", "partner", "location", "locationStatus", "application", "secret", "certificate", "user",
  "servicePrincipal", "group", "membership", "disabledInterval", "delegatedAdmin", "directoryRole", "managementGroup",
  "subscription", "resourceGroup", "roleAssignment", "registrationDefinition", "delegation", "activation", "link", "partnerOfRecord",
  "ppEnvironment", "ppMaker", "ppWorkspace", "ppWorkspaceMember", "ppResource", "ppSolution", "ppSolutionImport", "ppRelationship",
] as const;
export type WorldKind = (typeof WORLD_KINDS)[number];

export interface KindCount {
  created: number;
  updated: number;
  unchanged: number;
}
