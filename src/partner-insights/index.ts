/**
 * Partner Center insights API (`/insights/v1/mpn`): datasets, report queries in Partner Center's
 * query language, scheduled reports and their executions, over OpenPAL's attribution results.
 * Public face of the component (docs/PARTNER-INSIGHTS-API.md).
 *
 * Layout: query/ (grammar, compiler, TIMESPAN), datasets/ (the registry and each dataset's
 * allow-list and DuckDB source), runner.ts (DuckDB, CSV/TSV), service.ts (operations),
 * scheduler.ts (claims and runs), links.ts (secure links, callbacks), routes.ts (HTTP).
 *
 * @example
 * const insights = await registerPartnerInsights(app, { context, verifier });
 * insights.datasets.register(myDataset); // another component's dataset (a `Dataset`)
 */
import { createHmac } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context/index.ts";
import type { TokenVerifier } from "../identity/index.ts";
import { PartnerInsightsStore } from "../store/partner-insights.ts";
import { DatasetRegistry } from "./datasets/registry.ts";
import { azureUsageDataset } from "./datasets/azure-usage.ts";
import { profileDataset } from "./datasets/profile.ts";
import { businessApplicationsUsageDataset } from "./datasets/business-applications-usage.ts";
import { QueryRunner } from "./runner.ts";
import { InsightsService } from "./service.ts";
import { ReportScheduler } from "./scheduler.ts";
import { registerInsightsApiRoutes } from "./routes.ts";

export { PARTNER_CENTER_AUDIENCE, BASE as PARTNER_INSIGHTS_BASE, INSIGHTS_ROLES } from "./routes.ts";
export { AZURE_USAGE_SYSTEM_QUERY_ID, AZURE_USAGE_POLICY, azureUsageDataset } from "./datasets/azure-usage.ts";
export { profileDataset } from "./datasets/profile.ts";
export { businessApplicationsUsageDataset, BUSINESS_APPLICATIONS_SYSTEM_QUERY_ID } from "./datasets/business-applications-usage.ts";
export { DatasetRegistry } from "./datasets/registry.ts";
export type { Dataset, DatasetColumn, DatasetMetric, SourceRequest, SourceRelation, TimeWindow } from "./datasets/dataset.ts";
export { compileReportQuery, QueryError, type CompiledQuery } from "./query/compile.ts";
export { parseReportQuery, QuerySyntaxError, MAX_QUERY_LENGTH } from "./query/parser.ts";
export { timespanWindow, TIMESPANS, type Timespan } from "./query/timespan.ts";
export { QueryRunner, formatResult } from "./runner.ts";
export { ReportScheduler, LEASE_MS } from "./scheduler.ts";
export { LINK_LIFETIME_MS } from "./links.ts";

export interface PartnerInsights {
  readonly datasets: DatasetRegistry;
  readonly scheduler: ReportScheduler;
  readonly store: PartnerInsightsStore;
  readonly runner: QueryRunner;
}

export interface PartnerInsightsDeps {
  readonly context: AppContext;
  readonly verifier: TokenVerifier;
  /** Start the polling loop (default true; tests that drive `scheduler.tick()` may turn it off). */
  readonly startScheduler?: boolean;
}

const byContext = new WeakMap<AppContext, PartnerInsights>();

/** The component registered on a server (tests and other components reach it through here). */
export function partnerInsightsOf(context: AppContext): PartnerInsights | undefined {
  return byContext.get(context);
}

/** The registry with the datasets this component provides. */
export function defaultDatasets(): DatasetRegistry {
  return new DatasetRegistry().register(azureUsageDataset).register(profileDataset).register(businessApplicationsUsageDataset);
}

export async function registerPartnerInsights(app: FastifyInstance, deps: PartnerInsightsDeps): Promise<PartnerInsights> {
  const ctx = deps.context;
  const insights = new PartnerInsightsStore(ctx.store.db);
  const datasets = defaultDatasets();
  const runner = new QueryRunner(ctx.store, ctx.options.dataDir);
  // The link secret derives from the operator key, so every server sharing the data dir agrees.
  const linkSecret = createHmac("sha256", ctx.adminKey).update("openpal insights download links").digest("base64url");
  const service = new InsightsService({
    store: ctx.store, insights, registry: datasets, runner, clock: ctx.clock, ids: ctx.ids, linkSecret, baseUrl: () => ctx.baseUrl(),
    callbackHosts: () => ctx.options.insightsCallbackHosts, poke: () => scheduler.poke(),
  });
  const scheduler: ReportScheduler = new ReportScheduler({
    store: ctx.store, insights, runner, service, clock: ctx.clock, ids: ctx.ids, dataDir: ctx.options.dataDir, linkSecret,
    callbackHosts: () => ctx.options.insightsCallbackHosts, log: ctx.log,
  });
  await registerInsightsApiRoutes(app, { context: ctx, verifier: deps.verifier, service, insights, linkSecret });
  app.addHook("onReady", async () => {
    if (deps.startScheduler !== false) scheduler.start();
  });
  app.addHook("onClose", async () => {
    await scheduler.stop();
    runner.close();
  });
  const handle: PartnerInsights = { datasets, scheduler, store: insights, runner };
  byContext.set(ctx, handle);
  return handle;
}
