/**
 * Partner ids (Microsoft AI Cloud Partner Program / MPN ids): numeric strings. Real ones have 7
 * digits; we accept 1–10 so that older and future ids fit. Only *location* ids can be linked; a
 * global (headquarters) id names the organisation, not a place that can be credited.
 */

const PARTNER_ID = /^[0-9]{1,10}$/;

export function isWellFormedPartnerId(value: string): boolean {
  return PARTNER_ID.test(value);
}

/** What the registry says about an id at the time of a link request (pure input, no I/O). */
export type PartnerIdFacts =
  | { readonly kind: "location"; readonly active: boolean; readonly organisationName: string | undefined }
  | { readonly kind: "global" }
  | { readonly kind: "unknown" };

/** Why an id cannot be linked; each reason has its own message naming the fix. */
export type PartnerIdRejection = "malformed" | "unknown" | "global" | "inactive";

export type PartnerIdVerdict =
  | { readonly ok: true; readonly partnerName: string | undefined }
  | { readonly ok: false; readonly reason: PartnerIdRejection };

/**
 * Decides whether `partnerId` may be linked. `facts` is consulted only for a well-formed id, so a
 * caller can skip the registry lookup for malformed input.
 */
export function judgeLinkTarget(partnerId: string, facts: PartnerIdFacts | undefined): PartnerIdVerdict {
  if (!isWellFormedPartnerId(partnerId)) return { ok: false, reason: "malformed" };
  if (!facts || facts.kind === "unknown") return { ok: false, reason: "unknown" };
  if (facts.kind === "global") return { ok: false, reason: "global" };
  if (!facts.active) return { ok: false, reason: "inactive" };
  return { ok: true, partnerName: facts.organisationName };
}

/**
 * How partner ids get into this instance, for messages about an unknown id: the operator's partner
 * registry (src/admin/partners.ts) or a world file's `partners` (docs/WORLD-FILE.md).
 */
export const PARTNER_REGISTRATION_HINT =
  "Partner ids are registered by the operator of this OpenPAL instance: PUT /admin/partners/{globalId} with the operator key (docs/API.md), " +
  "or the partners of a world file (openpal world apply FILE; docs/WORLD-FILE.md).";
