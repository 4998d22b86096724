/**
 * The normalised usage schema: every import, whatever its input format, produces rows of exactly
 * these columns (plus the hive partition column `month`, which lives in the directory name, not
 * in the files). docs/USAGE.md describes each column; a test checks the two agree.
 */

export interface LakeColumn {
  readonly name: string;
  /** DuckDB/Parquet type. TIMESTAMP values are UTC (no zone stored, for Spark/Trino portability). */
  readonly type: string;
  readonly description: string;
}

/** Money is DECIMAL(38,18): exact sums, 18 fractional digits (EA exports carry up to 28; the rest is rounded). */
export const MONEY_TYPE = "DECIMAL(38,18)";

export const USAGE_COLUMNS: readonly LakeColumn[] = Object.freeze([
  { name: "row_key", type: "VARCHAR", description: "MD5 (hex) of the row's identifying fields; unique in the lake; re-imports upsert on it." },
  { name: "source_file", type: "VARCHAR", description: "Absolute path of the imported file the row came from." },
  { name: "source_format", type: "VARCHAR", description: "focus, ea-actual, ea-amortized, mca, mpa or azgovviz." },
  { name: "cost_measure", type: "VARCHAR", description: "Input column `cost` was taken from, e.g. EffectiveCost, CostInBillingCurrency." },
  { name: "provider", type: "VARCHAR", description: "ProviderName (FOCUS) or 'Microsoft' (Cost Management exports)." },
  { name: "billing_account_id", type: "VARCHAR", description: "BillingAccountId as exported (EA enrollment number, MCA billing account path)." },
  { name: "subscription_id", type: "VARCHAR", description: "Lower-case subscription GUID." },
  { name: "subscription_name", type: "VARCHAR", description: "Subscription display name, if exported." },
  { name: "customer_tenant_id", type: "VARCHAR", description: "CSP customer tenant (MPA customerTenantId, FOCUS x_CustomerId), lower-case; else null." },
  { name: "resource_id", type: "VARCHAR", description: "Lower-case ARM resource id (or provider id), null if absent." },
  { name: "resource_group", type: "VARCHAR", description: "Lower-case resource group name (column, or parsed from resource_id)." },
  { name: "resource_type", type: "VARCHAR", description: "Lower-case ARM type (x_ResourceType, or the top-level type parsed from resource_id)." },
  { name: "region", type: "VARCHAR", description: "Lower-case region id without spaces (RegionId, ResourceLocation)." },
  { name: "service_name", type: "VARCHAR", description: "ServiceName (FOCUS) or MeterCategory (Cost Management)." },
  { name: "charge_category", type: "VARCHAR", description: "FOCUS ChargeCategory; always 'Usage' in the lake (other categories are counted and skipped)." },
  { name: "charge_class", type: "VARCHAR", description: "'Correction' or null." },
  { name: "charge_period_start", type: "TIMESTAMP", description: "Inclusive start, UTC." },
  { name: "charge_period_end", type: "TIMESTAMP", description: "Exclusive end, UTC (a daily export row's Date d gives [d, d+1 day))." },
  { name: "billing_currency", type: "VARCHAR", description: "Upper-case ISO currency of `cost`." },
  { name: "cost", type: MONEY_TYPE, description: "The chosen cost measure in billing currency." },
  { name: "cost_usd", type: MONEY_TYPE, description: "The same measure in USD (x_*InUsd / CostInUsd), `cost` when the billing currency is USD, else null." },
  { name: "pricing_category", type: "VARCHAR", description: "FOCUS PricingCategory: Standard, Dynamic, Committed, Other (EA PricingModel mapped)." },
  { name: "commitment_discount_id", type: "VARCHAR", description: "Reservation / savings plan id (CommitmentDiscountId, benefitId, ReservationId), lower-case." },
  { name: "commitment_discount_type", type: "VARCHAR", description: "Reservation, Savings Plan, or null." },
  { name: "commitment_discount_status", type: "VARCHAR", description: "Used / Unused (unused commitment is a Usage row with the commitment as resource)." },
]);

export const USAGE_COLUMN_NAMES: readonly string[] = Object.freeze(USAGE_COLUMNS.map((c) => c.name));

/** The hive partition column (directory `month=YYYY-MM`), the month of charge_period_start. */
export const PARTITION_COLUMN = "month";

/**
 * Why a row did not go into the lake. Every row read is either kept or counted under exactly one
 * reason; the checks run in this order, the first that applies wins.
 */
export const SkipReason = Object.freeze({
  notAzure: "not Azure",
  notUsage: "not usage",
  badValue: "bad value",
  missingSubscription: "missing subscription",
  missingCurrency: "missing currency",
  duplicate: "duplicate of an already imported row",
} as const);
