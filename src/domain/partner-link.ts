/**
 * The Partner Admin Link state machine, per (tenant, object): pure, no I/O, time passed in.
 *
 * A principal's record has a version and a creation time that outlive any one link: the first
 * ever write sets createdTime and version 1; every PUT, PATCH and DELETE that changes something
 * adds 1 (DELETE too, so the next PUT shows +2); createdTime survives delete and re-create.
 *
 *   NotLinked --PUT id--> Linked(id)           Linked(a) --PATCH b--> Linked(b)
 *   Linked(a) --DELETE a--> NotLinked          Linked(a) --PATCH a--> Linked(a) (no write)
 *   NotLinked --DELETE any--> NotLinked (no write, still 200)
 */

export interface PartnerLinkState {
  /** The linked location id, or null when never linked or deleted. */
  readonly partnerId: string | null;
  /** 0 when this principal has never written. */
  readonly version: number;
  readonly createdTime: number | null;
  readonly updatedTime: number | null;
}

export const NEVER_LINKED: PartnerLinkState = Object.freeze({ partnerId: null, version: 0, createdTime: null, updatedTime: null });

export type PartnerLinkCommand =
  | { readonly kind: "create"; readonly partnerId: string }
  | { readonly kind: "update"; readonly partnerId: string }
  | { readonly kind: "delete"; readonly partnerId: string }
  /** `partnerId` undefined reads whatever is linked (GET /partners). */
  | { readonly kind: "read"; readonly partnerId: string | undefined };

export type PartnerLinkChange = "create" | "update" | "delete";

export type PartnerLinkOutcome =
  /** A write: the store closes/opens intervals and persists `next`. */
  | { readonly kind: "write"; readonly change: PartnerLinkChange; readonly previous: PartnerLinkState; readonly next: PartnerLinkState }
  /** Success without a write: reads, PATCH to the same id, DELETE when not linked. */
  | { readonly kind: "unchanged"; readonly state: PartnerLinkState }
  /** PUT while linked: the caller must PATCH to change the id. */
  | { readonly kind: "alreadyLinked"; readonly linkedPartnerId: string }
  /** Not linked, or (GET/DELETE {id}) linked to a different id. */
  | { readonly kind: "notLinked" };

/** Applies `command` at time `now` (epoch ms) to `state`. */
export function decidePartnerLink(state: PartnerLinkState, command: PartnerLinkCommand, now: number): PartnerLinkOutcome {
  const linked = state.partnerId;
  const written = (partnerId: string | null): PartnerLinkState => ({
    partnerId,
    version: state.version + 1,
    createdTime: state.createdTime ?? now,
    updatedTime: now,
  });
  switch (command.kind) {
    case "read":
      if (linked === null || (command.partnerId !== undefined && command.partnerId !== linked)) return { kind: "notLinked" };
      return { kind: "unchanged", state };
    case "create":
      if (linked !== null) return { kind: "alreadyLinked", linkedPartnerId: linked };
      return { kind: "write", change: "create", previous: state, next: written(command.partnerId) };
    case "update":
      if (linked === null) return { kind: "notLinked" };
      if (linked === command.partnerId) return { kind: "unchanged", state };
      return { kind: "write", change: "update", previous: state, next: written(command.partnerId) };
    case "delete":
      if (linked === null) return { kind: "unchanged", state };
      // Deleting by an id that is not the linked one must not delete anything (decision).
      if (linked !== command.partnerId) return { kind: "notLinked" };
      return { kind: "write", change: "delete", previous: state, next: written(null) };
  }
}
