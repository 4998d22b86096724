/**
 * Private signing keys at rest: sealed with AES-256-GCM under a key-encryption key (KEK) that is
 * never stored beside them. A copy of the database (a backup, a stolen file, a PostgreSQL dump)
 * then holds no usable private key.
 *
 * The KEK comes from, in order:
 *   1. the environment variable OPENPAL_KEY_ENCRYPTION_KEY (32 bytes, base64 or hex);
 *   2. the file named by --key-encryption-key-file (same content);
 *   3. `<dataDir>/kek.key`, created (mode 0600) on first start.
 * Several servers on one PostgreSQL must share it (1 or 2): a key sealed by one server is opened
 * by the others.
 *
 * Sealed form: `kek1:<kek id>:<iv>:<tag>:<ciphertext>` (base64url), the kek id being the first 8
 * bytes of the KEK's SHA-256, so a wrong KEK is named as such rather than as corrupt data.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export const KEK_ENV = "OPENPAL_KEY_ENCRYPTION_KEY";
export const KEK_FILE_NAME = "kek.key";
const PREFIX = "kek1";
const GENERATE_HINT = "generate one with `openssl rand -base64 32`";

export class KeyProtectionError extends Error {}

export class KeyEncryptionKey {
  readonly #key: Buffer;
  /** Identifies the KEK (not secret): which KEK sealed a value. */
  readonly id: string;
  /** Where the KEK came from, for messages ("environment OPENPAL_KEY_ENCRYPTION_KEY", a path). */
  readonly source: string;

  constructor(key: Buffer, source: string) {
    if (key.length !== 32) throw new KeyProtectionError(`The key-encryption key from ${source} is ${key.length} bytes; it must be 32 bytes (base64 or hex); ${GENERATE_HINT}.`);
    this.#key = Buffer.from(key);
    this.id = createHash("sha256").update(key).digest("base64url").slice(0, 11);
    this.source = source;
  }

  static isSealed(value: string): boolean {
    return value.startsWith(`${PREFIX}:`);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [PREFIX, this.id, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ciphertext.toString("base64url")].join(":");
  }

  /** Opens a sealed value; `what` names it in errors (e.g. "signing key abc"). */
  open(sealed: string, what: string): string {
    const [prefix, id, iv, tag, ciphertext] = sealed.split(":");
    if (prefix !== PREFIX || !id || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new KeyProtectionError(`${what} is not in the sealed form this server reads (kek1:…); the store may come from a newer OpenPAL.`);
    }
    if (id !== this.id) {
      throw new KeyProtectionError(`${what} was encrypted under key-encryption key ${id}, but this server has ${this.id} (from ${this.source}). Give every server the same key-encryption key (${KEK_ENV} or --key-encryption-key-file), or restore the data dir's ${KEK_FILE_NAME}.`);
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
    } catch {
      throw new KeyProtectionError(`${what} cannot be decrypted with key-encryption key ${this.id}: the stored value was altered.`);
    }
  }
}

/** 32 bytes from base64, base64url or hex text. */
function parseKeyText(text: string, source: string): Buffer {
  const t = text.trim();
  const bytes = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
  if (bytes.length !== 32) {
    throw new KeyProtectionError(`The key-encryption key from ${source} is not 32 bytes in base64 or hex; ${GENERATE_HINT}.`);
  }
  return bytes;
}

export interface KeyEncryptionKeySources {
  readonly dataDir: string;
  /** --key-encryption-key-file */
  readonly file?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The server's KEK from the environment, the named file or the data dir (created there if absent). */
export function loadKeyEncryptionKey(sources: KeyEncryptionKeySources): KeyEncryptionKey {
  const fromEnv = sources.env[KEK_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== "") return new KeyEncryptionKey(parseKeyText(fromEnv, `environment ${KEK_ENV}`), `environment ${KEK_ENV}`);
  if (sources.file !== undefined) {
    if (!existsSync(sources.file)) {
      throw new KeyProtectionError(`--key-encryption-key-file: ${sources.file} does not exist; create it (mode 0600) with 32 random bytes in base64 (${GENERATE_HINT}).`);
    }
    return new KeyEncryptionKey(parseKeyText(readFileSync(sources.file, "utf8"), sources.file), sources.file);
  }
  const file = path.join(sources.dataDir, KEK_FILE_NAME);
  if (existsSync(file)) return new KeyEncryptionKey(parseKeyText(readFileSync(file, "utf8"), file), file);
  const key = randomBytes(32);
  writeFileSync(file, key.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  return new KeyEncryptionKey(key, file);
}
