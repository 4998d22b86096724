/**
 * Operator endpoints for world files (operator key required, see auth.ts):
 *   POST /admin/world   body = a world file (JSON, or YAML with a YAML content type)
 *                       200 {summary} · 400 with every problem and its JSON path · 401
 *   GET  /admin/world   the current state as a world file (history included, no credentials)
 * Also applies `--world FILE` when the server starts, before it listens.
 */
import type { FastifyInstance } from "fastify";
import YAML from "yaml";
import type { AppContext } from "../context/index.ts";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { applyWorld, checkWorldDocument, exportWorld, readWorldFile, WorldFileError, type WorldProblem, type WorldSummary } from "../world/index.ts";
import type { AuditRecord } from "../store/index.ts";
import { requireAdminKey } from "./auth.ts";

/** The 400 body: ARM-style error with one detail per problem, `target` being the JSON path. */
export function invalidWorldBody(problems: readonly WorldProblem[], warnings: readonly WorldProblem[] = []) {
  return {
    error: {
      code: "InvalidWorldFile",
      message: `The world file has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was applied. Fix each one at its path and send the file again.`,
      details: problems.map((p) => ({ code: "InvalidWorldFile", target: p.path, message: `${p.path}: ${p.message}` })),
    },
    warnings: warnings.map((w) => `${w.path}: ${w.message}`),
  };
}

export async function registerAdminWorldRoutes(app: FastifyInstance, deps: { context: AppContext }): Promise<void> {
  const ctx = deps.context;
  await app.register(async (scope) => {
    // YAML bodies are accepted here only; a parse failure is a 400 naming the problem.
    scope.addContentTypeParser(["application/yaml", "application/x-yaml", "text/yaml"], { parseAs: "string" }, (_req, body, done) => {
      try {
        done(null, YAML.parse(body as string));
      } catch (error) {
        const err = new Error(`The request body is not valid YAML: ${(error as Error).message}`) as Error & { statusCode: number; code: string };
        err.statusCode = 400;
        err.code = "InvalidRequestContent";
        done(err, undefined);
      }
    });
    const auth = requireAdminKey(() => ctx.adminKey);

    scope.post("/admin/world", { preHandler: auth }, async (req, reply) => {
      const parsed = checkWorldDocument(req.body);
      if (!parsed.ok) return reply.code(400).send(invalidWorldBody(parsed.problems));
      const result = await applyWorld(ctx.store, parsed.world, { clock: ctx.clock, ids: ctx.ids, actor: "operator (admin key)", requestId: req.id });
      if (!result.ok) return reply.code(400).send(invalidWorldBody(result.problems, result.warnings));
      return reply.code(200).send({ summary: result.summary });
    });

    scope.get("/admin/world", { preHandler: auth }, async (_req, reply) => {
      return reply.code(200).send(await exportWorld(ctx.store));
    });
  });
}

/** Who applies `--world FILE` at start, in the audit log. */
export const STARTUP_WORLD_ACTOR = "serve --world";

/**
 * What `--world FILE` did at start, printed by `openpal serve` and logged:
 * - `applied`: the file was applied (a fresh data dir, or a file that changed since the last start);
 * - `already-applied`: this exact file (same SHA-256) was applied at an earlier start, so it is not
 *   applied again and what users changed since (links removed or changed, roles revoked) is kept;
 * - `kept`: the file changed since an earlier start and now conflicts with what users did since;
 *   nothing from it is applied, the store is kept as it is, and the server starts.
 */
export type StartupWorldOutcome =
  | { readonly kind: "applied"; readonly file: string; readonly summary: WorldSummary }
  | { readonly kind: "already-applied"; readonly file: string; readonly appliedAt: number; readonly changesSince: Readonly<Record<string, number>> }
  | { readonly kind: "kept"; readonly file: string; readonly appliedAt: number; readonly problems: readonly WorldProblem[]; readonly changesSince: Readonly<Record<string, number>> };

const outcomes = new WeakMap<AppContext, StartupWorldOutcome>();

/** The outcome of `--world` for a started server (undefined without `--world`). */
export function startupWorldOutcome(ctx: AppContext): StartupWorldOutcome | undefined {
  return outcomes.get(ctx);
}

/** "partnerLink 3, roleAssignment 1": user changes since, by kind of resource. */
function describeChanges(changes: Readonly<Record<string, number>>): { total: number; text: string } {
  const byKind = new Map<string, number>();
  for (const [action, n] of Object.entries(changes)) {
    const kind = action.split(".")[0] ?? action;
    byKind.set(kind, (byKind.get(kind) ?? 0) + n);
  }
  const total = [...byKind.values()].reduce((a, b) => a + b, 0);
  return { total, text: [...byKind.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(", ") };
}

/** One line for the console and the log. */
export function describeStartupWorld(o: StartupWorldOutcome): string {
  if (o.kind === "applied") {
    const changed = Object.entries(o.summary.counts).filter(([, c]) => c.created || c.updated).map(([k, c]) => `${k} +${c.created}/~${c.updated}`);
    return `world file ${o.file} applied (${changed.length ? changed.join(", ") : "the store already held all of it"})`;
  }
  const since = new Date(o.appliedAt).toISOString();
  const changes = describeChanges(o.changesSince);
  const kept = changes.total === 0 ? "no changes were made since" : `${changes.total} change${changes.total === 1 ? "" : "s"} made since ${changes.total === 1 ? "was" : "were"} kept (${changes.text})`;
  if (o.kind === "already-applied") return `world file ${o.file} already applied at ${since}; not applied again: ${kept}`;
  const first = o.problems[0];
  return `world file ${o.file} not applied: it conflicts with changes made in this data dir since an earlier start applied it (${since}); ` +
    `the store is kept as it is (${kept}). To start from the file, use a fresh --data-dir. ` +
    `${o.problems.length} conflict${o.problems.length === 1 ? "" : "s"}${first ? `, the first: ${first.path}: ${first.message}` : ""}`;
}

/**
 * Applies `--world FILE` at start. Throws WorldFileError (every problem listed) when the file is
 * invalid, or conflicts with a store it was never applied to, so the server does not start on a
 * half-declared world. On a data dir that has history (the file was applied at an earlier start)
 * it never rewrites what users did: the same file is not applied again, and a changed file that
 * conflicts with later changes is left out with a warning (see StartupWorldOutcome).
 */
export async function applyStartupWorld(ctx: AppContext): Promise<StartupWorldOutcome | undefined> {
  const file = ctx.options.world;
  if (!file) return undefined;
  const parsed = readWorldFile(file);
  if (!parsed.ok) throw new WorldFileError(file, parsed.problems);
  const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex");
  const previous = (await ctx.store.audit.latest("world.apply", 100)).find((e) => e.details?.actor === STARTUP_WORLD_ACTOR);

  let outcome: StartupWorldOutcome;
  if (previous && previous.details?.sha256 === sha256) {
    outcome = { kind: "already-applied", file, appliedAt: previous.at, changesSince: await changesSince(ctx, previous.seq) };
  } else {
    const result = await applyWorld(ctx.store, parsed.world, { clock: ctx.clock, ids: ctx.ids, actor: STARTUP_WORLD_ACTOR, requestId: null, source: { file, sha256 } });
    // Only a conflict with history made since an earlier start is tolerated; an invalid file never is.
    if (!result.ok && (!previous || !result.conflict)) throw new WorldFileError(file, result.problems);
    if (result.ok) {
      for (const w of result.summary.warnings) ctx.log.warn({ path: w.path }, `world file: ${w.path}: ${w.message}`);
      outcome = { kind: "applied", file, summary: result.summary };
    } else {
      outcome = { kind: "kept", file, appliedAt: (previous as AuditRecord).at, problems: result.problems, changesSince: await changesSince(ctx, (previous as AuditRecord).seq) };
    }
  }
  outcomes.set(ctx, outcome);
  const message = describeStartupWorld(outcome);
  if (outcome.kind === "kept") ctx.log.warn({ world: file, problems: outcome.problems.map((p) => `${p.path}: ${p.message}`) }, message);
  else ctx.log.info({ world: file, outcome: outcome.kind }, message);
  return outcome;
}

/** Writes recorded after an audit entry, by action, other than world applications. */
async function changesSince(ctx: AppContext, seq: number): Promise<Record<string, number>> {
  const counts = await ctx.store.audit.countByAction(seq);
  delete counts["world.apply"];
  return counts;
}
