import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair, SignJWT, exportJWK, base64url } from "jose";
import { createHmac } from "node:crypto";
import { openStore, type Store } from "../../src/store/index.ts";
import { KeyEncryptionKey, KeyRing, TokenVerifier, TokenVerificationError } from "../../src/identity/index.ts";
import { randomBytes } from "node:crypto";
import { ManualClock } from "../../src/domain/time.ts";

const TID = "11111111-1111-1111-1111-111111111111";
const ISS = `https://127.0.0.1:8443/${TID}/v2.0`;
const AUD = "https://management.azure.com/";

describe("the verifier accepts only RS256 tokens it signed, for its issuer and the route's audience, unexpired", () => {
  let store: Store;
  let keys: KeyRing;
  let verifier: TokenVerifier;
  const clock = new ManualClock("2026-11-01T00:00:00Z");
  const now = () => Math.floor(clock.now() / 1000);
  const claims = () => ({ tid: TID, oid: "o1", sub: "o1", ver: "2.0", idtyp: "app", iss: ISS, aud: AUD, iat: now(), nbf: now(), exp: now() + 3600 });

  before(async () => {
    store = await openStore({ kind: "sqlite", sqlitePath: ":memory:" });
    keys = new KeyRing(store.signingKeys, clock, 3600, new KeyEncryptionKey(randomBytes(32), "test"));
    await keys.init();
    verifier = new TokenVerifier(keys, clock, (tid) => `https://127.0.0.1:8443/${tid}/v2.0`);
  });
  after(async () => store.close());

  const rejects = (token: string, reason: string) =>
    assert.rejects(verifier.verify(token, [AUD]), (e: unknown) => e instanceof TokenVerificationError && e.reason === reason);

  it("accepts a token it signed", async () => {
    const payload = await verifier.verify(await keys.sign(claims()), [AUD]);
    assert.equal(payload.oid, "o1");
  });

  it("rejects an unsigned token (alg: none)", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: "JWT", kid: keys.activeKid() }));
    await rejects(`${header}.${base64url.encode(JSON.stringify(claims()))}.`, "algorithm");
  });

  it("rejects an HS256 token signed with the public key as the HMAC secret", async () => {
    const jwk = keys.jwks().keys[0];
    const header = base64url.encode(JSON.stringify({ alg: "HS256", typ: "JWT", kid: jwk?.kid }));
    const body = base64url.encode(JSON.stringify(claims()));
    const sig = createHmac("sha256", JSON.stringify(jwk)).update(`${header}.${body}`).digest("base64url");
    await rejects(`${header}.${body}.${sig}`, "algorithm");
  });

  it("rejects a token signed by a foreign key, even one that claims our kid", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid: keys.activeKid() }).sign(privateKey);
    await rejects(forged, "signature");
    const other = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid: "someone-else" }).sign(privateKey);
    await rejects(other, "unknown_key");
    void exportJWK;
  });

  it("a token verified once is still held to its audience and expiry on every later use", async () => {
    const token = await keys.sign(claims());
    await verifier.verify(token, [AUD]);
    await assert.rejects(verifier.verify(token, ["https://graph.microsoft.com"]), (e: unknown) => e instanceof TokenVerificationError && e.reason === "audience");
    const saved = clock.now();
    clock.advance(2 * 3600 * 1000);
    await assert.rejects(verifier.verify(token, [AUD]), (e: unknown) => e instanceof TokenVerificationError && e.reason === "expired");
    clock.set(saved);
  });

  it("rejects a wrong audience", async () => {
    await rejects(await keys.sign({ ...claims(), aud: "https://graph.microsoft.com/" }), "audience");
  });

  it("rejects a wrong issuer, including another tenant's issuer", async () => {
    await rejects(await keys.sign({ ...claims(), iss: "https://login.microsoftonline.com/x/v2.0" }), "issuer");
    await rejects(await keys.sign({ ...claims(), iss: `https://127.0.0.1:8443/22222222-2222-2222-2222-222222222222/v2.0` }), "issuer");
  });

  it("rejects an expired token beyond the allowed skew, and accepts one within it", async () => {
    const token = await keys.sign(claims());
    clock.advance(3600 * 1000 + 30 * 1000);
    await verifier.verify(token, [AUD]);
    clock.advance(60 * 1000);
    await rejects(token, "expired");
  });

  it("keeps a rotated key published until its tokens expire, then drops it", async () => {
    const oldToken = await keys.sign(claims());
    const oldKid = keys.activeKid();
    const newKid = await keys.rotate();
    assert.notEqual(oldKid, newKid);
    assert.deepEqual(keys.jwks().keys.map((k) => k.kid), [newKid, oldKid]);
    await verifier.verify(oldToken, [AUD]);
    const newToken = await keys.sign(claims());
    assert.equal(JSON.parse(Buffer.from(newToken.split(".")[0] ?? "", "base64url").toString()).kid, newKid);
    clock.advance(2 * 3600 * 1000);
    await keys.reload();
    assert.deepEqual(keys.jwks().keys.map((k) => k.kid), [newKid]);
  });
});
