/**
 * Wire shapes of the partner-of-record extension (Microsoft.OpenPAL, api-version 2026-01-01): a
 * singleton child resource `default` of the subscription, and the "Validate ID" answer.
 */
import { formatArmTime } from "../../domain/time.ts";
import type { PartnerOfRecordInterval, Subscription } from "../../store/index.ts";
import { apiVersionsOf } from "../../arm/api-versions.ts";

export const NAMESPACE = "Microsoft.OpenPAL";
export const API_VERSIONS: readonly string[] = apiVersionsOf(NAMESPACE);
export const SINGLETON = "default";

export function partnerOfRecordPath(subscriptionId: string): string {
  return `/subscriptions/${subscriptionId}/providers/${NAMESPACE}/partnerOfRecord/${SINGLETON}`;
}

const time = (ms: number | null) => (ms === null ? null : formatArmTime(ms));

/**
 * The resource. `partnerId`, `partnerName` and `since` are null while no partner of record is in
 * effect; `history` lists every interval, oldest first (what the portal shows under the form).
 */
export function partnerOfRecordResource(s: Subscription, current: PartnerOfRecordInterval | undefined, history: readonly PartnerOfRecordInterval[], names: ReadonlyMap<string, string | null>) {
  return {
    id: partnerOfRecordPath(s.id),
    type: `${NAMESPACE}/partnerOfRecord`,
    name: SINGLETON,
    properties: {
      subscriptionId: s.id,
      subscriptionName: s.displayName,
      offerType: s.offerType,
      accountOwnerId: s.accountOwnerId,
      partnerId: current?.partnerId ?? null,
      partnerName: current ? (names.get(current.partnerId) ?? null) : null,
      since: current ? time(current.validFrom) : null,
      history: history.map((h) => ({
        partnerId: h.partnerId, partnerName: names.get(h.partnerId) ?? null, from: time(h.validFrom), to: time(h.validTo), endReason: h.endReason,
      })),
    },
  };
}
