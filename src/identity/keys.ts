/**
 * The key ring: RS256 signing keys persisted in the store, each with a `kid` (its RFC 7638
 * thumbprint). One key signs; on rotation the old key stops signing but stays published in the
 * JWKS until every token it signed has expired.
 *
 * Private keys are sealed under the key-encryption key before they reach the store
 * (key-protection.ts); keys stored in clear by an older version are sealed at start.
 *
 * A token naming an unknown `kid` may come from a key another server just created, so it triggers
 * a reload from the store, but at most one per UNKNOWN_KID_RELOAD_MS (and concurrent misses share
 * it): a flood of made-up kids costs the store one read per interval, not one per request.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from "jose";
import type { SigningKeyStore, SigningKey } from "../store/index.ts";
import type { Clock } from "../domain/time.ts";
import { KeyEncryptionKey } from "./key-protection.ts";

type Key = Awaited<ReturnType<typeof importJWK>>;

export interface PublicJwk extends JWK {
  readonly kid: string;
}

interface LoadedKey {
  readonly record: SigningKey;
  readonly privateKey: Key;
  readonly publicKey: Key;
  readonly publicJwk: PublicJwk;
}

/** Extra time a retired key stays published beyond the token lifetime (clock skew allowance). */
const PUBLISH_MARGIN_MS = 10 * 60 * 1000;
/** At most one reload from the store per this interval on unknown `kid`s. */
export const UNKNOWN_KID_RELOAD_MS = 10_000;

export class KeyRing {
  readonly #keys: SigningKeyStore;
  readonly #clock: Clock;
  readonly #tokenLifetimeMs: number;
  readonly #kek: KeyEncryptionKey;
  #active: LoadedKey | undefined;
  #byKid = new Map<string, LoadedKey>();
  /** When the last reload for an unknown kid started, and the reload in flight. */
  #lastMissReloadAt = Number.NEGATIVE_INFINITY;
  #missReload: Promise<void> | undefined;

  constructor(keys: SigningKeyStore, clock: Clock, tokenLifetimeSeconds: number, kek: KeyEncryptionKey) {
    this.#keys = keys;
    this.#clock = clock;
    this.#tokenLifetimeMs = tokenLifetimeSeconds * 1000;
    this.#kek = kek;
  }

  /** Loads the persisted keys, creating the first one on a new store; seals keys kept in clear. */
  async init(): Promise<void> {
    for (const record of await this.#keys.inClear()) {
      await this.#keys.replacePrivateJwk(record.kid, record.privateJwk, this.#kek.seal(record.privateJwk));
    }
    if (!(await this.#keys.active())) await this.#create();
    await this.reload();
  }

  /** Re-reads keys from the store (another instance may have rotated them). */
  async reload(): Promise<void> {
    const now = this.#clock.now();
    const records = await this.#keys.published(now);
    const byKid = new Map<string, LoadedKey>();
    for (const record of records) byKid.set(record.kid, this.#byKid.get(record.kid) ?? (await load(record, this.#kek)));
    this.#byKid = byKid;
    const active = records.find((r) => r.retiredAt === null);
    this.#active = active ? byKid.get(active.kid) : undefined;
  }

  /** Stops signing with the current key and signs with a new one from now on. */
  async rotate(): Promise<string> {
    const now = this.#clock.now();
    const current = await this.#keys.active();
    if (current) await this.#keys.retire(current.kid, now, now + this.#tokenLifetimeMs + PUBLISH_MARGIN_MS);
    const kid = await this.#create();
    await this.reload();
    return kid;
  }

  async #create(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = await exportJWK(privateKey);
    await this.#keys.add({
      kid, alg: "RS256",
      privateJwk: this.#kek.seal(JSON.stringify({ ...privateJwk, kid, alg: "RS256" })),
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg: "RS256", use: "sig" }),
      createdAt: this.#clock.now(), retiredAt: null, publishUntil: null,
    });
    return kid;
  }

  /** Signs a JWT with the active key; `typ` is "JWT" as Entra ID sends. */
  async sign(payload: JWTPayload): Promise<string> {
    if (!this.#active) await this.init();
    const active = this.#active as LoadedKey;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: active.record.kid })
      .sign(active.privateKey);
  }

  /**
   * The public key for a `kid`. An unknown kid reloads from the store (another server may have
   * rotated), at most once per UNKNOWN_KID_RELOAD_MS; misses in between wait for the reload in
   * flight or answer "unknown" at once.
   */
  async publicKey(kid: string): Promise<Key | undefined> {
    const known = this.#byKid.get(kid);
    if (known) return known.publicKey;
    if (!this.#missReload) {
      const now = this.#clock.now();
      if (now - this.#lastMissReloadAt < UNKNOWN_KID_RELOAD_MS) return undefined;
      this.#lastMissReloadAt = now;
      this.#missReload = this.reload().finally(() => {
        this.#missReload = undefined;
      });
    }
    await this.#missReload;
    return this.#byKid.get(kid)?.publicKey;
  }

  /** The JWKS document: active key first, then retired keys still published. */
  jwks(): { keys: PublicJwk[] } {
    const now = this.#clock.now();
    const keys = [...this.#byKid.values()]
      .filter((k) => k.record.retiredAt === null || (k.record.publishUntil ?? 0) > now)
      .sort((a, b) => b.record.createdAt - a.record.createdAt)
      .map((k) => k.publicJwk);
    return { keys };
  }

  activeKid(): string | undefined {
    return this.#active?.record.kid;
  }
}

async function load(record: SigningKey, kek: KeyEncryptionKey): Promise<LoadedKey> {
  const publicJwk = JSON.parse(record.publicJwk) as PublicJwk;
  const privateJwk = KeyEncryptionKey.isSealed(record.privateJwk) ? kek.open(record.privateJwk, `Signing key ${record.kid}`) : record.privateJwk;
  return {
    record,
    privateKey: await importJWK(JSON.parse(privateJwk) as JWK, "RS256"),
    publicKey: await importJWK(publicJwk, "RS256"),
    publicJwk,
  };
}
