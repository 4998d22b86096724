/**
 * Operator authentication of /admin endpoints: `Authorization: Bearer <admin key>` (the key is in
 * `<data-dir>/admin.key`). Compared in constant time over fixed-length digests, so neither the
 * key's content nor its length leaks through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/** Whether an Authorization header carries the admin key. */
export function adminKeyMatches(authorization: string | undefined, adminKey: string): boolean {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1] ?? "";
  // Always compare, even for an absent key, so a missing header costs the same time.
  const same = timingSafeEqual(digest(presented), digest(adminKey));
  return same && presented.length > 0;
}

/** A fastify preHandler that answers 401 unless the request carries the admin key. */
export function requireAdminKey(adminKey: () => string) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (adminKeyMatches(req.headers.authorization, adminKey())) return;
    await reply.code(401).header("www-authenticate", 'Bearer realm="openpal-admin"').send({
      error: {
        code: "AdminKeyRequired",
        message: "This endpoint needs the operator key: send 'Authorization: Bearer <key>' with the key from <data-dir>/admin.key.",
      },
    });
  };
}
