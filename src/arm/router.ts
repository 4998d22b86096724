/**
 * The ARM request pipeline shared by every resource provider. Order, for each request:
 *   1. headers   - no-cache trio on every answer (request/correlation ids come from the shell)
 *   2. parse     - bodies are read and ignored: ARM writes of this server carry everything in
 *                  the URL, and clients send anything from nothing to `{"partnerId":…}`
 *   3. auth      - bearer token → Caller (401 with a WWW-Authenticate challenge otherwise)
 *   4. dispatch  - `/providers/{namespace}/{type}[/{name}]`, matched case-insensitively
 *   5. version   - api-version required and registered for the namespace
 *   6. handler   - provider logic; returns a body (serialised here, exact bytes) or "empty"
 *   7. error     - ArmError → its envelope; anything else → 500 with the request id, logged
 *
 * fastify routes are case-sensitive, so one route with a case-insensitive regex on the first
 * segment captures every `/providers/…` path and this module dispatches the rest itself.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Caller, TokenVerifier } from "../identity/index.ts";
import type { AppContext } from "../server/context.ts";
import { armError, ArmError } from "./errors.ts";
import { requireApiVersion } from "./api-version.ts";
import { authenticateArmRequest } from "./auth.ts";

export type ArmMethod = "GET" | "PUT" | "PATCH" | "DELETE" | "POST";
const METHODS: readonly ArmMethod[] = ["GET", "PUT", "PATCH", "DELETE", "POST"];

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** What a handler knows about the request it serves. */
export interface ArmCall {
  readonly caller: Caller;
  readonly apiVersion: string;
  /** The resource name segment: undefined when absent, "" for a trailing slash. */
  readonly name: string | undefined;
  readonly requestId: string;
  /** The time of the request (epoch ms), read once from the injected clock. */
  readonly now: number;
  readonly log: FastifyBaseLogger;
}

/** A success: ARM writes here are synchronous, so success is always 200. */
export type ArmResult = { readonly body: unknown } | { readonly empty: true };
export type ArmHandler = (call: ArmCall) => Promise<ArmResult>;

export interface ArmResourceType {
  /** e.g. "partners"; matched case-insensitively. */
  readonly type: string;
  /** Handlers for the type itself (`/partners`, `/partners/`). */
  readonly collection?: Partial<Record<ArmMethod, ArmHandler>>;
  /** Handlers for one named resource (`/partners/{name}`). */
  readonly item?: Partial<Record<ArmMethod, ArmHandler>>;
}

/** A tenant-scope resource provider, e.g. Microsoft.ManagementPartner. */
export interface ArmProvider {
  /** Canonical casing, e.g. "Microsoft.ManagementPartner". */
  readonly namespace: string;
  readonly apiVersions: readonly string[];
  readonly resourceTypes: readonly ArmResourceType[];
}

/** A route outside `/providers` with the same pipeline, e.g. GET /tenants. */
export interface ArmRoute {
  readonly method: ArmMethod;
  readonly url: string;
  /** The type named in api-version errors, e.g. "tenants". */
  readonly type: string;
  readonly apiVersions: readonly string[];
  readonly handler: ArmHandler;
}

export interface ArmLayerDeps {
  readonly context: AppContext;
  readonly verifier: TokenVerifier;
}

/** Sends a provider result with exact bytes: compact JSON in the handler's key order. */
function sendResult(reply: FastifyReply, result: ArmResult): FastifyReply {
  // DELETE answers 200 with no body and therefore no Content-Type (PAL-API.md).
  if ("empty" in result) return reply.code(200).send();
  return reply.code(200).type(JSON_CONTENT_TYPE).send(JSON.stringify(result.body));
}

function sendError(reply: FastifyReply, error: ArmError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.status).type(JSON_CONTENT_TYPE).send(error.toBody());
}

/**
 * The ARM layer: providers and extra routes are added, then `register(app)` mounts them in one
 * encapsulated scope (its own body parsing, headers and error handling).
 */
export class ArmLayer {
  readonly #deps: ArmLayerDeps;
  readonly #providers = new Map<string, ArmProvider>();
  readonly #routes: ArmRoute[] = [];

  constructor(deps: ArmLayerDeps) {
    this.#deps = deps;
  }

  addProvider(provider: ArmProvider): this {
    const key = provider.namespace.toLowerCase();
    if (this.#providers.has(key)) throw new Error(`ARM provider ${provider.namespace} is registered twice.`);
    this.#providers.set(key, provider);
    return this;
  }

  addRoute(route: ArmRoute): this {
    this.#routes.push(route);
    return this;
  }

  async register(app: FastifyInstance): Promise<void> {
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser("*", { parseAs: "buffer" }, (_req, _body, done) => done(null, undefined));
      scope.addHook("onRequest", async (_req, reply) => {
        reply.header("cache-control", "no-cache").header("pragma", "no-cache").header("expires", "-1");
      });
      scope.setErrorHandler((error: Error & { statusCode?: number }, req, reply) => this.#fail(error, req, reply));

      scope.route({
        method: [...METHODS],
        url: "/:providers(^[pP][rR][oO][vV][iI][dD][eE][rR][sS]$)/*",
        handler: (req, reply) => this.#run(req, reply, (caller) => this.#dispatchProvider(req, caller)),
      });
      for (const route of this.#routes) {
        scope.route({
          method: route.method,
          url: route.url,
          handler: (req, reply) => this.#run(req, reply, async (caller) => {
            const apiVersion = requireApiVersion(req.query, route.apiVersions, route.type);
            return route.handler(this.#call(req, caller, apiVersion, undefined));
          }),
        });
      }
    });
  }

  async #run(req: FastifyRequest, reply: FastifyReply, work: (caller: Caller) => Promise<ArmResult>): Promise<FastifyReply> {
    try {
      const { context, verifier } = this.#deps;
      const caller = await authenticateArmRequest(req.headers.authorization, verifier, context.baseUrl(), context.clock.now());
      return sendResult(reply, await work(caller));
    } catch (error) {
      return this.#fail(error, req, reply);
    }
  }

  #fail(error: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (error instanceof ArmError) return sendError(reply, error);
    const e = error as Error & { statusCode?: number; code?: string };
    // fastify's own 4xx (body too large, bad content length…) keep their status and message.
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      const code = e.code && !e.code.startsWith("FST_") ? e.code : "BadRequest";
      return reply.code(e.statusCode).type(JSON_CONTENT_TYPE).send(JSON.stringify({ error: { code, message: e.message } }));
    }
    req.log.error({ err: error }, "ARM request failed");
    return sendError(reply, armError("InternalServerError", { requestId: req.id }));
  }

  #registered(): string {
    return [...this.#providers.values()].map((p) => p.namespace).join(", ") || "(none)";
  }

  #call(req: FastifyRequest, caller: Caller, apiVersion: string, name: string | undefined): ArmCall {
    return { caller, apiVersion, name, requestId: req.id, now: this.#deps.context.clock.now(), log: req.log };
  }

  async #dispatchProvider(req: FastifyRequest, caller: Caller): Promise<ArmResult> {
    const rest = (req.params as Record<string, string>)["*"] ?? "";
    const [namespace = "", type, name, ...extra] = rest.split("/");
    const provider = this.#providers.get(namespace.toLowerCase());
    if (!provider) throw armError("InvalidResourceNamespace", { namespace, registered: this.#registered() });
    const qualifiedType = `${provider.namespace}/${type ?? ""}`;
    const apiVersion = requireApiVersion(req.query, provider.apiVersions, qualifiedType);
    const resourceType = type === undefined ? undefined : provider.resourceTypes.find((t) => t.type.toLowerCase() === type.toLowerCase());
    if (!resourceType || extra.length > 0) {
      throw armError("InvalidResourceType", {
        type: [type, ...(extra.length ? [name, ...extra] : [])].join("/"), namespace: provider.namespace, apiVersion,
        types: provider.resourceTypes.map((t) => t.type).join(", "),
      });
    }
    const handlers = name === undefined || name === "" ? resourceType.collection : resourceType.item;
    const handler = handlers?.[req.method as ArmMethod];
    if (!handler) {
      throw armError("HttpMethodNotAllowed", {
        method: req.method, path: req.url.split("?")[0] ?? "", allowed: Object.keys(handlers ?? {}).join(", ") || "none",
      });
    }
    return handler(this.#call(req, caller, apiVersion, name));
  }
}
