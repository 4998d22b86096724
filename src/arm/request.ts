/**
 * What providers with JSON bodies share: reading the body as an object, reading strings out of
 * it with errors that name the property, and running a write with its audit entry in one
 * transaction.
 */
import type { Aggregates, Store } from "../store/index.ts";
import { isGuid } from "../domain/ids.ts";
import { armError } from "./errors.ts";
import type { ArmCall } from "./router.ts";

/** The body as a JSON object; 400 InvalidRequestContent naming what was expected otherwise. */
export function jsonObject(call: ArmCall, example: string): Record<string, unknown> {
  const body = call.body();
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw armError("InvalidRequestContent", { reason: `expected a JSON object, e.g. ${example}` });
  }
  return body as Record<string, unknown>;
}

/** `properties` of a body (an empty object when absent); 400 when it is not an object. */
export function propertiesOf(body: Record<string, unknown>): Record<string, unknown> {
  const p = body.properties;
  if (p === undefined) return {};
  if (p === null || typeof p !== "object" || Array.isArray(p)) throw armError("InvalidRequestContent", { reason: "'properties' must be a JSON object" });
  return p as Record<string, unknown>;
}

/** A string property; `required` makes absence a 400 naming `path`. */
export function stringProperty(obj: Record<string, unknown>, key: string, path: string, required: true): string;
export function stringProperty(obj: Record<string, unknown>, key: string, path: string, required?: false): string | undefined;
export function stringProperty(obj: Record<string, unknown>, key: string, path: string, required = false): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw armError("InvalidRequestContent", { reason: `'${path}' is required` });
    return undefined;
  }
  if (typeof v !== "string") throw armError("InvalidRequestContent", { reason: `'${path}' must be a string` });
  if (required && v.trim() === "") throw armError("InvalidRequestContent", { reason: `'${path}' must not be empty` });
  return v;
}

/** A GUID-valued string property, lower-cased. */
export function guidProperty(obj: Record<string, unknown>, key: string, path: string): string {
  const v = stringProperty(obj, key, path, true).trim();
  if (!isGuid(v)) throw armError("InvalidRequestContent", { reason: `'${path}' must be a GUID, got '${v}'` });
  return v.toLowerCase();
}

export interface AuditedWrite {
  readonly tenantId: string;
  readonly action: string;
  readonly target: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Runs `work` in one transaction and appends the audit entry it returns (if any) in the same
 * transaction, so a write and its audit record commit together or not at all.
 */
export async function auditedWrite<T>(store: Store, call: ArmCall, work: (tx: Aggregates) => Promise<{ result: T; audit?: AuditedWrite }>): Promise<T> {
  return store.transaction(async (tx) => {
    const { result, audit } = await work(tx);
    if (audit) {
      await tx.audit.append({
        at: call.now, tenantId: audit.tenantId, actorTenantId: call.caller.tenantId, actorObjectId: call.caller.objectId,
        action: audit.action, target: audit.target, requestId: call.requestId, details: audit.details ?? {},
      });
    }
    return result;
  });
}

/** Parses a `$filter` made of `and`-joined terms into [name, argument] pairs; unknown terms throw. */
export function parseFilter(filter: string | undefined, supported: readonly string[]): { readonly fn: string; readonly arg: string | undefined }[] {
  if (filter === undefined || filter.trim() === "") return [];
  const terms = filter.split(/\s+and\s+/i);
  return terms.map((term) => {
    const t = term.trim();
    const call = /^(\w+)\(\s*(?:'([^']*)')?\s*\)$/.exec(t);
    if (call && supported.includes(`${(call[1] as string)}()`)) return { fn: `${call[1] as string}()`, arg: call[2] };
    const eq = /^(\w+)\s+eq\s+'([^']*)'$/i.exec(t);
    if (eq && supported.includes(`${eq[1] as string} eq`)) return { fn: `${eq[1] as string} eq`, arg: eq[2] };
    throw armError("InvalidFilter", { filter, supported: supported.map((s) => (s.endsWith("()") ? s : `${s} '…'`)).join(", ") });
  });
}
