/**
 * Input formats: detection from the header and the mapping of each format's columns onto the
 * normalised schema (schema.ts), as DuckDB SQL expressions over the raw columns read as text.
 *
 * Pure: no I/O. The importer reads the header, calls `detectFormat` and `planNormalisation`, and
 * runs the SQL. Header names match case-insensitively (export casing differs by agreement type).
 */
import { SkipReason } from "./schema.ts";

export const USAGE_FORMATS = ["focus", "ea-actual", "ea-amortized", "mca", "mpa", "azgovviz"] as const;
export type UsageFormat = (typeof USAGE_FORMATS)[number];

/**
 * DuckDB's memory limit for an import unless one is given (library and `openpal usage import`
 * alike): the import streams, so only the per-month key check can use more, and it spills.
 */
export const DEFAULT_IMPORT_MEMORY_LIMIT = "512MB";

/** A half-open period [start, end) for inputs whose rows carry no date (AzGovViz). */
export interface ChargePeriod {
  readonly start: string;
  readonly end: string;
}

/** Case-insensitive view of a header: logical name → the column's spelling in the file. */
export class Header {
  readonly columns: readonly string[];
  readonly #byLower = new Map<string, string>();
  constructor(columns: readonly string[]) {
    this.columns = columns;
    for (const c of columns) if (!this.#byLower.has(c.toLowerCase())) this.#byLower.set(c.toLowerCase(), c);
  }
  /** The first of `candidates` present in the header, spelled as in the file. */
  find(...candidates: string[]): string | undefined {
    for (const c of candidates) {
      const hit = this.#byLower.get(c.toLowerCase());
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  has(...candidates: string[]): boolean {
    return this.find(...candidates) !== undefined;
  }
}

export interface Detection {
  readonly format: UsageFormat;
  /** Why this format was chosen, for messages ("header has ChargePeriodStart and ChargeCategory"). */
  readonly because: string;
  /** Set when the choice is a guess the user should confirm. */
  readonly warning?: string;
}

/**
 * Picks the format from the header (and, for EA, the file name: actual and amortized exports share
 * one schema, so "amortized" in the name is the only signal). Returns undefined when nothing fits.
 */
export function detectFormat(header: Header, fileName: string): Detection | undefined {
  if (header.has("ChargePeriodStart") && header.has("ChargeCategory")) {
    return { format: "focus", because: "the header has ChargePeriodStart and ChargeCategory (FOCUS)" };
  }
  if (header.has("PreTaxCost") && header.has("SubscriptionMgPath")) {
    return { format: "azgovviz", because: "the header has PreTaxCost and SubscriptionMgPath (AzGovViz consumption)" };
  }
  const hasDate = header.has("Date", "UsageDateTime");
  const hasSubscription = header.has("SubscriptionId", "SubscriptionGuid");
  const hasCost = header.has("CostInBillingCurrency", "Cost", "PreTaxCost");
  if (!(hasDate && hasSubscription && hasCost)) return undefined;
  if (header.has("partnerTenantId", "customerTenantId", "partnerEarnedCreditApplied", "resellerMpnId")) {
    return { format: "mpa", because: "the header has Date, SubscriptionId, a cost column and partner columns (partnerTenantId/customerTenantId)" };
  }
  if (header.has("AccountOwnerId", "EnrollmentNumber", "DepartmentName", "AccountName") || header.has("Cost")) {
    const name = fileName.toLowerCase();
    if (name.includes("amortiz")) return { format: "ea-amortized", because: "the header is a Cost Management EA export and the file name says amortized" };
    if (name.includes("actual")) return { format: "ea-actual", because: "the header is a Cost Management EA export and the file name says actual" };
    return {
      format: "ea-actual",
      because: "the header is a Cost Management EA export",
      warning: "actual and amortized EA exports share one header; assumed actual cost. Pass --format ea-amortized if this is an amortized export (attribution's default measure is amortized cost).",
    };
  }
  return { format: "mca", because: "the header has Date, SubscriptionId and CostInBillingCurrency without EA or partner columns (MCA)" };
}

/** The SQL the importer runs per row, plus the names of the source columns for messages. */
export interface NormalisationPlan {
  readonly format: UsageFormat;
  /** The input column the `cost` value comes from. */
  readonly costMeasure: string;
  /**
   * `op_text(c) AS "~c"` for each input column the normalisation reads trimmed: the layer below
   * `selectItems` (`SELECT *, trimItems FROM source`).
   */
  readonly trimItems: readonly string[];
  /** `expr AS name` items over the trim layer (raw text columns and their trimmed `~` twins). */
  readonly selectItems: readonly string[];
  /** CASE expression giving the skip reason (null = keep) over the normalised fields. */
  readonly skipReasonSql: string;
  /** CASE expression giving the raw offending value for a bad-value row. */
  readonly badValueSql: string;
  /** Text whose MD5 is the row's base key (over normalised fields and `key_extra`). */
  readonly keySql: string;
}

export class FormatProblem extends Error {}

/** SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
/** SQL identifier. */
export function sqlIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/**
 * The code points DuckDB's trim() removes from either end of a value: the Unicode space
 * separators (category Zs). test/usage/formats.test.ts checks this list against DuckDB itself
 * over every code point, so an upgrade that changed trim() would fail there.
 */
export const TRIMMED_BY_DUCKDB: readonly number[] = [0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x202f, 0x205f, 0x3000];

/**
 * DuckDB macros the normalisation uses. Created once per connection (TEMP: nothing persists).
 * `op_text` trims and turns empty into NULL; every other macro takes its result (already trimmed
 * text), so each input value is trimmed at most once. Timestamps: ISO 8601 with or without T/Z/offset (offsets converted to UTC; the session runs in
 * UTC), `YYYY-MM-DD HH:MM:SS`, and the EA exports' `MM/DD/YYYY`.
 */
export const NORMALISATION_MACROS: readonly string[] = [
  // trim() copies the value; most values have nothing to trim. DuckDB's trim removes exactly the
  // Unicode space separators (TRIMMED_BY_DUCKDB) from both ends, and of ASCII only the space. So
  // a value of ASCII only (byte length = character length) that starts with a printable character
  // (33–127) and does not end with an ASCII separator is returned as it is, which equals
  // NULLIF(trim(v), ''); any other value takes trim(). The ASCII test is one pass over the value's
  // bytes; it replaced a test of the last character against each of the 17 separators
  // (ends_with), which cost three times as much and made the trim layer a quarter of the
  // import's CPU (docs/OPERATIONS.md, Performance).
  `CREATE OR REPLACE TEMP MACRO op_text(v) AS CASE WHEN ascii(v) BETWEEN 33 AND 127 AND NOT (${TRIMMED_BY_DUCKDB.filter((cp) => cp < 128).map((cp) => `ends_with(v, chr(${cp}))`).join(" OR ")}) AND strlen(v) = length(v) THEN v ELSE NULLIF(trim(v), '') END`,
  // Text → DECIMAL(38,18), exactly. Casting text to a 38-digit decimal is slow in DuckDB (~100×
  // an 18-digit one), so values with at most 12 fractional digits and no exponent go through
  // DECIMAL(18,12) (exact for them); the rest, and values of a million or more, take the slow cast.
  // The guard only needs to exclude rounding (more than 12 fractional digits, or an exponent):
  // whatever does not fit DECIMAL(18,12) yields NULL there and falls through to the exact cast.
  // It is written without lower() or split_part(), which allocate per row.
  `CREATE OR REPLACE TEMP MACRO op_dec(t) AS CASE
     WHEN (strpos(t, '.') = 0 OR length(t) - strpos(t, '.') <= 12) AND NOT contains(t, 'e') AND NOT contains(t, 'E')
       THEN COALESCE(CAST(TRY_CAST(t AS DECIMAL(18,12)) AS DECIMAL(38,18)), TRY_CAST(t AS DECIMAL(38,18)))
     ELSE TRY_CAST(t AS DECIMAL(38,18)) END`,
  `CREATE OR REPLACE TEMP MACRO op_num(v, comma) AS op_dec(CASE WHEN comma AND contains(v, ',') THEN replace(replace(v, '.', ''), ',', '.') ELSE v END)`,
  // An explicit offset needs the zone-aware cast (converted to UTC: the session runs in UTC);
  // plain ISO (with or without T/Z) takes the cheaper TIMESTAMP cast; then EA's MM/DD/YYYY.
  `CREATE OR REPLACE TEMP MACRO op_ts(v) AS COALESCE(
     CASE WHEN substr(v, -6, 1) IN ('+', '-') AND substr(v, -3, 1) = ':' THEN CAST(TRY_CAST(v AS TIMESTAMPTZ) AS TIMESTAMP)
          ELSE TRY_CAST(v AS TIMESTAMP) END,
     try_strptime(v, ['%m/%d/%Y', '%m/%d/%Y %H:%M:%S', '%m/%d/%Y %I:%M:%S %p']))`,
  // GUIDs through DuckDB's UUID cast: validates and prints the canonical lower-case form.
  // A value starting with '/' is never a GUID: it skips the (failing, costly) UUID cast.
  `CREATE OR REPLACE TEMP MACRO op_guid(v) AS CASE WHEN NOT starts_with(v, '/') THEN CAST(TRY_CAST(v AS UUID) AS VARCHAR) END`,
  `CREATE OR REPLACE TEMP MACRO op_sub_from_path(v) AS CASE WHEN lower(substr(v, 1, 15)) = '/subscriptions/' AND (length(v) = 51 OR substr(v, 52, 1) = '/')
     THEN CAST(TRY_CAST(substr(v, 16, 36) AS UUID) AS VARCHAR) END`,
  `CREATE OR REPLACE TEMP MACRO op_rg_from_path(v) AS NULLIF(regexp_extract(lower(v), '/resourcegroups/([^/]+)', 1), '')`,
  `CREATE OR REPLACE TEMP MACRO op_type_from_path(v) AS NULLIF(regexp_extract(lower(v), '/providers/([^/]+/[^/]+)/[^/]+', 1), '')`,
  `CREATE OR REPLACE TEMP MACRO op_region(v) AS NULLIF(lower(replace(v, ' ', '')), '')`,
];

export interface PlanOptions {
  /** Input column to take `cost` from (default per format; see docs/USAGE.md). */
  readonly costColumn?: string;
  /** Period for inputs without a date column (AzGovViz). */
  readonly period?: ChargePeriod;
  /** Whether numbers use a decimal comma (`0,0011`). */
  readonly decimalComma: boolean;
}

interface Fields {
  provider: string;
  isAzure: string;
  category: string;
  categoryColumn: string;
  chargeClass: string;
  billingAccountId: string;
  subscriptionId: string;
  subscriptionName: string;
  customerTenantId: string;
  resourceId: string;
  resourceGroup: string;
  resourceType: string;
  region: string;
  serviceName: string;
  startRaw: string;
  startColumn: string;
  start: string;
  endRaw: string;
  endColumn: string;
  end: string;
  currency: string;
  costRaw: string;
  costColumn: string;
  costUsdRaw: string;
  costUsdColumn: string;
  pricingCategory: string;
  commitmentId: string;
  commitmentType: string;
  commitmentStatus: string;
  keyExtra: readonly string[];
}

const NULL = "CAST(NULL AS VARCHAR)";

function requireColumns(format: UsageFormat, because: string, header: Header, required: Array<[string, string[]]>): Record<string, string> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const [logical, candidates] of required) {
    const hit = header.find(...candidates);
    if (hit === undefined) missing.push(candidates.join(" or "));
    else found[logical] = hit;
  }
  if (missing.length > 0) {
    const list = required.map(([, c]) => c.join("|")).join(", ");
    throw new FormatProblem(
      `detected format ${format} (${because}) but required column(s) are missing: ${missing.join("; ")}. ` +
        `Required for ${format}: ${list}. Fix: export with these columns, or pass the right --format.`,
    );
  }
  return found;
}

/**
 * The trimmed text of input column `name` (op_text: trimmed, empty → NULL). The importer computes
 * each trimmed column once, in a layer below the normalisation (`NormalisationPlan.trimItems`):
 * DuckDB expands macros textually, so `op_num(op_text(c))` written inline trims `c` once per
 * reference inside the macros, which made the normalisation about twice as slow.
 */
function trimmed(name: string): string {
  return sqlIdent(TRIMMED_PREFIX + name);
}
const TRIMMED_PREFIX = "~";

function col(header: Header, ...candidates: string[]): string {
  const hit = header.find(...candidates);
  return hit === undefined ? NULL : trimmed(hit);
}

function focusFields(header: Header, opts: PlanOptions, because: string): Fields {
  const costName = opts.costColumn ?? "EffectiveCost";
  const req = requireColumns("focus", because, header, [
    ["start", ["ChargePeriodStart"]],
    ["category", ["ChargeCategory"]],
    ["cost", [costName]],
  ]);
  const usdByMeasure: Record<string, string> = {
    effectivecost: "x_EffectiveCostInUsd",
    billedcost: "x_BilledCostInUsd",
    listcost: "x_ListCostInUsd",
    contractedcost: "x_ContractedCostInUsd",
  };
  const usdName = /inusd$/i.test(costName) ? req.cost : header.find(usdByMeasure[costName.toLowerCase()] ?? "\u0000");
  const endName = header.find("ChargePeriodEnd");
  const subAccount = header.find("x_SubscriptionId", "SubAccountId");
  const resourceId = col(header, "ResourceId");
  const rg = header.find("x_ResourceGroupName");
  const rtype = header.find("x_ResourceType");
  const currencyUsd = /inusd$/i.test(costName);
  const currency = currencyUsd ? "'USD'" : `upper(${col(header, "BillingCurrency")})`;
  const extras = [
    "ChargeClass", "ChargeDescription", "ChargeFrequency", "SkuId", "SkuPriceId", "SkuMeter", "x_SkuMeterId", "x_SkuDetails",
    "Tags", "RegionId", "x_InvoiceSectionId", "x_CostCenter", "x_AccountOwnerId", "x_BillingProfileId", "InvoiceId", "x_InvoiceId",
    "PricingUnit", "ConsumedUnit", "x_CostAllocationRuleName", "x_ResourceGroupName", "Id",
  ];
  const providerCol = header.find("ProviderName");
  return {
    provider: providerCol ? `${trimmed(providerCol)}` : NULL,
    isAzure: providerCol
      ? `(${trimmed(providerCol)} IS NULL OR lower(${trimmed(providerCol)}) LIKE 'microsoft%' OR lower(${trimmed(providerCol)}) LIKE '%azure%')`
      : "TRUE",
    category: `CASE lower(${trimmed(req.category!)}) WHEN 'usage' THEN 'Usage' WHEN 'purchase' THEN 'Purchase' WHEN 'tax' THEN 'Tax' WHEN 'credit' THEN 'Credit' WHEN 'adjustment' THEN 'Adjustment' END`,
    categoryColumn: req.category!,
    chargeClass: col(header, "ChargeClass"),
    billingAccountId: col(header, "BillingAccountId"),
    subscriptionId: subAccount
      ? `COALESCE(op_guid(${trimmed(subAccount)}), op_sub_from_path(${trimmed(subAccount)}))`
      : `op_sub_from_path(${resourceId})`,
    subscriptionName: col(header, "x_SubscriptionName", "SubAccountName"),
    customerTenantId: `lower(${col(header, "x_CustomerId")})`,
    resourceId: `lower(${resourceId})`,
    resourceGroup: rg ? `lower(${trimmed(rg)})` : `op_rg_from_path(${resourceId})`,
    resourceType: rtype ? `lower(${trimmed(rtype)})` : `op_type_from_path(${resourceId})`,
    region: `op_region(${col(header, "RegionId", "RegionName")})`,
    serviceName: col(header, "ServiceName"),
    startRaw: `${trimmed(req.start!)}`,
    startColumn: req.start!,
    start: `op_ts(${trimmed(req.start!)})`,
    endRaw: endName ? `${trimmed(endName)}` : NULL,
    endColumn: endName ?? "ChargePeriodEnd",
    end: endName ? `op_ts(${trimmed(endName)})` : `op_ts(${trimmed(req.start!)}) + INTERVAL 1 DAY`,
    currency,
    costRaw: `${trimmed(req.cost!)}`,
    costColumn: req.cost!,
    costUsdRaw: usdName ? `${trimmed(usdName)}` : NULL,
    costUsdColumn: usdName ?? "",
    pricingCategory: col(header, "PricingCategory"),
    commitmentId: `lower(${col(header, "CommitmentDiscountId")})`,
    commitmentType: col(header, "CommitmentDiscountType"),
    commitmentStatus: col(header, "CommitmentDiscountStatus"),
    keyExtra: extras.map((e) => header.find(e)).filter((e): e is string => e !== undefined),
  };
}

/** EA, MCA and MPA "cost details" exports (one schema each, case differs) and AzGovViz. */
function costDetailsFields(format: UsageFormat, header: Header, opts: PlanOptions, because: string): Fields {
  const costCandidates = opts.costColumn ? [opts.costColumn] : ["CostInBillingCurrency", "Cost", "PreTaxCost"];
  const required: Array<[string, string[]]> = [
    ["subscription", ["SubscriptionGuid", "SubscriptionId"]],
    ["cost", costCandidates],
    ["currency", ["BillingCurrency", "BillingCurrencyCode", "Currency"]],
    ["chargeType", ["ChargeType"]],
  ];
  if (format !== "azgovviz") required.splice(1, 0, ["date", ["Date", "UsageDateTime"]]);
  const req = requireColumns(format, because, header, required);
  if (format === "azgovviz" && opts.period === undefined) {
    throw new FormatProblem(
      `detected format azgovviz (${because}): its rows carry no date. Pass the period the file covers, e.g. --period 2021-08-17/2021-08-18 (start inclusive, end exclusive, UTC).`,
    );
  }
  const costName = req.cost!;
  const costIsUsd = /inusd$/i.test(costName);
  const usdName = costIsUsd ? costName : /^costinbillingcurrency$/i.test(costName) ? header.find("CostInUsd") : undefined;
  const resourceIdCol = header.find("ResourceId", "InstanceId");
  const resourceId = resourceIdCol ? `${trimmed(resourceIdCol)}` : NULL;
  const rgCol = header.find("ResourceGroup", "ResourceGroupName");
  const chargeType = `lower(${trimmed(req.chargeType!)})`;
  const pricingModel = `lower(${col(header, "PricingModel")})`;
  const benefit = header.find("benefitId", "ReservationId");
  const extras = [
    "AccountOwnerId", "AdditionalInfo", "BillingProfileId", "CostCenter", "InvoiceSectionId", "MeterId", "OfferId",
    "PartNumber", "ProductId", "ResourceLocation", "ServiceInfo1", "ServiceInfo2", "Tags", "ChargeType", "PricingModel",
    "Frequency", "benefitId", "ReservationId", "ProductOrderId", "InvoiceId", "UnitOfMeasure", "ConsumedService",
    "MeterCategory", "customerTenantId", "PublisherName", "PlanName",
  ];
  const start =
    format === "azgovviz"
      ? `TIMESTAMP ${sqlString(opts.period!.start)}`
      : `date_trunc('day', op_ts(${trimmed(req.date!)}))`;
  const end = format === "azgovviz" ? `TIMESTAMP ${sqlString(opts.period!.end)}` : `${start} + INTERVAL 1 DAY`;
  return {
    provider: "'Microsoft'",
    isAzure: "TRUE",
    // Cost Management ChargeType → FOCUS ChargeCategory (finops-toolkit mapping); unused
    // commitment is usage of the commitment itself (status Unused), as in FOCUS.
    category: `CASE ${chargeType} WHEN 'usage' THEN 'Usage' WHEN 'unusedreservation' THEN 'Usage' WHEN 'unusedsavingsplan' THEN 'Usage' WHEN 'purchase' THEN 'Purchase' WHEN 'refund' THEN 'Purchase' WHEN 'tax' THEN 'Tax' WHEN 'roundingadjustment' THEN 'Adjustment' WHEN 'credit' THEN 'Credit' END`,
    categoryColumn: req.chargeType!,
    chargeClass: `CASE WHEN ${chargeType} = 'refund' THEN 'Correction' END`,
    billingAccountId: col(header, "BillingAccountId", "EnrollmentNumber"),
    subscriptionId: `COALESCE(op_guid(${trimmed(req.subscription!)}), op_sub_from_path(${trimmed(req.subscription!)}))`,
    subscriptionName: col(header, "SubscriptionName"),
    customerTenantId: `lower(${col(header, "customerTenantId")})`,
    resourceId: `lower(${resourceId})`,
    resourceGroup: rgCol ? `lower(${trimmed(rgCol)})` : `op_rg_from_path(${resourceId})`,
    resourceType: `op_type_from_path(${resourceId})`,
    region: `op_region(${col(header, "ResourceLocation", "location")})`,
    serviceName: col(header, "MeterCategory", "ConsumedService"),
    startRaw: format === "azgovviz" ? sqlString(opts.period!.start) : `${trimmed(req.date!)}`,
    startColumn: format === "azgovviz" ? "--period" : req.date!,
    start,
    endRaw: NULL,
    endColumn: format === "azgovviz" ? "--period" : req.date!,
    end,
    currency: costIsUsd ? "'USD'" : `upper(${trimmed(req.currency!)})`,
    costRaw: `${trimmed(costName)}`,
    costColumn: costName,
    costUsdRaw: usdName ? `${trimmed(usdName)}` : NULL,
    costUsdColumn: usdName ?? "",
    pricingCategory: `CASE ${pricingModel} WHEN 'ondemand' THEN 'Standard' WHEN 'spot' THEN 'Dynamic' WHEN 'reservation' THEN 'Committed' WHEN 'savingsplan' THEN 'Committed' WHEN 'savings plan' THEN 'Committed' END`,
    commitmentId: benefit ? `lower(${trimmed(benefit)})` : NULL,
    commitmentType: `CASE WHEN ${chargeType} = 'unusedreservation' OR ${pricingModel} = 'reservation' THEN 'Reservation' WHEN ${chargeType} = 'unusedsavingsplan' OR ${pricingModel} IN ('savingsplan', 'savings plan') THEN 'Savings Plan' END`,
    commitmentStatus: `CASE WHEN ${chargeType} IN ('unusedreservation', 'unusedsavingsplan') THEN 'Unused' WHEN ${pricingModel} IN ('reservation', 'savingsplan', 'savings plan') THEN 'Used' END`,
    keyExtra: extras.map((e) => header.find(e)).filter((e): e is string => e !== undefined),
  };
}

/** Default cost measure per format (ATTRIBUTION-RULES "Usage inputs"; FORMATS.md 1.1, 2.2). */
export function defaultCostColumn(format: UsageFormat): string {
  if (format === "focus") return "EffectiveCost";
  if (format === "azgovviz") return "PreTaxCost";
  return "CostInBillingCurrency (or Cost)";
}

/**
 * Builds the normalisation for one file. Throws FormatProblem naming the missing columns, the
 * detected format and the fix.
 */
export function planNormalisation(format: UsageFormat, header: Header, opts: PlanOptions, because = "chosen with --format"): NormalisationPlan {
  const f = format === "focus" ? focusFields(header, opts, because) : costDetailsFields(format, header, opts, because);
  const comma = opts.decimalComma ? "TRUE" : "FALSE";
  const selectItems = [
    `${f.provider} AS provider`,
    `${f.isAzure} AS is_azure`,
    `${f.category} AS charge_category`,
    `${trimmed(f.categoryColumn)} AS category_raw`,
    `${f.chargeClass} AS charge_class`,
    `${f.billingAccountId} AS billing_account_id`,
    `${f.subscriptionId} AS subscription_id`,
    `${f.subscriptionName} AS subscription_name`,
    `${f.customerTenantId} AS customer_tenant_id`,
    `${f.resourceId} AS resource_id`,
    `${f.resourceGroup} AS resource_group`,
    `${f.resourceType} AS resource_type`,
    `${f.region} AS region`,
    `${f.serviceName} AS service_name`,
    `${f.startRaw} AS start_raw`,
    `${f.start} AS charge_period_start`,
    `${f.endRaw} AS end_raw`,
    `${f.end} AS charge_period_end`,
    `${f.currency} AS billing_currency`,
    `${f.costRaw} AS cost_raw`,
    `op_num(${f.costRaw}, ${comma}) AS cost`,
    `${f.costUsdRaw} AS cost_usd_raw`,
    `op_num(${f.costUsdRaw}, ${comma}) AS cost_usd_parsed`,
    `${f.pricingCategory} AS pricing_category`,
    `${f.commitmentId} AS commitment_discount_id`,
    `${f.commitmentType} AS commitment_discount_type`,
    `${f.commitmentStatus} AS commitment_discount_status`,
    `concat_ws(chr(31), ${f.keyExtra.length ? f.keyExtra.map((k) => `coalesce(${sqlIdent(k)}, '')`).join(", ") : "''"}) AS key_extra`,
  ];
  const bad = (column: string) => sqlString(`${SkipReason.badValue} (${column})`);
  const skipReasonSql = `CASE
    WHEN NOT is_azure THEN ${sqlString(SkipReason.notAzure + " (")} || coalesce(provider, 'unknown') || ')'
    WHEN charge_category IS NOT NULL AND charge_category <> 'Usage' THEN ${sqlString(SkipReason.notUsage + " (")} || charge_category || ')'
    WHEN charge_category IS NULL THEN ${bad(f.categoryColumn)}
    WHEN cost IS NULL THEN ${bad(f.costColumn)}
    WHEN charge_period_start IS NULL THEN ${bad(f.startColumn)}
    WHEN charge_period_end IS NULL OR charge_period_end <= charge_period_start THEN ${bad(f.endColumn)}
    WHEN cost_usd_raw IS NOT NULL AND cost_usd_parsed IS NULL THEN ${bad(f.costUsdColumn)}
    WHEN subscription_id IS NULL THEN ${sqlString(SkipReason.missingSubscription)}
    WHEN billing_currency IS NULL THEN ${sqlString(SkipReason.missingCurrency)}
  END`;
  const badValueSql = `CASE
    WHEN charge_category IS NULL THEN category_raw
    WHEN cost IS NULL THEN cost_raw
    WHEN charge_period_start IS NULL THEN start_raw
    WHEN charge_period_end IS NULL OR charge_period_end <= charge_period_start THEN coalesce(end_raw, start_raw)
    ELSE cost_usd_raw
  END`;
  const keyParts = [
    "provider", "billing_account_id", "subscription_id", "resource_id", "charge_category", "charge_class",
    "CAST(charge_period_start AS VARCHAR)", "CAST(charge_period_end AS VARCHAR)", "pricing_category",
    "commitment_discount_id", "commitment_discount_status", "region", "key_extra",
  ];
  const keySql = `concat_ws(chr(31), ${keyParts.map((p) => `coalesce(${p}, '')`).join(", ")})`;
  const sql = selectItems.join("\n");
  const trimItems = [...new Set(header.columns)].filter((c) => sql.includes(trimmed(c))).map((c) => `op_text(${sqlIdent(c)}) AS ${trimmed(c)}`);
  return {
    format,
    costMeasure: f.costColumn,
    trimItems,
    selectItems,
    skipReasonSql,
    badValueSql,
    keySql,
  };
}
