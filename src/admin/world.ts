/**
 * Operator endpoints for world files (operator key required, see auth.ts):
 *   POST /admin/world   body = a world file (JSON, or YAML with a YAML content type)
 *                       200 {summary} · 400 with every problem and its JSON path · 401
 *   GET  /admin/world   the current state as a world file (history included, no credentials)
 * Also applies `--world FILE` when the server starts, before it listens.
 */
import type { FastifyInstance } from "fastify";
import YAML from "yaml";
import type { AppContext } from "../server/context.ts";
import { applyWorld, checkWorldDocument, exportWorld, readWorldFile, WorldFileError, type WorldProblem, type WorldSummary } from "../world/index.ts";
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

/**
 * Applies `--world FILE` at start. Throws WorldFileError (every problem listed) when the file is
 * invalid, so the server does not start on a half-declared world.
 */
export async function applyStartupWorld(ctx: AppContext): Promise<WorldSummary | undefined> {
  const file = ctx.options.world;
  if (!file) return undefined;
  const parsed = readWorldFile(file);
  if (!parsed.ok) throw new WorldFileError(file, parsed.problems);
  const result = await applyWorld(ctx.store, parsed.world, { clock: ctx.clock, ids: ctx.ids, actor: "serve --world", requestId: null });
  if (!result.ok) throw new WorldFileError(file, result.problems);
  for (const w of result.summary.warnings) ctx.log.warn({ path: w.path }, `world file: ${w.path}: ${w.message}`);
  const changed = Object.entries(result.summary.counts).filter(([, c]) => c.created || c.updated)
    .map(([k, c]) => `${k} +${c.created}/~${c.updated}`);
  ctx.log.info({ world: file, changed, notApplied: result.summary.notApplied.map((s) => s.section) }, "world file applied");
  return result.summary;
}
