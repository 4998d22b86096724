/**
 * --trust-proxy: behind a load balancer every client has the proxy's address, so per-source
 * throttling needs the client address the proxy puts in X-Forwarded-For — but only from the
 * proxies the operator named: from anyone else the header is a lie a guesser can vary at will.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";
import { AZURE_CLI_CLIENT_ID, DEFAULT_GUESSING_POLICIES } from "../../src/identity/index.ts";
import { resolveOptions } from "../../src/options/index.ts";
import { ARM_SCOPE, T, U, seedDirectory } from "../identity/fixtures.ts";

const THRESHOLD = DEFAULT_GUESSING_POLICIES.source.threshold;
const SOURCE_BLOCKED = 50196;

async function ropc(server: TestServer, forwardedFor: string, username: string, password: string): Promise<{ status: number; codes: number[] }> {
  const res = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": forwardedFor },
    body: new URLSearchParams({ grant_type: "password", client_id: AZURE_CLI_CLIENT_ID, username, password, scope: ARM_SCOPE }).toString(),
  });
  const body = (await res.json()) as { error_codes?: number[] };
  return { status: res.status, codes: body.error_codes ?? [] };
}

/** Fails from `forwardedFor` until that source is stopped; returns how many failures it took. */
async function sprayUntilBlocked(server: TestServer, forwardedFor: string): Promise<number> {
  for (let i = 1; i <= THRESHOLD + 1; i++) {
    const r = await ropc(server, forwardedFor, `nobody-${i}@contoso.example`, "pw");
    if (r.codes[0] === SOURCE_BLOCKED) return i;
  }
  return Number.POSITIVE_INFINITY;
}

describe("--trust-proxy: X-Forwarded-For names the source only when it comes from a configured proxy", () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it("from a trusted proxy, each forwarded client is its own source: one client's guessing does not stop another", async () => {
    const server = await startTestServer({ options: { trustProxy: "127.0.0.1, ::1" } });
    servers.push(server);
    await seedDirectory(server.openpal.context.store);
    assert.ok((await sprayUntilBlocked(server, "203.0.113.7")) <= THRESHOLD + 1, "the guessing client is stopped");
    assert.deepEqual((await ropc(server, "203.0.113.7", U.alice.upn, U.alice.password)).codes, [SOURCE_BLOCKED], "even with the right password");
    const other = await ropc(server, "198.51.100.20", U.alice.upn, U.alice.password);
    assert.equal(other.status, 200, `another client behind the same proxy signs in (${JSON.stringify(other.codes)})`);
    // A client cannot hide behind a forged first hop: the proxy appends the address it saw.
    assert.deepEqual((await ropc(server, "198.51.100.99, 203.0.113.7", U.alice.upn, U.alice.password)).codes, [SOURCE_BLOCKED]);
  });

  it("without --trust-proxy the header is ignored: varying it does not escape the source throttle", async () => {
    const server = await startTestServer();
    servers.push(server);
    await seedDirectory(server.openpal.context.store);
    assert.ok((await sprayUntilBlocked(server, "203.0.113.7")) <= THRESHOLD + 1);
    assert.deepEqual((await ropc(server, "198.51.100.20", U.alice.upn, U.alice.password)).codes, [SOURCE_BLOCKED], "the TCP peer is still the source");
  });

  it("an entry that is not an IP address or CIDR is refused, naming the option and an example", () => {
    const result = resolveOptions({ flags: { trustProxy: "10.0.0.5,proxy.example,10.1.0.0/40" }, env: {}, config: {} });
    assert.equal(result.ok, false);
    const problems = result.ok ? [] : result.problems;
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? "", /--trust-proxy: "proxy\.example" is not an IP address or CIDR; list the proxies' addresses, e\.g\. 10\.0\.0\.5,10\.1\.0\.0\/16/);
    assert.match(problems[1] ?? "", /"10\.1\.0\.0\/40"/);
    const ok = resolveOptions({ flags: { trustProxy: "10.0.0.5, 10.1.0.0/16, fd00::/8" }, env: {}, config: {} });
    assert.ok(ok.ok);
    assert.deepEqual(ok.ok ? ok.options.trustProxy : [], ["10.0.0.5", "10.1.0.0/16", "fd00::/8"]);
  });
});
