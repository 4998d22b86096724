/**
 * Failure counters against credential guessing (password lock-out, client-secret and per-source
 * throttling). They live in the store, not in process memory, so that several servers on one
 * PostgreSQL count the same failures and honour the same lock-outs.
 *
 * Every update is one statement (an upsert, or a compare-and-set), so concurrent failures on
 * several servers are all counted and a key is locked once per threshold crossing.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.ts";

/** When a key locks and for how long. */
export interface ThrottlePolicy {
  /** Failures within `windowMs` that lock the key. */
  readonly threshold: number;
  readonly windowMs: number;
  /** The first lock-out; each further one doubles, up to `maxLockoutMs`. */
  readonly lockoutMs: number;
  readonly maxLockoutMs: number;
}

export interface ThrottleState {
  readonly failures: number;
  /** Epoch ms until which the key is locked (0 or past: not locked). */
  readonly lockedUntil: number;
}

export class CredentialThrottleStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** The counter of `key`, if it has one. */
  async state(key: string): Promise<ThrottleState | undefined> {
    const r = await this.#db.selectFrom("credential_throttle").select(["failures", "locked_until"]).where("key", "=", key).executeTakeFirst();
    return r ? { failures: Number(r.failures), lockedUntil: Number(r.locked_until) } : undefined;
  }

  /**
   * Counts one failure for `key` and locks it when the failures in the window reach the
   * threshold. Returns the state after this failure.
   */
  async recordFailure(key: string, now: number, policy: ThrottlePolicy): Promise<ThrottleState> {
    const windowStart = now - policy.windowMs;
    const counted = await this.#db.insertInto("credential_throttle")
      .values({ key, failures: 1, window_started_at: now, locked_until: 0, lockouts: 0 })
      .onConflict((oc) => oc.column("key").doUpdateSet({
        failures: sql<number>`CASE WHEN credential_throttle.window_started_at <= ${windowStart} THEN 1 ELSE credential_throttle.failures + 1 END`,
        window_started_at: sql<number>`CASE WHEN credential_throttle.window_started_at <= ${windowStart} THEN ${now} ELSE credential_throttle.window_started_at END`,
      }))
      .returning(["failures", "locked_until", "lockouts"])
      .executeTakeFirstOrThrow();
    const failures = Number(counted.failures);
    if (failures < policy.threshold) return { failures, lockedUntil: Number(counted.locked_until) };
    const lockouts = Number(counted.lockouts);
    const until = now + Math.min(policy.maxLockoutMs, policy.lockoutMs * 2 ** Math.min(lockouts, 20));
    // Compare-and-set: of several servers crossing the threshold together, one locks.
    await this.#db.updateTable("credential_throttle")
      .set({ locked_until: until, lockouts: lockouts + 1, failures: 0, window_started_at: now })
      .where("key", "=", key).where("failures", ">=", policy.threshold).execute();
    return { failures, lockedUntil: until };
  }

  /** Forgets `key` (a successful sign-in resets its counter, as Entra's smart lock-out does). */
  async clear(key: string): Promise<void> {
    await this.#db.deleteFrom("credential_throttle").where("key", "=", key).execute();
  }

  /** Deletes counters whose window and lock-out both ended before `before`. */
  async deleteStale(before: number): Promise<number> {
    const r = await this.#db.deleteFrom("credential_throttle")
      .where("window_started_at", "<", before).where("locked_until", "<", before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
