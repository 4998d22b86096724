/**
 * Parsing real RBAC exports into one neutral import plan (no store access here; see
 * rbac-apply.ts). Formats (docs/ACCESS.md, "Importers"):
 * - `az-cli`: `az role assignment list --all` JSON (flat objects);
 * - `arg`: Azure Resource Graph `authorizationresources` / `resourcecontainers` rows
 *   (a JSON array or `{ data: [...] }`);
 * - `azgovviz-csv`: AzGovViz RoleAssignments CSV (`;`; one row per scope an assignment reaches);
 * - `azgovviz-json`: the RoleAssignments-json folder (one Get-AzRoleAssignment object per file);
 * - `azgovviz-hierarchy`: AzGovViz Hierarchy .md (management group table);
 * - `azgovviz-resources`: AzGovViz ResourcesAll CSV;
 * - `lighthouse`: Lighthouse ARM deployment parameter files.
 *
 * Every row is validated here; a bad row becomes a reject naming file, row, field and the fix.
 */
import { createHash } from "node:crypto";
import { parse as parseCsv } from "csv-parse/sync";
import { tryParseScope } from "../domain/scope.ts";
import { roleGuidFrom } from "../domain/roles.ts";
import type { OfferType } from "../store/resources.ts";
import type { LighthouseAuthorization } from "../domain/access.ts";

export const RBAC_FORMATS = ["az-cli", "arg", "azgovviz-csv", "azgovviz-json", "azgovviz-hierarchy", "azgovviz-resources", "lighthouse"] as const;
export type RbacFormat = (typeof RBAC_FORMATS)[number];

/** Where an item came from, for the report. */
export interface Origin {
  readonly file: string;
  /** 1-based data row (CSV: after the header; JSON: array index + 1), or undefined for a whole file. */
  readonly row?: number;
}

export interface PlannedPrincipal { readonly tenantId: string; readonly objectId: string; readonly type: "User" | "ServicePrincipal" | "Group"; readonly displayName: string | null; readonly signInName: string | null; readonly guest: boolean; readonly origin: Origin }
export interface PlannedManagementGroup { readonly tenantId: string; readonly id: string; readonly displayName: string; readonly parentId: string | null; readonly origin: Origin }
export interface PlannedSubscription { readonly tenantId: string; readonly id: string; readonly displayName: string; readonly offerType: OfferType | null; readonly managementGroupId: string | null; readonly state: string | null; readonly origin: Origin }
export interface PlannedResourceGroup { readonly tenantId: string; readonly subscriptionId: string; readonly name: string; readonly location: string; readonly tags: Record<string, string>; readonly origin: Origin }
export interface PlannedResource { readonly tenantId: string; readonly id: string; readonly subscriptionId: string; readonly resourceGroup: string | null; readonly type: string; readonly name: string; readonly location: string; readonly tags: Record<string, string>; readonly origin: Origin }
export interface PlannedRoleDefinition { readonly tenantId: string; readonly id: string; readonly name: string; readonly type: "BuiltInRole" | "CustomRole"; readonly description: string; readonly assignableScopes: string[]; readonly origin: Origin }
export interface PlannedRoleAssignment {
  readonly tenantId: string | null; readonly id: string; readonly scope: string; readonly principalId: string; readonly principalType: string;
  readonly roleDefinitionId: string; readonly roleName: string | null; readonly roleType: "BuiltInRole" | "CustomRole" | null;
  readonly createdOn: number | null; readonly description: string | null; readonly condition: string | null; readonly conditionVersion: string | null;
  readonly origin: Origin;
}
export interface PlannedMembership { readonly tenantId: string; readonly groupId: string; readonly memberId: string; readonly origin: Origin }
export interface PlannedDelegation {
  readonly tenantId: string | null; readonly subscriptionId: string; readonly resourceGroups: string[]; readonly definitionId: string;
  readonly name: string; readonly description: string | null; readonly managedByTenantId: string; readonly authorizations: LighthouseAuthorization[];
  readonly origin: Origin;
}
export interface Reject { readonly origin: Origin; readonly field: string; readonly problem: string; readonly fix: string }
export interface Skip { readonly origin: Origin; readonly reason: string; readonly count: number }

export interface ImportPlan {
  readonly principals: PlannedPrincipal[];
  readonly managementGroups: PlannedManagementGroup[];
  readonly subscriptions: PlannedSubscription[];
  readonly resourceGroups: PlannedResourceGroup[];
  readonly resources: PlannedResource[];
  readonly roleDefinitions: PlannedRoleDefinition[];
  readonly roleAssignments: PlannedRoleAssignment[];
  readonly memberships: PlannedMembership[];
  readonly delegations: PlannedDelegation[];
  readonly rejects: Reject[];
  readonly skips: Skip[];
}

export function emptyPlan(): ImportPlan {
  return { principals: [], managementGroups: [], subscriptions: [], resourceGroups: [], resources: [], roleDefinitions: [], roleAssignments: [], memberships: [], delegations: [], rejects: [], skips: [] };
}

export interface ParseOptions {
  /** Tenant owning the scopes, when the file does not say (az CLI, AzGovViz JSON, Lighthouse). */
  readonly tenantId?: string;
  /** Lighthouse parameter files: the customer subscription the template is deployed to. */
  readonly subscriptionId?: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isGuid = (v: unknown): v is string => typeof v === "string" && GUID.test(v);
const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

/** Picks the format from the file name and content; undefined when nothing matches. */
export function detectFormat(name: string, content: string | readonly unknown[]): RbacFormat | undefined {
  if (typeof content !== "string") return "azgovviz-json";
  const head = content.slice(0, 4000);
  if (/\.md$/i.test(name) && /Management Group Hierarchy/i.test(head)) return "azgovviz-hierarchy";
  if (/\.csv$/i.test(name) || /^\uFEFF?"?[A-Za-z]+"?;/.test(head)) {
    const header = head.split(/\r?\n/)[0] ?? "";
    if (/RoleAssignmentId/.test(header) && /AssignmentType/.test(header)) return "azgovviz-csv";
    if (/mgPath/.test(header) && /"?id"?/.test(header)) return "azgovviz-resources";
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    return undefined;
  }
  if (json && typeof json === "object" && !Array.isArray(json) && "parameters" in json) {
    const p = (json as { parameters: Record<string, unknown> }).parameters;
    if (p && typeof p === "object" && "managedByTenantId" in p) return "lighthouse";
  }
  const rows = rowsOf(json);
  const first = rows?.find((r) => r && typeof r === "object") as Record<string, unknown> | undefined;
  if (!first) return undefined;
  if ("RoleAssignmentId" in first && "ObjectId" in first) return "azgovviz-json";
  if (typeof first.type === "string" && /^microsoft\.(authorization|management|resources)\//i.test(first.type) && "properties" in first) return "arg";
  if ("principalId" in first && "roleDefinitionId" in first && "scope" in first) return "az-cli";
  return undefined;
}

function rowsOf(json: unknown): unknown[] | undefined {
  if (Array.isArray(json)) return json;
  if (json && typeof json === "object" && Array.isArray((json as { data?: unknown }).data)) return (json as { data: unknown[] }).data;
  return undefined;
}

/** Scope of a role assignment id: everything before /providers/Microsoft.Authorization/roleAssignments/. */
function scopeOfAssignmentId(id: string): { scope: string; guid: string } | undefined {
  const m = /^(.*?)\/providers\/microsoft\.authorization\/roleassignments\/([0-9a-f-]{36})$/i.exec(id.trim());
  if (!m || !isGuid(m[2])) return undefined;
  return { scope: m[1] === "" ? "/" : (m[1] as string), guid: (m[2] as string).toLowerCase() };
}

function principalType(raw: string | null): "User" | "ServicePrincipal" | "Group" | undefined {
  const t = (raw ?? "").trim().toLowerCase();
  if (t.startsWith("user")) return "User";
  if (t.startsWith("sp") || t.startsWith("serviceprincipal")) return "ServicePrincipal";
  if (t.startsWith("group") || t === "foreigngroup") return "Group";
  return undefined;
}

/** "2021-01-10 20:27:23" (AzGovViz, UTC) or ISO 8601. */
function parseTime(v: unknown): number | null {
  const s = str(v);
  if (!s) return null;
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(s) ? s.replace(" ", "T") + "Z" : s;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** `@{Responsible=Billy Kid; env=prod}` (PowerShell hashtable text) or JSON. */
function parseTags(v: unknown): Record<string, string> {
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
  const s = str(v);
  if (!s) return {};
  const m = /^@\{(.*)\}$/.exec(s);
  if (!m) return {};
  const out: Record<string, string> = {};
  for (const pair of (m[1] as string).split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

function offerFromQuota(quotaId: string | null): OfferType | null {
  const q = (quotaId ?? "").toLowerCase();
  if (q.startsWith("enterpriseagreement")) return "EA";
  if (q.startsWith("csp")) return "CSP";
  if (q.startsWith("payasyougo")) return "PayAsYouGo";
  if (q.startsWith("msazr0017p") || q.includes("azureplan") || q.startsWith("customer")) return "AzurePlan";
  return null;
}

/** A stable GUID from text (so re-importing a Lighthouse file finds the same definition). */
export function stableGuid(text: string): string {
  const h = createHash("sha256").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function parseRbacFile(plan: ImportPlan, file: string, format: RbacFormat, content: string | { name: string; text: string }[], options: ParseOptions): void {
  const reject: RejectFn = (origin, field, problem, fix) => {
    plan.rejects.push({ origin, field, problem, fix });
  };
  const tenant = options.tenantId?.toLowerCase() ?? null;

  if (format === "azgovviz-hierarchy") {
    const text = content as string;
    let row = 0;
    let root: string | null = null;
    for (const line of text.split(/\r?\n/)) {
      const cells = line.split("|").map((c) => c.trim());
      if (cells.length < 9 || !/^\d+$/.test(cells[1] ?? "")) continue;
      row++;
      const [, , mgName, mgId, , parentId, subName, subId] = cells as string[];
      const origin = { file, row };
      if (!mgId) { reject(origin, "MgId", "empty", "the hierarchy table needs an MgId in every row"); continue; }
      if (parentId === "TenantRoot") root = mgId.toLowerCase();
      const tenantId = tenant ?? root;
      if (!tenantId) { reject(origin, "MgParentId", "tenant root group not found before this row", "pass --tenant <tenant id>"); continue; }
      plan.managementGroups.push({ tenantId, id: mgId, displayName: mgName as string, parentId: parentId === "TenantRoot" ? null : (parentId as string), origin });
      if (subId && subId !== "none") {
        if (!isGuid(subId)) reject(origin, "SubId", `"${subId}" is not a GUID`, "use the subscription id");
        else plan.subscriptions.push({ tenantId, id: subId.toLowerCase(), displayName: subName as string, offerType: null, managementGroupId: mgId, state: null, origin });
      }
    }
    if (row === 0) reject({ file }, "Hierarchy Table", "no hierarchy table rows found", "export the hierarchy with AzGovViz (the file has a '## Hierarchy Table' section)");
    return;
  }

  if (format === "azgovviz-csv" || format === "azgovviz-resources") {
    let records: Record<string, string>[];
    try {
      records = parseCsv(content as string, { columns: true, delimiter: ";", bom: true, skip_empty_lines: true, relax_column_count: false }) as Record<string, string>[];
    } catch (error) {
      reject({ file }, "csv", (error as Error).message, "the file must be AzGovViz's ';'-separated CSV with a header row");
      return;
    }
    if (format === "azgovviz-resources") return parseResourcesAll(plan, file, records, tenant, reject);
    return parseAzGovVizCsv(plan, file, records, tenant, reject);
  }

  if (format === "azgovviz-json") {
    const files = content as { name: string; text: string }[];
    for (const f of files) {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(f.text) as Record<string, unknown>;
      } catch (error) {
        reject({ file: f.name }, "json", (error as Error).message, "each file must hold one Get-AzRoleAssignment object");
        continue;
      }
      const origin = { file: f.name };
      // Management group and tenant scopes do not say which tenant; the root group id does.
      const rootFromName = /^Mg__([0-9a-f-]{36})_Tenant_Root_Group__/i.exec(f.name.split("/").pop() ?? "");
      pushAssignment(plan, origin, {
        id: str(obj.RoleAssignmentId), scope: str(obj.Scope), principalId: str(obj.ObjectId), principalType: str(obj.ObjectType),
        roleDefinitionId: str(obj.RoleDefinitionId), roleName: str(obj.RoleDefinitionName), roleType: null, createdOn: null,
        description: str(obj.Description), condition: str(obj.Condition), conditionVersion: str(obj.ConditionVersion),
        displayName: str(obj.DisplayName), signInName: str(obj.SignInName), guest: /#EXT#/i.test(str(obj.SignInName) ?? ""),
      }, tenant ?? (rootFromName ? (rootFromName[1] as string).toLowerCase() : null), reject);
    }
    return;
  }

  let json: unknown;
  try {
    json = JSON.parse(content as string);
  } catch (error) {
    reject({ file }, "json", (error as Error).message, "the file must be valid JSON");
    return;
  }

  if (format === "lighthouse") return parseLighthouse(plan, file, json, options, reject);

  const rows = rowsOf(json);
  if (!rows) { reject({ file }, "(root)", "expected a JSON array or { data: [...] }", "export with `az ... -o json` or Resource Graph's JSON output"); return; }
  rows.forEach((raw, i) => {
    const origin = { file, row: i + 1 };
    if (!raw || typeof raw !== "object") { reject(origin, "(row)", "not an object", "each row must be a JSON object"); return; }
    const r = raw as Record<string, unknown>;
    if (format === "az-cli") {
      pushAssignment(plan, origin, {
        id: str(r.id), scope: str(r.scope), principalId: str(r.principalId), principalType: str(r.principalType), roleDefinitionId: str(r.roleDefinitionId),
        roleName: str(r.roleDefinitionName), roleType: null, createdOn: parseTime(r.createdOn), description: str(r.description), condition: str(r.condition),
        conditionVersion: str(r.conditionVersion), displayName: str(r.principalName), signInName: null, guest: /#EXT#/i.test(str(r.principalName) ?? ""),
      }, tenant, reject);
      return;
    }
    parseArgRow(plan, origin, r, tenant, reject);
  });
}

type RejectFn = (origin: Origin, field: string, problem: string, fix: string) => void;

interface RawAssignment {
  id: string | null; scope: string | null; principalId: string | null; principalType: string | null; roleDefinitionId: string | null;
  roleName: string | null; roleType: "BuiltInRole" | "CustomRole" | null; createdOn: number | null; description: string | null;
  condition: string | null; conditionVersion: string | null; displayName: string | null; signInName: string | null; guest: boolean;
}

function pushAssignment(plan: ImportPlan, origin: Origin, a: RawAssignment, tenantId: string | null, reject: RejectFn): void {
  const parsedId = a.id ? (isGuid(a.id) ? { scope: a.scope ?? "", guid: a.id.toLowerCase() } : scopeOfAssignmentId(a.id)) : undefined;
  if (!parsedId) return reject(origin, "id", `"${a.id ?? ""}" is not a role assignment id`, "expected <scope>/providers/Microsoft.Authorization/roleAssignments/<guid>");
  const scopeText = a.scope ?? parsedId.scope;
  const scope = tryParseScope(scopeText);
  if (!scope) return reject(origin, "scope", `"${scopeText}" is not an ARM scope`, "use /, a management group, subscription, resource group or resource id");
  if (!isGuid(a.principalId)) return reject(origin, "principalId", `"${a.principalId ?? ""}" is not an object id (GUID)`, "export with principal ids filled in");
  const type = principalType(a.principalType);
  if (!type) return reject(origin, "principalType", `"${a.principalType ?? ""}" is not User, Group or ServicePrincipal`, "role assignments to devices or unknown principals are not imported");
  const role = a.roleDefinitionId ? roleGuidFrom(a.roleDefinitionId) : undefined;
  if (!role) return reject(origin, "roleDefinitionId", `"${a.roleDefinitionId ?? ""}" is not a role definition GUID or id`, "expected a GUID or /providers/Microsoft.Authorization/roleDefinitions/<guid>");
  plan.roleAssignments.push({
    tenantId, id: parsedId.guid, scope: scope.id, principalId: a.principalId.toLowerCase(), principalType: type, roleDefinitionId: role,
    roleName: a.roleName, roleType: a.roleType, createdOn: a.createdOn, description: a.description, condition: a.condition, conditionVersion: a.conditionVersion, origin,
  });
  if (tenantId) plan.principals.push({ tenantId, objectId: a.principalId.toLowerCase(), type, displayName: a.displayName, signInName: a.signInName, guest: a.guest, origin });
}

function parseAzGovVizCsv(plan: ImportPlan, file: string, records: Record<string, string>[], tenantOpt: string | null, reject: RejectFn): void {
  // The tenant: the root group (level-0 row whose parent is "TenantRoot").
  const rootRow = records.find((r) => r.MgParentId === "TenantRoot" && isGuid(r.MgId));
  const tenantId = tenantOpt ?? (rootRow ? (rootRow.MgId as string).toLowerCase() : null);
  if (!tenantId) { reject({ file }, "MgId", "no tenant root group row found", "pass --tenant <tenant id>"); return; }
  const byId = new Map<string, { rows: number[]; records: Record<string, string>[] }>();
  records.forEach((r, i) => {
    const id = (r.RoleAssignmentId ?? "").toLowerCase();
    let e = byId.get(id);
    if (!e) byId.set(id, (e = { rows: [], records: [] }));
    e.rows.push(i + 1);
    e.records.push(r);
    // The management group tree and subscription placement, as every row describes its MG.
    const origin = { file, row: i + 1 };
    if (r.MgId && r.MgName && r.MgParentId) plan.managementGroups.push({ tenantId, id: r.MgId, displayName: r.MgName, parentId: r.MgParentId === "TenantRoot" ? null : r.MgParentId, origin });
    if (r.SubscriptionId && isGuid(r.SubscriptionId)) plan.subscriptions.push({ tenantId, id: r.SubscriptionId.toLowerCase(), displayName: r.SubscriptionName || r.SubscriptionId, offerType: null, managementGroupId: r.MgId || null, state: null, origin });
  });
  let expanded = 0;
  for (const [, { rows, records: group }] of byId) {
    // One row per scope the assignment reaches: its own scope is the row marked "thisScope"; the
    // rest are the inheritance expansion. Indirect rows name a group member: the assignment is the
    // group's, and the member is recorded as a (flattened) membership.
    const own = group.find((r) => (r.Scope ?? "").startsWith("thisScope")) ?? group[0] as Record<string, string>;
    const origin = { file, row: rows[group.indexOf(own)] as number };
    const indirect = own.AssignmentType === "indirect";
    const groupMatch = /\(([0-9a-f-]{36})\)\s*$/i.exec(own.AssignmentInheritFrom ?? "");
    if (indirect && !groupMatch) { reject(origin, "AssignmentInheritFrom", `"${own.AssignmentInheritFrom ?? ""}" names no group`, "indirect rows must name the assigned group as 'name (guid)'"); continue; }
    const principalId = indirect ? (groupMatch![1] as string) : own.ObjectId ?? null;
    const principalTypeText = indirect ? "Group" : own.ObjectType ?? null;
    const roleType = own.RoleType === "Custom" ? "CustomRole" as const : "BuiltInRole" as const;
    const conflicting = group.find((r) => r.RoleId !== own.RoleId);
    if (conflicting) { reject(origin, "RoleId", `rows of assignment ${own.RoleAssignmentId} disagree on the role`, "re-export: one assignment has one role"); continue; }
    const before = plan.roleAssignments.length;
    pushAssignment(plan, origin, {
      id: own.RoleAssignmentId ?? null, scope: null, principalId, principalType: principalTypeText, roleDefinitionId: own.RoleId ?? null, roleName: own.RoleClear || null,
      roleType, createdOn: parseTime(own.CreatedOn), description: null, condition: null, conditionVersion: null,
      displayName: indirect ? (own.AssignmentInheritFrom ?? "").replace(/\s*\([0-9a-f-]{36}\)\s*$/i, "") : own.ObjectDisplayName || null,
      signInName: indirect ? null : (own.ObjectSignInName && own.ObjectSignInName !== "n/a" ? own.ObjectSignInName : null), guest: (own.ObjectType ?? "").includes("Guest"),
    }, tenantId, reject);
    if (plan.roleAssignments.length === before) continue;
    if (indirect) {
      const members = new Map<string, Record<string, string>>();
      for (const r of group) if (isGuid(r.ObjectId)) members.set(r.ObjectId.toLowerCase(), r);
      for (const [memberId, r] of members) {
        const type = principalType(r.ObjectType ?? null);
        if (!type) continue;
        plan.principals.push({ tenantId, objectId: memberId, type, displayName: r.ObjectDisplayName || null, signInName: r.ObjectSignInName && r.ObjectSignInName !== "n/a" ? r.ObjectSignInName : null, guest: (r.ObjectType ?? "").includes("Guest"), origin });
        plan.memberships.push({ tenantId, groupId: principalId!.toLowerCase(), memberId, origin });
      }
    }
    expanded += group.length - 1;
  }
  if (expanded) plan.skips.push({ origin: { file }, reason: "rows that repeat an assignment at the scopes it is inherited by (or per group member); the assignment is imported once at its own scope", count: expanded });
}

function parseResourcesAll(plan: ImportPlan, file: string, records: Record<string, string>[], tenantOpt: string | null, reject: RejectFn): void {
  records.forEach((r, i) => {
    const origin = { file, row: i + 1 };
    const path = (r.mgPath ?? "").split("/").filter(Boolean);
    const tenantId = tenantOpt ?? (isGuid(path[0]) ? (path[0] as string).toLowerCase() : null);
    if (!tenantId) return reject(origin, "mgPath", `"${r.mgPath ?? ""}" does not start with the tenant root group`, "pass --tenant <tenant id>");
    const scope = tryParseScope(r.id ?? "");
    if (!scope || scope.kind !== "resource") return reject(origin, "id", `"${r.id ?? ""}" is not a resource id`, "expected /subscriptions/<s>/resourceGroups/<rg>/providers/<ns>/<type>/<name>");
    if (path.length >= 2) {
      // The path ends with the subscription; the group before it holds the subscription.
      plan.subscriptions.push({ tenantId, id: scope.subscriptionId as string, displayName: scope.subscriptionId as string, offerType: null, managementGroupId: path.length >= 3 ? (path[path.length - 2] as string) : null, state: null, origin });
    }
    if (scope.resourceGroup) plan.resourceGroups.push({ tenantId, subscriptionId: scope.subscriptionId as string, name: scope.resourceGroup, location: r.location || "global", tags: {}, origin });
    plan.resources.push({ tenantId, id: scope.id, subscriptionId: scope.subscriptionId as string, resourceGroup: scope.resourceGroup ?? null, type: r.type || (scope.resourceType as string), name: r.name || (scope.resourceName as string), location: r.location || "global", tags: parseTags(r.tags), origin });
  });
}

function parseArgRow(plan: ImportPlan, origin: Origin, r: Record<string, unknown>, tenantOpt: string | null, reject: RejectFn): void {
  const type = (str(r.type) ?? "").toLowerCase();
  const p = (r.properties && typeof r.properties === "object" ? r.properties : {}) as Record<string, unknown>;
  const tenantId = tenantOpt ?? (isGuid(r.tenantId) ? r.tenantId.toLowerCase() : null);
  if (!tenantId) return reject(origin, "tenantId", "missing", "include tenantId in the Resource Graph projection or pass --tenant");
  switch (type) {
    case "microsoft.authorization/roleassignments":
      return pushAssignment(plan, origin, {
        id: str(r.id), scope: str(p.scope), principalId: str(p.principalId), principalType: str(p.principalType), roleDefinitionId: str(p.roleDefinitionId),
        roleName: null, roleType: null, createdOn: parseTime(p.createdOn), description: str(p.description), condition: str(p.condition),
        conditionVersion: str(p.conditionVersion), displayName: null, signInName: null, guest: false,
      }, tenantId, reject);
    case "microsoft.authorization/roledefinitions": {
      const id = roleGuidFrom(str(r.id) ?? "") ?? (isGuid(r.name) ? r.name.toLowerCase() : undefined);
      if (!id) return reject(origin, "id", `"${str(r.id) ?? ""}" is not a role definition id`, "expected .../roleDefinitions/<guid>");
      const kind = (str(p.type) ?? str(p.roleType) ?? "").toLowerCase();
      if (kind.startsWith("builtin")) { plan.skips.push({ origin, reason: "built-in role definition (built-ins are known by GUID)", count: 1 }); return; }
      const name = str(p.roleName);
      if (!name) return reject(origin, "properties.roleName", "missing", "project properties in the query");
      plan.roleDefinitions.push({ tenantId, id, name, type: "CustomRole", description: str(p.description) ?? "", assignableScopes: Array.isArray(p.assignableScopes) ? p.assignableScopes.map(String) : [], origin });
      return;
    }
    case "microsoft.management/managementgroups": {
      const id = str(r.name);
      if (!id) return reject(origin, "name", "missing", "the management group id is the row's name");
      const details = (p.details && typeof p.details === "object" ? p.details : {}) as { parent?: { name?: string } };
      const parent = str(details.parent?.name);
      plan.managementGroups.push({ tenantId, id, displayName: str(p.displayName) ?? id, parentId: id.toLowerCase() === tenantId ? null : parent, origin });
      return;
    }
    case "microsoft.resources/subscriptions": {
      const id = str(r.subscriptionId) ?? str(r.name);
      if (!isGuid(id)) return reject(origin, "subscriptionId", `"${id ?? ""}" is not a GUID`, "project subscriptionId");
      const chain = Array.isArray(p.managementGroupAncestorsChain) ? (p.managementGroupAncestorsChain as { name?: string }[]) : [];
      const policies = (p.subscriptionPolicies && typeof p.subscriptionPolicies === "object" ? p.subscriptionPolicies : {}) as { quotaId?: string };
      plan.subscriptions.push({ tenantId, id: id.toLowerCase(), displayName: str(r.name) !== id ? (str(r.name) ?? id) : (str(p.displayName) ?? id), offerType: offerFromQuota(str(policies.quotaId)), managementGroupId: str(chain[0]?.name), state: str(p.state), origin });
      return;
    }
    case "microsoft.resources/subscriptions/resourcegroups": {
      const sub = str(r.subscriptionId);
      const name = str(r.name);
      if (!isGuid(sub) || !name) return reject(origin, "subscriptionId/name", "missing", "project subscriptionId and name");
      plan.resourceGroups.push({ tenantId, subscriptionId: sub.toLowerCase(), name, location: str(r.location) ?? "global", tags: parseTags(r.tags), origin });
      return;
    }
    case "microsoft.authorization/classicadministrators":
      plan.skips.push({ origin, reason: "classic administrators are not RBAC role assignments", count: 1 });
      return;
    default:
      plan.skips.push({ origin, reason: `type "${type}" is not imported`, count: 1 });
  }
}

function parseLighthouse(plan: ImportPlan, file: string, json: unknown, options: ParseOptions, reject: RejectFn): void {
  const params = ((json as { parameters?: Record<string, { value?: unknown }> }).parameters ?? {}) as Record<string, { value?: unknown }>;
  const origin = { file };
  const managedBy = str(params.managedByTenantId?.value);
  let bad = false;
  if (!isGuid(managedBy)) { reject(origin, "parameters.managedByTenantId", `"${managedBy ?? ""}" is not a tenant id`, "put the managing (partner) tenant's GUID in the parameter file"); bad = true; }
  if (!options.subscriptionId || !isGuid(options.subscriptionId)) { reject(origin, "--subscription", "the parameter file does not say which customer subscription it delegates", "pass --subscription <customer subscription id>"); bad = true; }
  const name = str(params.mspOfferName?.value);
  if (!name) { reject(origin, "parameters.mspOfferName", "missing", "name the offer (mspOfferName)"); bad = true; }
  const authorizations: LighthouseAuthorization[] = [];
  const read = (list: unknown, kind: "permanent" | "eligible", field: string) => {
    if (list === undefined) return;
    if (!Array.isArray(list)) { reject(origin, field, "not an array", "authorizations are an array of { principalId, roleDefinitionId }"); bad = true; return; }
    list.forEach((a: Record<string, unknown>, i) => {
      const f = `${field}[${i}]`;
      if (!isGuid(a?.principalId)) { reject(origin, `${f}.principalId`, `"${String(a?.principalId)}" is not an object id`, "use the managing tenant's user, group or service principal object id"); bad = true; return; }
      if (/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(a.principalId)) { reject(origin, `${f}.principalId`, "is the all-zero placeholder of the sample template", "replace it with a real object id from the managing tenant"); bad = true; return; }
      const role = roleGuidFrom(str(a.roleDefinitionId) ?? "");
      if (!role) { reject(origin, `${f}.roleDefinitionId`, `"${String(a.roleDefinitionId)}" is not a role GUID`, "Lighthouse takes the bare role definition GUID"); bad = true; return; }
      const jit = (a.justInTimeAccessPolicy ?? {}) as { maximumActivationDuration?: string };
      authorizations.push({
        principalId: a.principalId.toLowerCase(), principalIdDisplayName: str(a.principalIdDisplayName), roleDefinitionId: role, kind,
        delegatedRoleDefinitionIds: Array.isArray(a.delegatedRoleDefinitionIds) ? a.delegatedRoleDefinitionIds.map((x) => String(x).toLowerCase()) : [],
        maximumActivationDuration: kind === "eligible" ? (str(jit.maximumActivationDuration) ?? "PT8H") : null,
      });
    });
  };
  read(params.authorizations?.value, "permanent", "parameters.authorizations");
  read(params.eligibleAuthorizations?.value, "eligible", "parameters.eligibleAuthorizations");
  // A bad authorization refuses the whole file: a delegation with a missing grant is a different delegation.
  if (bad) return;
  const rgs = Array.isArray(params.resourceGroups?.value) ? (params.resourceGroups!.value as { rgName?: string }[]).map((g) => str(g.rgName)).filter((g): g is string => !!g) : [];
  const sub = (options.subscriptionId as string).toLowerCase();
  plan.delegations.push({
    tenantId: options.tenantId?.toLowerCase() ?? null, subscriptionId: sub, resourceGroups: rgs,
    definitionId: stableGuid(`${name}|${managedBy}|${sub}`), name: name as string, description: str(params.mspOfferDescription?.value),
    managedByTenantId: (managedBy as string).toLowerCase(), authorizations, origin,
  });
}
