/**
 * Admin endpoints for the partner registry (operator key required):
 *   GET  /admin/partners                                 every organisation with its locations
 *   GET  /admin/partners/{globalId}                      one organisation
 *   PUT  /admin/partners/{globalId}                      create or update: name, tenantIds, locations
 *   POST /admin/partners/locations/{id}/deactivate       from now (or body.at), effective-dated
 *   POST /admin/partners/locations/{id}/activate
 * Every write goes to the audit log in the same transaction.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { AppContext } from "../context/index.ts";
import type { Aggregates, PartnerOrganisation } from "../store/index.ts";
import { isWellFormedPartnerId } from "../domain/partner-id.ts";
import { isGuid, normalizeGuid } from "../domain/ids.ts";
import { parseIsoTime } from "../domain/time.ts";
import { requireAdminKey } from "./auth.ts";

export interface PartnerLocationInput {
  readonly id: string;
  readonly country: string | null;
  readonly active: boolean | undefined;
}

export interface PartnerOrganisationInput {
  readonly name: string;
  readonly tenantIds: readonly string[];
  readonly locations: readonly PartnerLocationInput[];
}

type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** Validates a PUT body; every problem is named with its JSON path. */
export function parseOrganisationInput(globalId: string, body: unknown): Parsed<PartnerOrganisationInput> {
  const problems: string[] = [];
  if (!isWellFormedPartnerId(globalId)) problems.push(`globalId '${globalId}' must be 1 to 10 digits, e.g. 4000000.`);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, problems: [...problems, 'the body must be a JSON object such as {"name":"Contoso","locations":[{"id":"4000001"}]}.'] };
  }
  const b = body as Record<string, unknown>;
  if (typeof b.name !== "string" || b.name.trim() === "") problems.push("$.name must be a non-empty string (the organisation's display name).");
  const tenantIds: string[] = [];
  if (b.tenantIds !== undefined && !Array.isArray(b.tenantIds)) problems.push("$.tenantIds must be an array of tenant GUIDs.");
  for (const [i, t] of (Array.isArray(b.tenantIds) ? b.tenantIds : []).entries()) {
    if (typeof t === "string" && isGuid(t)) tenantIds.push(normalizeGuid(t));
    else problems.push(`$.tenantIds[${i}] must be a tenant GUID.`);
  }
  const locations: PartnerLocationInput[] = [];
  if (!Array.isArray(b.locations) || b.locations.length === 0) problems.push('$.locations must list at least one location, e.g. [{"id":"4000001","country":"US"}].');
  for (const [i, l] of (Array.isArray(b.locations) ? b.locations : []).entries()) {
    const loc = (typeof l === "object" && l !== null ? l : {}) as Record<string, unknown>;
    const id = typeof l === "string" ? l : loc.id;
    if (typeof id !== "string" || !isWellFormedPartnerId(id)) { problems.push(`$.locations[${i}].id must be 1 to 10 digits.`); continue; }
    if (id === globalId) { problems.push(`$.locations[${i}].id must differ from the global id ${globalId}; location ids are what partners link.`); continue; }
    if (locations.some((x) => x.id === id)) { problems.push(`$.locations[${i}].id ${id} is listed twice.`); continue; }
    if (loc.country !== undefined && loc.country !== null && typeof loc.country !== "string") problems.push(`$.locations[${i}].country must be a country code such as "US".`);
    if (loc.active !== undefined && typeof loc.active !== "boolean") problems.push(`$.locations[${i}].active must be true or false.`);
    locations.push({ id, country: typeof loc.country === "string" ? loc.country : null, active: typeof loc.active === "boolean" ? loc.active : undefined });
  }
  if (problems.length) return { ok: false, problems };
  return { ok: true, value: { name: (b.name as string).trim(), tenantIds, locations } };
}

async function organisationView(tx: Aggregates, org: PartnerOrganisation, now: number) {
  const locations = await tx.partners.listLocations(org.globalId);
  return {
    globalId: org.globalId,
    name: org.name,
    tenantIds: org.tenantIds,
    locations: await Promise.all(locations.map(async (l) => ({ id: l.id, country: l.country, active: await tx.partners.isLocationActive(l.id, now) }))),
  };
}

function badRequest(reply: FastifyReply, code: string, message: string): FastifyReply {
  return reply.code(400).send({ error: { code, message } });
}

export async function registerAdminPartnerRoutes(app: FastifyInstance, deps: { context: AppContext }): Promise<void> {
  const { context: ctx } = deps;
  await app.register(async (scope) => {
    scope.addHook("preHandler", requireAdminKey(() => ctx.adminKey));

    scope.get("/admin/partners", async () => {
      const now = ctx.clock.now();
      const orgs = await ctx.store.partners.listOrganisations();
      return { value: await Promise.all(orgs.map((o) => organisationView(ctx.store, o, now))) };
    });

    scope.get<{ Params: { globalId: string } }>("/admin/partners/:globalId", async (req, reply) => {
      const org = await ctx.store.partners.getOrganisation(req.params.globalId);
      if (!org) return reply.code(404).send({ error: { code: "PartnerNotFound", message: `No partner organisation has global id ${req.params.globalId}; GET /admin/partners lists them.` } });
      return organisationView(ctx.store, org, ctx.clock.now());
    });

    scope.put<{ Params: { globalId: string } }>("/admin/partners/:globalId", async (req, reply) => {
      const { globalId } = req.params;
      const parsed = parseOrganisationInput(globalId, req.body);
      if (!parsed.ok) return badRequest(reply, "InvalidPartner", parsed.problems.join(" "));
      const input = parsed.value;
      const now = ctx.clock.now();
      // An id may belong to one organisation only, as a global id or as a location.
      const clashes: string[] = [];
      const asLocation = await ctx.store.partners.lookup(globalId, now);
      if (asLocation.kind === "location") clashes.push(`${globalId} is already a location id of ${asLocation.organisation.globalId}`);
      for (const l of input.locations) {
        const found = await ctx.store.partners.lookup(l.id, now);
        if (found.kind === "global") clashes.push(`${l.id} is the global id of ${found.organisation.name}`);
        if (found.kind === "location" && found.organisation.globalId !== globalId) clashes.push(`${l.id} is a location of ${found.organisation.name} (${found.organisation.globalId})`);
      }
      if (clashes.length) return reply.code(409).send({ error: { code: "PartnerIdTaken", message: `${clashes.join("; ")}. Choose ids no other organisation uses.` } });
      const view = await ctx.store.transaction(async (tx) => {
        const existing = await tx.partners.getOrganisation(globalId);
        await tx.partners.putOrganisation({ globalId, name: input.name, tenantIds: input.tenantIds, createdAt: existing?.createdAt ?? now });
        for (const l of input.locations) {
          await tx.partners.putLocation({ id: l.id, globalId, country: l.country, name: null, createdAt: now });
          if (l.active !== undefined) await tx.partners.setLocationActive(l.id, l.active, now);
        }
        await tx.audit.append({
          at: now, tenantId: null, actorTenantId: null, actorObjectId: null, action: existing ? "partner.update" : "partner.create",
          target: `/admin/partners/${globalId}`, requestId: req.id,
          details: { name: input.name, locations: input.locations.map((l) => l.id), tenantIds: input.tenantIds },
        });
        return organisationView(tx, (await tx.partners.getOrganisation(globalId)) as PartnerOrganisation, now);
      });
      return view;
    });

    for (const action of ["activate", "deactivate"] as const) {
      scope.post<{ Params: { id: string } }>(`/admin/partners/locations/:id/${action}`, async (req, reply) => {
        const { id } = req.params;
        const now = ctx.clock.now();
        const at = (req.body as { at?: unknown } | undefined)?.at;
        let from = now;
        if (at !== undefined) {
          const parsed = typeof at === "string" ? parseIsoTime(at) : undefined;
          if (parsed === undefined) return badRequest(reply, "InvalidTime", `"at" must be an ISO 8601 time with a zone, e.g. 2026-11-01T00:00:00Z.`);
          from = parsed;
        }
        const found = await ctx.store.partners.lookup(id, now);
        if (found.kind !== "location") {
          const hint = found.kind === "global" ? ` ${id} is a global id; (de)activate its location ids.` : " GET /admin/partners lists the location ids.";
          return reply.code(404).send({ error: { code: "PartnerLocationNotFound", message: `No partner location has id ${id}.${hint}` } });
        }
        await ctx.store.transaction(async (tx) => {
          await tx.partners.setLocationActive(id, action === "activate", from);
          await tx.audit.append({
            at: now, tenantId: null, actorTenantId: null, actorObjectId: null, action: `partnerLocation.${action}`,
            target: `/admin/partners/locations/${id}`, requestId: req.id, details: { from },
          });
        });
        return { id, globalId: found.organisation.globalId, active: await ctx.store.partners.isLocationActive(id, ctx.clock.now()) };
      });
    }
  });
}
