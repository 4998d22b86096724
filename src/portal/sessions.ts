/**
 * Server-side state of the portal (backend-for-frontend): pending sign-ins and signed-in
 * sessions. Tokens live here and never reach the browser; the browser holds only a random session
 * id in an HttpOnly cookie.
 *
 * Kept in the store (migration 0012), so that several servers behind a load balancer share them:
 * a sign-in started on one server completes on another, and a session made on one works on all
 * (docs/OPERATIONS.md, Scale-out). Rows are keyed by the SHA-256 of the cookie value, and what is
 * secret (refresh and access tokens, the CSRF token, the PKCE verifier) is sealed with AES-256-GCM
 * under a key derived from the cookie value itself: the database alone opens no session.
 *
 * A refresh token is single-use, so refreshes of one session run one at a time across servers: a
 * server takes the session's refresh lease (compare-and-set in the store), refreshes, stores the
 * new tokens and releases it; the others wait and then use the tokens it stored.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../domain/time.ts";
import { PortalSessionRows } from "../store/portal-sessions.ts";
import type { Store } from "../store/index.ts";

/** A pending sign-in lives this long (the identity's authorization code lives 10 minutes). */
export const PENDING_LOGIN_TTL_MS = 10 * 60_000;
/** A session ends after this long without a request. */
export const SESSION_IDLE_MS = 60 * 60_000;
/** …and after this long whatever happens (the user signs in again). */
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60_000;
/** The last-seen time is written at most this often (reads stay reads). */
const TOUCH_EVERY_MS = 60_000;
/** A refresh lease outlives any token call; a server that died holding one is waited out. */
const REFRESH_LEASE_MS = 30_000;
const LEASE_POLL_MS = 50;
/** Expired rows are swept at most this often per process. */
const SWEEP_EVERY_MS = 60_000;

export function randomHandle(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** Constant-time comparison of two strings (CSRF tokens, browser bindings). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** Random value also set in the browser's sign-in cookie: the callback must come from the same browser. */
  readonly browserBinding: string;
  /** The tenant segment the sign-in was sent to (GUID or domain). */
  readonly tenant: string;
  /** A portal path to land on after sign-in. */
  readonly returnTo: string;
  readonly expiresAt: number;
}

export interface AccessToken {
  readonly token: string;
  readonly expiresAt: number;
}

export interface PortalAccount {
  /** Home tenant and home object of the person (the session's identity across directories). */
  readonly homeTenantId: string;
  readonly homeObjectId: string;
  readonly name: string;
  readonly username: string;
}

/** A session as loaded for one request (a snapshot of the store's row). */
export interface PortalSession {
  /** The cookie value. */
  readonly id: string;
  readonly csrfToken: string;
  readonly account: PortalAccount;
  /** The directory (tenant) the portal shows now. */
  readonly currentTenantId: string;
  /** ARM access tokens per tenant. */
  readonly accessTokens: Map<string, AccessToken>;
  readonly createdAt: number;
  /** The sign-in's ID token: sign-out sends it as `id_token_hint`, which revokes the refresh tokens. */
  readonly idToken?: string;
}

/** What is sealed in the row. */
interface Sealed {
  readonly csrfToken: string;
  readonly account: PortalAccount;
  readonly refreshToken: string;
  readonly accessTokens: readonly (readonly [string, AccessToken])[];
  readonly idToken?: string;
}

const hash = (value: string): string => createHash("sha256").update(value, "utf8").digest("hex");

function keyFrom(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.from("openpal-portal"), Buffer.from(purpose), 32));
}

function seal(secret: string, purpose: string, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFrom(secret, purpose), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
}

/** The sealed value, or undefined when `secret` is not the one it was sealed with. */
function unseal<T>(secret: string, purpose: string, text: string): T | undefined {
  try {
    const raw = Buffer.from(text, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", keyFrom(secret, purpose), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8")) as T;
  } catch {
    return undefined;
  }
}

/** The session's sign-in cannot continue (it ended, or its tokens could not be renewed). */
export class SessionGone extends Error {}

export class PortalSessionStore {
  readonly #clock: Clock;
  readonly #rows: PortalSessionRows;
  /** Refreshes of one session in this process, chained (the lease covers other processes). */
  readonly #refreshing = new Map<string, Promise<unknown>>();
  #lastSweep = 0;

  constructor(store: Pick<Store, "db">, clock: Clock) {
    this.#clock = clock;
    this.#rows = new PortalSessionRows(store.db);
  }

  async #sweep(): Promise<void> {
    const now = this.#clock.now();
    if (now - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = now;
    await this.#rows.sweep(now, now - SESSION_IDLE_MS, now - SESSION_ABSOLUTE_MS);
  }

  #live(createdAt: number, lastSeenAt: number, now: number): boolean {
    return now - lastSeenAt < SESSION_IDLE_MS && now - createdAt < SESSION_ABSOLUTE_MS;
  }

  async startLogin(tenant: string, returnTo: string): Promise<PendingLogin> {
    await this.#sweep();
    const login: PendingLogin = {
      state: randomHandle(), nonce: randomHandle(16), codeVerifier: randomHandle(48), browserBinding: randomHandle(),
      tenant, returnTo, expiresAt: this.#clock.now() + PENDING_LOGIN_TTL_MS,
    };
    await this.#rows.addLogin(hash(login.state), seal(login.browserBinding, `login:${login.state}`, login), login.expiresAt);
    return login;
  }

  /** Takes (one time) the pending sign-in for `state`, if it is live and bound to this browser. */
  async takeLogin(state: string, browserBinding: string | undefined): Promise<PendingLogin | undefined> {
    const row = await this.#rows.takeLogin(hash(state));
    if (!row || row.expiresAt <= this.#clock.now() || !browserBinding) return undefined;
    const login = unseal<PendingLogin>(browserBinding, `login:${state}`, row.sealed);
    if (!login || !sameSecret(login.browserBinding, browserBinding)) return undefined;
    return login;
  }

  async create(fields: { account: PortalAccount; tenantId: string; refreshToken: string; accessToken: AccessToken; idToken?: string }): Promise<PortalSession> {
    await this.#sweep();
    const now = this.#clock.now();
    const id = randomHandle();
    const sealed: Sealed = { csrfToken: randomHandle(), account: fields.account, refreshToken: fields.refreshToken, accessTokens: [[fields.tenantId, fields.accessToken]], ...(fields.idToken ? { idToken: fields.idToken } : {}) };
    await this.#rows.add({ idHash: hash(id), currentTenantId: fields.tenantId, sealed: seal(id, "session", sealed), createdAt: now, lastSeenAt: now });
    return { id, csrfToken: sealed.csrfToken, account: sealed.account, currentTenantId: fields.tenantId, accessTokens: new Map(sealed.accessTokens), createdAt: now, ...(sealed.idToken ? { idToken: sealed.idToken } : {}) };
  }

  async #load(id: string): Promise<{ session: PortalSession; sealed: Sealed; lastSeenAt: number } | undefined> {
    const row = await this.#rows.get(hash(id));
    if (!row) return undefined;
    const now = this.#clock.now();
    if (!this.#live(row.createdAt, row.lastSeenAt, now)) {
      await this.#rows.delete(row.idHash);
      return undefined;
    }
    const sealed = unseal<Sealed>(id, "session", row.sealed);
    if (!sealed) return undefined;
    return {
      session: { id, csrfToken: sealed.csrfToken, account: sealed.account, currentTenantId: row.currentTenantId, accessTokens: new Map(sealed.accessTokens), createdAt: row.createdAt, ...(sealed.idToken ? { idToken: sealed.idToken } : {}) },
      sealed, lastSeenAt: row.lastSeenAt,
    };
  }

  /** The live session for a cookie value; using it extends its idle time. */
  async get(id: string | undefined): Promise<PortalSession | undefined> {
    if (!id) return undefined;
    const loaded = await this.#load(id);
    if (!loaded) return undefined;
    const now = this.#clock.now();
    if (now - loaded.lastSeenAt >= TOUCH_EVERY_MS) await this.#rows.touch(hash(id), now);
    return loaded.session;
  }

  async setCurrentTenant(session: PortalSession, tenantId: string): Promise<void> {
    await this.#rows.setCurrentTenant(hash(session.id), tenantId);
  }

  async end(id: string): Promise<void> {
    await this.#rows.delete(hash(id));
  }

  /**
   * An access token for `tenantId` that `usable` accepts: one another request (on any server)
   * stored meanwhile, or a new one from `refresh`, which gets the session's current refresh token
   * and returns the new tokens. Holds the session's refresh lease while `refresh` runs.
   */
  async refreshedToken(
    session: PortalSession, tenantId: string, usable: (t: AccessToken | undefined) => boolean,
    refresh: (refreshToken: string) => Promise<{ refreshToken: string | undefined; accessToken: AccessToken }>,
  ): Promise<string> {
    const idHash = hash(session.id);
    const previous = this.#refreshing.get(idHash) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.#refreshUnderLease(session, idHash, tenantId, usable, refresh));
    this.#refreshing.set(idHash, run);
    try {
      return await run;
    } finally {
      if (this.#refreshing.get(idHash) === run) this.#refreshing.delete(idHash);
    }
  }

  async #refreshUnderLease(
    session: PortalSession, idHash: string, tenantId: string, usable: (t: AccessToken | undefined) => boolean,
    refresh: (refreshToken: string) => Promise<{ refreshToken: string | undefined; accessToken: AccessToken }>,
  ): Promise<string> {
    // Leases run on the wall clock: they guard against other processes, not domain time.
    const deadline = Date.now() + REFRESH_LEASE_MS + 5_000;
    for (;;) {
      const now = Date.now();
      const leased = await this.#rows.takeLease(idHash, now, now + REFRESH_LEASE_MS);
      const loaded = await this.#load(session.id);
      if (!loaded) {
        if (leased) await this.#rows.releaseLease(idHash);
        throw new SessionGone("The portal session has ended; sign in again.");
      }
      const stored = loaded.sealed.accessTokens.find(([t]) => t === tenantId)?.[1];
      if (usable(stored)) {
        if (leased) await this.#rows.releaseLease(idHash);
        session.accessTokens.set(tenantId, stored as AccessToken);
        return (stored as AccessToken).token;
      }
      if (leased) {
        let next: Sealed | undefined;
        try {
          const answer = await refresh(loaded.sealed.refreshToken);
          const tokens = new Map(loaded.sealed.accessTokens);
          tokens.set(tenantId, answer.accessToken);
          next = { ...loaded.sealed, refreshToken: answer.refreshToken ?? loaded.sealed.refreshToken, accessTokens: [...tokens] };
          session.accessTokens.set(tenantId, answer.accessToken);
          return answer.accessToken.token;
        } finally {
          await this.#rows.releaseLease(idHash, next === undefined ? undefined : seal(session.id, "session", next));
        }
      }
      if (Date.now() > deadline) throw new SessionGone("Another server held this session's token refresh too long; try again.");
      await new Promise((r) => setTimeout(r, LEASE_POLL_MS));
    }
  }
}
