/**
 * Handlers of Microsoft.ManagementPartner/partners. Each one: check that the caller is a live,
 * enabled principal of the token's tenant; for PUT/PATCH judge the partner id against the
 * registry; then, in one store transaction, lock the caller's record, decide with the pure state
 * machine, persist the transition and append the audit entry. Only the caller's own (tid, oid)
 * is ever read or written: the key comes from the verified token, never from the request.
 */
import type { CallerLinkView, LinkTargetFacts, Store } from "../../store/index.ts";
import type { Caller } from "../../identity/index.ts";
import type { Clock } from "../../domain/time.ts";
import { armError, type ArmCall, type ArmResult } from "../../arm/index.ts";
import { decidePartnerLink, type PartnerLinkCommand, type PartnerLinkOutcome, type PartnerLinkState } from "../../domain/partner-link.ts";
import { isWellFormedPartnerId, judgeLinkTarget, type PartnerIdFacts } from "../../domain/partner-id.ts";
import { partnerResource, partnerResourcePath } from "./representation.ts";

export interface ManagementPartnerDeps {
  readonly store: Store;
  /** Read again once the principal's lock is held, so write times follow the commit order. */
  readonly clock: Clock;
}

/**
 * Refuses callers that are not a principal of the tenant: delegated-admin (CSP/GDAP) users,
 * deleted or unknown objects, groups, and disabled accounts. One store read answers this and,
 * for GET, what the caller is linked to.
 */
async function requireTenantPrincipal(store: Store, caller: Caller, now: number): Promise<CallerLinkView> {
  if (caller.foreign) throw armError("PrincipalNotInTenant");
  return requireLive(caller, await store.links.callerView(caller.tenantId, caller.objectId, now));
}

/** Refuses a view of a caller that is not a live, enabled principal of the tenant. */
function requireLive<V extends CallerLinkView>(caller: Caller, view: V): V {
  if (view.principalType === null) throw armError("PrincipalNotInTenant");
  if (view.disabled) throw armError("PrincipalDisabled", { objectId: caller.objectId, tenantId: caller.tenantId });
  return view;
}

function registryFacts(found: LinkTargetFacts): PartnerIdFacts & { organisation?: string } {
  if (found.kind === "location") return { kind: "location", active: found.active, organisationName: found.organisationName, organisation: found.organisationName };
  if (found.kind === "global") return { kind: "global", organisation: found.organisationName };
  return { kind: "unknown" };
}

/** Judges a PUT/PATCH target; returns the partner name or throws 400 PartnerIdInvalid naming the fix. */
function requireLinkablePartnerId(partnerId: string, found: LinkTargetFacts): string | undefined {
  const facts = isWellFormedPartnerId(partnerId) ? registryFacts(found) : undefined;
  const verdict = judgeLinkTarget(partnerId, facts);
  if (verdict.ok) return verdict.partnerName;
  const organisation = facts?.organisation ?? "its partner organisation";
  const detail = {
    malformed: `. A Partner ID is 1 to 10 digits, e.g. 4000001; '${partnerId}' is not.`,
    unknown: "",
    global: `. '${partnerId}' is the global (headquarters) Partner ID of ${organisation}; use the Associated (location) Partner ID shown on your partner profile instead.`,
    inactive: `. Partner ID '${partnerId}' of ${organisation} is inactive; link one of its active Associated (location) Partner IDs instead.`,
  }[verdict.reason];
  throw armError("PartnerIdInvalid", { detail });
}

function render(caller: Caller, state: PartnerLinkState, partnerName: string | undefined): ArmResult {
  if (state.partnerId === null) throw armError("ManagementPartnerNotFound");
  return { body: partnerResource(caller.tenantId, caller.objectId, { ...state, partnerId: state.partnerId }, partnerName) };
}

/** Runs a write command under the caller's row lock; outcome errors roll the transaction back. */
async function write(deps: ManagementPartnerDeps, call: ArmCall, command: PartnerLinkCommand & { partnerId: string }): Promise<PartnerLinkOutcome & { kind: "write" | "unchanged" }> {
  const { caller } = call;
  type Written = PartnerLinkOutcome & { kind: "write" | "unchanged" };
  return deps.store.writeLink<Written>(caller.tenantId, caller.objectId, (state) => {
    // A request that waited for the lock writes after the one that held it: its time must not
    // precede that write, or the closed interval would end before it began.
    const now = Math.max(deps.clock.now(), state.updatedTime ?? Number.NEGATIVE_INFINITY);
    const outcome = decidePartnerLink(state, command, now);
    if (outcome.kind === "alreadyLinked") {
      throw armError("PartnerAlreadyLinked", { linkedId: outcome.linkedPartnerId, requestedId: command.partnerId });
    }
    if (outcome.kind === "notLinked") throw armError("ManagementPartnerNotFound");
    if (outcome.kind === "unchanged") return { result: outcome };
    return {
      result: outcome,
      change: {
        previous: outcome.previous, next: outcome.next, at: now,
        audit: {
          at: now, tenantId: caller.tenantId, actorTenantId: caller.tenantId, actorObjectId: caller.objectId,
          action: `partnerLink.${outcome.change}`, target: partnerResourcePath(command.partnerId), requestId: call.requestId,
          details: { from: outcome.previous.partnerId, to: outcome.next.partnerId, version: outcome.next.version, principalType: caller.principalType },
        },
      },
    };
  });
}

/** GET: the caller's own link, 404 unless linked (to `partnerId`, when given). */
async function readOwnLink(store: Store, caller: Caller, now: number, partnerId: string | undefined): Promise<ArmResult> {
  const view = await requireTenantPrincipal(store, caller, now);
  const outcome = decidePartnerLink(view.state, { kind: "read", partnerId }, now);
  if (outcome.kind !== "unchanged") throw armError("ManagementPartnerNotFound");
  return render(caller, outcome.state, view.partnerName);
}

/**
 * The partner id in the URL, without surrounding whitespace: `az managementpartner create
 * --partner-id " 4000001"` sends `/partners/%204000001`, and the id meant is 4000001
 * (docs/SPEC-DEVIATIONS.md 60).
 */
function partnerIdOf(call: ArmCall): string {
  return (call.name ?? "").trim();
}

/** PUT (create) and PATCH (update): judge the id against the registry, then write under the lock. */
async function linkTo(deps: ManagementPartnerDeps, call: ArmCall, kind: "create" | "update"): Promise<ArmResult> {
  const { caller } = call;
  if (caller.foreign) throw armError("PrincipalNotInTenant");
  const partnerId = partnerIdOf(call);
  // The caller and the target in one store read.
  const view = requireLive(caller, await deps.store.links.callerViewForLink(caller.tenantId, caller.objectId, partnerId, call.now));
  // PATCH when not linked is a 404 whatever the id, as the recorded service answers (PAL-API.md):
  // there is nothing to update, so the id is not judged. The write re-checks under the lock.
  if (kind === "update" && view.state.partnerId === null) throw armError("ManagementPartnerNotFound");
  const partnerName = requireLinkablePartnerId(partnerId, view.target);
  const outcome = await write(deps, call, { kind, partnerId });
  return render(call.caller, outcome.kind === "write" ? outcome.next : outcome.state, partnerName);
}

export function managementPartnerHandlers(deps: ManagementPartnerDeps) {
  const { store } = deps;
  return {
    /** GET /partners and /partners/: the caller's one link, whatever its id. */
    getOwn: (call: ArmCall): Promise<ArmResult> => readOwnLink(store, call.caller, call.now, undefined),

    /** GET /partners/{id}: 404 unless linked to exactly that id. */
    get: (call: ArmCall): Promise<ArmResult> => readOwnLink(store, call.caller, call.now, partnerIdOf(call)),

    put: (call: ArmCall): Promise<ArmResult> => linkTo(deps, call, "create"),

    patch: (call: ArmCall): Promise<ArmResult> => linkTo(deps, call, "update"),

    async delete(call: ArmCall): Promise<ArmResult> {
      await requireTenantPrincipal(store, call.caller, call.now);
      await write(deps, call, { kind: "delete", partnerId: partnerIdOf(call) });
      return { empty: true };
    },
  };
}
