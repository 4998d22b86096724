/**
 * Power Platform admin list endpoints over HTTPS with token verification, on the embedded store
 * holding 100,000 apps and flows in 1,000 environments (half each; sizes via
 * OPENPAL_BENCH_PP_RESOURCES / OPENPAL_BENCH_PP_ENVIRONMENTS), against a bare fastify HTTPS
 * endpoint replaying the same response bytes in the same run (ratios are what compare across
 * these shared machines). Requests rotate over environments and tokens; pages are `$top=50`; a
 * full nextLink walk of one environment with `$top=10` is timed too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { testOptions } from "../src/options/index.ts";
import { startServer } from "../src/server/index.ts";
import { DirectoryRole } from "../src/graph/index.ts";
import { httpLoad, startBareHttpsServer, type Benchmark, type HttpLoadResult } from "./lib.ts";

const TID = "aaaaaaaa-0000-4000-8000-0000000000c1";
const SECONDS = Number(process.env.OPENPAL_BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.OPENPAL_BENCH_ROUNDS ?? 2);
const RESOURCES = Number(process.env.OPENPAL_BENCH_PP_RESOURCES ?? 100_000);
const ENVIRONMENTS = Number(process.env.OPENPAL_BENCH_PP_ENVIRONMENTS ?? 1_000);
const hex = (n: number, width = 12) => n.toString(16).padStart(width, "0");

const bench: Benchmark = {
  name: "powerplatform",
  description: `Power Apps and Flow admin lists over ${RESOURCES} apps and flows in ${ENVIRONMENTS} environments (HTTPS, token verification, SQLite) vs a bare fastify HTTPS endpoint replaying the same bytes`,
  async run() {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bench-"));
    const server = await startServer(testOptions({ port: 0, dataDir, inMemory: true, logLevel: "silent" }));
    let bare: Awaited<ReturnType<typeof startBareHttpsServer>> | undefined;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
    try {
      const store = server.openpal.context.store;
      await store.directory.putTenant({ id: TID, displayName: "Bench", domain: "pp-bench.example", createdAt: 0 });
      const connections = 20;
      const makers: string[] = [];
      for (let i = 0; i < 50; i++) {
        const oid = `bbbbbbbb-0000-4000-8000-${hex(i)}`;
        makers.push(oid);
        await store.directory.putUser({ tenantId: TID, id: oid, userPrincipalName: `maker${i}@pp-bench.example`, displayName: `maker ${i}`, kind: "member", passwordHash: null, homeTenantId: null, homeObjectId: null, createdAt: 0, deletedAt: null });
      }
      const admin = makers[0] as string;
      await store.directoryRoles.grant(TID, DirectoryRole.PowerPlatformAdministrator, admin, null);

      // Seeding: batched inserts in one transaction (the admin APIs are what is measured, not this).
      const seedStarted = Date.now();
      const envIds = Array.from({ length: ENVIRONMENTS }, (_, i) => `eeeeeeee-0000-4000-8000-${hex(i)}`);
      const t0 = Date.parse("2026-08-01T00:00:00Z");
      await store.transaction(async (tx) => {
        const db = tx.db as unknown as { insertInto(t: string): { values(v: unknown[]): { execute(): Promise<unknown> } } };
        for (let i = 0; i < envIds.length; i += 500) {
          await db.insertInto("pp_environments").values(envIds.slice(i, i + 500).map((id, j) => ({ tenant_id: TID, id, display_name: `Env ${i + j}`, type: (i + j) % 5 === 0 ? "Sandbox" : "Production", location: "unitedstates", created_by: admin, created_at: t0, deleted_at: null }))).execute();
        }
        const BATCH = 500;
        let resources: Record<string, unknown>[] = [];
        let relationships: Record<string, unknown>[] = [];
        const flush = async () => {
          if (resources.length) await db.insertInto("pp_resources").values(resources).execute();
          if (relationships.length) await db.insertInto("pp_relationships").values(relationships).execute();
          resources = [];
          relationships = [];
        };
        for (let i = 0; i < RESOURCES; i++) {
          const kind = i % 2 === 0 ? "canvasApp" : "flow";
          const id = `${kind === "canvasApp" ? "aaaa" : "ffff"}0000-0000-4000-8000-${hex(i)}`;
          const owner = makers[i % makers.length] as string;
          resources.push({ tenant_id: TID, id, kind, environment_id: envIds[i % envIds.length], workspace_id: null, display_name: `${kind} ${i}`, created_by: owner, created_at: t0 + i, modified_at: t0 + i, deleted_at: null, details: kind === "flow" ? "{\"state\":\"Started\"}" : "{}" });
          relationships.push({ tenant_id: TID, resource_id: id, principal_id: owner, relation: "owner", basis: "created", solution_id: null, role: null, valid_from: t0 + i, valid_to: null, set_by: null, ended_by: null });
          if (resources.length === BATCH) await flush();
        }
        await flush();
      });
      const seedSeconds = Math.round((Date.now() - seedStarted) / 100) / 10;

      const now = Math.floor(Date.now() / 1000);
      const token = (aud: string) => server.openpal.identity.keys.sign({ iss: server.openpal.identity.issuerFor(TID), aud, tid: TID, oid: admin, sub: admin, ver: "2.0", idtyp: "user", iat: now, nbf: now, exp: now + 3600 });
      const paToken = await token("https://service.powerapps.com/");
      const flowToken = await token("https://service.flow.microsoft.com/");
      const appsPath = (i: number) => `/providers/Microsoft.PowerApps/scopes/admin/environments/${envIds[(i * 7919) % envIds.length]}/apps?api-version=2016-11-01&$top=50`;
      const flowsPath = (i: number) => `/providers/Microsoft.ProcessSimple/scopes/admin/environments/${envIds[(i * 7919) % envIds.length]}/v2/flows?api-version=2016-11-01&$top=50`;

      // The full nextLink walk of one environment, 10 per page.
      const walkStarted = performance.now();
      let next: string | undefined = `${server.url}/providers/Microsoft.PowerApps/scopes/admin/environments/${envIds[0]}/apps?api-version=2016-11-01&$top=10`;
      let walked = 0;
      let pages = 0;
      while (next) {
        const page = (await (await fetch(next, { headers: { authorization: `Bearer ${paToken}` } })).json()) as { value: unknown[]; nextLink?: string };
        walked += page.value.length;
        pages++;
        next = page.nextLink;
      }
      const walkMs = Math.round(performance.now() - walkStarted);

      const sample = await fetch(`${server.url}${appsPath(0)}`, { headers: { authorization: `Bearer ${paToken}` } });
      bare = await startBareHttpsServer(dataDir, { body: await sample.text(), headers: { "content-type": sample.headers.get("content-type") ?? "application/json" } });
      let n = 0;
      const rotate = (tok: string, pathFor: (i: number) => string) => (req: { method?: string; path?: string; headers?: Record<string, string> }) => {
        const i = n++;
        return { ...req, method: "GET", path: pathFor(i), headers: { ...req.headers, authorization: `Bearer ${tok}` } };
      };
      const load = (origin: string, tok: string, pathFor: (i: number) => string, seconds: number) =>
        httpLoad({ url: `${origin}${pathFor(0)}`, method: "GET", seconds, connections, setupRequest: rotate(tok, pathFor) });
      const best = (a: HttpLoadResult | undefined, b: HttpLoadResult) => (a && a.requestsPerSecond >= b.requestsPerSecond ? a : b);
      await load(bare.origin, paToken, appsPath, 1);
      await load(server.url, paToken, appsPath, 1);
      let bareResult: HttpLoadResult | undefined;
      let appsResult: HttpLoadResult | undefined;
      let flowsResult: HttpLoadResult | undefined;
      for (let r = 0; r < ROUNDS; r++) {
        bareResult = best(bareResult, await load(bare.origin, paToken, appsPath, SECONDS));
        appsResult = best(appsResult, await load(server.url, paToken, appsPath, SECONDS));
        flowsResult = best(flowsResult, await load(server.url, flowToken, flowsPath, SECONDS));
      }
      if (!bareResult || !appsResult || !flowsResult) throw new Error("OPENPAL_BENCH_ROUNDS must be at least 1");
      const round = (x: number) => Math.round(x * 100) / 100;
      return {
        resources: RESOURCES, environments: ENVIRONMENTS, perEnvironment: RESOURCES / ENVIRONMENTS, seedSeconds, connections, loadSeconds: SECONDS, rounds: ROUNDS, pageSize: 50,
        bare: { rps: round(bareResult.requestsPerSecond), p99Ms: bareResult.latencyP99Ms },
        appsList: { rps: round(appsResult.requestsPerSecond), p50Ms: appsResult.latencyP50Ms, p99Ms: appsResult.latencyP99Ms, non2xx: appsResult.non2xx, errors: appsResult.errors },
        flowsList: { rps: round(flowsResult.requestsPerSecond), p50Ms: flowsResult.latencyP50Ms, p99Ms: flowsResult.latencyP99Ms, non2xx: flowsResult.non2xx, errors: flowsResult.errors },
        ratioAppsVsBare: round(appsResult.requestsPerSecond / bareResult.requestsPerSecond),
        ratioFlowsVsBare: round(flowsResult.requestsPerSecond / bareResult.requestsPerSecond),
        nextLinkWalk: { items: walked, pages, ms: walkMs },
      };
    } finally {
      delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      await bare?.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

export default bench;
