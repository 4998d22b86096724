/**
 * What the attribution API sends over the wire (reports, coverage, diagnose, explain), as types
 * with no imports, so that the portal (a browser bundle) can import them type-only and never
 * redeclare them: one definition for the server and the page that reads it.
 */

export interface AzureUsageRow {
  readonly PartnerId: string;
  readonly PGAPartnerId: string;
  readonly PartnerName: string;
  readonly CustomerTenantId: string;
  readonly CustomerName: string;
  readonly SubscriptionId: string;
  readonly SubscriptionName: string;
  readonly Month: string;
  readonly PartnerAttributionType: "PAL" | "DPOR";
  readonly AdminType: string;
  /** Billing currency, 2 decimals (exact sums rounded once). */
  readonly ACR: string;
  readonly BillingCurrency: string;
  /** USD, 2 decimals, or null when some usage had no USD value. */
  readonly ACR_USD: string | null;
  readonly IsACRDuplicateAtPGALevel: boolean;
  readonly IsACRDuplicateAtPGAAttachTypeLevel: boolean;
  readonly IsACRDuplicateAtMPNLevel: boolean;
}

/**
 * The link of an identity as the coverage report shows it: its state now, and whether the month
 * shown could credit it. A link made a minute ago is linked now; the month's credit is a separate
 * question, answered by "noCreditYet".
 *   linked           linked now to one of the partner's locations, and linked to one during the month
 *   noCreditYet      linked now to one of the partner's locations, but not during the month (the link
 *                    started after it): the month earns nothing from it; usage from `linkedSince`
 *                    on is credited once its month has usage data and is attributed
 *   linkedElsewhere  linked now to a location of another organisation
 *   notLinked        not linked now (`linkedInMonth` says whether the month still had a link)
 */
export type CoverageLinkState = "linked" | "noCreditYet" | "linkedElsewhere" | "notLinked";

export interface CoverageIdentity {
  readonly tenantId: string;
  readonly objectId: string;
  readonly displayName: string | null;
  readonly kind: "guest" | "servicePrincipal" | "lighthouse";
  /** Location id it is linked to now (at the time of the report, not at the end of the month), if any. */
  readonly linkedTo: string | null;
  /** Start of the current link (ISO, UTC), or null when not linked now. */
  readonly linkedSince: string | null;
  readonly linkedToOwnLocation: boolean;
  /** Location id it was linked to during the report's month (the last link overlapping it), if any. */
  readonly linkedInMonth: string | null;
  /** How the link relates to the report's month's credit (see CoverageLinkState). */
  readonly linkState: CoverageLinkState;
  readonly enabled: boolean;
  readonly roles: readonly { readonly scope: string; readonly role: string; readonly eligible: boolean }[];
}

export interface CustomerCoverage {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly identities: readonly CoverageIdentity[];
  /** Per billing currency: the customer's usage spend, credited now, credited if fixed, at risk. */
  readonly money: readonly { readonly currency: string; readonly spend: string; readonly credited: string; readonly potential: string; readonly atRisk: string; readonly coveredShare: number }[];
}

export type DiagnosisCode =
  | "noIdentity" | "noLink" | "linkedElsewhere" | "lighthouseLinkInCustomerTenant" | "identityDisabled" | "identityDeleted"
  | "noRole" | "onlyIneligibleRoles" | "noUsage" | "usageOutsideLink" | "partnerIdInactive";

export interface Diagnosis {
  readonly code: DiagnosisCode;
  readonly message: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly fix: string;
}

export interface DiagnoseResult {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly month: string;
  readonly identities: readonly { readonly tenantId: string; readonly objectId: string; readonly displayName: string | null; readonly via: string }[];
  readonly reasons: readonly Diagnosis[];
}

export interface ExplainedFact {
  readonly partnerLocationId: string;
  readonly attributionType: "PAL" | "DPOR";
  readonly resourceId: string | null;
  readonly serviceName: string | null;
  readonly chargePeriod: { readonly start: string; readonly end: string };
  readonly cost: string;
  readonly currency: string;
  readonly coveredSeconds: number;
  readonly periodSeconds: number;
  readonly credited: string;
  readonly adminType: string;
  readonly eligible: boolean;
  readonly duplicate: { readonly pga: boolean; readonly pgaAttachType: boolean; readonly mpn: boolean };
  /** Each contributing evidence, as a chain of steps from the usage row to the partner id. */
  readonly chains: readonly (readonly string[])[];
}

export interface Explanation {
  readonly month: string;
  readonly policy: string;
  readonly subscriptionId: string;
  readonly facts: readonly ExplainedFact[];
  /** Rule 13 view for DPOR credit seen by the partner: consumption per service. */
  readonly dporServices?: readonly { readonly partnerLocationId: string; readonly serviceName: string; readonly credited: string; readonly currency: string; readonly associatedSince: string | null }[];
  readonly totals: readonly { readonly partnerLocationId: string; readonly attributionType: string; readonly eligible: boolean; readonly credited: string; readonly currency: string }[];
}
