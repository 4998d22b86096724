/**
 * Server-side state of the portal (backend-for-frontend): pending sign-ins and signed-in
 * sessions. Tokens live here and never reach the browser; the browser holds only a random session
 * id in an HttpOnly cookie.
 *
 * Kept in memory: a restart signs everyone out, which is the safe failure for a portal (see
 * docs/PORTAL.md, decisions). Expired records are swept on every write.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../domain/time.ts";

/** A pending sign-in lives this long (the identity's authorization code lives 10 minutes). */
export const PENDING_LOGIN_TTL_MS = 10 * 60_000;
/** A session ends after this long without a request. */
export const SESSION_IDLE_MS = 60 * 60_000;
/** …and after this long whatever happens (the user signs in again). */
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60_000;

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

export interface PortalSession {
  readonly id: string;
  readonly csrfToken: string;
  readonly account: PortalAccount;
  /** The directory (tenant) the portal shows now. */
  currentTenantId: string;
  /** Replaced on every use (refresh tokens are single-use). */
  refreshToken: string;
  /** The sign-in's ID token: sign-out sends it as `id_token_hint`, which revokes the refresh tokens. */
  readonly idToken?: string;
  /** ARM access tokens per tenant. */
  readonly accessTokens: Map<string, AccessToken>;
  /** Refreshes run one at a time: a refresh token is single-use. */
  refreshing: Promise<unknown>;
  readonly createdAt: number;
  lastSeenAt: number;
}

export class PortalSessionStore {
  readonly #clock: Clock;
  readonly #pending = new Map<string, PendingLogin>();
  readonly #sessions = new Map<string, PortalSession>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [k, p] of this.#pending) if (p.expiresAt <= now) this.#pending.delete(k);
    for (const [k, s] of this.#sessions) if (!this.#live(s, now)) this.#sessions.delete(k);
  }

  #live(s: PortalSession, now: number): boolean {
    return now - s.lastSeenAt < SESSION_IDLE_MS && now - s.createdAt < SESSION_ABSOLUTE_MS;
  }

  startLogin(tenant: string, returnTo: string): PendingLogin {
    this.#sweep();
    const login: PendingLogin = {
      state: randomHandle(), nonce: randomHandle(16), codeVerifier: randomHandle(48), browserBinding: randomHandle(),
      tenant, returnTo, expiresAt: this.#clock.now() + PENDING_LOGIN_TTL_MS,
    };
    this.#pending.set(login.state, login);
    return login;
  }

  /** Takes (one time) the pending sign-in for `state`, if it is live and bound to this browser. */
  takeLogin(state: string, browserBinding: string | undefined): PendingLogin | undefined {
    const login = this.#pending.get(state);
    if (!login) return undefined;
    this.#pending.delete(state);
    if (login.expiresAt <= this.#clock.now()) return undefined;
    if (!browserBinding || !sameSecret(login.browserBinding, browserBinding)) return undefined;
    return login;
  }

  create(fields: { account: PortalAccount; tenantId: string; refreshToken: string; accessToken: AccessToken; idToken?: string }): PortalSession {
    this.#sweep();
    const now = this.#clock.now();
    const session: PortalSession = {
      id: randomHandle(), csrfToken: randomHandle(), account: fields.account, currentTenantId: fields.tenantId,
      refreshToken: fields.refreshToken, ...(fields.idToken ? { idToken: fields.idToken } : {}), accessTokens: new Map([[fields.tenantId, fields.accessToken]]),
      refreshing: Promise.resolve(), createdAt: now, lastSeenAt: now,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session for a cookie value; touching it extends its idle time. */
  get(id: string | undefined): PortalSession | undefined {
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    const now = this.#clock.now();
    if (!this.#live(session, now)) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  end(id: string): void {
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }
}
