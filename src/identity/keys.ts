/**
 * The key ring: RS256 signing keys persisted in the store, each with a `kid` (its RFC 7638
 * thumbprint). One key signs; on rotation the old key stops signing but stays published in the
 * JWKS until every token it signed has expired.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from "jose";
import type { SigningKeyStore, SigningKey } from "../store/index.ts";
import type { Clock } from "../domain/time.ts";

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

export class KeyRing {
  readonly #keys: SigningKeyStore;
  readonly #clock: Clock;
  readonly #tokenLifetimeMs: number;
  #active: LoadedKey | undefined;
  #byKid = new Map<string, LoadedKey>();

  constructor(keys: SigningKeyStore, clock: Clock, tokenLifetimeSeconds: number) {
    this.#keys = keys;
    this.#clock = clock;
    this.#tokenLifetimeMs = tokenLifetimeSeconds * 1000;
  }

  /** Loads the persisted keys, creating the first one on a new store. */
  async init(): Promise<void> {
    if (!(await this.#keys.active())) await this.#create();
    await this.reload();
  }

  /** Re-reads keys from the store (another instance may have rotated them). */
  async reload(): Promise<void> {
    const now = this.#clock.now();
    const records = await this.#keys.published(now);
    const byKid = new Map<string, LoadedKey>();
    for (const record of records) byKid.set(record.kid, this.#byKid.get(record.kid) ?? (await load(record)));
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
      privateJwk: JSON.stringify({ ...privateJwk, kid, alg: "RS256" }),
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

  /** The public key for a `kid`, reloading once from the store when it is not known yet. */
  async publicKey(kid: string): Promise<Key | undefined> {
    if (!this.#byKid.has(kid)) await this.reload();
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

async function load(record: SigningKey): Promise<LoadedKey> {
  const publicJwk = JSON.parse(record.publicJwk) as PublicJwk;
  return {
    record,
    privateKey: await importJWK(JSON.parse(record.privateJwk) as JWK, "RS256"),
    publicKey: await importJWK(publicJwk, "RS256"),
    publicJwk,
  };
}
