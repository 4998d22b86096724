/**
 * The seam where components plug into the server. Each component owns its routes; this list is
 * the only place that names them all. Order matters only for route prefixes, which do not overlap.
 */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context/index.ts";
import type { Identity } from "../identity/index.ts";
import { ArmLayer } from "../arm/index.ts";
import { managementPartnerProvider } from "../providers/managementpartner/index.ts";
import { tenantsRoute } from "../providers/resources/tenants.ts";
import { resourcesProvider } from "../providers/resources/index.ts";
import { authorizationProvider } from "../providers/authorization/index.ts";
import { partnerOfRecordProvider } from "../providers/partnerofrecord/index.ts";
import { managementProvider } from "../providers/management/index.ts";
import { managedServicesProvider } from "../providers/managedservices/index.ts";
import { registerAdminPartnerRoutes } from "../admin/partners.ts";
import { registerGraph } from "../graph/index.ts";
import { registerPortal } from "../portal/index.ts";
import { registerAdminWorldRoutes, applyStartupWorld } from "../admin/world.ts";
import { registerInsights } from "../insights/index.ts";
import { seedDemoOnStart } from "../insights/demo.ts";
import { registerPartnerInsights } from "../partner-insights/index.ts";
import { registerPowerPlatform } from "../powerplatform/index.ts";
import { registerAdminKeyRoutes } from "../admin/keys.ts";

export interface ComponentDeps {
  readonly context: AppContext;
  readonly identity: Identity;
}

export async function registerComponents(_app: FastifyInstance, _deps: ComponentDeps): Promise<void> {
  // Components register here (admin, world, arm providers, graph, portal).
  // ARM: one layer (auth, api-version, envelopes) mounting every provider under /providers.
  const arm = new ArmLayer({ context: _deps.context, verifier: _deps.identity.verifier })
    .addProvider(managementPartnerProvider({ store: _deps.context.store, clock: _deps.context.clock }))
    .addRoute(tenantsRoute({ store: _deps.context.store }))
    .addProvider(authorizationProvider({ store: _deps.context.store, baseUrl: () => _deps.context.baseUrl() }))
    .addProvider(resourcesProvider({ store: _deps.context.store, baseUrl: () => _deps.context.baseUrl() }))
    .addProvider(partnerOfRecordProvider({ store: _deps.context.store, baseUrl: () => _deps.context.baseUrl() }))
    .addProvider(managementProvider({ store: _deps.context.store, baseUrl: () => _deps.context.baseUrl() }))
    .addProvider(managedServicesProvider({ store: _deps.context.store, baseUrl: () => _deps.context.baseUrl() }));
  await arm.register(_app);
  await registerAdminPartnerRoutes(_app, { context: _deps.context });
  // Signing keys: POST /admin/keys/rotate, GET /admin/keys; every server re-reads them each minute.
  await registerAdminKeyRoutes(_app, { context: _deps.context, keys: _deps.identity.keys });
  // World files: POST/GET /admin/world, and `--world FILE` applied here, before the server listens.
  await registerAdminWorldRoutes(_app, { context: _deps.context });
  // Microsoft Graph subset (directory writes) under /v1.0.
  await registerGraph(_app, _deps);
  // Power Platform admin APIs (BAP, Power Apps, Flow, Power BI, Dataverse) on their real paths.
  await registerPowerPlatform(_app, _deps);
  // The web portal under /portal/: static assets, sign-in, session and /portal/api/*.
  await registerPortal(_app, { context: _deps.context });
  await applyStartupWorld(_deps.context);
  // Partner insights (reports, explain, diagnose, coverage) under /insights; the demo world's
  // usage is generated and attributed in the background on a fresh data dir.
  await registerInsights(_app, { context: _deps.context, verifier: _deps.identity.verifier });
  const seeding = seedDemoOnStart(_deps.context);
  // The server closes its store after its onClose hooks: the background seeding ends first.
  if (seeding) _app.addHook("onClose", async () => seeding);
  // Partner Center's insights API under /insights/v1/mpn, with its report scheduler.
  await registerPartnerInsights(_app, { context: _deps.context, verifier: _deps.identity.verifier });
}
