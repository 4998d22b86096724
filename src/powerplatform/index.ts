/**
 * Power Platform and Customer Insights: the admin APIs the real tools call, each under its real
 * path on this one host, with tokens for its real audience and errors in its own shape
 * (docs/POWER-PLATFORM.md). One fastify plugin per service, each with the same pipeline:
 *   auth (bearer for the service's audience → caller) → handler (permission check, domain + store
 *   through ownership.ts, audited) → the service's JSON, or its error body.
 *
 * Services and folders: bap/ (environments), powerapps/, flow/, powerbi/, dataverse/ (Web API
 * subset and solution files).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../context/index.ts";
import type { Identity } from "../identity/index.ts";
import type { PpEnvironment } from "../store/index.ts";
import { authenticate, ServiceError, type ErrorCodes } from "./http.ts";
import { FLOW_AUDIENCES, POWER_APPS_AUDIENCES, POWER_BI_AUDIENCES, dataverseAudiences } from "./audiences.ts";
import { registerBapRoutes } from "./bap/routes.ts";
import { registerPowerAppsRoutes } from "./powerapps/routes.ts";
import { registerFlowRoutes } from "./flow/routes.ts";
import { registerPowerBiRoutes } from "./powerbi/routes.ts";
import { registerDataverseRoutes, DataverseCode } from "./dataverse/routes.ts";

export * from "./audiences.ts";
export { readSolutionZip, type SolutionManifest } from "./dataverse/solution-zip.ts";
export { changeOwner, setCoOwner, setPublisher, importSolutionManifest, OwnershipError, type Actor } from "./ownership.ts";

interface Deps {
  readonly context: AppContext;
  readonly identity: Identity;
}

type Shape = (e: ServiceError) => unknown;

/** Turns any error into the service's shape: ServiceError as is, fastify's 4xx as a bad request, the rest a 500 with the request id. */
function errorHandler(shape: Shape, badRequestCode: string, headers: Record<string, string> = {}) {
  return (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    let e: ServiceError;
    if (error instanceof ServiceError) e = error;
    else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) e = new ServiceError(error.statusCode, badRequestCode, error.message);
    else {
      req.log.error({ err: error }, "power platform handler failed");
      e = new ServiceError(500, "InternalServerError", `The server hit an unexpected error; the request id is ${req.id}.`);
    }
    if (e.status === 401) reply.header("www-authenticate", 'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"');
    return reply.code(e.status).headers(headers).send(shape(e));
  };
}

const armShape: Shape = (e) => ({ error: { code: e.code, message: e.message } });
const powerBiShape: Shape = (e) => ({ error: { code: e.code, message: e.message, "pbi.error": { code: e.code, parameters: {}, details: [], exceptionCulprit: 1 } } });
const odataShape: Shape = (e) => ({ error: { code: e.code, message: e.message } });

export async function registerPowerPlatform(app: FastifyInstance, deps: Deps): Promise<void> {
  const { context: ctx, identity } = deps;
  const service = async (audiences: readonly string[], codes: ErrorCodes, shape: Shape, badRequest: string, routes: (s: FastifyInstance) => void | Promise<void>) => {
    await app.register(async (s) => {
      s.setErrorHandler(errorHandler(shape, badRequest));
      s.addHook("preHandler", async (req) => {
        await authenticate(ctx, identity, req, audiences, codes);
      });
      await routes(s);
    });
  };
  const armCodes = { unauthorized: "InvalidAuthenticationToken", forbidden: "Forbidden" };
  await service(POWER_APPS_AUDIENCES, armCodes, armShape, "InvalidRequestContent", (s) => {
    registerBapRoutes(s, ctx);
    registerPowerAppsRoutes(s, ctx);
  });
  await service(FLOW_AUDIENCES, armCodes, armShape, "InvalidRequestContent", (s) => registerFlowRoutes(s, ctx));
  await service(POWER_BI_AUDIENCES, { unauthorized: "TokenExpiredOrInvalid", forbidden: "PowerBINotAuthorizedException" }, powerBiShape, "InvalidRequest", (s) => registerPowerBiRoutes(s, ctx));

  // Dataverse: the audience depends on the environment in the path (its instance URL).
  const envs = new WeakMap<FastifyRequest, PpEnvironment>();
  await app.register(async (s) => {
    s.setErrorHandler(errorHandler(odataShape, DataverseCode.invalidArgument, { "OData-Version": "4.0" }));
    s.addHook("preHandler", async (req) => {
      const envId = ((req.params as { env?: string }).env ?? "").toLowerCase();
      const codes = { unauthorized: "0x80040204", forbidden: DataverseCode.forbidden };
      await authenticate(ctx, identity, req, dataverseAudiences(ctx.baseUrl(), envId), codes).then(async (caller) => {
        const env = await ctx.store.powerPlatform.getEnvironment(caller.tenantId, envId);
        // Another tenant's environment is indistinguishable from a missing one.
        if (!env || env.deletedAt !== null) throw new ServiceError(404, DataverseCode.notFound, `Environment ${envId} does not exist in tenant ${caller.tenantId}.`);
        envs.set(req, env);
      });
    });
    registerDataverseRoutes(s, ctx, (req) => {
      const env = envs.get(req);
      if (!env) throw new ServiceError(401, "0x80040204", "No environment resolved for this request.");
      return env;
    });
  });
}
