/**
 * How the CLI reaches a server: which URL (flag > OPENPAL_SERVER > ./.openpal/server.json, written
 * by `openpal serve`), which CA to trust (flag > server.json's caCert > NODE_EXTRA_CA_CERTS, which
 * Node applies by itself), and a fetch that uses them. Connection failures become CliErrors that
 * say what to do.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Agent } from "undici";
import { CliError, ExitCode } from "./errors.ts";

export interface ServerTarget {
  /** Base URL without a trailing slash. */
  readonly url: string;
  /** Path of a PEM CA certificate to trust in addition to the system's, if any. */
  readonly caCert: string | undefined;
}

export interface ServerTargetInput {
  readonly server?: string | undefined;
  readonly caCert?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

/** Resolves the server and CA from flags, environment and ./.openpal/server.json. */
export function resolveServerTarget(input: ServerTargetInput = {}): ServerTarget {
  const env = input.env ?? process.env;
  const serverJsonPath = path.join(input.cwd ?? process.cwd(), ".openpal", "server.json");
  let fromFile: { url?: unknown; caCert?: unknown } = {};
  if (existsSync(serverJsonPath)) {
    try {
      fromFile = JSON.parse(readFileSync(serverJsonPath, "utf8")) as typeof fromFile;
    } catch {
      throw new CliError(`${serverJsonPath} is not valid JSON; restart \`openpal serve\` to rewrite it, or pass --server URL.`, ExitCode.usage);
    }
  }
  const url = input.server ?? env.OPENPAL_SERVER ?? (typeof fromFile.url === "string" ? fromFile.url : undefined);
  if (!url) {
    throw new CliError("no server to talk to: pass --server https://host:port, set OPENPAL_SERVER, or run the command where `openpal serve` wrote .openpal/server.json.", ExitCode.usage);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--server "${url}" is not a URL; use e.g. https://127.0.0.1:8443.`, ExitCode.usage);
  }
  if (parsed.protocol !== "https:") throw new CliError(`--server must be an https:// URL (tokens never travel over plain HTTP); got ${url}.`, ExitCode.usage);
  const caCert = input.caCert ?? (input.server === undefined && env.OPENPAL_SERVER === undefined && typeof fromFile.caCert === "string" ? fromFile.caCert : undefined);
  if (caCert !== undefined && !existsSync(caCert)) {
    throw new CliError(`CA certificate ${caCert} does not exist; pass --ca-cert with the server's ca.crt (in its data dir, tls/ca.crt).`, ExitCode.usage);
  }
  return { url: parsed.origin + parsed.pathname.replace(/\/+$/, ""), caCert };
}

export type HttpFetch = (pathOrUrl: string, init?: RequestInit) => Promise<Response>;

/** A fetch bound to a server: relative paths are resolved against it, its CA is trusted. */
export function serverFetch(target: ServerTarget): HttpFetch {
  // undici is loaded on the first request, not when the CLI starts.
  let agent: Promise<Agent | undefined> | undefined;
  const caCert = target.caCert;
  return async (pathOrUrl, init) => {
    agent ??= caCert ? import("undici").then(({ Agent }) => new Agent({ connect: { ca: readFileSync(caCert, "utf8") } })) : Promise.resolve(undefined);
    const dispatcher = await agent;
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${target.url}${pathOrUrl.startsWith("/") ? "" : "/"}${pathOrUrl}`;
    try {
      return await fetch(url, { ...init, ...(dispatcher ? { dispatcher } : {}) } as RequestInit);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const code = cause?.code ?? "";
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
        throw new CliError(`cannot trust ${target.url}'s certificate (${code}): pass --ca-cert <data-dir>/tls/ca.crt or set NODE_EXTRA_CA_CERTS.`, ExitCode.unreachable);
      }
      throw new CliError(`cannot reach ${target.url} (${code || cause?.message || (error as Error).message}): is \`openpal serve\` running? Check --server.`, ExitCode.unreachable);
    }
  };
}

/** Form POST returning parsed JSON (OAuth endpoints answer JSON on success and on error). */
export async function postForm(http: HttpFetch, pathOrUrl: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await http(pathOrUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form).toString() });
  let body: Record<string, unknown>;
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    throw new CliError(`${pathOrUrl} answered HTTP ${res.status} without JSON; is --server an OpenPAL server?`, ExitCode.failure);
  }
  return { status: res.status, body };
}
