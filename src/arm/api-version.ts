/** The `api-version` rule of ARM: required on every request, and one the provider registers. */
import { armError } from "./errors.ts";

/**
 * Returns the api-version of the request or throws the ARM error naming the fix. `type` is the
 * fully qualified type the caller addressed, e.g. "Microsoft.ManagementPartner/partners".
 */
export function requireApiVersion(query: unknown, supported: readonly string[], type: string): string {
  const raw = (query as Record<string, unknown> | undefined)?.["api-version"];
  // A repeated parameter (?api-version=a&api-version=b) is as unusable as a missing one.
  const value = Array.isArray(raw) ? undefined : typeof raw === "string" ? raw.trim() : undefined;
  if (!value) throw armError("MissingApiVersionParameter");
  // Not a date-shaped version at all: ARM's InvalidApiVersionParameter, with the list.
  if (!/^\d{4}-\d{2}-\d{2}(-(preview|privatepreview|alpha|beta))?$/i.test(value)) {
    throw armError("InvalidApiVersionParameter", { apiVersion: value, supported: supported.join(",") });
  }
  if (!supported.includes(value)) {
    throw armError("NoRegisteredProviderFound", {
      apiVersion: value, type, supported: supported.join(", "), latest: [...supported].sort().at(-1) ?? "",
    });
  }
  return value;
}
