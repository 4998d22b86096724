/** Identifiers: GUIDs as Entra ID and ARM use them. */
import { randomUUID } from "node:crypto";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** Lower-cases a GUID; Entra ID compares them case-insensitively and emits lower case. */
export function normalizeGuid(value: string): string {
  return value.toLowerCase();
}

/** Source of new ids, injected so tests can make them predictable. */
export interface IdSource {
  newGuid(): string;
}

export const randomIds: IdSource = { newGuid: () => randomUUID() };
