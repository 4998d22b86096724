/**
 * Identity throughput: client_credentials token issuance over HTTPS, token verification in process,
 * and a bearer-protected echo route over HTTPS, each against the bare fastify HTTPS baseline
 * measured in the same run (ratios compare across these shared, noisy machines).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Fastify from "fastify";
import { testOptions } from "../src/options/index.ts";
import { startServer } from "../src/server/index.ts";
import { loadTlsMaterial } from "../src/server/tls.ts";
import { bearerCaller, hashClientSecret, TokenVerificationError } from "../src/identity/index.ts";
import { httpLoad, opsPerSecond, startBareHttpsServer, type Benchmark } from "./lib.ts";

const TID = "aaaaaaaa-0000-4000-8000-0000000000c1";
const APP_ID = "aaaaaaaa-0000-4000-8000-0000000000c2";
const SP_ID = "aaaaaaaa-0000-4000-8000-0000000000c3";
const SECRET = "bench-secret-0123456789abcdefghijklmnopq";
const ARM = "https://management.azure.com/";
const SECONDS = Number(process.env.OPENPAL_BENCH_SECONDS ?? 5);

const bench: Benchmark = {
  name: "identity",
  description: "client_credentials issuance over HTTPS, verification in process and behind an HTTPS route, vs a bare fastify HTTPS endpoint",
  async run() {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bench-identity-"));
    const server = await startServer(testOptions({ port: 0, dataDir, inMemory: true, logLevel: "silent" }));
    const bare = await startBareHttpsServer(dataDir);
    // The echo route: the same verifier as the server's ARM layer, behind its own HTTPS listener.
    const tls = await loadTlsMaterial({ dataDir });
    const echo = Fastify({ https: { cert: tls.cert, key: tls.key } });
    echo.get("/echo", async (req, reply) => {
      try {
        const caller = await bearerCaller(server.openpal.identity.verifier, req, [ARM]);
        return { tenantId: caller.tenantId, objectId: caller.objectId };
      } catch (error) {
        if (error instanceof TokenVerificationError) return reply.code(401).send({ error: error.reason });
        throw error;
      }
    });
    const echoUrl = `${await echo.listen({ host: "127.0.0.1", port: 0 })}/echo`;
    // autocannon uses its own TLS stack; the server's CA is local, so trust is skipped for the load only.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
    try {
      const d = server.openpal.context.store.directory;
      await d.putTenant({ id: TID, displayName: "Bench", domain: "bench.example", createdAt: 0 });
      await d.putApplication({ appId: APP_ID, displayName: "bench-app", homeTenantId: TID, createdAt: 0, deletedAt: null });
      await d.addSecret({ appId: APP_ID, keyId: "bench", secretHash: hashClientSecret(SECRET), hint: "ben", displayName: null, createdAt: 0, expiresAt: null });
      await d.putServicePrincipal({ tenantId: TID, id: SP_ID, appId: APP_ID, displayName: "bench-app", createdAt: 0, deletedAt: null });
      const form = new URLSearchParams({ grant_type: "client_credentials", client_id: APP_ID, client_secret: SECRET, scope: `${ARM}.default` }).toString();
      const first = await fetch(`${server.url}/${TID}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form });
      const token = ((await first.json()) as { access_token: string }).access_token;
      if (!token) throw new Error("the bench could not get a token; see the server's token endpoint");

      const connections = 20;
      // Warm-up first: the first seconds of any HTTPS load pay for TLS handshakes and JIT.
      await httpLoad({ url: bare.url, seconds: 1, connections });
      const bareGet = await httpLoad({ url: bare.url, seconds: SECONDS, connections });
      const issue = await httpLoad({ url: `${server.url}/${TID}/oauth2/v2.0/token`, method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form, seconds: SECONDS, connections });
      // Repeat verification of one token hits the verifier's cache of verified tokens; a first
      // verification (RS256 signature) is measured separately over distinct tokens.
      const verifyInProcess = await opsPerSecond(() => server.openpal.identity.verifier.verify(token, [ARM]), { seconds: SECONDS, concurrency: 4 });
      const keys = server.openpal.identity.keys;
      const now = Math.floor(Date.now() / 1000);
      const fresh: string[] = [];
      for (let i = 0; i < 3000; i++) {
        fresh.push(await keys.sign({ iss: server.openpal.identity.issuerFor(TID), aud: ARM, tid: TID, oid: SP_ID, sub: SP_ID, ver: "2.0", idtyp: "app", iat: now, nbf: now, exp: now + 3600, jti: String(i) }));
      }
      const coldStarted = process.hrtime.bigint();
      for (const t of fresh) await server.openpal.identity.verifier.verify(t, [ARM]);
      const verifyColdPerSecond = fresh.length / (Number(process.hrtime.bigint() - coldStarted) / 1e9);
      const echoed = await httpLoad({ url: echoUrl, headers: { authorization: `Bearer ${token}` }, seconds: SECONDS, connections });
      const round = (x: number) => Math.round(x * 100) / 100;
      return {
        connections, seconds: SECONDS,
        bareGet: { rps: round(bareGet.requestsPerSecond), p99Ms: bareGet.latencyP99Ms },
        tokenIssuance: { rps: round(issue.requestsPerSecond), p99Ms: issue.latencyP99Ms, non2xx: issue.non2xx, errors: issue.errors },
        verifyInProcess: { repeatTokenOpsPerSecond: round(verifyInProcess.opsPerSecond), firstVerificationOpsPerSecond: round(verifyColdPerSecond) },
        protectedEcho: { rps: round(echoed.requestsPerSecond), p99Ms: echoed.latencyP99Ms, non2xx: echoed.non2xx, errors: echoed.errors },
        ratioIssuanceVsBare: round(issue.requestsPerSecond / bareGet.requestsPerSecond),
        ratioProtectedEchoVsBare: round(echoed.requestsPerSecond / bareGet.requestsPerSecond),
        ratioFirstVerificationVsBareHttp: round(verifyColdPerSecond / bareGet.requestsPerSecond),
      };
    } finally {
      delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      await echo.close();
      await bare.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

export default bench;
