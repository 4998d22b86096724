/**
 * `openpal managementpartner create|show|update|delete|link-all`, mirroring
 * `az managementpartner`: the same requests, az's flattened JSON output, and exit codes a script
 * can branch on (ExitCode). It talks to the server over HTTPS with the signed-in session.
 */
import { Command, Option } from "commander";
import { CliError, ExitCode } from "../errors.ts";
import { PARTNER_REGISTRATION_HINT } from "../../domain/partner-id.ts";

const PARTNERS = "/providers/Microsoft.ManagementPartner/partners";
const API = "api-version=2018-02-01";

/** What the command needs of the CLI session (src/cli/session.ts provides it). */
export interface ArmSession {
  readonly account: { readonly tenantId: string };
  fetch(pathOrUrl: string, init?: RequestInit & { tenantId?: string }): Promise<Response>;
}

/** az's flattened view of a partner resource, keys in az's (alphabetical) order. */
export interface FlatPartner {
  readonly createdTime: string | null;
  readonly etag: number | null;
  readonly id: string | null;
  readonly name: string | null;
  readonly objectId: string | null;
  readonly partnerId: string | null;
  readonly partnerName: string | null;
  readonly state: string | null;
  readonly tenantId: string | null;
  readonly type: string | null;
  readonly updatedTime: string | null;
  readonly version: number | null;
}

export function flatten(resource: Record<string, unknown>): FlatPartner {
  const p = (resource.properties ?? {}) as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === "string" ? v : null);
  const n = (v: unknown) => (typeof v === "number" ? v : null);
  return {
    createdTime: s(p.createdTime), etag: n(resource.etag), id: s(resource.id), name: s(resource.name), objectId: s(p.objectId),
    partnerId: s(p.partnerId), partnerName: s(p.partnerName), state: s(p.state), tenantId: s(p.tenantId), type: s(resource.type),
    updatedTime: s(p.updatedTime), version: n(p.version),
  };
}

/** A fixed-width text table, like az's `--output table`. */
export function formatTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line([...columns]), line(widths.map((w) => "-".repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join("\n") + "\n";
}

/** Turns an error answer into a CliError with an exit code and the server's message (which names the fix). */
export function cliErrorFrom(status: number, text: string): CliError {
  let message = `the server answered ${status}`;
  let code = "";
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? "";
    message = body.error?.message ?? message;
  } catch {
    // Not JSON (a proxy's page?): keep the status.
  }
  const exit = status === 401 ? ExitCode.notSignedIn : status === 403 ? ExitCode.forbidden : status === 404 ? ExitCode.notFound
    : status === 409 ? ExitCode.conflict : status === 400 ? ExitCode.usage : ExitCode.failure;
  // PAL answers an unregistered id with its recorded bare words; say how ids get into this instance.
  const hint = status === 401 ? " Sign in again: openpal login."
    : code === "PartnerIdInvalid" && message === "The Partner ID is not valid" ? `: it is not registered in this OpenPAL instance. ${PARTNER_REGISTRATION_HINT}` : "";
  return new CliError(`${code ? `(${code}) ` : ""}${message}${hint}`, exit);
}

async function send(session: ArmSession, method: string, partnerId: string | undefined, tenantId?: string): Promise<{ status: number; text: string }> {
  const path = partnerId === undefined ? `${PARTNERS}/?${API}` : `${PARTNERS}/${encodeURIComponent(partnerId)}?${API}`;
  let res: Response;
  try {
    res = await session.fetch(path, { method, headers: { "content-type": "application/json" }, ...(tenantId ? { tenantId } : {}) });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot reach the server: ${(error as Error).message}. Is it running (openpal serve)?`, ExitCode.unreachable);
  }
  return { status: res.status, text: await res.text() };
}

export type PartnerAction = "create" | "show" | "update" | "delete";

/** One az-style operation; returns the flattened resource (undefined for delete). */
export async function runPartnerAction(session: ArmSession, action: PartnerAction, partnerId: string | undefined): Promise<FlatPartner | undefined> {
  if (action !== "show" && !partnerId) throw new CliError(`--partner-id is required for ${action}, e.g. --partner-id 4000001.`, ExitCode.usage);
  const method = { create: "PUT", show: "GET", update: "PATCH", delete: "DELETE" }[action];
  const r = await send(session, method, partnerId);
  if (r.status !== 200) throw cliErrorFrom(r.status, r.text);
  return action === "delete" ? undefined : flatten(JSON.parse(r.text) as Record<string, unknown>);
}

export interface LinkAllRow {
  readonly tenantId: string;
  readonly tenant: string;
  /** linked | unchanged | different | relinked | failed */
  readonly result: string;
  readonly partnerId: string;
  readonly detail: string;
}

/**
 * For every tenant the signed-in principal can get a token for: link `partnerId` if nothing is
 * linked, leave it if already linked to it, report (or, with `overwrite`, PATCH) another id.
 * A failure in one tenant is reported in its row and does not stop the others.
 */
export async function linkAll(session: ArmSession, partnerId: string, overwrite: boolean): Promise<LinkAllRow[]> {
  const tenantsRes = await session.fetch("/tenants?api-version=2020-01-01");
  if (tenantsRes.status !== 200) throw cliErrorFrom(tenantsRes.status, await tenantsRes.text());
  const tenants = ((await tenantsRes.json()) as { value: { tenantId: string; displayName: string }[] }).value;
  const rows: LinkAllRow[] = [];
  for (const t of tenants) {
    const row = (result: string, linked: string, detail = "") => rows.push({ tenantId: t.tenantId, tenant: t.displayName, result, partnerId: linked, detail });
    try {
      const current = await send(session, "GET", undefined, t.tenantId);
      if (current.status === 404) {
        const put = await send(session, "PUT", partnerId, t.tenantId);
        if (put.status === 200) row("linked", partnerId);
        else row("failed", "", cliErrorFrom(put.status, put.text).message);
        continue;
      }
      if (current.status !== 200) { row("failed", "", cliErrorFrom(current.status, current.text).message); continue; }
      const linked = flatten(JSON.parse(current.text) as Record<string, unknown>).partnerId ?? "";
      if (linked === partnerId) { row("unchanged", linked); continue; }
      if (!overwrite) { row("different", linked, `linked to ${linked}; rerun with --overwrite to change it`); continue; }
      const patch = await send(session, "PATCH", partnerId, t.tenantId);
      if (patch.status === 200) row("relinked", partnerId, `was ${linked}`);
      else row("failed", linked, cliErrorFrom(patch.status, patch.text).message);
    } catch (error) {
      row("failed", "", (error as Error).message);
    }
  }
  return rows;
}

const FLAT_COLUMNS = ["partnerId", "partnerName", "tenantId", "objectId", "state", "version", "updatedTime"];

export function managementPartnerCommand(openSession: () => Promise<ArmSession> = defaultSession): Command {
  const cmd = new Command("managementpartner").description("Link your Partner ID to the signed-in user or service principal (Partner Admin Link), like az managementpartner.");
  const output = () => new Option("-o, --output <format>", "output format").choices(["json", "table"]).default("json");
  const print = (flat: FlatPartner | undefined, format: string) => {
    if (!flat) return;
    process.stdout.write(format === "table" ? formatTable([flat as unknown as Record<string, unknown>], FLAT_COLUMNS) : JSON.stringify(flat, null, 2) + "\n");
  };
  for (const [action, description] of [
    ["create", "Link a Partner ID (an Associated/location id) to the signed-in principal."],
    ["show", "Show the linked Partner ID (all of it when --partner-id is left out)."],
    ["update", "Change the linked Partner ID."],
    ["delete", "Remove the link."],
  ] as const) {
    cmd.command(action).description(description)
      .option("--partner-id <id>", "Partner ID (location id), e.g. 4000001")
      .addOption(output())
      .action(async (opts: { partnerId?: string; output: string }) => {
        print(await runPartnerAction(await openSession(), action, opts.partnerId), opts.output);
      });
  }
  cmd.command("link-all").description("Link a Partner ID in every tenant you can get a token for; report tenants linked to another id.")
    .requiredOption("--partner-id <id>", "Partner ID (location id), e.g. 4000001")
    .option("--overwrite", "change links to another id (PATCH) instead of only reporting them", false)
    .addOption(output().default("table"))
    .action(async (opts: { partnerId: string; overwrite: boolean; output: string }) => {
      const rows = await linkAll(await openSession(), opts.partnerId, opts.overwrite);
      process.stdout.write(opts.output === "json" ? JSON.stringify(rows, null, 2) + "\n" : formatTable(rows as unknown as Record<string, unknown>[], ["tenant", "tenantId", "result", "partnerId", "detail"]));
      if (rows.some((r) => r.result === "failed")) process.exitCode = ExitCode.failure;
    });
  return cmd;
}

async function defaultSession(): Promise<ArmSession> {
  const { openSession } = await import("../session.ts");
  return openSession();
}
