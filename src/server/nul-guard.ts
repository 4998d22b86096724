/**
 * No request value may hold NUL (U+0000): not a path segment, a query value, a form field or a
 * string anywhere in a JSON body. No id has one, PostgreSQL's text cannot store one (SQLite can),
 * and a value with one is never what a client meant. Refusing it at the edge makes every route
 * answer the same on both stores: a 400 that names where the character is, rendered by the
 * route's own error handler in its API's shape (ARM, Graph, OAuth, insights, Power Platform).
 * The store keeps a last line of defence for values that reach it another way
 * (store/own-schema-introspector.ts, UnstorableValueError).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";

export class NulInRequestError extends Error {
  readonly statusCode = 400;
  readonly code = "InvalidRequestContent";
  constructor(where: string) {
    super(`The request's ${where} holds a NUL character (U+0000), which no id or value may contain. Remove it and send the request again.`);
  }
}

/** Where in `value` (a parsed body) a string holds NUL, as a JSON-path-like label; undefined if nowhere. */
export function nulIn(value: unknown, at = "", depth = 0): string | undefined {
  if (typeof value === "string") return value.includes("\u0000") ? at || "value" : undefined;
  if (value === null || typeof value !== "object" || depth > 64) return undefined;
  if (Buffer.isBuffer(value)) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const label = Array.isArray(value) ? `${at}[${key}]` : at ? `${at}.${key}` : key;
    if (key.includes("\u0000")) return label;
    const found = nulIn(inner, label, depth + 1);
    if (found) return found;
  }
  return undefined;
}

function where(req: FastifyRequest): string | undefined {
  for (const [name, value] of Object.entries((req.params ?? {}) as Record<string, unknown>)) {
    if (typeof value === "string" && value.includes("\u0000")) return "path";
    if (name.includes("\u0000")) return "path";
  }
  const query = nulIn(req.query);
  if (query) return `query parameter '${query.replaceAll("\u0000", "\\0")}'`;
  const body = nulIn(req.body);
  if (body) return body === "value" ? "body" : `body field '${body.replaceAll("\u0000", "\\0")}'`;
  return undefined;
}

/**
 * Adds the check to every route (after parsing, before validation and handlers). Callback style:
 * it runs on every request, and an async hook costs a promise each.
 */
export function registerNulGuard(app: FastifyInstance): void {
  app.addHook("preValidation", (req, _reply, done) => {
    const found = where(req);
    done(found ? new NulInRequestError(found) : undefined);
  });
}
