/**
 * Digital Partner of Record (DPOR) rules 10–13, pure (no I/O, time passed in).
 *
 * - Only Enterprise Agreement subscriptions have a partner of record (rule 10).
 * - Only the subscription's EA account owner may set, change or remove it; service admins,
 *   co-admins and delegated-admin (foreign) callers may not (rule 10).
 * - One partner location at a time; a change closes the open interval and opens the next.
 * - When the subscription leaves EA the DPOR ends there and is not carried over: a later move back
 *   to EA does not revive it (rule 12).
 */
import { intersectSets, type Interval } from "./interval.ts";

/** The subscription as the DPOR rules need it, at the time of the request. */
export interface DporSubscriptionFacts {
  readonly id: string;
  readonly tenantId: string;
  readonly offerType: string;
  /** Object id of the EA account owner; null when the subscription has none recorded. */
  readonly accountOwnerId: string | null;
}

/** Who asks (the verified caller). */
export interface DporActor {
  readonly tenantId: string;
  readonly objectId: string;
  /** A delegated-admin (CSP/GDAP) user without an object in the tenant. */
  readonly foreign?: boolean;
}

export type DporRefusal = "notEnterpriseAgreement" | "noAccountOwner" | "notAccountOwner" | "delegatedAdmin";

export type DporPermission = { readonly ok: true } | { readonly ok: false; readonly reason: DporRefusal; readonly message: string };

/**
 * Whether `actor` may set, change or remove the partner of record of `subscription` (rule 10).
 * The account owner is matched by object id (an EA account owner signs in with the identity the
 * enrollment names, whichever tenant issued the token).
 */
export function checkDporPermission(actor: DporActor, subscription: DporSubscriptionFacts): DporPermission {
  if (subscription.offerType !== "EA") {
    return { ok: false, reason: "notEnterpriseAgreement", message: `subscription ${subscription.id} has offer type ${subscription.offerType}; a partner of record can only be set on Enterprise Agreement (EA) subscriptions. For other offers, link the partner with Partner Admin Link.` };
  }
  if (actor.foreign) {
    return { ok: false, reason: "delegatedAdmin", message: `delegated-admin (CSP/GDAP) users cannot set a partner of record; the subscription's EA account owner must do it.` };
  }
  if (!subscription.accountOwnerId) {
    return { ok: false, reason: "noAccountOwner", message: `subscription ${subscription.id} has no EA account owner recorded; set "accountOwner" on the subscription first.` };
  }
  if (subscription.accountOwnerId.toLowerCase() !== actor.objectId.toLowerCase()) {
    return { ok: false, reason: "notAccountOwner", message: `only the EA account owner (${subscription.accountOwnerId}) of subscription ${subscription.id} may set, change or remove its partner of record; service administrators, co-administrators and partners cannot.` };
  }
  return { ok: true };
}

export interface DporState {
  readonly partnerId: string | null;
  readonly since: number | null;
}

export type DporCommand = { readonly kind: "set"; readonly partnerId: string } | { readonly kind: "remove" };

export type DporOutcome =
  | { readonly kind: "unchanged" }
  /** Close the open interval at `now` (if any) and open one for `partnerId` (null: remove only). */
  | { readonly kind: "write"; readonly close: boolean; readonly open: string | null };

/** Decides a set or remove (changes are unlimited, rule 10; setting the same id writes nothing). */
export function decideDpor(state: DporState, command: DporCommand): DporOutcome {
  if (command.kind === "remove") return state.partnerId === null ? { kind: "unchanged" } : { kind: "write", close: true, open: null };
  if (state.partnerId === command.partnerId) return { kind: "unchanged" };
  return { kind: "write", close: state.partnerId !== null, open: command.partnerId };
}

/** One row of a subscription's offer history. */
export interface OfferInterval {
  readonly offerType: string;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

const lo = (v: number | null) => v ?? Number.NEGATIVE_INFINITY;

/**
 * The part of a DPOR interval that earns credit (rules 11–12): from its start while the
 * subscription stays EA, ending for good at the first instant at or after the start when the
 * subscription is not EA (or is gone). Empty when the subscription is not EA at the start.
 */
export function effectiveDporInterval(dpor: Interval, offers: readonly OfferInterval[]): Interval[] {
  const sorted = [...offers].sort((a, b) => lo(a.validFrom) - lo(b.validFrom));
  const start = lo(dpor.from);
  // Walk the EA stretch that contains the start; it ends at a non-EA row or at a gap.
  let cursor = start;
  let end: number | undefined;
  let covered = false;
  let begin = start;
  for (const o of sorted) {
    const oFrom = lo(o.validFrom);
    const oTo = o.validTo ?? Number.POSITIVE_INFINITY;
    if (oTo <= cursor) continue;
    if (oFrom > cursor) {
      // Not known yet at the start (e.g. a world file dates the DPOR before the subscription's
      // first row): the DPOR holds from when it is known. A later gap ends it.
      if (!covered) cursor = oFrom;
      else {
        end = cursor;
        break;
      }
    }
    if (o.offerType !== "EA") {
      end = cursor;
      break;
    }
    if (!covered) begin = cursor;
    covered = true;
    cursor = oTo;
    if (!Number.isFinite(cursor)) break;
  }
  if (!covered) return [];
  const ea: Interval = { from: Number.isFinite(begin) ? begin : null, to: end === undefined ? (Number.isFinite(cursor) ? cursor : null) : end };
  return intersectSets([dpor], [ea]);
}
