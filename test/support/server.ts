/**
 * Test servers: a real HTTPS server on a free port, with the shared test CA (NODE_EXTRA_CA_CERTS
 * is set by scripts/test.mjs so the Azure SDKs trust it), on SQLite in memory or on PostgreSQL.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Agent } from "undici";
import { readFileSync } from "node:fs";
import { testOptions, type Options, type RawValue } from "../../src/options/index.ts";
import { startServer, type RunningServer, type AppDependencies } from "../../src/server/index.ts";
import type { StoreBackend } from "./stores.ts";
import { freshPostgresUrl } from "./stores.ts";

export interface TestServer extends RunningServer {
  readonly dataDir: string;
  /** fetch that trusts the test CA. */
  fetch(pathOrUrl: string, init?: RequestInit): Promise<Response>;
}

function tlsDir(): string {
  const dir = process.env.OPENPAL_TEST_TLS_DIR;
  if (!dir) throw new Error("OPENPAL_TEST_TLS_DIR is not set: run tests with `npm test` (scripts/test.mjs).");
  return dir;
}

export function testCaPath(): string {
  return path.join(tlsDir(), "ca.crt");
}

let agent: Agent | undefined;
export function testAgent(): Agent {
  agent ??= new Agent({ connect: { ca: readFileSync(testCaPath(), "utf8") } });
  return agent;
}

export async function startTestServer(
  opts: { backend?: StoreBackend; options?: Partial<Record<keyof Options, RawValue>>; deps?: Omit<AppDependencies, "tls"> } = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-test-"));
  let dropSchema: (() => Promise<void>) | undefined;
  const storeOptions: Partial<Record<keyof Options, RawValue>> = {};
  if (opts.backend?.name === "postgres" && opts.backend.postgresUrl) {
    const fresh = await freshPostgresUrl(opts.backend.postgresUrl);
    storeOptions.postgresUrl = fresh.url;
    dropSchema = fresh.drop;
  } else {
    storeOptions.inMemory = true;
  }
  const options = testOptions({
    port: 0, dataDir, logLevel: "silent",
    cert: path.join(tlsDir(), "server.crt"), key: path.join(tlsDir(), "server.key"),
    ...storeOptions, ...opts.options,
  });
  const server = await startServer(options, opts.deps);
  return {
    ...server,
    dataDir,
    fetch(pathOrUrl, init) {
      const url = pathOrUrl.startsWith("http") ? pathOrUrl : `${server.url}${pathOrUrl}`;
      return fetch(url, { ...init, dispatcher: testAgent() } as RequestInit);
    },
    async close() {
      await server.close();
      if (dropSchema) await dropSchema();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
