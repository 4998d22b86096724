/**
 * The concrete fixes diagnose and coverage suggest for business applications: which account to
 * link with which command, and how to make a linked account the attributed user of a resource
 * (the command depends on the kind: decisions 1–2 of docs/POWER-PLATFORM.md). Commands are
 * Markdown `code` spans (the CLI prints them plain, the portal as code).
 */
import type { BizappsResourceKind } from "./facts-reader.ts";
import { who, type PrincipalInfo } from "./context.ts";

export interface ResourceRef {
  readonly id: string;
  readonly kind: BizappsResourceKind;
  readonly name: string;
  readonly customerTenantId: string;
  readonly environmentId: string | null;
  readonly workspaceId: string | null;
  /** The managed solution the resource came with, if any (unique name). */
  readonly solution: string | null;
}

/** How `p` links to `locationId` (decision 7: a delegated administrator links in its home tenant). */
export function linkFix(p: PrincipalInfo, locationId: string, customerTenantId: string): string {
  const tenant = p.kind === "delegatedAdmin" && p.tenantId ? `your own tenant ${p.tenantId} (delegated administration: the link counts in the home tenant)` : `tenant ${customerTenantId}`;
  return `Sign in to ${tenant} as ${who(p)} and run \`az managementpartner create --partner-id ${locationId}\` (or \`openpal managementpartner create --partner-id ${locationId}\`).`;
}

/** How to make `target` (an object id, ideally a linked service account) the attributed user of `r`. */
export function ownerFix(r: ResourceRef, target: string): string {
  const env = r.environmentId ?? "<environment>";
  const reimport = r.solution ? ` Or re-import the solution ${r.solution} signed in as ${target}: \`openpal powerplatform import-solution ${r.solution}.zip --environment ${env}\` (the importer owns every component).` : "";
  switch (r.kind) {
    case "canvasApp":
      return `Make ${target} the owner: \`openpal powerplatform set-owner --environment ${env} --app ${r.id} --owner ${target} --keep-old-owner\` ` +
        `(PowerShell: \`Set-AdminPowerAppOwner -EnvironmentName ${env} -AppName ${r.id} -AppOwner ${target}\`), or a co-owner: \`openpal powerplatform add-co-owner --environment ${env} --app ${r.id} --principal ${target}\`.${reimport}`;
    case "flow":
      return `Make ${target} the flow's owner: \`openpal powerplatform set-owner --environment ${env} --flow ${r.id} --owner ${target}\` (the Dataverse workflow ownerid; ` +
        `\`Set-AdminFlowOwnerRole\` only adds a co-owner, and a flow's co-owner never counts).${reimport}`;
    case "modelDrivenApp":
      return r.solution
        ? `A model-driven app's owner changes only through a solution import: signed in as ${target}, re-import the solution ${r.solution}: \`openpal powerplatform import-solution ${r.solution}.zip --environment ${env}\`.`
        : `A model-driven app's owner changes only through a solution import: signed in as ${target}, import a managed solution containing app ${r.id} with \`openpal powerplatform import-solution <solution.zip> --environment ${env}\`.`;
    case "dataset":
      return `Signed in as ${target} (a member of workspace ${r.workspaceId ?? "<workspace>"}), take the dataset over: \`openpal powerplatform take-over --workspace ${r.workspaceId ?? "<workspace>"} --dataset ${r.id}\` (Power BI's Default.TakeOver), or publish it again as ${target}.`;
    case "ciInstance":
      return `Give ${target} a role on instance ${r.id} (Customer Insights roles have no public API: the world file's \`customerInsights.instances[].users\`) and have it use the instance during the month.`;
  }
}

/**
 * When our identity already qualifies but another partner's candidate acted later (decision 4):
 * act on the resource with it, or have the customer end the other partner's relationship.
 */
export function competitionFix(r: ResourceRef, ours: string): string {
  const act = `Use the ${r.kind === "dataset" ? "dataset (view or refresh it)" : r.kind === "ciInstance" ? "instance" : r.kind === "flow" ? "flow (run or edit it)" : "app (launch or edit it)"} with ${ours} during the month: the partner whose qualifying identity acted last is credited.`;
  switch (r.kind) {
    case "canvasApp":
      return `${act} Or have the customer remove the other partner's co-owner permission (Power Apps \`modifyPermissions\` with \`delete\`; PowerShell \`Remove-AdminPowerAppRoleAssignment\`), or make ${ours} the owner: \`openpal powerplatform set-owner --environment ${r.environmentId ?? "<environment>"} --app ${r.id} --owner ${ours}\`.`;
    case "dataset":
      return `${act} Or take the dataset over (its publisher becomes ${ours}, ending the other partner's): \`openpal powerplatform take-over --workspace ${r.workspaceId ?? "<workspace>"} --dataset ${r.id}\`.`;
    case "ciInstance":
      return `${act} Or have the customer remove the other partner's role on the instance.`;
    default:
      return `${act}${r.solution ? ` A later import of the solution ${r.solution} by ${ours} makes it the only owner: \`openpal powerplatform import-solution ${r.solution}.zip --environment ${r.environmentId ?? "<environment>"}\`.` : ""}`;
  }
}
