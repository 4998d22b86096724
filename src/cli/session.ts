/**
 * The CLI's signed-in session: who is signed in, to which server, and their tokens. Kept in
 * `<config dir>/session.json` (config dir: OPENPAL_CONFIG_DIR, else ~/.openpal), mode 0600 in a
 * 0700 directory, because it holds a refresh token or a service principal's secret (as az CLI
 * keeps them). Nothing here ever prints a token or a secret.
 *
 * Other commands use `openSession()`:
 *
 * @example
 * const session = await openSession();
 * const res = await session.fetch("/providers/Microsoft.ManagementPartner/partners/?api-version=2018-02-01");
 * const token = await session.accessToken(customerTenantId);   // another tenant, same account
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CliError, ExitCode } from "./errors.ts";
import { postForm, resolveServerTarget, serverFetch, type HttpFetch, type ServerTarget } from "./http.ts";

export const ARM_SCOPE = "https://management.azure.com/.default";
/** The public client the CLI signs users in with (Azure CLI's well-known id; see docs/IDENTITY.md). */
export const CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
/** Tokens this close to expiry are renewed before use. */
const RENEW_MARGIN_MS = 5 * 60 * 1000;

export type StoredAccount =
  | { readonly type: "servicePrincipal"; readonly appId: string; readonly tenantId: string; readonly objectId: string; readonly secret: string }
  | { readonly type: "user"; readonly userPrincipalName: string; readonly name: string; readonly tenantId: string; readonly objectId: string; readonly homeTenantId: string; readonly clientId: string; refreshToken: string };

interface CachedToken {
  readonly accessToken: string;
  readonly expiresOn: number;
}

export interface SessionFile {
  readonly version: 1;
  readonly server: ServerTarget;
  account: StoredAccount;
  /** Access tokens by "<tenantId> <scope>". */
  tokens: Record<string, CachedToken>;
}

export function configDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.OPENPAL_CONFIG_DIR ?? path.join(os.homedir(), ".openpal");
}

function sessionPath(dir: string): string {
  return path.join(dir, "session.json");
}

export function readSessionFile(dir = configDir()): SessionFile | undefined {
  const file = sessionPath(dir);
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as SessionFile;
    return parsed.version === 1 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Writes atomically with mode 0600 (the file holds credentials). */
export function writeSessionFile(session: SessionFile, dir = configDir()): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = sessionPath(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(session, null, 2) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function deleteSessionFile(dir = configDir()): boolean {
  const file = sessionPath(dir);
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}

/** An OAuth error body as one line for the user (the AADSTS line, without trace ids). */
export function describeOAuthError(body: Record<string, unknown>): string {
  const description = typeof body.error_description === "string" ? (body.error_description.split(/\r?\n/)[0] ?? "") : "";
  return description || String(body.error ?? "unknown error");
}

/**
 * The message when a token cannot be renewed: the server's one line, ended by exactly one period
 * (Entra's lines already end with one; appending another gave "refresh token.. Run").
 */
export function renewalFailure(tenantId: string, body: Record<string, unknown>): string {
  return `cannot get a token for tenant ${tenantId}: ${describeOAuthError(body).replace(/[.\s]+$/, "")}. Run \`openpal login\` again if the account changed.`;
}

function claimsOf(jwt: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** A token response turned into what the session keeps. */
export function cachedFrom(body: Record<string, unknown>, now = Date.now()): CachedToken {
  const accessToken = String(body.access_token ?? "");
  const expiresIn = Number(body.expires_in ?? 0);
  return { accessToken, expiresOn: now + expiresIn * 1000 };
}

/** The account a token response signs in (for `openpal login`). */
export function accountFromUserTokens(body: Record<string, unknown>, clientId: string): StoredAccount {
  const claims = claimsOf(String(body.access_token ?? ""));
  return {
    type: "user",
    userPrincipalName: String(claims.upn ?? claims.preferred_username ?? ""),
    name: String(claims.name ?? ""),
    tenantId: String(claims.tid ?? ""),
    objectId: String(claims.oid ?? ""),
    homeTenantId: String(claims.home_tid ?? claims.tid ?? ""),
    clientId,
    refreshToken: String(body.refresh_token ?? ""),
  };
}

export function accountFromAppToken(body: Record<string, unknown>, appId: string, secret: string): StoredAccount {
  const claims = claimsOf(String(body.access_token ?? ""));
  return { type: "servicePrincipal", appId, tenantId: String(claims.tid ?? ""), objectId: String(claims.oid ?? ""), secret };
}

export interface Session {
  readonly server: ServerTarget;
  /** The signed-in account, without credentials. */
  readonly account: AccountSummary;
  /**
   * An access token for `scope` in `tenantId` (default: the sign-in tenant), from the cache or
   * renewed: a service principal asks again with its stored secret (in any tenant where its app
   * has a service principal); a user redeems the refresh token (home, guest or delegated tenant).
   */
  accessToken(tenantId?: string, scope?: string): Promise<string>;
  /** fetch against the server with the bearer token of the sign-in tenant and its CA trusted. */
  fetch(pathOrUrl: string, init?: RequestInit & { tenantId?: string; scope?: string }): Promise<Response>;
}

export interface AccountSummary {
  readonly type: "user" | "servicePrincipal";
  readonly name: string;
  readonly tenantId: string;
  readonly objectId: string;
  readonly homeTenantId?: string;
}

export function summarize(account: StoredAccount): AccountSummary {
  return account.type === "user"
    ? { type: "user", name: account.userPrincipalName, tenantId: account.tenantId, objectId: account.objectId, homeTenantId: account.homeTenantId }
    : { type: "servicePrincipal", name: account.appId, tenantId: account.tenantId, objectId: account.objectId };
}

export interface OpenSessionOptions {
  readonly configDir?: string;
  /** Overrides the stored server (e.g. a --server flag). */
  readonly server?: string;
  readonly caCert?: string;
  readonly now?: () => number;
}

/** Opens the signed-in session, or fails with "not signed in" naming the command to run. */
export async function openSession(opts: OpenSessionOptions = {}): Promise<Session> {
  const dir = opts.configDir ?? configDir();
  const file = readSessionFile(dir);
  if (!file) {
    throw new CliError("not signed in: run `openpal login --tenant <tenant>` (or `openpal login --service-principal -u <appId> -p <secret> --tenant <tenant>`).", ExitCode.notSignedIn);
  }
  const server = opts.server ? resolveServerTarget({ server: opts.server, caCert: opts.caCert }) : file.server;
  const http = serverFetch(server);
  const now = opts.now ?? Date.now;
  const save = () => writeSessionFile(file, dir);

  const renew = async (tenantId: string, scope: string): Promise<CachedToken> => {
    const account = file.account;
    const endpoint = `/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
    const r = account.type === "servicePrincipal"
      ? await postForm(http, endpoint, { grant_type: "client_credentials", client_id: account.appId, client_secret: account.secret, scope })
      : await postForm(http, endpoint, { grant_type: "refresh_token", client_id: account.clientId, refresh_token: account.refreshToken, scope: `${scope} offline_access`, client_info: "1" });
    if (r.status !== 200) {
      throw new CliError(renewalFailure(tenantId, r.body), ExitCode.notSignedIn);
    }
    // Refresh tokens rotate on use: keep the new one before anything else can fail.
    if (account.type === "user" && typeof r.body.refresh_token === "string") account.refreshToken = r.body.refresh_token;
    const cached = cachedFrom(r.body, now());
    file.tokens[`${tenantId} ${scope}`] = cached;
    save();
    return cached;
  };

  const accessToken = async (tenantId: string = file.account.tenantId, scope: string = ARM_SCOPE): Promise<string> => {
    const cached = file.tokens[`${tenantId} ${scope}`];
    if (cached && cached.expiresOn - RENEW_MARGIN_MS > now()) return cached.accessToken;
    return (await renew(tenantId, scope)).accessToken;
  };

  return {
    server,
    account: summarize(file.account),
    accessToken,
    async fetch(pathOrUrl, init = {}) {
      const { tenantId, scope, ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set("authorization", `Bearer ${await accessToken(tenantId, scope)}`);
      return http(pathOrUrl, { ...rest, headers });
    },
  };
}

/** Token expiry of the sign-in tenant's ARM token, for `account show` (no token is printed). */
export function tokenExpiry(dir = configDir()): string | null {
  const file = readSessionFile(dir);
  if (!file) return null;
  const cached = file.tokens[`${file.account.tenantId} ${ARM_SCOPE}`];
  return cached ? new Date(cached.expiresOn).toISOString() : null;
}

export type { HttpFetch, ServerTarget };
