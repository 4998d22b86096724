/**
 * Fuzzed ARM requests (fast-check, fixed seed, bounded runs): whatever the path, headers and body,
 * the server never answers 5xx, and every ARM error is JSON with `error.code` and `error.message`.
 * On failure fast-check prints the seed and the shrunk request; rerun with that seed to reproduce.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ARM_SCOPE, DEMO_WORLD_FILE, demoPrincipals, tokenFor } from "./support.ts";

const SEED = 20261202;
let server: TestServer;
let token = "";
before(async () => {
  server = await startTestServer({ options: { world: DEMO_WORLD_FILE } });
  token = await tokenFor(server, demoPrincipals()[0] as never, ARM_SCOPE);
});
after(async () => server?.close());

const segment = fc.oneof(
  fc.constantFrom("providers", "Microsoft.ManagementPartner", "partners", "subscriptions", "resourceGroups", "Microsoft.Authorization", "roleAssignments", "e3000000-0000-4000-8000-000000000001", "4000001", "..", "%2e", "%00", "%zz", "%e0%a4%a"),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);

describe("fuzzed ARM requests", () => {
  it("never answer 5xx, and answer every error as JSON with error.code and error.message", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("providers", "subscriptions", "PROVIDERS"),
        fc.array(segment, { maxLength: 6 }),
        fc.constantFrom("GET", "PUT", "PATCH", "DELETE", "POST"),
        fc.option(fc.constantFrom("2018-02-01", "2020-04-01-preview", "bogus", ""), { nil: undefined }),
        fc.option(fc.oneof(fc.json(), fc.string({ maxLength: 40 })), { nil: undefined }),
        fc.constantFrom(`Bearer ${"T"}`, "", "Bearer garbage", "Basic abc"),
        async (root, segments, method, apiVersion, body, auth) => {
          const url = `/${root}/${segments.join("/")}${apiVersion === undefined ? "" : `?api-version=${apiVersion}`}`;
          const headers: Record<string, string> = { "content-type": "application/json" };
          const authorization = auth === "Bearer T" ? `Bearer ${token}` : auth;
          if (authorization) headers.authorization = authorization;
          const res = await server.fetch(url, { method, headers, ...(body !== undefined && method !== "GET" ? { body } : {}) });
          const text = await res.text();
          assert.ok(res.status < 500, `${method} ${url} answered ${res.status}: ${text.slice(0, 200)}`);
          if (res.status >= 400) {
            const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
            assert.equal(typeof parsed.error?.code, "string", `${method} ${url}: ${text.slice(0, 200)}`);
            assert.equal(typeof parsed.error?.message, "string", `${method} ${url}: ${text.slice(0, 200)}`);
          }
        },
      ),
      { numRuns: 300, seed: SEED, verbose: 1 },
    );
  });
});
