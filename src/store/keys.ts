/** Signing keys of the token service, persisted so tokens survive restarts. */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  /** JSON Web Key with the private parts, sealed under the key-encryption key (`kek1:…`; JSON in clear before 0009's release). */
  readonly privateJwk: string;
  readonly publicJwk: string;
  readonly createdAt: number;
  readonly retiredAt: number | null;
  readonly publishUntil: number | null;
}

const toKey = (r: Database["signing_keys"]): SigningKey => ({
  kid: r.kid, alg: r.alg, privateJwk: r.private_jwk, publicJwk: r.public_jwk, createdAt: Number(r.created_at),
  retiredAt: r.retired_at === null ? null : Number(r.retired_at),
  publishUntil: r.publish_until === null ? null : Number(r.publish_until),
});

export class SigningKeyStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async add(key: SigningKey): Promise<void> {
    await this.#db.insertInto("signing_keys").values({
      kid: key.kid, alg: key.alg, private_jwk: key.privateJwk, public_jwk: key.publicJwk,
      created_at: key.createdAt, retired_at: key.retiredAt, publish_until: key.publishUntil,
    }).execute();
  }

  /** The key that signs new tokens: the newest one not retired. */
  async active(): Promise<SigningKey | undefined> {
    const r = await this.#db.selectFrom("signing_keys").selectAll().where("retired_at", "is", null)
      .orderBy("created_at", "desc").executeTakeFirst();
    return r ? toKey(r) : undefined;
  }

  /** Keys to publish at `at`: the active one and retired ones whose tokens may still be valid. */
  async published(at: number): Promise<SigningKey[]> {
    const rows = await this.#db.selectFrom("signing_keys").selectAll().orderBy("created_at", "desc").execute();
    return rows.map(toKey).filter((k) => k.retiredAt === null || (k.publishUntil !== null && k.publishUntil > at));
  }

  /** Keys whose private part is still stored in clear (written by an older version). */
  async inClear(): Promise<SigningKey[]> {
    const rows = await this.#db.selectFrom("signing_keys").selectAll().where("private_jwk", "not like", "kek1:%").execute();
    return rows.map(toKey);
  }

  /** Replaces a key's stored private part if it is still `from` (compare-and-set). */
  async replacePrivateJwk(kid: string, from: string, to: string): Promise<boolean> {
    const r = await this.#db.updateTable("signing_keys").set({ private_jwk: to })
      .where("kid", "=", kid).where("private_jwk", "=", from).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async retire(kid: string, at: number, publishUntil: number): Promise<void> {
    await this.#db.updateTable("signing_keys").set({ retired_at: at, publish_until: publishUntil })
      .where("kid", "=", kid).where("retired_at", "is", null).execute();
  }
}
