/**
 * World files: declare the state a server starts from, apply it to the store, export the store
 * back in the same format. Public face of the component (docs/WORLD-FILE.md).
 *
 * @example
 * const parsed = readWorldFile("world.json");
 * if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join("\n"));
 * const result = await applyWorld(store, parsed.world, { clock: systemClock, actor: "script" });
 */
import { readFileSync } from "node:fs";
import { parseWorldText, type ParsedWorld } from "./schema.ts";

export * from "./types.ts";
export { parseWorldText, checkWorldDocument, checkWorldSchema, worldJsonSchema, jsonPath, type ParsedWorld } from "./schema.ts";
export { validateWorld, NO_KNOWN_FACTS, type KnownFacts, type WorldValidation } from "./validate.ts";
export { loadKnownFacts } from "./facts.ts";
export { applyWorld, certificateThumbprints, derivedRoleAssignmentId, derivedDelegationId, derivedDefinitionId, WORLD_RESOURCE_GROUP_LOCATION, WORLD_KINDS, type ApplyOptions, type ApplyResult, type WorldSummary, type WorldKind, type KindCount, type PendingSection } from "./apply.ts";
export { exportWorld } from "./export.ts";
export { stableGuid, WORLD_ID_NAMESPACE } from "./ids.ts";
export { resolveRole, type RoleRef } from "./roles.ts";

/** Reads and schema-checks a world file (JSON or YAML). A missing file is a problem at `$`. */
export function readWorldFile(file: string): ParsedWorld {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why = e.code === "ENOENT" ? "does not exist" : `cannot be read (${e.code ?? e.message})`;
    return { ok: false, problems: [{ path: "$", message: `world file ${file} ${why}; check the path.` }] };
  }
  return parseWorldText(text, file);
}

/** Thrown at start when `--world` names an invalid file; carries every problem. */
export class WorldFileError extends Error {
  constructor(readonly file: string, readonly problems: readonly { path: string; message: string }[]) {
    super(`world file ${file} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was applied:\n` +
      problems.map((p) => `  ${p.path}: ${p.message}`).join("\n"));
  }
}
