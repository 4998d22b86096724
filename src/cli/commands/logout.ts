/** `openpal logout`: forget the session (tokens, refresh token, stored secret). */
import { Command } from "commander";
import { configDir, deleteSessionFile } from "../session.ts";
import { processIo, type Io } from "./login.ts";

export function logout(opts: { configDir?: string } = {}, io: Io = processIo): void {
  const removed = deleteSessionFile(opts.configDir ?? configDir());
  io.err(removed ? "Signed out; the stored session was removed.\n" : "No session was stored; nothing to do.\n");
}

export function logoutCommand(): Command {
  return new Command("logout")
    .description("Sign out: remove the stored session (tokens and credentials) from ~/.openpal.")
    .action(() => logout());
}
