/** Identity HTTP routes: discovery and JWKS per tenant (the token endpoint comes in tokens.ts). */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../server/context.ts";
import type { KeyRing } from "./keys.ts";

export interface IdentityRouteDeps {
  readonly ctx: AppContext;
  readonly keys: KeyRing;
  issuerFor(tenantId: string): string;
}

export async function registerIdentityRoutes(app: FastifyInstance, deps: IdentityRouteDeps): Promise<void> {
  const { ctx, keys, issuerFor } = deps;

  app.get<{ Params: { tenant: string } }>("/:tenant/v2.0/.well-known/openid-configuration", async (req, reply) => {
    const tenant = await ctx.store.directory.findTenant(req.params.tenant);
    if (!tenant) {
      return reply.code(400).send({ error: "invalid_tenant", error_description: `AADSTS90002: Tenant '${req.params.tenant}' not found.` });
    }
    const base = `${ctx.baseUrl()}/${tenant.id}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: issuerFor(tenant.id),
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${base}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username", "name", "tid", "ver", "oid"],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: "EU",
      cloud_instance_name: new URL(ctx.baseUrl()).host,
      cloud_graph_host_name: new URL(ctx.baseUrl()).host,
      msgraph_host: new URL(ctx.baseUrl()).host,
      rbac_url: ctx.baseUrl(),
    };
  });

  app.get<{ Params: { tenant: string } }>("/:tenant/discovery/v2.0/keys", async (req, reply) => {
    const tenant = await ctx.store.directory.findTenant(req.params.tenant);
    if (!tenant) {
      return reply.code(400).send({ error: "invalid_tenant", error_description: `AADSTS90002: Tenant '${req.params.tenant}' not found.` });
    }
    return keys.jwks();
  });
}
