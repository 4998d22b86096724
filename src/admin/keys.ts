/**
 * Token-signing key operations for the operator:
 *   POST /admin/keys/rotate   the current key stops signing (stays published until its tokens
 *                             have expired); a new key signs from now on
 *   GET  /admin/keys          the published keys: kid, created, retired, published until
 *
 * Several servers share the keys through the store. A rotation on one server is honoured by all:
 * a token signed with the new key carries a `kid` the others do not know yet, so they re-read the
 * keys before refusing it; and every server re-reads the keys every minute, so all of them sign
 * with the new key within a minute (docs/OPERATIONS.md, Scale-out).
 */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context/index.ts";
import type { KeyRing } from "../identity/index.ts";
import { requireAdminKey } from "./auth.ts";

/** How often each server re-reads the signing keys (another server may have rotated them). */
export const KEY_REFRESH_MS = 60_000;

export async function registerAdminKeyRoutes(app: FastifyInstance, deps: { context: AppContext; keys: KeyRing }): Promise<void> {
  const { context: ctx, keys } = deps;
  await app.register(async (scope) => {
    scope.addHook("preHandler", requireAdminKey(() => ctx.adminKey));

    scope.post("/admin/keys/rotate", async () => {
      const previous = keys.activeKid();
      const kid = await keys.rotate();
      ctx.log.info({ kid, previous }, "signing key rotated");
      return { kid, previous: previous ?? null };
    });

    scope.get("/admin/keys", async () => {
      await keys.reload();
      const published = await ctx.store.signingKeys.published(ctx.clock.now());
      return {
        active: keys.activeKid() ?? null,
        value: published.map((k) => ({ kid: k.kid, alg: k.alg, createdAt: new Date(k.createdAt).toISOString(), retiredAt: k.retiredAt === null ? null : new Date(k.retiredAt).toISOString(), publishUntil: k.publishUntil === null ? null : new Date(k.publishUntil).toISOString() })),
      };
    });
  });

  const timer = setInterval(() => {
    keys.reload().catch((error: unknown) => ctx.log.warn({ err: error }, "signing keys could not be re-read from the store; retrying in a minute"));
  }, KEY_REFRESH_MS);
  timer.unref();
  app.addHook("onClose", async () => clearInterval(timer));
}
