/**
 * The web portal: the static assets built by Vite (portal/dist, `npm run build:portal`, run by
 * `npm install`) under /portal/, with the page paths falling back to index.html so that a deep link
 * such as /portal/link-partner-id loads the app; and its server side (routes.ts): sign-in, the
 * session and the /portal/api/* endpoints. Everything comes from this server: the
 * Content-Security-Policy allows no other origin. Public face of the component (docs/PORTAL.md).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import fastifyStatic from "@fastify/static";
import type { AppContext } from "../context/index.ts";
import { registerPortalRoutes } from "./routes.ts";
import { registerPortalInsights } from "./insights.ts";
import { registerPortalBizapps } from "./bizapps.ts";
import { registerPortalDpor } from "./dpor.ts";
import { portalError } from "./errors.ts";

export { OPENPAL_PORTAL_CLIENT_ID } from "../identity/index.ts";
export { SESSION_COOKIE, SIGNIN_COOKIE, type Directory } from "./routes.ts";
export { PORTAL_ERRORS } from "./errors.ts";

export const PORTAL_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../portal/dist");

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "base-uri 'self'",
].join("; ");

export async function registerPortal(app: FastifyInstance, opts: { context: AppContext; distDir?: string }): Promise<void> {
  const dist = opts.distDir ?? PORTAL_DIST;
  await app.register(async (portal) => {
    portal.addHook("onSend", async (_req, reply) => {
      reply.header("content-security-policy", CONTENT_SECURITY_POLICY);
      reply.header("x-content-type-options", "nosniff");
      reply.header("referrer-policy", "same-origin");
    });
    const routes = await registerPortalRoutes(app, portal, opts.context);
    registerPortalInsights(routes, opts.context);
    registerPortalBizapps(routes, opts.context);
    registerPortalDpor(routes, opts.context);
    // Unknown API paths answer JSON, never the app's HTML.
    portal.all("/portal/api/*", async (req, reply) => {
      const error = portalError("NotFound", { path: `${req.method} ${req.url.split("?")[0] ?? ""}` });
      return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
    });
    if (!existsSync(path.join(dist, "index.html"))) {
      portal.get("/portal/*", async (_req, reply) =>
        reply.code(503).type("text/plain; charset=utf-8").send("The portal has not been built: run `npm run build:portal` (npm install does it), then reload."));
      return;
    }
    await portal.register(fastifyStatic, { root: dist, prefix: "/portal/", index: ["index.html"], wildcard: false });
    // Deep links to portal pages load the app, which routes on the path.
    portal.get("/portal/*", async (req, reply) => {
      if (/\.[a-z0-9]+$/i.test(req.url.split("?")[0] ?? "")) {
        return reply.code(404).type("text/plain; charset=utf-8").send("Not found.");
      }
      return reply.type("text/html; charset=utf-8").sendFile("index.html");
    });
  });
}
