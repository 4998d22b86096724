/**
 * The Power Platform / Customer Insights estate as the domain sees it (docs/POWER-PLATFORM.md):
 * environments, the resources partners are credited through, and the effective-dated
 * relationships between principals and those resources. Pure data; no I/O.
 *
 * Every relationship is an interval `[from, to)` in epoch milliseconds (`from = null`: since
 * always; `to = null`: still so), like every other fact of the control plane.
 */

export const ENVIRONMENT_TYPES = ["Production", "Sandbox", "Trial", "Developer", "Default"] as const;
export type EnvironmentType = (typeof ENVIRONMENT_TYPES)[number];

/** What a report row carries when a resource lives outside environments (Power BI). */
export const NOT_APPLICABLE_ENVIRONMENT = "NotApplicable";

/**
 * The kinds of resource credit flows through. `canvasApp` and `modelDrivenApp` are Power Apps,
 * `flow` is a Power Automate cloud flow, `dataset` a Power BI (semantic model) dataset and
 * `ciInstance` a Customer Insights instance.
 */
export const RESOURCE_KINDS = ["canvasApp", "modelDrivenApp", "flow", "dataset", "ciInstance"] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** Workload names as Partner Center's business-applications rows spell them. */
export const WORKLOAD_OF: Readonly<Record<ResourceKind, "PowerApps" | "PowerAutomate" | "PowerBI" | "CustomerInsights">> = {
  canvasApp: "PowerApps", modelDrivenApp: "PowerApps", flow: "PowerAutomate", dataset: "PowerBI", ciInstance: "CustomerInsights",
};

/** `ResourceType` as report rows spell it. */
export const RESOURCE_TYPE_OF: Readonly<Record<ResourceKind, "CanvasApp" | "ModelDrivenApp" | "Flow" | "Dataset" | "Instance">> = {
  canvasApp: "CanvasApp", modelDrivenApp: "ModelDrivenApp", flow: "Flow", dataset: "Dataset", ciInstance: "Instance",
};

/** Kinds a solution can carry (solutions do not exist for Power BI and Customer Insights). */
export const SOLUTION_COMPONENT_KINDS = ["canvasApp", "modelDrivenApp", "flow"] as const;
export type SolutionComponentKind = (typeof SOLUTION_COMPONENT_KINDS)[number];

/** Dataverse `solutioncomponent.componenttype` codes of those kinds. */
export const COMPONENT_TYPE_CODE: Readonly<Record<SolutionComponentKind, number>> = { canvasApp: 300, modelDrivenApp: 80, flow: 29 };
export function componentKindOfCode(code: number): SolutionComponentKind | undefined {
  return (Object.entries(COMPONENT_TYPE_CODE) as [SolutionComponentKind, number][]).find(([, c]) => c === code)?.[0];
}

/**
 * A relationship between a principal and a resource:
 * - `owner`: the one owner of an app or flow (at most one open at a time);
 * - `coOwner`: canvas apps (counts) and flows (recorded, never counts: decision 1);
 * - `publisher`: the attributed user of a dataset (one at a time; a take-over replaces it);
 * - `instanceUser`: a user of a Customer Insights instance, with a role.
 */
export const RELATIONS = ["owner", "coOwner", "publisher", "instanceUser"] as const;
export type Relation = (typeof RELATIONS)[number];

/**
 * How a relationship began; "why" in explanations.
 * - `created`: the creator owns what it creates (apps, flows);
 * - `assigned`: an owner change (modifyAppOwner, ownerid reassignment, a world file's history);
 * - `solutionImport`: an import of a solution re-owned the component to the importer;
 * - `shared`: a CanEdit permission (co-owner);
 * - `published`: publishing a dataset; `takeover`: Default.TakeOver;
 * - `instanceRole`: a role on a Customer Insights instance.
 */
export const BASES = ["created", "assigned", "solutionImport", "shared", "published", "takeover", "instanceRole"] as const;
export type Basis = (typeof BASES)[number];

/** Customer Insights roles. */
export const CI_ROLES = ["Administrator", "Contributor", "Marketing Contributor", "Viewer"] as const;
export type CiRole = (typeof CI_ROLES)[number];

/** Power BI workspace roles. */
export const WORKSPACE_ROLES = ["Admin", "Member", "Contributor", "Viewer"] as const;
export type WorkspaceRole = (typeof WORKSPACE_ROLES)[number];

/** One stored relationship interval. */
export interface ResourceRelationship {
  readonly resourceId: string;
  readonly principalId: string;
  readonly relation: Relation;
  readonly basis: Basis;
  readonly from: number | null;
  readonly to: number | null;
  /** The solution whose import began it (basis `solutionImport`). */
  readonly solutionId?: string | null;
  /** Customer Insights role (relation `instanceUser`). */
  readonly role?: string | null;
}

/** `AttributedUserRole` as report rows spell it. */
export type AttributedUserRole = "Owner" | "CoOwner" | "Creator" | "Publisher" | "SolutionImporter" | "ActiveUser";
