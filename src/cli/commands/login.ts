/**
 * `openpal login`: sign in to an OpenPAL server and keep the session for other commands.
 *   --service-principal -u APPID -p SECRET --tenant T    client credentials
 *   -u UPN -p PASSWORD [--tenant T]                       user with password (tenant: from the UPN)
 *   --tenant T                                            device code (default): open the URL, enter the code
 */
import { Command } from "commander";
import { CliError, ExitCode } from "../errors.ts";
import { postForm, resolveServerTarget, serverFetch, type HttpFetch } from "../http.ts";
import {
  ARM_SCOPE, CLI_CLIENT_ID, accountFromAppToken, accountFromUserTokens, cachedFrom, configDir, describeOAuthError, summarize, writeSessionFile, type SessionFile,
} from "../session.ts";

export interface LoginOptions {
  readonly servicePrincipal?: boolean;
  readonly username?: string;
  readonly password?: string;
  readonly tenant?: string;
  readonly server?: string;
  readonly caCert?: string;
  readonly configDir?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Device code polling waits with this (tests pass a short sleep). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

const USER_SCOPE = `${ARM_SCOPE} openid profile offline_access`;

function fail(what: string, body: Record<string, unknown>): never {
  throw new CliError(`${what}: ${describeOAuthError(body)}`, ExitCode.failure);
}

export async function login(opts: LoginOptions, io: Io = processIo): Promise<void> {
  const env = opts.env ?? process.env;
  const server = resolveServerTarget({ server: opts.server, caCert: opts.caCert, env });
  const http = serverFetch(server);
  let session: SessionFile;
  if (opts.servicePrincipal) {
    if (!opts.username || !opts.password || !opts.tenant) {
      throw new CliError("--service-principal needs -u <appId>, -p <client secret> and --tenant <tenant id or domain>.", ExitCode.usage);
    }
    const r = await postForm(http, `/${encodeURIComponent(opts.tenant)}/oauth2/v2.0/token`, { grant_type: "client_credentials", client_id: opts.username, client_secret: opts.password, scope: ARM_SCOPE });
    if (r.status !== 200) fail("sign-in failed", r.body);
    const account = accountFromAppToken(r.body, opts.username.toLowerCase(), opts.password);
    session = { version: 1, server, account, tokens: { [`${account.tenantId} ${ARM_SCOPE}`]: cachedFrom(r.body) } };
  } else {
    const body = opts.password !== undefined
      ? await passwordSignIn(http, opts)
      : await deviceCodeSignIn(http, opts, io);
    const account = accountFromUserTokens(body, CLI_CLIENT_ID);
    session = { version: 1, server, account, tokens: { [`${account.tenantId} ${ARM_SCOPE}`]: cachedFrom(body) } };
  }
  writeSessionFile(session, opts.configDir ?? configDir(env));
  io.out(JSON.stringify({ server: server.url, ...summarize(session.account) }, null, 2) + "\n");
}

async function passwordSignIn(http: HttpFetch, opts: LoginOptions): Promise<Record<string, unknown>> {
  if (!opts.username) throw new CliError("-p needs -u <user principal name>; or leave both out to sign in with a device code.", ExitCode.usage);
  const tenant = opts.tenant ?? opts.username.split("@")[1];
  if (!tenant) throw new CliError(`cannot tell the tenant from "${opts.username}"; pass --tenant <tenant id or domain>.`, ExitCode.usage);
  const r = await postForm(http, `/${encodeURIComponent(tenant)}/oauth2/v2.0/token`, {
    grant_type: "password", client_id: CLI_CLIENT_ID, username: opts.username, password: opts.password ?? "", scope: USER_SCOPE, client_info: "1",
  });
  if (r.status !== 200) fail("sign-in failed", r.body);
  return r.body;
}

async function deviceCodeSignIn(http: HttpFetch, opts: LoginOptions, io: Io): Promise<Record<string, unknown>> {
  if (!opts.tenant) throw new CliError("device code sign-in needs --tenant <tenant id or domain> (or sign in with -u and -p).", ExitCode.usage);
  const tenant = encodeURIComponent(opts.tenant);
  const dc = await postForm(http, `/${tenant}/oauth2/v2.0/devicecode`, { client_id: CLI_CLIENT_ID, scope: USER_SCOPE });
  if (dc.status !== 200) fail("cannot start device code sign-in", dc.body);
  io.err(`${String(dc.body.message)}\n`);
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let interval = Number(dc.body.interval ?? 5) * 1000;
  const deadline = Date.now() + Number(dc.body.expires_in ?? 900) * 1000;
  while (Date.now() < deadline) {
    await sleep(interval);
    const r = await postForm(http, `/${tenant}/oauth2/v2.0/token`, {
      grant_type: "urn:ietf:params:oauth:grant-type:device_code", client_id: CLI_CLIENT_ID, device_code: String(dc.body.device_code), client_info: "1",
    });
    if (r.status === 200) return r.body;
    if (r.body.error === "authorization_pending") continue;
    if (r.body.error === "slow_down") {
      interval += 5000;
      continue;
    }
    fail("sign-in failed", r.body);
  }
  throw new CliError("the device code expired before sign-in completed; run `openpal login` again.", ExitCode.failure);
}

export function loginCommand(): Command {
  return new Command("login")
    .description("Sign in to an OpenPAL server: device code by default, a user with -u/-p, or a service principal.")
    .option("--service-principal", "sign in as a service principal: -u is the application (client) id, -p its client secret")
    .option("-u, --username <name>", "user principal name, or the application id with --service-principal")
    .option("-p, --password <secret>", "password, or the client secret with --service-principal")
    .option("-t, --tenant <tenant>", "tenant id or domain to sign in to")
    .option("--server <url>", "server URL (default: OPENPAL_SERVER, else ./.openpal/server.json)")
    .option("--ca-cert <file>", "PEM CA certificate to trust (default: caCert of ./.openpal/server.json, or NODE_EXTRA_CA_CERTS)")
    .addHelpText("after", "\nExamples:\n  openpal login --tenant contoso.example\n  openpal login -u alice@contoso.example -p '…'\n  openpal login --service-principal -u <appId> -p <secret> --tenant <tenantId>\n\nThe session is kept in ~/.openpal/session.json (OPENPAL_CONFIG_DIR), readable only by you.")
    .action(async (o: { servicePrincipal?: boolean; username?: string; password?: string; tenant?: string; server?: string; caCert?: string }) => {
      await login(o);
    });
}
