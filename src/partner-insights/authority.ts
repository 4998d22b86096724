/**
 * Who may see the insights data: a user of the partner organisation's own tenant who holds
 * Partner Center's "Executive report viewer" (an OpenPAL directory role of that tenant) or Global
 * Administrator there (PARTNER-INSIGHTS-API spec, Auth).
 *
 * An API call is checked when it arrives (routes.ts). A scheduled report produces data later,
 * with nobody calling: each execution re-checks the report's user (`reportStanding`) — the user
 * still exists in a tenant of the report's organisation, is enabled (and, for a guest, so is its
 * home account) and holds one of the roles now. A report whose user fails is not run; the
 * scheduler records why and pauses it (docs/SPEC-DEVIATIONS.md 144).
 */
import { DirectoryRole } from "../graph/roles.ts";
import type { Store } from "../store/index.ts";
import type { InsightsReport } from "../store/partner-insights.ts";

/** Roles that may see revenue. */
export const INSIGHTS_ROLES: readonly string[] = [DirectoryRole.ExecutiveReportViewer, DirectoryRole.GlobalAdministrator];
export const INSIGHTS_ROLE_NAMES = "Executive report viewer or Global Administrator";
/** How an administrator of the partner tenant grants the role. */
export const GRANT_HOW = `world file: "directoryRoles": ["Executive report viewer"]; Graph: POST /v1.0/roleManagement/directory/roleAssignments`;

/** A user as the directory knows it: tenant and object id. */
export interface ReportOwner {
  readonly tenantId: string;
  readonly objectId: string;
}

/** Whether a report may run now: yes, as `owner`; or no, with the reason and the fix. */
export type ReportStanding =
  | { readonly ok: true; readonly owner: ReportOwner }
  | { readonly ok: false; readonly reason: string; readonly fix: string };

/** Whether the user holds one of INSIGHTS_ROLES in the tenant at `at`. */
export async function holdsInsightsRole(store: Store, owner: ReportOwner, at: number): Promise<boolean> {
  const roles = await store.directoryRoles.rolesOf(owner.tenantId, owner.objectId, at);
  return INSIGHTS_ROLES.some((r) => roles.includes(r));
}

/**
 * The report's user, for reports created before it was recorded (migration 0013): `userId` is the
 * creator's UPN or object id; it is looked up in each tenant of the organisation.
 */
async function legacyOwner(store: Store, report: InsightsReport): Promise<ReportOwner | undefined> {
  const org = await store.partners.getOrganisation(report.globalId);
  for (const tenantId of org?.tenantIds ?? []) {
    const user = (await store.directory.getUser(tenantId, report.userId)) ?? (await store.directory.findUserByUpn(tenantId, report.userId));
    if (user) return { tenantId, objectId: user.id };
  }
  return undefined;
}

/** Checks, at `at`, that the report's user may still see the data its report produces. */
export async function reportStanding(store: Store, report: InsightsReport, at: number): Promise<ReportStanding> {
  const who = `the report's user ${report.userId}`;
  const resume = `PUT /insights/v1/mpn/ScheduledReport/resume/${report.reportId}`;
  const otherwise = `or a user of the partner tenant who holds ${INSIGHTS_ROLE_NAMES} resumes it (${resume}), which makes that user the report's user; or create the report again.`;
  const owner = report.ownerTenantId && report.ownerObjectId
    ? { tenantId: report.ownerTenantId, objectId: report.ownerObjectId }
    : await legacyOwner(store, report);
  if (!owner) {
    return { ok: false, reason: `Access denied: ${who} is no longer a user of the partner organisation's tenants`, fix: `A user of the partner tenant who holds ${INSIGHTS_ROLE_NAMES} resumes the report (${resume}), which makes that user the report's user; or create the report again.` };
  }
  const where = `tenant ${owner.tenantId}`;
  const org = await store.partners.findOrganisationByTenant(owner.tenantId);
  if (org?.globalId !== report.globalId) {
    return { ok: false, reason: `Access denied: ${where}, where ${who} signed in, is no longer one of the partner organisation's tenants`, fix: `Register the tenant with the partner organisation again and resume the report (${resume}); ${otherwise}` };
  }
  const user = await store.directory.getUser(owner.tenantId, owner.objectId);
  if (!user || user.deletedAt !== null) {
    return { ok: false, reason: `Access denied: ${who} (object id ${owner.objectId}) was deleted from ${where}`, fix: `Restore the user and resume the report (${resume}); ${otherwise}` };
  }
  const home = user.kind === "guest" && user.homeTenantId && user.homeObjectId ? await store.directory.getUser(user.homeTenantId, user.homeObjectId) : user;
  if (!home || home.deletedAt !== null) {
    return { ok: false, reason: `Access denied: the home account of ${who} (guest object id ${owner.objectId} in ${where}) was deleted`, fix: `A user of the partner tenant who holds ${INSIGHTS_ROLE_NAMES} resumes the report (${resume}), which makes that user the report's user; or create the report again.` };
  }
  for (const account of home === user ? [user] : [user, home]) {
    if (await store.directory.isDisabled(account.tenantId, account.id, at)) {
      return {
        ok: false, reason: `Access denied: ${who} (object id ${account.id}) is disabled in tenant ${account.tenantId}`,
        fix: `An administrator of tenant ${account.tenantId} enables the account (Graph: PATCH /v1.0/users/${account.id} {"accountEnabled": true}) and the report is resumed (${resume}); ${otherwise}`,
      };
    }
  }
  if (!(await holdsInsightsRole(store, owner, at))) {
    return {
      ok: false,
      reason: `Access denied: ${who} (object id ${owner.objectId}) no longer holds a role that may see revenue (${INSIGHTS_ROLE_NAMES}) in ${where}`,
      fix: `An administrator of that tenant grants ${user.userPrincipalName} Executive report viewer or Global Administrator again (${GRANT_HOW}) and the report is resumed (${resume}); ${otherwise}`,
    };
  }
  return { ok: true, owner };
}
