/**
 * The ARM request pipeline shared by every resource provider. Order, for each request:
 *   1. headers   - no-cache trio on every answer (request/correlation ids come from the shell)
 *   2. parse     - bodies are kept as raw bytes and parsed only when a handler asks
 *                  (`call.body()`): PAL ignores them (clients send anything from nothing to
 *                  `{"partnerId":…}`), other providers read JSON and get a 400 for bad JSON
 *   3. auth      - bearer token → Caller (401 with a WWW-Authenticate challenge otherwise)
 *   4. dispatch  - `{scope}/providers/{namespace}/{type}[/{name}]` (scope: `/`, a management
 *                  group, subscription, resource group or resource), plus ARM's own
 *                  `/subscriptions[/{s}[/resourcegroups[/{rg}]]]`, matched case-insensitively
 *   5. version   - api-version required and registered for the namespace
 *   6. handler   - provider logic; returns a body (serialised here, exact bytes) or "empty"
 *   7. error     - ArmError → its envelope; anything else → 500 with the request id, logged
 *
 * fastify routes are case-sensitive, so routes with a case-insensitive regex on the first
 * segment capture every `/providers/…` and `/subscriptions…` path and this module dispatches the
 * rest itself (ArmPath, path.ts). SDKs build `/{scope}/providers/…` from scopes that already
 * start with "/", so `//subscriptions/…` is common on the wire; a catch-all route takes those
 * and hands everything else back to fastify's 404.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Caller, TokenVerifier } from "../identity/index.ts";
import type { AppContext } from "../context/index.ts";
import { armError, ArmError } from "./errors.ts";
import { requireApiVersion } from "./api-version.ts";
import { authenticateArmRequest } from "./auth.ts";
import { parseArmPath, type ArmPath } from "./path.ts";
import { apiVersionsOf, providerData } from "./api-versions.ts";
import { providersApi } from "./providers.ts";
import type { Scope, ScopeKind } from "../domain/scope.ts";

export type ArmMethod = "GET" | "PUT" | "PATCH" | "DELETE" | "POST";
const METHODS: readonly ArmMethod[] = ["GET", "PUT", "PATCH", "DELETE", "POST"];
/** Methods routed into the layer: HEAD is answered from the GET handlers. */
const ROUTED_METHODS = [...METHODS, "HEAD"] as const;

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** What a handler knows about the request it serves. */
export interface ArmCall {
  readonly caller: Caller;
  readonly apiVersion: string;
  /** The resource name segment: undefined when absent, "" for a trailing slash. */
  readonly name: string | undefined;
  /** Where the resource type was addressed: `/` for tenant-level types. */
  readonly scope: Scope;
  /** Query parameters; a repeated parameter keeps its first value. */
  readonly query: Readonly<Record<string, string | undefined>>;
  /** The request body as JSON (undefined when empty); 400 InvalidRequestContent when not JSON. */
  body(): unknown;
  readonly requestId: string;
  /** The time of the request (epoch ms), read once from the injected clock. */
  readonly now: number;
  readonly log: FastifyBaseLogger;
}

/**
 * A success. ARM writes here are synchronous: 200 by default; a provider may answer 201 for a
 * create where the real service does, and 204 for a DELETE of something absent.
 */
export type ArmResult = { readonly body: unknown; readonly status?: 200 | 201 } | { readonly empty: true; readonly status?: 200 | 204 };
export type ArmHandler = (call: ArmCall) => Promise<ArmResult>;

export interface ArmResourceType {
  /** e.g. "partners"; matched case-insensitively. */
  readonly type: string;
  /** Handlers for the type itself (`/partners`, `/partners/`). */
  readonly collection?: Partial<Record<ArmMethod, ArmHandler>>;
  /** Handlers for one named resource (`/partners/{name}`). */
  readonly item?: Partial<Record<ArmMethod, ArmHandler>>;
  /** Scope kinds the type is served at; default `["root"]` (tenant level, `/providers/…`). */
  readonly scopes?: readonly ScopeKind[];
}

/** A resource provider, e.g. Microsoft.ManagementPartner (tenant level) or Microsoft.Authorization. */
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
  if ("empty" in result) return reply.code(result.status ?? 200).send();
  return reply.code(result.status ?? 200).type(JSON_CONTENT_TYPE).send(JSON.stringify(result.body));
}

/** A regex for a fastify parameter that matches `word` in any letter case. */
function anyCase(word: string): string {
  return `^${[...word].map((c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).join("")}$`;
}

function firstValues(query: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) out[k] = Array.isArray(v) ? (typeof v[0] === "string" ? v[0] : undefined) : typeof v === "string" ? v : undefined;
  return out;
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
      // Raw bytes, parsed on demand (ArmCall.body): PAL must not fail on bodies it ignores.
      scope.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
      scope.addHook("onRequest", (_req, reply, done) => {
        reply.header("cache-control", "no-cache").header("pragma", "no-cache").header("expires", "-1");
        done();
      });
      scope.setErrorHandler((error: Error & { statusCode?: number }, req, reply) => this.#fail(error, req, reply));

      const dispatch = (req: FastifyRequest, reply: FastifyReply) => this.#run(req, reply, (caller) => this.#dispatchPath(req, caller));
      // One regex for both first segments: find-my-way keeps one parametric child per position.
      const first = `/:root(^(?:${anyCase("providers").slice(1, -1)}|${anyCase("subscriptions").slice(1, -1)})$)`;
      scope.route({ method: [...ROUTED_METHODS], url: first, handler: dispatch, exposeHeadRoute: false });
      scope.route({ method: [...ROUTED_METHODS], url: `${first}/*`, handler: dispatch, exposeHeadRoute: false });
      // `//subscriptions/…`, `///providers/…`: what SDKs send for scopes given with a leading "/".
      scope.route({
        method: [...ROUTED_METHODS],
        exposeHeadRoute: false,
        url: "/*",
        handler: (req, reply) => {
          const path = req.url.split("?")[0] ?? "";
          if (!/^\/\/+(providers|subscriptions)(\/|$)/i.test(path)) return reply.callNotFound();
          return dispatch(req, reply);
        },
      });
      // ARM's cloud metadata (no token), what `az cloud register --endpoint-resource-manager`
      // and other clients read: the authority and the audiences. 2019-05-01 and later: a list.
      scope.get("/metadata/endpoints", async (req, reply) => {
        const base = this.#deps.context.baseUrl();
        const cloud = {
          portal: `${base}/portal/`, graph: `${base}/`, graphAudience: `${base}/`, microsoftGraphResourceId: `${base}/`,
          name: "OpenPAL", resourceManager: `${base}/`,
          authentication: { loginEndpoint: base, audiences: ["https://management.core.windows.net/", "https://management.azure.com/"], tenant: "common", identityProvider: "AAD" },
          suffixes: {},
        };
        const version = (req.query as Record<string, unknown>)["api-version"];
        const list = typeof version === "string" && version >= "2019-05-01";
        const legacy = { galleryEndpoint: "", graphEndpoint: `${base}/`, portalEndpoint: `${base}/portal/`, authentication: cloud.authentication };
        return reply.type(JSON_CONTENT_TYPE).send(JSON.stringify(list ? [cloud] : legacy));
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

  #call(req: FastifyRequest, caller: Caller, apiVersion: string, name: string | undefined, scope: Scope = ROOT): ArmCall {
    const raw = req.body;
    let parsed: { value: unknown } | undefined;
    return {
      caller, apiVersion, name, scope, query: firstValues(req.query), requestId: req.id, now: this.#deps.context.clock.now(), log: req.log,
      body() {
        if (parsed) return parsed.value;
        const text = Buffer.isBuffer(raw) ? raw.toString("utf8") : "";
        if (text.trim() === "") return (parsed = { value: undefined }).value;
        try {
          return (parsed = { value: JSON.parse(text) as unknown }).value;
        } catch (error) {
          throw armError("InvalidRequestContent", { reason: (error as Error).message });
        }
      },
    };
  }

  async #dispatchPath(req: FastifyRequest, caller: Caller): Promise<ArmResult> {
    const path = (req.url.split("?")[0] ?? "").replace(/^\/+/, "/");
    const addressed: ArmPath = parseArmPath(path);
    return this.#dispatchProvider(req, caller, addressed);
  }

  async #dispatchProvider(req: FastifyRequest, caller: Caller, addressed: ArmPath): Promise<ArmResult> {
    const { namespace, type, name, extra, scope } = addressed;
    // The resource provider API: `{scope}/providers[/{namespace}[/register|/unregister]]`.
    const providerAction = namespace === "" && type === undefined ? "list"
      : type === undefined || type === "" ? "get"
      : req.method === "POST" && name === undefined && extra.length === 0 && /^(un)?register$/i.test(type) ? (type.toLowerCase() as "register" | "unregister")
      : undefined;
    if (providerAction) {
      requireApiVersion(req.query, apiVersionsOf("Microsoft.Resources", "providers"), "Microsoft.Resources/providers");
      if (req.method !== (providerAction === "register" || providerAction === "unregister" ? "POST" : "GET") && req.method !== "HEAD") {
        throw armError("HttpMethodNotAllowed", { method: req.method, path: req.url.split("?")[0] ?? "", allowed: providerAction === "register" || providerAction === "unregister" ? "POST" : "GET" });
      }
      const { context } = this.#deps;
      const body = await providersApi(context.store, caller, { scope, namespace: namespace === "" ? undefined : namespace, action: providerAction }, context.clock.now(), context.baseUrl());
      return { body };
    }
    const provider = this.#providers.get(namespace.toLowerCase());
    if (!provider) throw armError("InvalidResourceNamespace", { namespace, registered: this.#registered() });
    const qualifiedType = `${provider.namespace}/${type ?? ""}`;
    const resourceType = type === undefined ? undefined : provider.resourceTypes.find((t) => t.type.toLowerCase() === type.toLowerCase()
      && (t.scopes ?? ["root"]).includes(scope.kind));
    // Each resource type accepts its own api-versions (api-versions.ts); an unknown type is
    // refused below, after the namespace-wide version check ARM makes first.
    const versions = resourceType && providerData(provider.namespace)?.resourceTypes.some((t) => t.resourceType.toLowerCase() === resourceType.type.toLowerCase())
      ? apiVersionsOf(provider.namespace, resourceType.type) : provider.apiVersions;
    const apiVersion = requireApiVersion(req.query, versions, qualifiedType);
    if (!resourceType || extra.length > 0) {
      const served = provider.resourceTypes.filter((t) => (t.scopes ?? ["root"]).includes(scope.kind)).map((t) => t.type);
      throw armError("InvalidResourceType", {
        type: [type, ...(extra.length ? [name, ...extra] : [])].join("/"), namespace: provider.namespace, apiVersion,
        types: `${served.join(", ") || "none"} at ${scope.kind === "root" ? "tenant" : scope.kind} scope`,
      });
    }
    const handlers = name === undefined || name === "" ? resourceType.collection : resourceType.item;
    // HEAD is ARM's existence check (check_existence in the SDKs, `az group exists`): the GET
    // without a body, 204 when the resource exists, the GET's error status (404) when not.
    if (req.method === "HEAD" && handlers?.GET) {
      await handlers.GET(this.#call(req, caller, apiVersion, name, scope));
      return { empty: true, status: 204 };
    }
    const handler = handlers?.[req.method as ArmMethod];
    if (!handler) {
      throw armError("HttpMethodNotAllowed", {
        method: req.method, path: req.url.split("?")[0] ?? "", allowed: Object.keys(handlers ?? {}).join(", ") || "none",
      });
    }
    return handler(this.#call(req, caller, apiVersion, name, scope));
  }
}

const ROOT: Scope = Object.freeze({ kind: "root", id: "/", key: "/" });
