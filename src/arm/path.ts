/**
 * What an ARM request path addresses: a scope, then `providers/{namespace}/{type}[/{name}]`.
 *
 * - `{scope}` is `/` (tenant), `/providers/Microsoft.Management/managementGroups/{mg}`,
 *   `/subscriptions/{s}`, `/subscriptions/{s}/resourceGroups/{rg}` or a resource id. The LAST
 *   `providers` segment separates scope from type, so extension resources on a resource
 *   (`…/storageAccounts/x/providers/Microsoft.Authorization/roleAssignments/{id}`) and on a
 *   management group resolve as ARM resolves them.
 * - ARM's own paths without `providers` are Microsoft.Resources types:
 *   `/subscriptions[/{s}]` is type `subscriptions` at tenant scope and
 *   `/subscriptions/{s}/resourcegroups[/{rg}]` is type `resourceGroups` at subscription scope.
 * Segments compare case-insensitively; the scope keeps the casing it was written in.
 */
import { parseScope, ScopeError, type Scope } from "../domain/scope.ts";
import { armError } from "./errors.ts";

export interface ArmPath {
  readonly scope: Scope;
  readonly namespace: string;
  readonly type: string | undefined;
  /** undefined when absent, "" for a trailing slash (the collection). */
  readonly name: string | undefined;
  /** Segments after the name (an error for every type this server serves). */
  readonly extra: readonly string[];
}

const RESOURCES = "Microsoft.Resources";

/** Parses a path that starts with exactly one "/"; throws 400 InvalidRequestUri naming the forms. */
export function parseArmPath(path: string): ArmPath {
  const segments = path.split("/").slice(1).map((s) => decodeSegment(s));
  const lower = segments.map((s) => s.toLowerCase());
  const providersAt = lower.lastIndexOf("providers");

  if (lower[0] === "subscriptions" && providersAt < 0) {
    if (segments.length <= 2) {
      return { scope: parseScope("/"), namespace: RESOURCES, type: "subscriptions", name: segments[1], extra: [] };
    }
    if (lower[2] === "resourcegroups") {
      return { scope: scopeOf(segments.slice(0, 2), path), namespace: RESOURCES, type: "resourceGroups", name: segments[3], extra: segments.slice(4) };
    }
    throw invalid(path, `after /subscriptions/{id} expected "resourcegroups" or "providers/{namespace}/{type}"`);
  }
  if (providersAt < 0) throw invalid(path, "expected /providers/… or /subscriptions/…");
  const [namespace = "", type, name, ...extra] = segments.slice(providersAt + 1);
  return { scope: scopeOf(segments.slice(0, providersAt), path), namespace, type, name, extra };
}

function scopeOf(segments: readonly string[], path: string): Scope {
  try {
    return parseScope(segments.length === 0 ? "/" : `/${segments.join("/")}`);
  } catch (error) {
    if (error instanceof ScopeError) throw invalid(path, error.message);
    throw error;
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function invalid(path: string, reason: string) {
  return armError("InvalidRequestUri", { path, reason });
}
