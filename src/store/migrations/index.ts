/** Every migration, in order. Components append their own; names sort by number. */
import type { Migration } from "./helpers.ts";
import { foundation } from "./0001_foundation.ts";
import { auditAppendOnly } from "./0002_audit_append_only.ts";
import { partnerLinks } from "./0003_partner_links.ts";
import { resourcesAccess } from "./0004_resources_access.ts";
import { directoryRoles } from "./0005_directory_roles.ts";
import { partnerOfRecord } from "./0006_partner_of_record.ts";
import { attribution } from "./0007_attribution.ts";
import { hardening } from "./0009_hardening.ts";
import { partnerInsights } from "./0010_partner_insights.ts";
import { powerPlatform } from "./0008_power_platform.ts";
import { bizappsAttribution } from "./0011_bizapps_attribution.ts";
import { operations } from "./0012_operations.ts";
import { insightsReportOwner } from "./0013_insights_report_owner.ts";
import { insightsReportPausedReason } from "./0014_insights_report_paused_reason.ts";
import { dropPartnerLinksPartnerIndex } from "./0015_drop_partner_links_partner_index.ts";
import { hotTablesWithoutAutoincrement } from "./0016_hot_tables_without_autoincrement.ts";

export const migrations: readonly Migration[] = [foundation, auditAppendOnly, partnerLinks, resourcesAccess, directoryRoles, partnerOfRecord, attribution,
  powerPlatform, hardening, partnerInsights, bizappsAttribution, operations, insightsReportOwner,
  insightsReportPausedReason, dropPartnerLinksPartnerIndex, hotTablesWithoutAutoincrement];
