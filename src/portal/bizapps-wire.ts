/**
 * What /portal/api/bizapps/* sends, as types with no imports (the portal bundle imports them
 * type-only, like src/attribution/wire.ts). A row is a `BizappsRollup` of src/store/bizapps.ts as
 * JSON: one credited (month, partner location, resource).
 */

export interface BizappsRow {
  readonly month: string;
  readonly customerTenantId: string;
  readonly customerName: string;
  readonly partnerLocationId: string;
  readonly globalId: string;
  readonly partnerName: string;
  readonly environmentId: string | null;
  readonly environmentName: string | null;
  /** Production | Sandbox | Trial | Developer | Default | NotApplicable. */
  readonly environmentType: string;
  readonly workload: "PowerApps" | "PowerAutomate" | "PowerBI" | "CustomerInsights";
  readonly resourceType: "CanvasApp" | "ModelDrivenApp" | "Flow" | "Dataset" | "Instance";
  readonly resourceId: string;
  readonly resourceName: string;
  readonly attributedUserObjectId: string;
  readonly attributedUserRole: string;
  readonly linkPath: "home" | "delegatedAdmin";
  readonly quantityType: "MAU" | "UnifiedProfiles";
  readonly quantity: number;
  readonly quantitySource: "metrics" | "activity";
  /** Exact decimal text (USD). */
  readonly monthlyConsumptionValue: string;
  readonly decidedBy: "onlyPartner" | "latestActivity" | "latestRelationship";
  /** Epoch milliseconds. */
  readonly lastActAt: number | null;
}

export interface BizappsAnswer {
  /** Months with business-applications results. */
  readonly months: readonly string[];
  readonly missingMonths: readonly string[];
  readonly rows: readonly BizappsRow[];
}

/** One candidate of the "latest partner" choice, as the portal may show it. */
export interface BizappsCandidateView {
  /** Yours: this organisation's location and identity; otherwise another partner's, unnamed. */
  readonly yours: boolean;
  readonly partnerLocationId: string | null;
  readonly principalId: string | null;
  readonly role: string | null;
  readonly qualifies: boolean;
  readonly notQualifyingReason: string | null;
  readonly linkPath: string | null;
  readonly lastActAt: number | null;
  readonly lastActOperation: string | null;
  readonly credited: boolean;
}

export interface BizappsExplanation {
  readonly row: BizappsRow;
  readonly attributedUser: { readonly objectId: string; readonly displayName: string | null; readonly kind: string | null; readonly tenantId: string | null };
  /** The relationship that made the identity the attributed user during the month. */
  readonly relationship: { readonly role: string; readonly since: number | null; readonly until: number | null; readonly basis: string; readonly solution: string | null } | null;
  /** The link the credit came through (in the customer tenant, or the home tenant for a delegated administrator). */
  readonly link: { readonly partnerId: string; readonly tenantId: string; readonly since: number | null; readonly until: number | null } | null;
  /** Every partner candidate of the month from the engine's facts, or null when the month has none written. */
  readonly candidates: readonly BizappsCandidateView[] | null;
}

export interface BizappsCustomerCoverage {
  readonly customerTenantId: string;
  readonly customerName: string;
  readonly resources: number;
  readonly mau: number;
  readonly unifiedProfiles: number;
  readonly monthlyConsumptionValue: string;
  readonly byWorkload: Readonly<Record<string, number>>;
}

export interface BizappsCoverageAnswer {
  readonly month: string | null;
  readonly months: readonly string[];
  readonly customers: readonly BizappsCustomerCoverage[];
}
