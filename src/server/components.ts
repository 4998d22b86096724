/**
 * The seam where components plug into the server. Each component owns its routes; this list is
 * the only place that names them all. Order matters only for route prefixes, which do not overlap.
 */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "./context.ts";
import type { Identity } from "../identity/index.ts";

export interface ComponentDeps {
  readonly context: AppContext;
  readonly identity: Identity;
}

export async function registerComponents(_app: FastifyInstance, _deps: ComponentDeps): Promise<void> {
  // Components register here (admin, world, arm providers, graph, portal).
}
