/**
 * Token attacks against the verifier over HTTPS (what an attacker sends to the ARM API): none of
 * alg=none, HS256 keyed with the public key, a foreign issuer or audience, an expired token, a
 * tampered signature or an unknown kid is accepted; and a flood of unknown kids does not make the
 * server re-read its keys from the store on every request (item 9 of issue 14).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { base64url, generateKeyPair, SignJWT } from "jose";
import { startTestServer, type TestServer } from "../support/server.ts";
import { KeyEncryptionKey, KeyRing, UNKNOWN_KID_RELOAD_MS } from "../../src/identity/index.ts";
import { openStore, type SigningKeyStore } from "../../src/store/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { randomBytes } from "node:crypto";

const TID = "c0000000-0000-4000-8000-000000000001";
const PATH = "/providers/Microsoft.ManagementPartner/partners/?api-version=2018-02-01";

describe("forged and mismatched tokens are refused by the ARM API with 401", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  const claims = (over: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return { tid: TID, oid: "o1", sub: "o1", ver: "2.0", idtyp: "app", iss: `${server.url}/${TID}/v2.0`, aud: "https://management.azure.com/", iat: now, nbf: now, exp: now + 3600, ...over };
  };
  const call = async (token: string) => {
    const res = await server.fetch(PATH, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { error?: { code?: string } };
    return { status: res.status, code: body.error?.code, challenge: res.headers.get("www-authenticate") };
  };
  const sign = (c: Record<string, unknown>) => server.openpal.identity.keys.sign(c);

  it("a genuine token passes authentication (the control: not 401; the unknown principal then meets authorization)", async () => {
    assert.notEqual((await call(await sign(claims()))).status, 401);
  });

  it("alg=none, HS256 keyed with the published key, and a tampered signature are refused", async () => {
    const kid = server.openpal.identity.keys.activeKid();
    const body = base64url.encode(JSON.stringify(claims()));
    const none = `${base64url.encode(JSON.stringify({ alg: "none", typ: "JWT", kid }))}.${body}.`;
    const hsHeader = base64url.encode(JSON.stringify({ alg: "HS256", typ: "JWT", kid }));
    const jwk = JSON.stringify(server.openpal.identity.keys.jwks().keys[0]);
    const hs = `${hsHeader}.${body}.${createHmac("sha256", jwk).update(`${hsHeader}.${body}`).digest("base64url")}`;
    const genuine = await sign(claims());
    const [h, p, s] = genuine.split(".") as [string, string, string];
    const tamperedSig = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
    const tamperedBody = `${h}.${base64url.encode(JSON.stringify(claims({ oid: "someone-else" })))}.${s}`;
    for (const t of [none, hs, tamperedSig, tamperedBody]) {
      const r = await call(t);
      assert.equal(r.status, 401, t.slice(0, 40));
      assert.match(String(r.challenge), /^Bearer authorization_uri=/);
    }
  });

  it("a wrong issuer, a foreign audience, an expired token and a key we never published are refused", async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    const { privateKey } = await generateKeyPair("RS256");
    const foreign = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid: "attacker-kid" }).sign(privateKey);
    for (const t of [
      await sign(claims({ iss: "https://login.microsoftonline.com/x/v2.0" })),
      await sign(claims({ aud: "https://graph.microsoft.com" })),
      await sign(claims({ iat: past, nbf: past, exp: past + 60 })),
      foreign,
    ]) assert.equal((await call(t)).status, 401);
  });
});

describe("unknown kids reload the keys from the store at most once per interval", () => {
  it(`a flood of 200 tokens with made-up kids reads the store once, and again only after ${UNKNOWN_KID_RELOAD_MS / 1000} s`, async () => {
    const store = await openStore({ kind: "sqlite", sqlitePath: ":memory:" });
    try {
      let reads = 0;
      const counted = new Proxy(store.signingKeys, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (prop === "published") return (at: number) => { reads++; return target.published(at); };
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as SigningKeyStore;
      const clock = new ManualClock(Date.now());
      const keys = new KeyRing(counted, clock, 3600, new KeyEncryptionKey(randomBytes(32), "test"));
      await keys.init();
      const base = reads;
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => keys.publicKey(`made-up-${i}`)));
      assert.ok(results.every((r) => r === undefined));
      assert.equal(reads - base, 1, "one reload for the whole flood");
      await keys.publicKey("made-up-again");
      assert.equal(reads - base, 1, "none within the interval");
      clock.advance(UNKNOWN_KID_RELOAD_MS + 1);
      await keys.publicKey("made-up-later");
      assert.equal(reads - base, 2);
      // A key another server created is still found (after the interval), so rotation works.
      const kid = await keys.rotate();
      assert.ok(await keys.publicKey(kid));
    } finally {
      await store.close();
    }
  });
});
