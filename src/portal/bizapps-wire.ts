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
  readonly quantitySource: "metrics" | "activity" | "none";
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

/** The "latest partner" evidence (src/bizapps/explain.ts, partner audience: others unnamed). */
export interface BizappsEvidence {
  /** Why the credited partner and not another, in words. */
  readonly decision: string;
  readonly partners: readonly {
    readonly yours: boolean;
    /** "another partner" for another organisation. */
    readonly partnerName: string;
    readonly credited: boolean;
    readonly lastActAt: string | null;
    readonly lastActOperation: string | null;
    readonly qualifyingSince: string | null;
  }[];
  readonly candidates: readonly {
    /** null: another partner's or the customer's identity. */
    readonly principalId: string | null;
    readonly principalName: string | null;
    readonly attributedUserRole: string;
    readonly qualifies: boolean;
    readonly notQualifyingReason: string | null;
    readonly partnerLocationId: string | null;
    readonly partnerName: string | null;
    readonly lastActAt: string | null;
    readonly credited: boolean;
    /** metric ← resource ← relationship ← principal ← link ← partner, one line each. */
    readonly chain: readonly string[];
  }[];
}

export interface BizappsExplanation {
  readonly row: BizappsRow;
  readonly attributedUser: { readonly objectId: string; readonly displayName: string | null; readonly kind: string | null; readonly tenantId: string | null };
  /** The relationship that made the identity the attributed user during the month. */
  readonly relationship: { readonly role: string; readonly since: number | null; readonly until: number | null; readonly basis: string; readonly solution: string | null } | null;
  /** The link the credit came through (in the customer tenant, or the home tenant for a delegated administrator). */
  readonly link: { readonly partnerId: string; readonly tenantId: string; readonly since: number | null; readonly until: number | null } | null;
  /** The evidence from the run's facts, or null with the reason (no facts written for the month). */
  readonly evidence: BizappsEvidence | null;
  readonly evidenceMessage: string | null;
}

export interface BizappsCoverageResource {
  readonly resourceId: string;
  readonly resourceName: string;
  readonly workload: string;
  readonly resourceType: string;
  readonly environmentType: string;
  readonly status: "credited" | "atRisk" | "notCovered";
  readonly quantityType: string;
  readonly quantity: number;
  readonly value: string | null;
  /** name null: a customer's or another partner's account. */
  readonly attributedUser: { readonly name: string | null; readonly role: string; readonly account: "partner" | "customer" | "otherPartner" };
  readonly reason: string | null;
  /** Text with `code` spans. */
  readonly message: string | null;
  readonly fix: string | null;
}

export interface BizappsCustomerCoverage {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly credited: { readonly mau: number; readonly unifiedProfiles: number; readonly value: string };
  readonly atRisk: { readonly mau: number; readonly unifiedProfiles: number; readonly resources: number };
  readonly notCovered: { readonly mau: number; readonly unifiedProfiles: number; readonly resources: number };
  readonly resources: readonly BizappsCoverageResource[];
}

export interface BizappsCoverageAnswer {
  readonly month: string | null;
  readonly months: readonly string[];
  readonly asOf: string | null;
  readonly message: string | null;
  readonly customers: readonly BizappsCustomerCoverage[];
}
