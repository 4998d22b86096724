/**
 * /portal/api/subscriptions/{s}/partner-of-record and /portal/api/partner-id/validate: the
 * partner of record (DPOR) of a subscription, read and changed through the DPOR API
 * (Microsoft.OpenPAL, docs/API.md) with the session's bearer token: the API decides who may change
 * it (the EA account owner only, rules 10-12). The portal adds, for reading, whether the signed-in
 * person can change it and, when not, the reason in words, so the page can show it read-only.
 */
import { decodeJwt } from "jose";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../context/index.ts";
import { armErrorOf, linkErrorInPartnerWords, portalError, type PortalError } from "./errors.ts";
import type { PortalRequestContext, PortalRoutes } from "./routes.ts";

const API_VERSION = "2026-01-01";
const SUBSCRIPTIONS_API_VERSION = "2022-12-01";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface DporProperties {
  readonly subscriptionId: string;
  readonly subscriptionName: string | null;
  readonly offerType: string;
  readonly accountOwnerId: string | null;
  readonly partnerId: string | null;
  readonly partnerName: string | null;
  readonly since: string | null;
}

function send(reply: FastifyReply, e: PortalError): FastifyReply {
  return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
}

function dporErrorInPartnerWords(status: number, body: unknown, ctx: { partnerId?: string; directory: string }): PortalError {
  const { code, message } = armErrorOf(body);
  switch (code) {
    case "DporNotEnterpriseAgreement":
    case "DporNotAccountOwner":
      return { status, code, message: message.replace(/^The partner of record cannot be changed( by '[^']*')?: /, "You can't change the partner of record: ") };
    case "SubscriptionNotFound":
    case "AuthorizationFailed":
      return { status, code, message: `You have no access to this subscription in ${ctx.directory}. Check the subscription ID, or use Switch directory to go to the tenant it belongs to.` };
    default:
      return linkErrorInPartnerWords(status, body, ctx);
  }
}

export function registerPortalDpor(routes: PortalRoutes, ctx: AppContext): void {
  const path = (s: string) => `/subscriptions/${s}/providers/Microsoft.OpenPAL/partnerOfRecord/default?api-version=${API_VERSION}`;
  const subscriptionOf = (req: FastifyRequest): string | undefined => {
    const s = (req.params as { subscriptionId?: string }).subscriptionId ?? "";
    return GUID.test(s) ? s.toLowerCase() : undefined;
  };
  const badSubscription = (): PortalError => ({ status: 400, code: "InvalidSubscriptionId", message: "A subscription ID is a GUID, e.g. e3000000-0000-4000-8000-000000000001." });

  /** Whether the signed-in person may change it, and why not, in words (the API enforces it). */
  const permission = async (pc: PortalRequestContext, p: DporProperties): Promise<{ canChange: boolean; reason: string | null }> => {
    if (p.offerType !== "EA") {
      return { canChange: false, reason: `A partner of record can be set only on Enterprise Agreement subscriptions; this one is ${p.offerType}.` };
    }
    const me = String(decodeJwt(await pc.accessToken()).oid ?? "");
    if (p.accountOwnerId && me.toLowerCase() === p.accountOwnerId.toLowerCase()) return { canChange: true, reason: null };
    const tenantId = pc.session.currentTenantId;
    const owner = p.accountOwnerId ? await ctx.store.directory.getUser(tenantId, p.accountOwnerId) : undefined;
    const who = owner ? `${owner.displayName}${owner.userPrincipalName ? ` (${owner.userPrincipalName})` : ""}` : "the subscription's EA account owner";
    return { canChange: false, reason: `Only the EA account owner of this subscription, ${who}, can change its partner of record. You can see it because you have access to the subscription.` };
  };

  const view = async (pc: PortalRequestContext, body: unknown) => {
    const p = (body as { properties: DporProperties }).properties;
    return { directory: { tenantId: pc.session.currentTenantId, displayName: await pc.directoryName() }, partnerOfRecord: p, ...(await permission(pc, p)) };
  };

  routes.api("GET", "/subscriptions/:subscriptionId/partner-of-record", async (req, reply, pc) => {
    const s = subscriptionOf(req);
    if (!s) return send(reply, badSubscription());
    const res = await pc.arm("GET", path(s));
    if (res.status !== 200) return send(reply, dporErrorInPartnerWords(res.status, res.body, { directory: await pc.directoryName() }));
    return view(pc, res.body);
  });

  routes.api("PUT", "/subscriptions/:subscriptionId/partner-of-record", async (req, reply, pc) => {
    const s = subscriptionOf(req);
    if (!s) return send(reply, badSubscription());
    const raw = (req.body as { partnerId?: unknown } | undefined)?.partnerId;
    const partnerId = typeof raw === "string" ? raw.trim() : "";
    if (!partnerId) return send(reply, portalError("PartnerIdRequired"));
    const res = await pc.arm("PUT", path(s), { properties: { partnerId } });
    if (res.status !== 200) return send(reply, dporErrorInPartnerWords(res.status, res.body, { partnerId, directory: await pc.directoryName() }));
    return view(pc, res.body);
  });

  routes.api("DELETE", "/subscriptions/:subscriptionId/partner-of-record", async (req, reply, pc) => {
    const s = subscriptionOf(req);
    if (!s) return send(reply, badSubscription());
    const res = await pc.arm("DELETE", path(s));
    if (res.status !== 200 && res.status !== 204) return send(reply, dporErrorInPartnerWords(res.status, res.body, { directory: await pc.directoryName() }));
    const after = await pc.arm("GET", path(s));
    if (after.status !== 200) return send(reply, dporErrorInPartnerWords(after.status, after.body, { directory: await pc.directoryName() }));
    return view(pc, after.body);
  });

  // The subscriptions the signed-in person can see in the current directory (ARM's own list), for
  // the navigation to each one's partner information.
  routes.api("GET", "/subscriptions", async (_req, reply, pc) => {
    const res = await pc.arm("GET", `/subscriptions?api-version=${SUBSCRIPTIONS_API_VERSION}`);
    const directory = { tenantId: pc.session.currentTenantId, displayName: await pc.directoryName() };
    if (res.status !== 200) return send(reply, dporErrorInPartnerWords(res.status, res.body, { directory: directory.displayName }));
    const value = ((res.body as { value?: { subscriptionId: string; displayName: string; tenantId: string; state: string }[] }).value ?? [])
      .filter((x) => x.tenantId.toLowerCase() === directory.tenantId.toLowerCase())
      .map((x) => ({ subscriptionId: x.subscriptionId, displayName: x.displayName, state: x.state }))
      .sort((a, b) => a.displayName.localeCompare(b.displayName));
    return { directory, value };
  });

  routes.api("POST", "/partner-id/validate", async (req, reply, pc) => {
    const raw = (req.body as { partnerId?: unknown } | undefined)?.partnerId;
    const partnerId = typeof raw === "string" ? raw.trim() : "";
    if (!partnerId) return send(reply, portalError("PartnerIdRequired"));
    const res = await pc.arm("POST", `/providers/Microsoft.OpenPAL/validatePartnerId?api-version=${API_VERSION}`, { partnerId });
    if (res.status !== 200) return send(reply, dporErrorInPartnerWords(res.status, res.body, { partnerId, directory: await pc.directoryName() }));
    return res.body;
  });
}
