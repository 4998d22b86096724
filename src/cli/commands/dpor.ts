/**
 * `openpal dpor show|set|remove --subscription S [--partner-id P]` and `openpal dpor validate
 * --partner-id P`: the partner of record (DPOR) of an EA subscription, through the server's
 * Microsoft.OpenPAL endpoints (docs/API.md) with the signed-in session. Output: a flat object
 * (json) or a table; exit codes from ExitCode (403 → forbidden, 400 → usage, 404 → notFound).
 */
import { Command, Option } from "commander";
import { CliError, ExitCode } from "../errors.ts";
import { cliErrorFrom, formatTable, type ArmSession } from "./managementpartner.ts";

const API = "api-version=2026-01-01";
const dporPath = (subscriptionId: string) => `/subscriptions/${encodeURIComponent(subscriptionId)}/providers/Microsoft.OpenPAL/partnerOfRecord/default?${API}`;
const VALIDATE = `/providers/Microsoft.OpenPAL/validatePartnerId?${API}`;

/** The partner of record as the CLI prints it. */
export interface FlatPartnerOfRecord {
  readonly subscriptionId: string | null;
  readonly subscriptionName: string | null;
  readonly partnerId: string | null;
  readonly partnerName: string | null;
  readonly since: string | null;
  readonly history: readonly { partnerId: string; partnerName: string | null; from: string | null; to: string | null; endReason: string | null }[];
}

export interface PartnerIdCheck {
  readonly partnerId: string;
  readonly valid: boolean;
  readonly partnerName: string | null;
  readonly reason: string | null;
}

async function send(session: ArmSession, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  let res: Response;
  try {
    res = await session.fetch(path, { method, headers: { "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot reach the server: ${(error as Error).message}. Is it running (openpal serve)?`, ExitCode.unreachable);
  }
  return { status: res.status, text: await res.text() };
}

function flatten(text: string): FlatPartnerOfRecord {
  const p = ((JSON.parse(text) as { properties?: Record<string, unknown> }).properties ?? {}) as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    subscriptionId: s(p.subscriptionId), subscriptionName: s(p.subscriptionName), partnerId: s(p.partnerId), partnerName: s(p.partnerName), since: s(p.since),
    history: Array.isArray(p.history) ? (p.history as FlatPartnerOfRecord["history"]) : [],
  };
}

export type DporAction = "show" | "set" | "remove";

/** One operation; returns the partner of record after it (show, set, remove). */
export async function runDporAction(session: ArmSession, action: DporAction, subscriptionId: string | undefined, partnerId?: string): Promise<FlatPartnerOfRecord> {
  if (!subscriptionId) throw new CliError(`--subscription is required, e.g. --subscription 11111111-0000-4000-8000-000000000001.`, ExitCode.usage);
  if (action === "set" && !partnerId) throw new CliError("--partner-id is required for set, e.g. --partner-id 4000001 (check it first: openpal dpor validate --partner-id 4000001).", ExitCode.usage);
  const path = dporPath(subscriptionId);
  if (action !== "show") {
    const r = action === "set" ? await send(session, "PUT", path, { properties: { partnerId } }) : await send(session, "DELETE", path);
    if (r.status >= 300) throw cliErrorFrom(r.status, r.text);
    if (action === "set") return flatten(r.text);
  }
  const r = await send(session, "GET", path);
  if (r.status !== 200) throw cliErrorFrom(r.status, r.text);
  return flatten(r.text);
}

/** "Validate ID": the server answers 200 either way; `valid` says whether the id can be set (the command exits 2 when not). */
export async function validatePartnerId(session: ArmSession, partnerId: string): Promise<PartnerIdCheck> {
  const r = await send(session, "POST", VALIDATE, { partnerId });
  if (r.status !== 200) throw cliErrorFrom(r.status, r.text);
  return JSON.parse(r.text) as PartnerIdCheck;
}

const COLUMNS = ["subscriptionId", "subscriptionName", "partnerId", "partnerName", "since"];

/**
 * What `dpor set` did, in words: the first assignment *sets* the partner of record, a different
 * one *changes* it (naming the previous one), the same one leaves it unchanged.
 */
export function describeDporSet(before: string | null | undefined, after: FlatPartnerOfRecord): string {
  const who = `${after.partnerName ? `${after.partnerName} (${after.partnerId ?? ""})` : (after.partnerId ?? "")}`;
  const where = after.subscriptionName ?? after.subscriptionId ?? "the subscription";
  if (before === undefined) return `partner of record: ${who} is the partner of record of ${where}.`;
  if (before === null) return `partner of record set: ${who} is now the partner of record of ${where}.`;
  if (before === after.partnerId) return `partner of record unchanged: ${who} already was the partner of record of ${where}.`;
  return `partner of record changed from ${before} to ${who} on ${where}.`;
}

async function defaultSession(): Promise<ArmSession> {
  const { openSession } = await import("../session.ts");
  return openSession();
}

export function dporCommand(openSession: () => Promise<ArmSession> = defaultSession): Command {
  const cmd = new Command("dpor").description("Digital Partner of Record of an EA subscription: show, set (EA account owner only), remove, validate a Partner ID.");
  const output = () => new Option("-o, --output <format>", "output format").choices(["json", "table"]).default("table");
  const print = (flat: FlatPartnerOfRecord, format: string) => {
    process.stdout.write(format === "json" ? JSON.stringify(flat, null, 2) + "\n" : formatTable([flat as unknown as Record<string, unknown>], COLUMNS));
  };
  for (const [action, description] of [
    ["show", "Show the partner of record in effect and its history."],
    ["set", "Set or change the partner of record (the subscription's EA account owner only)."],
    ["remove", "Remove the partner of record (the subscription's EA account owner only)."],
  ] as const) {
    cmd.command(action).description(description)
      .option("--subscription <id>", "subscription id")
      .option("--partner-id <id>", "Partner ID (an active Associated/location id), for set")
      .addOption(output())
      .action(async (opts: { subscription?: string; partnerId?: string; output: string }) => {
        const session = await openSession();
        // The partner of record before a set, for "set" vs "changed"; the set itself reports any error.
        const before = action === "set" && opts.subscription && opts.partnerId
          ? await runDporAction(session, "show", opts.subscription).then((p) => p.partnerId, () => undefined)
          : undefined;
        const after = await runDporAction(session, action, opts.subscription, opts.partnerId);
        print(after, opts.output);
        if (action === "set") process.stderr.write(`${describeDporSet(before, after)}\n`);
      });
  }
  cmd.command("validate").description("Check a Partner ID and show the partner's name, as the portal's \"Validate ID\" does.")
    .requiredOption("--partner-id <id>", "Partner ID, e.g. 4000001")
    .addOption(output())
    .action(async (opts: { partnerId: string; output: string }) => {
      const check = await validatePartnerId(await openSession(), opts.partnerId);
      process.stdout.write(opts.output === "json" ? JSON.stringify(check, null, 2) + "\n" : formatTable([check as unknown as Record<string, unknown>], ["partnerId", "valid", "partnerName", "reason"]));
      if (!check.valid) process.exitCode = ExitCode.usage;
    });
  return cmd;
}
