/**
 * Credential hashing. Nothing stores a password or client secret in clear.
 *
 * - Passwords are low-entropy: scrypt (memory-hard) with a random salt.
 * - Client secrets are generated high-entropy strings (like Entra ID's 40-character secrets), so a
 *   salted SHA-256 is enough and keeps client-credential token issuance fast.
 * Comparison is constant-time.
 *
 * Request paths use the asynchronous forms (`verifyCredentialAsync`, `hashPasswordAsync`): scrypt
 * then runs on libuv's thread pool, so a flood of password guesses never blocks the event loop
 * that serves everyone else. The synchronous forms remain for callers outside request paths.
 */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from "node:crypto";
import os from "node:os";

/**
 * How many scrypt computations run at once: half the cores (at least one). A password flood then
 * queues behind these instead of taking every core from the event loop that serves everyone else;
 * the queue slows the flood, which is the point.
 */
export const MAX_CONCURRENT_PASSWORD_HASHES = Math.max(1, Math.floor(os.availableParallelism() / 2));
let running = 0;
const waiting: (() => void)[] = [];

async function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  if (running >= MAX_CONCURRENT_PASSWORD_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await new Promise((resolve, reject) => {
      scrypt(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key)));
    });
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt$${SCRYPT.N}$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

export async function hashPasswordAsync(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt$${SCRYPT.N}$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

export function hashClientSecret(secret: string): string {
  const salt = randomBytes(16);
  const hash = createHash("sha256").update(salt).update(secret).digest();
  return `sha256$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

/** Verifies a password or client secret against a hash made by the functions above. */
export function verifyCredential(candidate: string, stored: string): boolean {
  const parts = stored.split("$");
  let expected: Buffer;
  let actual: Buffer;
  if (parts[0] === "scrypt" && parts.length === 4) {
    const N = Number(parts[1]);
    const salt = Buffer.from(parts[2] ?? "", "base64url");
    expected = Buffer.from(parts[3] ?? "", "base64url");
    actual = scryptSync(candidate, salt, expected.length, { N, r: SCRYPT.r, p: SCRYPT.p });
  } else if (parts[0] === "sha256" && parts.length === 3) {
    const salt = Buffer.from(parts[1] ?? "", "base64url");
    expected = Buffer.from(parts[2] ?? "", "base64url");
    actual = createHash("sha256").update(salt).update(candidate).digest();
  } else {
    return false;
  }
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** `verifyCredential` without blocking the event loop: scrypt runs on the thread pool. */
export async function verifyCredentialAsync(candidate: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts[0] !== "scrypt" || parts.length !== 4) return verifyCredential(candidate, stored);
  const N = Number(parts[1]);
  const salt = Buffer.from(parts[2] ?? "", "base64url");
  const expected = Buffer.from(parts[3] ?? "", "base64url");
  if (!Number.isSafeInteger(N) || expected.length === 0) return false;
  const actual = await scryptAsync(candidate, salt, expected.length, { N, r: SCRYPT.r, p: SCRYPT.p });
  return timingSafeEqual(expected, actual);
}

/** A new client secret in Entra ID's shape: 40 characters, URL-safe. */
export function newClientSecret(): string {
  return randomBytes(30).toString("base64url");
}
