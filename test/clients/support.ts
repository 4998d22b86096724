/**
 * Running the real Azure clients (Debian's `azure-cli` and `python3-azure`) against a test server.
 *
 * - availability: in CI (CI=true) the clients are required and a missing one fails the suite with
 *   the apt package to install; elsewhere the suites are skipped with that message.
 * - network: every client request goes through a CONNECT proxy of the test (HTTPS_PROXY) that
 *   only lets the test server through; anything else (login.microsoftonline.com, telemetry) is
 *   refused and recorded, so a client that tries the internet fails visibly, never silently.
 *   `map443` makes the proxy also take https://127.0.0.1/ (port 443) to the server: MSAL for
 *   Python asks home realm discovery there (it drops the port), which only a server on 443 answers.
 * - isolation: each run gets its own AZURE_CONFIG_DIR; the CA is given as REQUESTS_CA_BUNDLE.
 */
import { spawnSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { startTestServer, testCaPath, type TestServer } from "../support/server.ts";

export const PYTHON = "/usr/bin/python3";
export const HERE = path.dirname(new URL(import.meta.url).pathname);
export const WORLD_FILE = path.join(HERE, "world.json");

/** The ids of test/clients/world.json. */
export const W = {
  contoso: "c1000000-0000-4000-8000-000000000001",
  fabrikam: "f1000000-0000-4000-8000-000000000001",
  alice: "c1000000-0001-4000-8000-000000000001",
  aliceGuest: "f1000000-0001-4000-8000-000000000002",
  erin: "f1000000-0001-4000-8000-000000000001",
  spFabrikam: "f1000000-0002-4000-8000-000000000001",
  appId: "a1000000-0000-4000-8000-000000000001",
  secret: "client-test-secret-Xq7Lm2Pz9Rv4Kt8Wb",
  alicePassword: "Client-Alice-2026!",
  erinPassword: "Client-Erin-2026!",
  subContoso: "5c100000-0000-4000-8000-000000000001",
  subFabrikam: "5f100000-0000-4000-8000-000000000001",
} as const;

function check(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { stdio: "ignore", timeout: 60_000 });
  return r.status === 0;
}

/** Why the clients cannot run here, or undefined when they can. */
export function missingClients(which: "az" | "python"): string | undefined {
  if (which === "az") {
    // Only whether it is installed: `az version` would ask the internet for the latest version.
    if (!check("sh", ["-c", "command -v az"])) return "the Azure CLI is not installed: apt-get install azure-cli";
    return undefined;
  }
  if (!check(PYTHON, ["-c", "import azure.identity, azure.mgmt.resource, azure.mgmt.authorization, azure.mgmt.managementpartner"])) {
    return `Debian's Azure SDK for Python is not importable by ${PYTHON}: apt-get install python3-azure`;
  }
  return undefined;
}

/** Skips (outside CI) or fails (in CI) a suite whose clients are missing. Returns false to stop. */
export function requireClients(t: TestContext, which: "az" | "python"): boolean {
  const missing = missingClients(which);
  if (!missing) return true;
  if (process.env.CI === "true") throw new Error(`CI=true requires the real-client suite: ${missing}`);
  t.skip(missing);
  return false;
}

/** A CONNECT proxy that lets only the test server through (and, with map443, port 443 to it). */
export interface Sandbox {
  readonly proxyUrl: string;
  /** host:port targets that were refused. */
  readonly refused: string[];
  close(): Promise<void>;
}

export async function startSandbox(serverPort: number, opts: { map443?: boolean } = {}): Promise<Sandbox> {
  const refused: string[] = [];
  const sockets = new Set<net.Socket>();
  const proxy = http.createServer((_req, res) => res.writeHead(403).end("only CONNECT to the test server"));
  proxy.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    const target = req.url ?? "";
    const [host = "", portText = ""] = target.split(/:(?=\d+$)/);
    const port = Number(portText);
    const local = host === "127.0.0.1" || host === "localhost";
    const allowed = local && (port === serverPort || (opts.map443 === true && port === 443));
    if (!allowed) {
      refused.push(target);
      client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    const upstream = net.connect(serverPort, "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port } = proxy.address() as net.AddressInfo;
  return {
    proxyUrl: `http://127.0.0.1:${port}`,
    refused,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

/** The environment of a client process: its own config dir, the CA, the sandbox as proxy. */
export function clientEnv(sandbox: Sandbox, configDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: configDir, LANG: "C.UTF-8",
    AZURE_CONFIG_DIR: configDir,
    REQUESTS_CA_BUNDLE: testCaPath(),
    HTTPS_PROXY: sandbox.proxyUrl, HTTP_PROXY: sandbox.proxyUrl, https_proxy: sandbox.proxyUrl, http_proxy: sandbox.proxyUrl,
    NO_PROXY: "", no_proxy: "",
    AZURE_CORE_COLLECT_TELEMETRY: "false", AZURE_CORE_ONLY_SHOW_ERRORS: "true", AZURE_CORE_NO_COLOR: "true",
    AZURE_CORE_SURVEY_MESSAGE: "false", AZURE_EXTENSION_USE_DYNAMIC_INSTALL: "no",
    PYTHONWARNINGS: "ignore",
  };
  return env;
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  json<T = unknown>(): T;
}

/** Runs a client process asynchronously (the test server lives in this process). */
export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({
        status, stdout, stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`${command} ${args.join(" ")} printed no JSON (exit ${status}).\nstdout: ${stdout}\nstderr: ${stderr}`);
          }
        },
      });
    });
  });
}

/** A server on the clients' world, with its sandbox. */
export interface ClientServer {
  readonly server: TestServer;
  readonly sandbox: Sandbox;
  readonly configDir: string;
  readonly env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function startClientServer(opts: { map443?: boolean } = {}): Promise<ClientServer> {
  const server = await startTestServer({ options: { world: WORLD_FILE } });
  const sandbox = await startSandbox(Number(new URL(server.url).port), opts);
  const configDir = mkdtempSync(path.join(os.tmpdir(), "openpal-azcfg-"));
  return {
    server, sandbox, configDir, env: clientEnv(sandbox, configDir),
    async close() {
      await sandbox.close();
      await server.close();
      rmSync(configDir, { recursive: true, force: true });
    },
  };
}
