/**
 * Which activity events are *use* (they count a user towards a resource's monthly active users,
 * decision 5) and which are other acts (edits, publishes, shares: they still count as acts for the
 * "latest partner" rule, decision 4). docs/POWER-PLATFORM.md "Activity and metrics import" has
 * the table; SPEC-DEVIATIONS 120 the reasons.
 */

export const WORKLOADS = ["PowerApps", "PowerAutomate", "PowerBI", "CustomerInsights"] as const;
export type Workload = (typeof WORKLOADS)[number];

/** Workload spellings of the sources (lower case) → the lake's workload. */
export const WORKLOAD_ALIASES: Readonly<Record<string, Workload>> = {
  powerapps: "PowerApps",
  powerapp: "PowerApps",
  powerautomate: "PowerAutomate",
  microsoftflow: "PowerAutomate", // the unified audit log's name for Power Automate
  flow: "PowerAutomate",
  powerbi: "PowerBI",
  customerinsights: "CustomerInsights",
  dynamics365customerinsights: "CustomerInsights",
};

/** Use operations per workload (compared case-insensitively). Everything else is an act, not use. */
export const USE_OPERATIONS: Readonly<Record<Workload | "*", readonly string[]>> = {
  // OpenPAL's own generic name, for activity CSVs written by hand or by other tools.
  "*": ["Use"],
  // The unified audit log's and the analytics export's app launch.
  PowerApps: ["LaunchPowerApp", "LaunchApp", "PlayApp"],
  // Flow runs where a source has them (no public per-user source does: MAU from a metrics file).
  PowerAutomate: ["RunFlow", "FlowRun", "FlowRunStarted"],
  // Power BI views of the dataset's reports and dashboards, exports, and queries against the dataset.
  PowerBI: [
    "ViewReport",
    "ViewDashboard",
    "ViewTile",
    "ViewUsageMetrics",
    "ExportReport",
    "ExportTile",
    "ExportArtifact",
    "PrintReport",
    "PrintDashboard",
    "AnalyzeInExcel",
    "AnalyzedByExternalApplication",
    "ExecuteSemanticModelQuery",
    "ExecuteDatasetQuery",
    "ViewDataset",
  ],
  // Customer Insights: opening and viewing the instance's data (its metric is unified profiles,
  // from a metrics file; use events only matter if a programme counts its MAU).
  CustomerInsights: ["ViewInstance", "ViewProfile", "ViewSegment", "ViewMeasure", "SearchProfiles"],
};

/**
 * A DuckDB boolean expression: is (`workloadExpr`, `operationExpr`) a use event? (`workloadExpr` is
 * the lake's spelling.) `operationIsLowerCase`: the operation is lower-cased already (a column
 * computed once below), else it is lower-cased here, at each of its two uses.
 */
export function isUseSql(workloadExpr: string, operationExpr: string, operationIsLowerCase = false): string {
  const list = (ops: readonly string[]) => ops.map((o) => `'${o.toLowerCase()}'`).join(", ");
  const op = operationIsLowerCase ? operationExpr : `lower(${operationExpr})`;
  const perWorkload = WORKLOADS.map((w) => `WHEN '${w}' THEN ${op} IN (${list(USE_OPERATIONS[w])})`).join(" ");
  return `(${op} IN (${list(USE_OPERATIONS["*"])}) OR COALESCE(CASE ${workloadExpr} ${perWorkload} END, false))`;
}

/** A DuckDB expression mapping a source's workload spelling to the lake's (NULL when unknown). */
export function workloadSql(expr: string): string {
  const cases = Object.entries(WORKLOAD_ALIASES)
    .map(([alias, w]) => `WHEN '${alias}' THEN '${w}'`)
    .join(" ");
  // The lake's own spellings first (most rows), then any spelling of the sources.
  const exact = WORKLOADS.map((w) => `WHEN '${w}' THEN '${w}'`).join(" ");
  return `(CASE ${expr} ${exact} ELSE (CASE regexp_replace(lower(trim(${expr})), '[^a-z0-9]', '', 'g') ${cases} END) END)`;
}
