/**
 * Fuzzed requests to every route the server serves (read from fastify's route tree, so a route
 * added later is fuzzed without editing this file), with fuzzed path parameters, query strings,
 * bodies, and the headers a client or a proxy can send besides Authorization: Content-Type,
 * Accept, Cookie (the portal's own cookie names too), Content-Encoding, Origin, If-Match,
 * x-ms-* request ids, Accept-Language, X-Forwarded-For, and one header of any token name; NUL
 * (U+0000) in paths, query values and bodies (nul-values.test.ts has the rule it found).
 * fast-check, fixed seed, bounded runs; on failure it prints the seed and the shrunk request.
 *
 * The rules: no answer is a 5xx; an error answered as JSON parses and names its problem, in the
 * ARM/Graph shape (`error.code`, `error.message`), the OAuth one (`error`, `error_description`) or
 * the insights API's (`message`, `statusCode`);
 * and after it all, the server still answers a link request of a principal the fuzzing did not sign in as.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Dispatcher } from "undici";
import { startTestServer, testAgent, type TestServer } from "../support/server.ts";
import { storeBackends } from "../support/stores.ts";
import { SESSION_COOKIE, SIGNIN_COOKIE } from "../../src/portal/routes.ts";
import { cookieHeader, portalSignIn, DEMO } from "../portal/support.ts";
import { PLAYED_RESOURCES } from "../../src/identity/audiences.ts";
import { dataverseAudiences } from "../../src/powerplatform/audiences.ts";
import { ARM_SCOPE, DEMO_WORLD_FILE, demoPrincipals, demoWorld, routeTable, tokenFor, type RouteEntry } from "./support.ts";

/** OPENPAL_FUZZ_SEED and OPENPAL_FUZZ_RUNS reproduce a failure or fuzz longer (docs/OPERATIONS.md). */
const SEED = Number(process.env.OPENPAL_FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.OPENPAL_FUZZ_RUNS ?? 800);

let server: TestServer;
let routes: RouteEntry[] = [];
/** Tokens of a partner admin, a customer's admin and a partner's app in a customer tenant, for every resource the server plays. */
const tokens: { audience: string; token: string }[] = [];
/** A signed-in portal session (cookie and CSRF token) for plausible /portal/api requests. */
const portal = { cookie: "", csrf: "" };
/** A path segment: an id the demo world has, a near miss, or anything at all (encoded, or raw and malformed). */
const segment = fc.oneof(
  fc.constantFrom(
    "40000000-0000-4000-8000-000000000004", "e3000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000001",
    "4000001", "4000000", "contoso.example", "common", "organizations", "v2.0", "2026-10",
    "..", "%2e%2e", "%00", "%zz", "%e0%a4%a", "%ff", "%c0%af", "%", "a%2Fb", "x".repeat(600),
  ),
  fc.string({ maxLength: 16 }).map(encodeURIComponent),
  fc.string({ unit: "binary", maxLength: 8 }).map(encodeURIComponent),
);

/** Ids of the demo world by the route parameter that names them, so that plausible requests reach the handlers' own checks. */
const tenants = demoWorld.tenants ?? [];
type Raw = Record<string, unknown>;
const raw = (x: unknown): Raw => x as Raw;
const pp = (key: string) => tenants.flatMap((t) => ((raw(t).powerPlatform as Raw | undefined)?.[key] ?? []) as Raw[]);
const workspaces = tenants.flatMap((t) => (((raw(t).powerPlatform as Raw | undefined)?.powerBi as Raw | undefined)?.workspaces ?? []) as Raw[]);
const objectIds = tenants.flatMap((t) => [...(t.users ?? []), ...(t.servicePrincipals ?? []), ...(t.groups ?? [])].map((o) => o.id));
const subscriptions = tenants.flatMap((t) => (raw(t).subscriptions ?? []) as Raw[]).map((x) => String(x.id));
const PLAUSIBLE: Record<string, readonly string[]> = {
  tenant: [...tenants.flatMap((t) => [t.id, t.domain ?? t.id]), "common", "organizations"],
  env: pp("environments").map((x) => String(x.id)),
  app: pp("apps").map((x) => String(x.id)),
  flow: pp("flows").map((x) => String(x.id)),
  group: workspaces.map((x) => String(x.id)),
  dataset: workspaces.flatMap((w) => ((w.datasets ?? []) as Raw[]).map((d) => String(d.id))),
  id: [...objectIds, "4000001"],
  memberId: objectIds,
  globalId: ["4000000", "5100000"],
  partnerId: ["4000001", "4000000", "5100000"],
  subscriptionId: subscriptions,
  username: tenants.flatMap((t) => (t.users ?? []).map((u) => u.userPrincipalName)),
  version: ["v9.2", "v9.0"],
  segment: ["accounts", "solutions", "systemusers", "canvasapps"],
};
/** What follows an ARM root (`/providers`, `/subscriptions`) in plausible requests. */
const ARM_TAILS = [
  "/Microsoft.ManagementPartner/partners", "/Microsoft.ManagementPartner/partners/4000001", "/Microsoft.ManagementPartner/operations",
  ...subscriptions.flatMap((sub) => [`/${sub}`, `/${sub}/providers/Microsoft.Authorization/roleAssignments`, `/${sub}/resourceGroups`, `/${sub}/providers/Microsoft.Billing/billingProperty/default`]),
  "/Microsoft.Management/managementGroups", "/Microsoft.ManagedServices/registrationDefinitions",
];
const plausibleFor = (name: string): readonly string[] => PLAUSIBLE[name] ?? [];
/** The audience a plausible request to `url` (the route; `path`, the request's) carries a token for. */
function audienceFor(url: string, path: string): string {
  if (url.startsWith("/dataverse/")) return dataverseAudiences(server.url, path.split("/")[2] ?? "")[0] as string;
  if (url.startsWith("/v1.0/myorg")) return "https://analysis.windows.net/powerbi/api";
  if (url.startsWith("/v1.0/")) return "https://graph.microsoft.com";
  if (url.startsWith("/providers/Microsoft.PowerApps")) return "https://service.powerapps.com/";
  if (url.startsWith("/providers/Microsoft.ProcessSimple")) return "https://service.flow.microsoft.com/";
  if (url.startsWith("/providers/Microsoft.BusinessAppPlatform")) return "https://api.bap.microsoft.com";
  if (/^\/(insights\/v1|:base0)/.test(url)) return "https://api.partnercenter.microsoft.com";
  return "https://management.azure.com/";
}
/** Headers a plausible request keeps from the fuzzed ones (the others would stop it before its handler). */
const KEPT_WHEN_PLAUSIBLE = new Set(["accept", "if-match", "x-ms-client-request-id", "x-ms-correlation-request-id", "accept-language", "x-other"]);

/** Query parameters the routes read, and others. A value may be left unencoded (malformed on purpose). */
const queryKey = fc.oneof(
  fc.constantFrom("api-version", "month", "from", "to", "$filter", "$top", "$skip", "$skiptoken", "$select", "$expand", "$orderby", "tenantId",
    "subscriptionId", "partnerId", "globalId", "format", "client_id", "redirect_uri", "response_type", "response_mode", "scope", "state",
    "code_challenge", "code_challenge_method", "prompt", "nonce", "login_hint", "reportId", "queryId", "environment", "limit", "cursor"),
  fc.string({ minLength: 1, maxLength: 8 }),
);
const queryValue = fc.oneof(
  fc.constantFrom("2018-02-01", "2024-01-01", "2026-10", "2026-13", "-1", "0", "1e309", "99999999999999999999", "true", "null", "", "%zz", "%", "%e0%a4%a",
    "code", "https://evil.example/cb", "openid offline_access", "S256", "plain", "a%00b"),
  fc.string({ maxLength: 24 }),
);
const queryString = fc.array(fc.tuple(queryKey, queryValue, fc.boolean()), { maxLength: 4 }).map((pairs) =>
  pairs.length === 0 ? "" : `?${pairs.map(([k, v, raw]) => `${encodeURIComponent(k)}=${raw && /^[%\w.-]*$/.test(v) ? v : encodeURIComponent(v)}`).join("&")}`);

const METHODS = ["GET", "PUT", "PATCH", "DELETE", "POST"] as const;

const headers = fc.record(
  {
    authorization: fc.constantFrom("TOKEN", "TOKEN", "TOKEN", "Bearer garbage", "Basic Zm9vOmJhcg==", "Bearer ", "bearer TOKEN-lowercase", "Negotiate abc"),
    "content-type": fc.constantFrom("application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data", "multipart/form-data; boundary=",
      "application/json; charset=utf-16", "application/json; charset=bogus", "application/xml", "garbage", "application/json;;;", "*/*", ""),
    accept: fc.constantFrom("application/json", "text/html", "*/*", "garbage/;;", "application/xml", "text/csv", "", "application/json;q=abc"),
    cookie: fc.oneof(
      fc.constantFrom(`${SESSION_COOKIE}=garbage`, `${SIGNIN_COOKIE}=garbage`, `${SESSION_COOKIE}=%zz; ${SIGNIN_COOKIE}=`, "=;=;;", `${SESSION_COOKIE}=${"a".repeat(4000)}`),
      fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
    ),
    "content-encoding": fc.constantFrom("gzip", "br", "deflate", "identity", "bogus"),
    origin: fc.constantFrom("https://evil.example", "null", "garbage"),
    "if-match": fc.constantFrom("*", "\"abc\"", "W/\"1\"", "garbage"),
    "x-ms-client-request-id": fc.oneof(fc.uuid(), fc.string({ maxLength: 64 }).map((s) => s.replace(/[^\x20-\x7e]/g, ""))),
    "x-ms-correlation-request-id": fc.string({ maxLength: 64 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
    "accept-language": fc.constantFrom("en-US", "*", "xx-;;q=", "de-DE,de;q=0.9"),
    "x-forwarded-for": fc.constantFrom("1.2.3.4", "garbage", "::1, 10.0.0.1", ""),
    "x-other": fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, ""))),
  },
  { requiredKeys: [] },
);

const body = fc.option(
  fc.oneof(
    fc.json(),
    fc.string({ maxLength: 80 }),
    fc.dictionary(fc.constantFrom("grant_type", "client_id", "client_secret", "username", "password", "scope", "code", "refresh_token", "device_code", "partnerId", "name", "query"),
      fc.oneof(fc.string({ maxLength: 20 }), fc.constant("a\u0000b"))).map((d) => new URLSearchParams(d).toString()),
    fc.record({ displayName: fc.constantFrom("a\u0000b", "ok"), properties: fc.record({ partnerId: fc.constantFrom("4000001", "4000\u0000001") }) }),
    fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  ),
  { nil: undefined },
);

/** Literals some route parameters are constrained to (fastify regex parameters). */
const LITERALS = ["providers", "subscriptions", "PROVIDERS", "insights", "v1", "mpn", "Insights", "V1", "MPN"];

/**
 * The route's URL with every `:param` and `*` filled: with fuzzed segments, or (plausible) with
 * ids of the demo world the parameter names, and known tails after an ARM root. A parameter
 * constrained by a regex gets a literal it accepts.
 */
function concrete(url: string, values: readonly string[], plausible: number | undefined): string {
  let i = 0;
  const next = () => values[i++ % values.length] ?? "x";
  const pick = <T>(list: readonly T[]): T | undefined => (plausible === undefined || list.length === 0 ? undefined : list[(plausible + i++) % list.length]);
  return url
    .replace(/:([A-Za-z_][\w-]*)\(([^)]*(?:\)[^)]*)*?)\)(?=\/|\*|$)/g, (_m, _name: string, regex: string) => LITERALS.find((l) => new RegExp(regex).test(l)) ?? next())
    .replace(/:([A-Za-z_][\w-]*)/g, (_m, name: string) => pick(plausibleFor(name)) ?? next())
    .replace(/\*/g, (_m, at: number, whole: string) => (at > 0 ? pick(ARM_TAILS) ?? `/${next()}/${next()}` : `${next()}/${next()}`).replace(/^\/?/, at > 0 && whole[at - 1] === "/" ? "" : "/"));
}

/**
 * An error answered as JSON names its problem, in the shape of the API it belongs to: ARM/Graph
 * `error.code`+`error.message`, OAuth `error`+`error_description`, or Partner Center insights'
 * envelope `message`+`statusCode`.
 */
function namesItsProblem(json: unknown): boolean {
  const insights = json as { message?: unknown; statusCode?: unknown } | null;
  if (typeof insights?.message === "string" && typeof insights.statusCode === "number") return true;
  const e = (json as { error?: unknown; error_description?: unknown } | null)?.error;
  if (typeof e === "string") return typeof (json as { error_description?: unknown }).error_description === "string";
  return typeof (e as { code?: unknown } | undefined)?.code === "string" && typeof (e as { message?: unknown }).message === "string";
}

for (const backend of storeBackends()) {
  describe(`fuzzed requests to every route (${backend.name})`, () => {
    before(async () => {
      tokens.length = 0;
      server = await startTestServer({ backend, options: { world: DEMO_WORLD_FILE } });
      routes = routeTable(server.openpal.app);
      const all = demoPrincipals();
      const principals = [all[0], all.find((p) => p.tenantId.startsWith("3") && p.form.grant_type === "password"), all.find((p) => p.tenantId.startsWith("4") && p.form.grant_type === "client_credentials")];
      for (const p of principals) {
        if (!p) throw new Error("the demo world lacks a principal the fuzzing signs in as");
        for (const r of PLAYED_RESOURCES) tokens.push({ audience: r.audience, token: await tokenFor(server, p, `${r.audience.replace(/\/+$/, "")}/.default`) });
      }
      for (const env of PLAUSIBLE.env ?? []) {
        const audience = dataverseAudiences(server.url, env)[0] as string;
        tokens.push({ audience, token: await tokenFor(server, principals[1] as never, `${audience}/.default`) });
      }
      const session = await portalSignIn(server, DEMO.alice);
      portal.cookie = cookieHeader(session.cookies);
      portal.csrf = session.csrfToken;
    });
    after(async () => server?.close());

    it("the table the fuzzing draws routes from holds every family of route: portal, token service, Graph", () => {
      assert.ok(routes.length >= 60, `only ${routes.length} routes found in the route tree`);
      assert.ok(routes.some((r) => r.url.startsWith("/portal")) && routes.some((r) => r.url.includes("oauth2")) && routes.some((r) => r.url.startsWith("/v1.0/")),
        "the portal, the token service and Graph are in the table");
    });

    it("never answer 5xx, and every JSON error names its problem in its API's shape, whatever the path, query, headers and body", async () => {
      const seen = new Set<string>();
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.nat(), fc.array(segment, { minLength: 1, maxLength: 4 }), fc.option(fc.nat(), { nil: undefined, freq: 2 }), queryString,
          fc.option(fc.constantFrom(...METHODS), { nil: undefined, freq: 4 }), headers, fc.nat(), body,
          async (pick, values, plausible, query, otherMethod, h, tokenPick, payload) => {
            const route = routes[pick % routes.length] as RouteEntry;
            seen.add(`${route.method} ${route.url}`);
            const method = otherMethod ?? route.method;
            const fuzzed = concrete(route.url, values, plausible);
            const path = (fuzzed.startsWith("/") ? fuzzed : `/${fuzzed}`) + query;
            const sent: Record<string, string> = {};
            if (plausible !== undefined) {
              const fitting = tokens.filter((t) => t.audience === audienceFor(route.url, path));
              sent.authorization = /^\/(admin|metrics)/.test(route.url) ? `Bearer ${server.openpal.context.adminKey}` : `Bearer ${(fitting[tokenPick % fitting.length] ?? tokens[0] as { token: string }).token}`;
              if (route.url.startsWith("/portal")) Object.assign(sent, { cookie: portal.cookie, "x-csrf-token": portal.csrf, origin: server.url });
              sent["content-type"] = route.url.includes("oauth2") || route.url.startsWith("/devicelogin") ? "application/x-www-form-urlencoded" : "application/json";
            }
            for (const [name, value] of Object.entries(h)) {
              if (plausible !== undefined && !KEPT_WHEN_PLAUSIBLE.has(name)) continue;
              if (name === "x-other") {
                const [n, v] = value as [string, string];
                if (!/^(host|content-length|transfer-encoding|connection|upgrade|expect|te|keep-alive|trailer)$/.test(n)) sent[n] = v;
              } else if (name === "authorization") {
                const v = value as string;
                const token = (tokens[tokenPick % tokens.length] as { token: string }).token;
                sent.authorization = v === "TOKEN" ? `Bearer ${token}` : v === "bearer TOKEN-lowercase" ? `bearer ${token}` : v;
              } else sent[name] = value as string;
            }
            const withBody = payload !== undefined && method !== "GET";
            // The dispatcher sends the path as it is (no URL parser resolves its dots or rejects its encodings).
            const res = await testAgent().request({
              origin: server.url, path, method: method as Dispatcher.HttpMethod, headers: sent,
              ...(withBody ? { body: typeof payload === "string" || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload) } : {}),
            });
            const text = await res.body.text();
            statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
            const where = `${route.method} ${route.url} as ${method} ${path.slice(0, 200)} with ${JSON.stringify(sent).replace(/(Bearer )[\w.-]{20,}/gi, "$1<token>").replace(new RegExp(`${SESSION_COOKIE}=[^;"]+`), `${SESSION_COOKIE}=<session>`).slice(0, 300)} answered ${res.statusCode}`;
            assert.ok(res.statusCode < 500, `${where}: ${text.slice(0, 300)}`);
            const type = String(res.headers["content-type"] ?? "");
            if (res.statusCode >= 400 && /json/.test(type) && text.length > 0) {
              let parsed: unknown;
              assert.doesNotThrow(() => { parsed = JSON.parse(text); }, `${where}: not JSON though it says ${type}: ${text.slice(0, 200)}`);
              assert.ok(namesItsProblem(parsed), `${where}: the error names no problem: ${text.slice(0, 300)}`);
            }
          },
        ),
        { numRuns: RUNS, seed: SEED, verbose: 1 },
      );
      // Every route family was reached (the route is drawn uniformly; a family missed means the table or the draw is wrong).
      for (const prefix of ["/providers", "/portal", "/v1.0/", "/admin/", "/insights/"]) {
        assert.ok([...seen].some((r) => r.includes(` ${prefix}`)), `no fuzzed request reached ${prefix}: ${[...seen].slice(0, 5).join(", ")}`);
      }
      console.log(`fuzzed routes: ${seen.size} of ${routes.length} routes; answers by status: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([k, n]) => `${k}×${n}`).join(" ")}`);
      // The fuzzing may legitimately have deleted or disabled the principals it signed in as (their
      // own Graph tokens can); a principal of a tenant none of them administers still links as before.
      const bystander = demoPrincipals().find((p) => p.label.startsWith("dave@northwind.example"));
      assert.ok(bystander, "the demo world has Northwind's Dave");
      const health = await server.fetch("/providers/Microsoft.ManagementPartner/partners/?api-version=2018-02-01", { headers: { authorization: `Bearer ${await tokenFor(server, bystander, ARM_SCOPE)}` } });
      assert.ok([200, 404].includes(health.status), `after the fuzzing the link API answered ${health.status}: ${await health.text()}`);
    });
  });
}
