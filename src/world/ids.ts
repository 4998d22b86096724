/**
 * Stable ids for world-file entries that carry none (role assignments, delegations, registration
 * definitions): RFC 4122 version-5 GUIDs (SHA-1 of a namespace and a name), so applying the same
 * entry again derives the same id and matches the stored row instead of adding a second one.
 */
import { createHash } from "node:crypto";

/** The namespace of OpenPAL world-file ids (a fixed, arbitrary GUID). */
export const WORLD_ID_NAMESPACE = "0b9f3c2e-5a1d-4e7f-9c3b-6d2a8e4f1a70";

/**
 * `stableGuid("roleAssignment", tenant, principal, role, scope, from)`: the parts are joined with
 * NUL (so ("ab","c") ≠ ("a","bc")) and hashed under the namespace.
 */
export function stableGuid(...parts: readonly string[]): string {
  const ns = Buffer.from(WORLD_ID_NAMESPACE.replace(/-/g, ""), "hex");
  const h = createHash("sha1").update(ns).update(parts.join("\u0000"), "utf8").digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
