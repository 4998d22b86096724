/**
 * Attribution: usage × effective access and links → credited revenue per partner, explained.
 * Public face of the component (docs/ATTRIBUTION.md).
 *
 * @example
 * const summary = await attributeUsage({ store, dataDir: ".openpal", month: "2026-10", clock: systemClock });
 * const rows = await azureUsageReport(store, { month: "2026-10", globalId: "4000000" });
 */
export { bizappsFactsFile } from "../bizapps/facts-reader.ts";
export { attributeMonth, attributeUsage, factsFile, factsDir, readFacts, type AttributeMonthOptions, type AttributeOptions, type AttributionSummary, type MonthAttribution } from "./engine.ts";
export { monthWindow, type MonthWindow } from "../domain/time.ts";
export { ReportError, plainCode } from "../domain/report.ts";
export { buildCoverage, loadCoverageInput, type CoverageInput, type CoverageRow, type CoverageTable, type Evidence, type Policy, type WhatIf } from "./coverage.ts";
export { factsQuery, duckdbDialect, type Dialect } from "./sql.ts";
export { azureUsageReport, toReportRows, reportCsv, formatTable, AZURE_USAGE_COLUMNS, type AzureUsageRow, type AzureUsageQuery } from "./report.ts";
export { explainAttribution, formatExplanation, type Explanation, type ExplainQuery } from "./explain.ts";
export { diagnoseCustomer, formatDiagnosis, type Diagnosis, type DiagnoseResult, type DiagnosisCode } from "./diagnose.ts";
export { coverageReport, formatCoverage, identityLink, type CoverageReport, type CustomerCoverage } from "./coverage-report.ts";
