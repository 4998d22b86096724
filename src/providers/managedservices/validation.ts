/**
 * Reading a registration definition body and the Azure Lighthouse rules on its authorizations.
 * Shape problems (a missing or mistyped property) are 400 `InvalidRequestContent` naming the JSON
 * path; rule violations (a role Lighthouse does not delegate) are 400
 * `InvalidRegistrationDefinition` naming the authorization and the fix.
 *
 * The rules, as Azure Lighthouse documents them ("Tenants, users and roles"):
 * - roles are built-in roles, given by GUID (or role definition id); custom roles are refused;
 * - Owner is never delegated;
 * - User Access Administrator only with `delegatedRoleDefinitionIds` (the roles it may assign to
 *   managed identities), and only as a permanent authorization (decision: a just-in-time UAA
 *   grant would be a role-assigning grant activated without review);
 * - `delegatedRoleDefinitionIds` only on User Access Administrator, each a built-in other than
 *   Owner and User Access Administrator;
 * - at least one permanent authorization; eligible ones carry a just-in-time policy whose
 *   maximum activation lies between PT30M and PT8H.
 */
import { armError, guidProperty, stringProperty } from "../../arm/index.ts";
import type { LighthouseAuthorization } from "../../domain/access.ts";
import { findBuiltInRole, roleGuidFrom, OWNER_ROLE_ID, USER_ACCESS_ADMINISTRATOR_ROLE_ID } from "../../domain/roles.ts";

export interface DefinitionInput {
  readonly name: string;
  readonly description: string | null;
  readonly managedByTenantId: string;
  readonly authorizations: readonly LighthouseAuthorization[];
  readonly plan: Readonly<Record<string, string>> | null;
}

export const DEFINITION_EXAMPLE = `{"properties":{"registrationDefinitionName":"Contoso support","managedByTenantId":"<managing tenant>","authorizations":[{"principalId":"<guid>","principalIdDisplayName":"Support","roleDefinitionId":"acdd72a7-3385-48ef-bd42-f606fba81ae7"}]}}`;

const invalid = (reason: string) => armError("InvalidRegistrationDefinition", { reason });
const content = (reason: string) => armError("InvalidRequestContent", { reason });

function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw content(`'${path}' must be a JSON object`);
  return value as Record<string, unknown>;
}

function arrayAt(obj: Record<string, unknown>, key: string, path: string): unknown[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw content(`'${path}' must be an array`);
  return v;
}

/** A built-in role GUID, or the refusal naming the authorization. */
function builtInRole(reference: string, path: string): { id: string; name: string } {
  const id = roleGuidFrom(reference);
  if (!id) throw content(`'${path}' must be a role definition GUID, e.g. acdd72a7-3385-48ef-bd42-f606fba81ae7 (Reader), got '${reference}'`);
  const role = findBuiltInRole(id);
  if (!role) throw invalid(`${path} '${id}' is not a built-in role; Azure Lighthouse delegates built-in roles only (custom roles are not supported).`);
  return { id: role.id, name: role.name };
}

/** ISO 8601 duration in hours and minutes (PT8H, PT1H30M, PT45M) → minutes. */
function durationMinutes(text: string): number | undefined {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?$/i.exec(text.trim());
  if (!m || (m[1] === undefined && m[2] === undefined)) return undefined;
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

function authorization(raw: unknown, path: string, kind: "permanent" | "eligible"): LighthouseAuthorization {
  const a = objectAt(raw, path);
  const principalId = guidProperty(a, "principalId", `${path}.principalId`);
  const principalIdDisplayName = stringProperty(a, "principalIdDisplayName", `${path}.principalIdDisplayName`) ?? null;
  const role = builtInRole(stringProperty(a, "roleDefinitionId", `${path}.roleDefinitionId`, true), `${path}.roleDefinitionId`);
  if (role.id === OWNER_ROLE_ID) {
    throw invalid(`${path} grants Owner, which Azure Lighthouse never delegates; use Contributor (b24988ac-6180-42a0-ab88-20f7382dd24c) and, to assign roles to managed identities, User Access Administrator with delegatedRoleDefinitionIds.`);
  }
  const delegatedRaw = arrayAt(a, "delegatedRoleDefinitionIds", `${path}.delegatedRoleDefinitionIds`) ?? [];
  const delegated = delegatedRaw.map((d, i) => {
    const at = `${path}.delegatedRoleDefinitionIds[${i}]`;
    if (typeof d !== "string") throw content(`'${at}' must be a string`);
    const r = builtInRole(d, at);
    if (r.id === OWNER_ROLE_ID || r.id === USER_ACCESS_ADMINISTRATOR_ROLE_ID) {
      throw invalid(`${at} is ${r.name}; User Access Administrator may only assign other built-in roles to managed identities (e.g. Contributor).`);
    }
    return r.id;
  });
  const isUaa = role.id === USER_ACCESS_ADMINISTRATOR_ROLE_ID;
  if (isUaa && kind === "eligible") {
    throw invalid(`${path} grants User Access Administrator as an eligible authorization; grant it as a permanent authorization with delegatedRoleDefinitionIds.`);
  }
  if (isUaa && delegated.length === 0) {
    throw invalid(`${path} grants User Access Administrator without delegatedRoleDefinitionIds; Azure Lighthouse allows it only to assign the listed roles to managed identities: add "delegatedRoleDefinitionIds":["<built-in role GUID>"].`);
  }
  if (!isUaa && delegated.length > 0) {
    throw invalid(`${path} has delegatedRoleDefinitionIds on ${role.name}; they apply only to User Access Administrator (18d7d88d-d35e-4fb5-a5c3-7773c20a72d9).`);
  }
  if (kind === "permanent") {
    return { principalId, principalIdDisplayName, roleDefinitionId: role.id, kind, ...(delegated.length ? { delegatedRoleDefinitionIds: delegated } : {}) };
  }
  const policy = a.justInTimeAccessPolicy === undefined || a.justInTimeAccessPolicy === null ? undefined : objectAt(a.justInTimeAccessPolicy, `${path}.justInTimeAccessPolicy`);
  if (!policy) throw content(`'${path}.justInTimeAccessPolicy' is required, e.g. {"multiFactorAuthProvider":"Azure","maximumActivationDuration":"PT8H"}`);
  const mfa = stringProperty(policy, "multiFactorAuthProvider", `${path}.justInTimeAccessPolicy.multiFactorAuthProvider`, true);
  if (mfa !== "Azure" && mfa !== "None") throw content(`'${path}.justInTimeAccessPolicy.multiFactorAuthProvider' must be "Azure" or "None", got '${mfa}'`);
  const duration = stringProperty(policy, "maximumActivationDuration", `${path}.justInTimeAccessPolicy.maximumActivationDuration`) ?? "PT8H";
  const minutes = durationMinutes(duration);
  if (minutes === undefined) throw content(`'${path}.justInTimeAccessPolicy.maximumActivationDuration' must be an ISO 8601 duration such as PT8H or PT1H30M, got '${duration}'`);
  if (minutes < 30 || minutes > 480) throw invalid(`${path}.justInTimeAccessPolicy.maximumActivationDuration is ${duration}; it must lie between PT30M and PT8H.`);
  const approvers = arrayAt(policy, "managedByTenantApprovers", `${path}.justInTimeAccessPolicy.managedByTenantApprovers`);
  if (approvers && approvers.length > 0) {
    throw invalid(`${path}.justInTimeAccessPolicy.managedByTenantApprovers is not supported by this server (activations are recorded, not approved); remove it.`);
  }
  return { principalId, principalIdDisplayName, roleDefinitionId: role.id, kind, maximumActivationDuration: duration.toUpperCase() };
}

function plan(body: Record<string, unknown>): Readonly<Record<string, string>> | null {
  if (body.plan === undefined || body.plan === null) return null;
  const p = objectAt(body.plan, "plan");
  const out: Record<string, string> = {};
  for (const key of ["name", "publisher", "product", "version"]) out[key] = stringProperty(p, key, `plan.${key}`, true);
  return out;
}

/** The definition a PUT body describes (shape and role rules; tenants are checked by the caller). */
export function readDefinition(body: Record<string, unknown>, properties: Record<string, unknown>): DefinitionInput {
  const name = stringProperty(properties, "registrationDefinitionName", "properties.registrationDefinitionName", true);
  const description = stringProperty(properties, "description", "properties.description") ?? null;
  const managedByTenantId = guidProperty(properties, "managedByTenantId", "properties.managedByTenantId");
  const permanent = arrayAt(properties, "authorizations", "properties.authorizations") ?? [];
  if (permanent.length === 0) throw content(`'properties.authorizations' must list at least one authorization, e.g. {"principalId":"<guid>","roleDefinitionId":"acdd72a7-3385-48ef-bd42-f606fba81ae7"}`);
  const eligible = arrayAt(properties, "eligibleAuthorizations", "properties.eligibleAuthorizations") ?? [];
  const authorizations = [
    ...permanent.map((a, i) => authorization(a, `properties.authorizations[${i}]`, "permanent")),
    ...eligible.map((a, i) => authorization(a, `properties.eligibleAuthorizations[${i}]`, "eligible")),
  ];
  return { name, description, managedByTenantId, authorizations, plan: plan(body) };
}
