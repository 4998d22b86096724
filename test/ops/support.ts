/**
 * Real server processes for the operations tests: `openpal serve` spawned from bin/openpal.js on
 * a free port, found through the server.json it writes, stopped with a signal.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { testAgent, testCaPath } from "../support/server.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const BIN = path.join(ROOT, "bin", "openpal.js");

/**
 * The demo world under another path: the same principals and secrets, but the server does not
 * generate demo usage in the background (it does that only for the demo world's own file).
 */
export function demoWorldCopy(dir: string): string {
  const file = path.join(dir, "world.json");
  copyFileSync(path.join(ROOT, "src/world/demo/world.json"), file);
  return file;
}

export const CONTOSO_APP = { id: "a0000000-0000-4000-8000-000000000001", secret: "contoso-demo-secret-6Qm2Vx9LkP4tRw8Zb3Nd" };
/** Tenants where the Contoso automation app has a service principal (each can link itself). */
export const CONTOSO_APP_TENANTS = [
  "10000000-0000-4000-8000-000000000001", "30000000-0000-4000-8000-000000000003",
  "40000000-0000-4000-8000-000000000004", "50000000-0000-4000-8000-000000000005",
];

export interface ServerProcess {
  readonly url: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  fetch(pathOrUrl: string, init?: RequestInit): Promise<Response>;
  adminKey(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnServer(opts: { dataDir?: string; args?: readonly string[]; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "openpal-ops-"));
  const tls = path.dirname(testCaPath());
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--data-dir", dataDir, "--cert", path.join(tls, "server.crt"), "--key", path.join(tls, "server.key"), "--log-level", "warn", "--log-format", "json", ...(opts.args ?? [])], {
    cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let url: string | undefined;
  const started = Date.now();
  let dead = false;
  void exited.then(() => (dead = true));
  while (!url) {
    const m = /listening on (https:\/\/\S+)\n(?: {2}bound to (\S+) )?/.exec(out);
    if (m && /\n {2}store:/.test(out)) url = m[2] ? `https://${m[2]}` : m[1];
    else if (dead) throw new Error(`openpal serve exited before listening:\n${out}`);
    else if (Date.now() - started > 60_000) {
      child.kill("SIGKILL");
      throw new Error(`openpal serve did not start within 60 s:\n${out}`);
    } else await new Promise((r) => setTimeout(r, 50));
  }
  const base = url as string;
  return {
    url: base, dataDir, child, exited,
    output: () => out,
    fetch: (p, init) => fetch(p.startsWith("http") ? p : `${base}${p}`, { ...init, dispatcher: testAgent() } as RequestInit),
    adminKey: () => readFileSync(path.join(dataDir, "admin.key"), "utf8").trim(),
    async stop(signal = "SIGTERM") {
      if (!dead) child.kill(signal);
      return exited;
    },
  };
}

export async function clientToken(server: Pick<ServerProcess, "fetch">, tenantId: string, scope = "https://management.azure.com/.default"): Promise<string> {
  const res = await server.fetch(`/${tenantId}/oauth2/v2.0/token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: CONTOSO_APP.id, client_secret: CONTOSO_APP.secret, scope }).toString(),
  });
  if (res.status !== 200) throw new Error(`token for ${tenantId}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export const PAL = "/providers/Microsoft.ManagementPartner/partners";
export const PAL_VERSION = "api-version=2018-02-01";

export function serverJsonExists(dataDir: string): boolean {
  return existsSync(path.join(dataDir, "server.json"));
}
