/** `openpal account show`: who is signed in, where, and until when the current token is valid. */
import { Command } from "commander";
import { CliError, ExitCode } from "../errors.ts";
import { configDir, readSessionFile, summarize, tokenExpiry } from "../session.ts";
import { processIo, type Io } from "./login.ts";

export function accountShow(opts: { configDir?: string } = {}, io: Io = processIo): void {
  const dir = opts.configDir ?? configDir();
  const file = readSessionFile(dir);
  if (!file) throw new CliError("not signed in: run `openpal login --tenant <tenant>`.", ExitCode.notSignedIn);
  const account = summarize(file.account);
  io.out(JSON.stringify({
    server: file.server.url,
    tenantId: account.tenantId,
    ...(account.homeTenantId && account.homeTenantId !== account.tenantId ? { homeTenantId: account.homeTenantId } : {}),
    [account.type === "user" ? "user" : "servicePrincipal"]: { name: account.name, objectId: account.objectId, type: account.type },
    tokenExpiresOn: tokenExpiry(dir),
  }, null, 2) + "\n");
}

export function accountCommand(): Command {
  const account = new Command("account").description("The signed-in account.");
  account.command("show")
    .description("Print the signed-in tenant, user or service principal, server and token expiry as JSON (never the token).")
    .action(() => accountShow());
  return account;
}
