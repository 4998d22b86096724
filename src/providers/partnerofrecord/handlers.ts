/**
 * Handlers of the partner of record (DPOR, ATTRIBUTION-RULES.md rules 10–13), an OpenPAL extension
 * in ARM's shape. The rules are the pure checks of domain/partner-of-record.ts; here they are
 * applied in order:
 *   1. the subscription exists (404) and the caller may see it (a role on it, or its account owner)
 *   2. writes: `checkDporPermission` — EA only (400 naming the offer), the EA account owner only
 *      (403 naming who can), an owner of another tenant or a delegated-admin user is refused
 *   3. the partner id is an active location id (400 PartnerIdInvalid, the PAL wording)
 *   4. one transaction: close the open interval, open the next, append the audit entry
 */
import type { Store, Subscription } from "../../store/index.ts";
import { accessAt, armError, auditedWrite, jsonObject, propertiesOf, resolveScope, stringProperty, type ArmCall, type ArmResult } from "../../arm/index.ts";
import { checkDporPermission } from "../../domain/partner-of-record.ts";
import { isWellFormedPartnerId, judgeLinkTarget, PARTNER_REGISTRATION_HINT, type PartnerIdRejection } from "../../domain/partner-id.ts";
import { partnerOfRecordPath, partnerOfRecordResource, SINGLETON } from "./representation.ts";

export interface PartnerOfRecordDeps {
  readonly store: Store;
  readonly baseUrl: () => string;
}

interface Judgement {
  readonly partnerId: string;
  readonly valid: boolean;
  readonly partnerName: string | null;
  /** The PartnerIdInvalid message when not valid (the same words PAL uses). */
  readonly reason: string | null;
}

/** PAL's PartnerIdInvalid details, so both endpoints refuse an id in the same words. */
function invalidDetail(reason: PartnerIdRejection, partnerId: string, organisation: string): string {
  return {
    malformed: `. A Partner ID is 1 to 10 digits, e.g. 4000001; '${partnerId}' is not.`,
    unknown: `. Partner ID '${partnerId}' is not registered in this OpenPAL instance. ${PARTNER_REGISTRATION_HINT}`,
    global: `. '${partnerId}' is the global (headquarters) Partner ID of ${organisation}; use the Associated (location) Partner ID shown on your partner profile instead.`,
    inactive: `. Partner ID '${partnerId}' of ${organisation} is inactive; link one of its active Associated (location) Partner IDs instead.`,
  }[reason];
}

async function judge(store: Store, partnerId: string, now: number): Promise<Judgement> {
  const found = isWellFormedPartnerId(partnerId) ? await store.partners.lookup(partnerId, now) : undefined;
  const facts = found?.kind === "location" ? { kind: "location" as const, active: found.active, organisationName: found.organisation.name }
    : found?.kind === "global" ? { kind: "global" as const } : found ? { kind: "unknown" as const } : undefined;
  const verdict = judgeLinkTarget(partnerId, facts);
  const organisation = found && found.kind !== "unknown" ? found.organisation.name : "its partner organisation";
  const name = found?.kind === "location" ? (found.location.name ?? found.organisation.name) : found?.kind === "global" ? found.organisation.name : null;
  if (verdict.ok) return { partnerId, valid: true, partnerName: name, reason: null };
  return { partnerId, valid: false, partnerName: name, reason: armError("PartnerIdInvalid", { detail: invalidDetail(verdict.reason, partnerId, organisation) }).message };
}

export function partnerOfRecordHandlers(deps: PartnerOfRecordDeps) {
  const { store } = deps;

  const requireSingleton = (call: ArmCall) => {
    if ((call.name ?? "").toLowerCase() !== SINGLETON) {
      throw armError("InvalidRequestUri", { path: `${call.scope.id}/providers/Microsoft.OpenPAL/partnerOfRecord/${call.name ?? ""}`, reason: `a subscription has one partner of record, named '${SINGLETON}'` });
    }
  };

  async function render(s: Subscription, now: number): Promise<ArmResult> {
    const current = await store.partnersOfRecord.current(s.id, now);
    const history = await store.partnersOfRecord.history({ subscriptionId: s.id });
    const names = new Map<string, string | null>();
    for (const id of new Set(history.map((h) => h.partnerId))) names.set(id, (await judge(store, id, now)).partnerName);
    return { body: partnerOfRecordResource(s, current, history, names) };
  }

  /** Step 2 for writes; returns the subscription. */
  async function requireAccountOwner(call: ArmCall): Promise<Subscription> {
    const target = await resolveScope(store, call.caller, call.scope, call.now);
    const s = target.subscription as Subscription;
    const verdict = checkDporPermission({ tenantId: call.caller.tenantId, objectId: call.caller.objectId, foreign: call.caller.foreign }, s);
    if (!verdict.ok) {
      if (verdict.reason === "notEnterpriseAgreement") throw armError("DporNotEnterpriseAgreement", { reason: verdict.message });
      throw armError("DporNotAccountOwner", { objectId: call.caller.objectId, reason: verdict.message });
    }
    // The account owner is an object of the subscription's tenant; the same object id in a token
    // of another tenant is another identity.
    if (call.caller.tenantId.toLowerCase() !== s.tenantId.toLowerCase()) {
      throw armError("DporNotAccountOwner", { objectId: call.caller.objectId, reason: `only the EA account owner (${s.accountOwnerId}) of subscription ${s.id}, signed in to its tenant ${s.tenantId}, may set, change or remove its partner of record.` });
    }
    if (await store.directory.isDisabled(s.tenantId, call.caller.objectId, call.now)) {
      throw armError("PrincipalDisabled", { objectId: call.caller.objectId, tenantId: s.tenantId });
    }
    return s;
  }

  return {
    async get(call: ArmCall): Promise<ArmResult> {
      requireSingleton(call);
      const target = await resolveScope(store, call.caller, call.scope, call.now);
      const s = target.subscription as Subscription;
      const isOwner = !call.caller.foreign && s.accountOwnerId?.toLowerCase() === call.caller.objectId.toLowerCase() && s.tenantId.toLowerCase() === call.caller.tenantId.toLowerCase();
      if (!isOwner) {
        const { access } = await accessAt(store, call.caller, call.scope, call.now, deps.baseUrl());
        if (access.heldAt(target).length === 0) access.require(target, "Microsoft.OpenPAL/partnerOfRecord/read");
      }
      return render(s, call.now);
    },

    async put(call: ArmCall): Promise<ArmResult> {
      requireSingleton(call);
      const partnerId = stringProperty(propertiesOf(jsonObject(call, `{"properties":{"partnerId":"4000001"}}`)), "partnerId", "properties.partnerId", true).trim();
      const s = await requireAccountOwner(call);
      const judged = await judge(store, partnerId, call.now);
      if (!judged.valid) throw armError("PartnerIdInvalid", { detail: (judged.reason as string).slice("The Partner ID is not valid".length) });
      await auditedWrite(store, call, async (tx) => {
        const before = await tx.partnersOfRecord.current(s.id, call.now);
        const result = await tx.partnersOfRecord.set(s, partnerId, call.now, call.caller.objectId);
        return {
          result,
          ...(result === "unchanged" ? {} : { audit: { tenantId: s.tenantId, action: `partnerOfRecord.${result === "set" ? "set" : "change"}`, target: partnerOfRecordPath(s.id), details: { from: before?.partnerId ?? null, to: partnerId } } }),
        };
      });
      return render(s, call.now);
    },

    async delete(call: ArmCall): Promise<ArmResult> {
      requireSingleton(call);
      const s = await requireAccountOwner(call);
      const result = await auditedWrite(store, call, async (tx) => {
        const before = await tx.partnersOfRecord.current(s.id, call.now);
        const outcome = await tx.partnersOfRecord.remove(s.id, call.now, call.caller.objectId);
        return { result: outcome, ...(outcome === "removed" ? { audit: { tenantId: s.tenantId, action: "partnerOfRecord.remove", target: partnerOfRecordPath(s.id), details: { from: before?.partnerId ?? null } } } : {}) };
      });
      return result === "removed" ? { empty: true } : { empty: true, status: 204 };
    },

    /** "Validate ID": always 200; `valid` says whether the id can be set, `reason` why not. */
    async validate(call: ArmCall): Promise<ArmResult> {
      const partnerId = stringProperty(jsonObject(call, `{"partnerId":"4000001"}`), "partnerId", "partnerId", true).trim();
      return { body: await judge(store, partnerId, call.now) };
    },
  };
}
