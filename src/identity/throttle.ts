/**
 * Defences against credential guessing, counted in the store (shared by every server on it):
 *
 * - **Account lock-out**, as Entra's smart lock-out: 10 wrong passwords for one account lock it for
 *   60 s (AADSTS50053), each further lock-out twice as long, up to 30 minutes. A locked account is
 *   refused before its password is checked, so guessing during the lock-out learns nothing; a
 *   successful sign-in resets the counter.
 * - **Client-secret throttling**: 10 wrong secrets for one application within a minute stop secret
 *   authentication for that application for 60 s (doubling likewise).
 * - **Per-source throttling**: 30 failed credentials (passwords, secrets, unknown users) from one
 *   source address within a minute stop that source's credentialed requests for 60 s (doubling),
 *   whichever accounts or applications it aims at (password spraying).
 * A throttled request is answered as Entra throttles: 429 with Retry-After for client credentials,
 * and `invalid_grant` AADSTS50196 for user flows (with Retry-After too).
 */
import type { CredentialThrottleStore, ThrottlePolicy } from "../store/index.ts";
import type { Clock } from "../domain/time.ts";
import { oauthError, type OAuthError } from "./errors.ts";

/** Client credentials ("client") or a grant on behalf of a user ("user"): throttling answers differ. */
export type GrantFlow = "client" | "user";

export interface GuessingPolicies {
  readonly account: ThrottlePolicy;
  readonly clientSecret: ThrottlePolicy;
  readonly source: ThrottlePolicy;
}

const MINUTE = 60_000;
export const DEFAULT_GUESSING_POLICIES: GuessingPolicies = Object.freeze({
  account: { threshold: 10, windowMs: 10 * MINUTE, lockoutMs: MINUTE, maxLockoutMs: 30 * MINUTE },
  clientSecret: { threshold: 10, windowMs: MINUTE, lockoutMs: MINUTE, maxLockoutMs: 30 * MINUTE },
  source: { threshold: 30, windowMs: MINUTE, lockoutMs: MINUTE, maxLockoutMs: 30 * MINUTE },
});

/** Policies that never lock (benchmarks measuring hashing alone). */
export const NO_GUESSING_LIMITS: GuessingPolicies = Object.freeze({
  account: { threshold: Number.MAX_SAFE_INTEGER, windowMs: MINUTE, lockoutMs: 0, maxLockoutMs: 0 },
  clientSecret: { threshold: Number.MAX_SAFE_INTEGER, windowMs: MINUTE, lockoutMs: 0, maxLockoutMs: 0 },
  source: { threshold: Number.MAX_SAFE_INTEGER, windowMs: MINUTE, lockoutMs: 0, maxLockoutMs: 0 },
});

/** Counters are swept of stale rows once per this many recorded failures (per process). */
const SWEEP_EVERY = 1000;
const STALE_AFTER_MS = 24 * 60 * MINUTE;

export const accountKey = (homeTenantId: string, homeObjectId: string): string => `account:${homeTenantId}:${homeObjectId}`;
export const clientKey = (appId: string): string => `client:${appId.toLowerCase()}`;
export const sourceKey = (source: string): string => `source:${source}`;

export class GuessingDefence {
  readonly #store: CredentialThrottleStore;
  readonly #clock: Clock;
  readonly #policies: GuessingPolicies;
  #recorded = 0;

  constructor(store: CredentialThrottleStore, clock: Clock, policies: GuessingPolicies = DEFAULT_GUESSING_POLICIES) {
    this.#store = store;
    this.#clock = clock;
    this.#policies = policies;
  }

  #throttled(until: number, what: string, flow: GrantFlow): OAuthError {
    const seconds = Math.max(1, Math.ceil((until - this.#clock.now()) / 1000));
    const message = `The server throttled this request: too many failed credentials ${what}. Retry after ${seconds} seconds.`;
    return oauthError(flow === "client" ? "throttledClient" : "throttledUser", message, seconds);
  }

  /** Refuses a credentialed request from a source that is locked out. */
  async assertSourceOpen(source: string | undefined, flow: GrantFlow): Promise<void> {
    if (!source) return;
    const state = await this.#store.state(sourceKey(source));
    if (state && state.lockedUntil > this.#clock.now()) throw this.#throttled(state.lockedUntil, "from this address", flow);
  }

  /** Refuses client-secret authentication for an application that is locked out. */
  async assertClientOpen(appId: string, flow: GrantFlow): Promise<void> {
    const state = await this.#store.state(clientKey(appId));
    if (state && state.lockedUntil > this.#clock.now()) throw this.#throttled(state.lockedUntil, `for application '${appId}'`, flow);
  }

  /**
   * Refuses (AADSTS50053) a sign-in to a locked account, before its password is checked. Returns
   * whether the account has a failure counter (a successful sign-in then clears it).
   */
  async assertAccountOpen(homeTenantId: string, homeObjectId: string): Promise<boolean> {
    const state = await this.#store.state(accountKey(homeTenantId, homeObjectId));
    if (state && state.lockedUntil > this.#clock.now()) throw this.#accountLocked(state.lockedUntil);
    return state !== undefined;
  }

  #accountLocked(until: number): OAuthError {
    const seconds = Math.max(1, Math.ceil((until - this.#clock.now()) / 1000));
    return oauthError("accountLocked", `Your account is temporarily locked to prevent unauthorized use because of too many sign-in attempts with an incorrect user ID or password. Try again in ${seconds} seconds, or ask an administrator to reset the password.`);
  }

  async #record(key: string, policy: ThrottlePolicy): Promise<number> {
    const now = this.#clock.now();
    if (++this.#recorded % SWEEP_EVERY === 0) await this.#store.deleteStale(now - STALE_AFTER_MS);
    const state = await this.#store.recordFailure(key, now, policy);
    return state.lockedUntil > now ? state.lockedUntil : 0;
  }

  /** A failure without an account or application to blame (unknown user): counts for the source. */
  async sourceFailed(source: string | undefined): Promise<void> {
    if (source) await this.#record(sourceKey(source), this.#policies.source);
  }

  /** A wrong password: counts for the account and the source. Returns the error to answer with. */
  async passwordFailed(homeTenantId: string, homeObjectId: string, source: string | undefined, error: OAuthError): Promise<OAuthError> {
    await this.sourceFailed(source);
    const until = await this.#record(accountKey(homeTenantId, homeObjectId), this.#policies.account);
    return until ? this.#accountLocked(until) : error;
  }

  /** A wrong client secret: counts for the application and the source. */
  async clientSecretFailed(appId: string, source: string | undefined, flow: GrantFlow, error: OAuthError): Promise<OAuthError> {
    await this.sourceFailed(source);
    const until = await this.#record(clientKey(appId), this.#policies.clientSecret);
    return until ? this.#throttled(until, `for application '${appId}'`, flow) : error;
  }

  /** A successful sign-in resets the account's counter (only when there is one: no write otherwise). */
  async passwordSucceeded(homeTenantId: string, homeObjectId: string, hadFailures: boolean): Promise<void> {
    if (hadFailures) await this.#store.clear(accountKey(homeTenantId, homeObjectId));
  }
}
