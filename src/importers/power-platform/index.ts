/**
 * `openpal import powerplatform FILE…`: the inventories customers already have, into the store.
 *
 * Formats, recognised from the content (`--format` overrides):
 * - `powerapps-json`: what the Power Apps admin list returns (`{"value": [...]}` of API items with
 *   `name`, `properties.owner`, `properties.createdBy`, `properties.environment.name`) or what
 *   `Get-AdminPowerApp | ConvertTo-Json` writes (`AppName`, `DisplayName`, `Owner`, `EnvironmentName`, `CreatedTime`);
 * - `flows-json`: the Flow admin list (`properties.creator.objectId`) or `Get-AdminFlow | ConvertTo-Json`
 *   (`FlowName`, `EnvironmentName`, `CreatedBy.objectId`, `Enabled`);
 * - `powerbi-datasets-json`: `GetDatasetsAsAdmin` (`{"value": [{id, name, configuredBy, createdDate, workspaceId}]}`);
 * - CoE Starter Kit inventory tables exported as CSV (Dataverse column names): `coe-environments`
 *   (admin_environmentid, admin_displayname, admin_environmentsku, admin_environmentcreatedon),
 *   `coe-makers` (admin_makerid, admin_userprincipalname), `coe-apps` (admin_appid, admin_displayname,
 *   admin_appcreatedon, _admin_appowner_value, _admin_appenvironment_value),
 *   `coe-flows` (admin_flowid, admin_displayname, admin_flowcreatedon, _admin_flowcreator_value,
 *   _admin_flowenvironment_value, admin_flowstate), `coe-userroles` (admin_resourceid,
 *   admin_principalobjectid, admin_rolename: CanEdit rows are co-owners).
 *
 * Idempotent: a resource already as the file says is "unchanged"; a different current owner is an
 * owner change at the import instant ("changed", audited). Rows whose environment or principal the
 * store does not know are skipped with the reason, never guessed. One transaction for everything.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import type { Aggregates, Store } from "../../store/index.ts";
import { ENVIRONMENT_TYPES, planCoOwnerAdd, planOwnerChange, type EnvironmentType, type ResourceKind } from "../../domain/power-platform/index.ts";
import { isGuid } from "../../domain/ids.ts";

export const PP_IMPORT_FORMATS = ["powerapps-json", "flows-json", "powerbi-datasets-json", "coe-environments", "coe-makers", "coe-apps", "coe-flows", "coe-userroles"] as const;
export type PpImportFormat = (typeof PP_IMPORT_FORMATS)[number];

export interface PpImportReport {
  readonly files: { readonly file: string; readonly format: PpImportFormat }[];
  readonly created: number;
  readonly changed: number;
  readonly unchanged: number;
  /** Reason → count. */
  readonly skipped: Readonly<Record<string, number>>;
}

type Row = Record<string, unknown>;
const lc = (s: string) => s.toLowerCase();
const str = (v: unknown): string | undefined => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined);
const dig = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((x, k) => (x && typeof x === "object" ? (x as Row)[k] : undefined), o);
const time = (v: unknown): number | undefined => {
  const s = str(v);
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
};

/** Recognises the format of a file from its header (CSV) or its items' keys (JSON). */
export function detectPpFormat(text: string): PpImportFormat | undefined {
  const head = text.trimStart();
  if (head.startsWith("{") || head.startsWith("[")) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return undefined;
    }
    const items = jsonItems(doc);
    const first = items[0] ?? {};
    if ("AppName" in first || dig(first, "appType") !== undefined || String(dig(first, "type") ?? "").includes("PowerApps")) return "powerapps-json";
    if ("FlowName" in first || dig(first, "properties", "creator") !== undefined) return "flows-json";
    if ("configuredBy" in first || "isRefreshable" in first) return "powerbi-datasets-json";
    return undefined;
  }
  const header = (head.split(/\r?\n/, 1)[0] ?? "").toLowerCase();
  if (header.includes("admin_environmentid")) return "coe-environments";
  if (header.includes("admin_makerid")) return "coe-makers";
  if (header.includes("admin_appid")) return "coe-apps";
  if (header.includes("admin_flowid")) return "coe-flows";
  if (header.includes("admin_rolename")) return "coe-userroles";
  return undefined;
}

function jsonItems(doc: unknown): Row[] {
  const list = Array.isArray(doc) ? doc : Array.isArray(dig(doc, "value")) ? (dig(doc, "value") as unknown[]) : doc && typeof doc === "object" ? [doc] : [];
  return list.filter((x): x is Row => typeof x === "object" && x !== null);
}

class Importer {
  created = 0;
  changed = 0;
  unchanged = 0;
  readonly skipped: Record<string, number> = {};
  /** Environment id → tenant, from the store (and from environments this import creates). */
  readonly envTenant = new Map<string, string>();
  /** Tenant → its Default environment. */
  readonly defaults = new Map<string, string>();
  constructor(readonly tx: Aggregates, readonly now: number, readonly tenantHint: string | undefined) {}

  skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  async load(): Promise<void> {
    for (const e of await this.tx.powerPlatform.listEnvironments()) {
      this.envTenant.set(e.id, e.tenantId);
      if (e.type === "Default") this.defaults.set(e.tenantId, e.id);
    }
  }

  tenantOfEnvironment(envName: string | undefined): { tenantId: string; envId: string } | undefined {
    if (!envName) return undefined;
    const name = lc(envName);
    const m = /^default-([0-9a-f-]{36})$/.exec(name);
    if (m?.[1]) {
      const id = this.defaults.get(m[1]);
      return id ? { tenantId: m[1], envId: id } : undefined;
    }
    const tid = this.envTenant.get(name);
    return tid ? { tenantId: tid, envId: name } : undefined;
  }

  async principal(tenantId: string, idOrUpn: string | undefined): Promise<string | undefined> {
    if (!idOrUpn) return undefined;
    if (isGuid(idOrUpn)) return (await this.tx.directory.findPrincipal(tenantId, lc(idOrUpn))) ? lc(idOrUpn) : undefined;
    return (await this.tx.directory.findUserByUpn(tenantId, idOrUpn))?.id;
  }

  /** Creates or updates a resource and brings its current owner in line with the file. */
  async resource(r: { tenantId: string; id: string; kind: ResourceKind; envId: string | null; workspaceId: string | null; name: string; createdBy: string; createdAt: number; owner?: string; details?: Row }): Promise<void> {
    const pp = this.tx.powerPlatform;
    const existing = await pp.getResource(r.tenantId, r.id);
    const outcome = await pp.putResource({
      tenantId: r.tenantId, id: r.id, kind: r.kind, environmentId: r.envId, workspaceId: r.workspaceId, displayName: r.name, createdBy: existing?.createdBy ?? r.createdBy,
      createdAt: existing?.createdAt ?? r.createdAt, modifiedAt: existing?.modifiedAt ?? r.createdAt, deletedAt: existing?.deletedAt ?? null, details: { ...(existing?.details ?? {}), ...(r.details ?? {}) },
    });
    const rels = await pp.relationships(r.tenantId, r.id);
    const relation = r.kind === "dataset" ? "publisher" : "owner";
    let ownerChanged = false;
    if (!rels.some((x) => x.relation === relation)) {
      await pp.insertRelationship(r.tenantId, { resourceId: r.id, principalId: r.createdBy, relation, basis: r.kind === "dataset" ? "published" : "created", from: r.createdAt, to: null });
      if (r.owner && r.owner !== r.createdBy && r.kind !== "dataset") {
        const plan = planOwnerChange(r.kind, r.id, await pp.relationships(r.tenantId, r.id), r.owner, this.now, "assigned");
        if (plan.kind === "change") await pp.applyPlan(r.tenantId, plan, null);
      }
    } else if (r.owner && r.kind !== "dataset") {
      const plan = planOwnerChange(r.kind, r.id, rels, r.owner, this.now, "assigned");
      if (plan.kind === "change") {
        await pp.applyPlan(r.tenantId, plan, null);
        ownerChanged = true;
      }
    }
    if (outcome === "created") this.created++;
    else if (outcome === "updated" || ownerChanged) this.changed++;
    else this.unchanged++;
  }
}

async function importJson(imp: Importer, format: PpImportFormat, items: Row[]): Promise<void> {
  for (const it of items) {
    if (format === "powerbi-datasets-json") {
      const tenantId = imp.tenantHint;
      const id = str(it.id);
      if (!tenantId) { imp.skip("dataset without a tenant: pass --tenant"); continue; }
      if (!id || !isGuid(id)) { imp.skip("dataset without an id"); continue; }
      const ws = str(it.workspaceId);
      if (!ws || !(await imp.tx.powerPlatform.getWorkspace(tenantId, ws))) { imp.skip("unknown workspace (declare it in a world file)"); continue; }
      const publisher = await imp.principal(tenantId, str(it.configuredBy));
      if (!publisher) { imp.skip("unknown user (configuredBy does not resolve in the tenant)"); continue; }
      await imp.resource({ tenantId, id: lc(id), kind: "dataset", envId: null, workspaceId: lc(ws), name: str(it.name) ?? id, createdBy: publisher, createdAt: time(it.createdDate) ?? imp.now });
      continue;
    }
    const isApps = format === "powerapps-json";
    const id = str(isApps ? it.AppName ?? it.name : it.FlowName ?? it.name);
    const envName = str(it.EnvironmentName ?? dig(it, "properties", "environment", "name"));
    const where = imp.tenantOfEnvironment(envName);
    if (!id || !isGuid(id)) { imp.skip(`${isApps ? "app" : "flow"} without an id`); continue; }
    if (!where) { imp.skip("unknown environment (declare it in a world file or import the CoE environments table first)"); continue; }
    const internal = (it.Internal ?? it) as Row;
    const creatorRaw = isApps
      ? str(dig(internal, "properties", "createdBy", "id") ?? dig(it, "Owner", "id"))
      : str(dig(it, "CreatedBy", "objectId") ?? dig(internal, "properties", "creator", "objectId"));
    const creator = await imp.principal(where.tenantId, creatorRaw);
    if (!creator) { imp.skip("unknown user (creator is not a principal of the tenant)"); continue; }
    const owner = isApps ? await imp.principal(where.tenantId, str(dig(it, "Owner", "id") ?? dig(internal, "properties", "owner", "id"))) : undefined;
    const name = str(it.DisplayName ?? dig(internal, "properties", "displayName")) ?? id;
    const createdAt = time(it.CreatedTime ?? dig(internal, "properties", "createdTime")) ?? imp.now;
    const state = isApps ? undefined : (it.Enabled === false ? "Stopped" : str(dig(internal, "properties", "state")) ?? "Started");
    await imp.resource({ tenantId: where.tenantId, id: lc(id), kind: isApps ? "canvasApp" : "flow", envId: where.envId, workspaceId: null, name, createdBy: creator, createdAt, ...(owner ? { owner } : {}), ...(state ? { details: { state } } : {}) });
  }
}

async function importCoe(imp: Importer, format: PpImportFormat, rows: Row[]): Promise<void> {
  const pp = imp.tx.powerPlatform;
  for (const r of rows) {
    const get = (k: string) => str(r[k]);
    if (format === "coe-environments") {
      const id = get("admin_environmentid");
      const tenantId = imp.tenantHint;
      if (!id) { imp.skip("environment without admin_environmentid"); continue; }
      if (!tenantId) { imp.skip("environment without a tenant: pass --tenant"); continue; }
      const sku = ENVIRONMENT_TYPES.find((t) => lc(t) === lc(get("admin_environmentsku") ?? "")) ?? "Production";
      const existing = await pp.getEnvironment(tenantId, id);
      const outcome = await pp.putEnvironment({ tenantId: lc(tenantId), id: lc(id), displayName: get("admin_displayname") ?? id, type: sku as EnvironmentType, location: existing?.location ?? "unitedstates", createdBy: existing?.createdBy ?? null, createdAt: time(r.admin_environmentcreatedon) ?? existing?.createdAt ?? 0, deletedAt: null });
      imp.envTenant.set(lc(id), lc(tenantId));
      if (outcome === "created") imp.created++;
      else if (outcome === "updated") imp.changed++;
      else imp.unchanged++;
    } else if (format === "coe-makers") {
      const id = get("admin_makerid");
      const tenantId = imp.tenantHint;
      if (!id || !tenantId || !(await imp.principal(tenantId, id))) imp.skip("unknown user (maker is not a principal of the tenant; OpenPAL does not create users from inventories)");
      else imp.unchanged++;
    } else if (format === "coe-apps" || format === "coe-flows") {
      const isApp = format === "coe-apps";
      const id = get(isApp ? "admin_appid" : "admin_flowid");
      const where = imp.tenantOfEnvironment(get(isApp ? "_admin_appenvironment_value" : "_admin_flowenvironment_value"));
      if (!id || !isGuid(id)) { imp.skip(`${isApp ? "app" : "flow"} without an id`); continue; }
      if (!where) { imp.skip("unknown environment (declare it in a world file or import the CoE environments table first)"); continue; }
      const person = await imp.principal(where.tenantId, get(isApp ? "_admin_appowner_value" : "_admin_flowcreator_value"));
      if (!person) { imp.skip("unknown user (owner or creator is not a principal of the tenant)"); continue; }
      const state = isApp ? undefined : get("admin_flowstate");
      await imp.resource({
        tenantId: where.tenantId, id: lc(id), kind: isApp ? "canvasApp" : "flow", envId: where.envId, workspaceId: null, name: get("admin_displayname") ?? id, createdBy: person,
        createdAt: time(r[isApp ? "admin_appcreatedon" : "admin_flowcreatedon"]) ?? imp.now, ...(isApp ? { owner: person } : {}), ...(state ? { details: { state } } : {}),
      });
    } else if (format === "coe-userroles") {
      const resourceId = get("admin_resourceid");
      const role = get("admin_rolename");
      const tenantId = imp.tenantHint;
      if (role !== "CanEdit") { imp.skip(role === "Owner" ? "owner rows (the apps and flows tables carry the owner)" : "view-only role (never counts)"); continue; }
      if (!tenantId || !resourceId) { imp.skip("role without a tenant (pass --tenant) or resource"); continue; }
      const resource = await pp.getResource(tenantId, resourceId);
      if (!resource) { imp.skip("unknown app or flow (import its table first)"); continue; }
      const who = await imp.principal(tenantId, get("admin_principalobjectid"));
      if (!who) { imp.skip("unknown user (principal is not in the tenant)"); continue; }
      const plan = planCoOwnerAdd(resource.kind, resource.id, await pp.relationships(tenantId, resource.id), who, imp.now);
      if (plan.kind === "change") {
        await pp.applyPlan(tenantId, plan, null);
        imp.changed++;
      } else if (plan.kind === "unchanged") imp.unchanged++;
      else imp.skip(plan.reason);
    }
  }
}

/** Imports the files in one transaction (`dryRun` rolls it back) and reports what happened. */
export async function importPowerPlatform(store: Store, files: readonly string[], opts: { now: number; tenantId?: string; format?: PpImportFormat; dryRun?: boolean }): Promise<PpImportReport> {
  const inputs = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new Error(`cannot read ${file}: ${(error as Error).message}`);
    }
    const format = opts.format ?? detectPpFormat(text);
    if (!format) throw new Error(`${path.basename(file)}: format not recognised; pass --format (one of ${PP_IMPORT_FORMATS.join(", ")})`);
    return { file, text, format };
  });
  // Environments first, then makers, resources, roles: later tables refer to earlier ones.
  const order: PpImportFormat[] = ["coe-environments", "coe-makers", "powerapps-json", "flows-json", "coe-apps", "coe-flows", "powerbi-datasets-json", "coe-userroles"];
  inputs.sort((a, b) => order.indexOf(a.format) - order.indexOf(b.format));
  let report: PpImportReport | undefined;
  class Rollback extends Error {}
  try {
    await store.transaction(async (tx) => {
      const imp = new Importer(tx, opts.now, opts.tenantId ? lc(opts.tenantId) : undefined);
      await imp.load();
      for (const input of inputs) {
        if (input.format.startsWith("coe-")) await importCoe(imp, input.format, parseCsv(input.text.replace(/^\uFEFF/, ""), { columns: true, skip_empty_lines: true, trim: true }) as Row[]);
        else await importJson(imp, input.format, jsonItems(JSON.parse(input.text)));
      }
      report = { files: inputs.map((i) => ({ file: i.file, format: i.format })), created: imp.created, changed: imp.changed, unchanged: imp.unchanged, skipped: imp.skipped };
      await tx.audit.append({ at: opts.now, tenantId: opts.tenantId ? lc(opts.tenantId) : null, actorTenantId: null, actorObjectId: null, action: "powerPlatform.import", target: "/powerplatform/import", requestId: null, details: { files: inputs.length, created: imp.created, changed: imp.changed } });
      if (opts.dryRun) throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
  return report as PpImportReport;
}

export function formatPpImportReport(r: PpImportReport, dryRun = false): string {
  const lines = r.files.map((f) => `read ${f.file} (${f.format})`);
  lines.push(`${dryRun ? "dry run, nothing written: would have " : ""}created ${r.created}, changed ${r.changed}, unchanged ${r.unchanged}`);
  for (const [why, n] of Object.entries(r.skipped)) lines.push(`  skipped ${n}: ${why}`);
  return lines.join("\n");
}
