/**
 * Abuse resistance of the token service (issue 14, items 3–6): audiences it plays, confidential
 * clients in every grant, account lock-out and secret / source throttling counted in the store,
 * token families revoked on reuse, replay and sign-out, and password hashing off the event loop.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startTestServer, type TestServer } from "../support/server.ts";
import { storeBackends } from "../support/stores.ts";
import { buildApp } from "../../src/server/index.ts";
import { testOptions } from "../../src/options/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { AZURE_CLI_CLIENT_ID, PLAYED_RESOURCES, DEFAULT_GUESSING_POLICIES, hashPassword, verifyCredentialAsync } from "../../src/identity/index.ts";
import { APP, ARM_SCOPE, T, U, claimsOf, seedDirectory } from "./fixtures.ts";

type Answer = { status: number; headers: Headers; body: Record<string, unknown> };

async function post(server: TestServer, path: string, form: Record<string, string>): Promise<Answer> {
  const res = await server.fetch(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form).toString() });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}
const token = (server: TestServer, tenant: string, form: Record<string, string>) => post(server, `/${tenant}/oauth2/v2.0/token`, form);
const ropc = (server: TestServer, upn: string, password: string, extra: Record<string, string> = {}) =>
  token(server, T.contoso.id, { grant_type: "password", client_id: AZURE_CLI_CLIENT_ID, username: upn, password, scope: `${ARM_SCOPE} openid profile offline_access`, ...extra });
const clientCredentials = (server: TestServer, secret: string, scope = ARM_SCOPE, appId: string = APP.automation.appId) =>
  token(server, appId === APP.disabled.appId ? T.fabrikam.id : T.contoso.id, { grant_type: "client_credentials", client_id: appId, client_secret: secret, scope });

const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

/** Signs in at the authorize page (as a browser) and returns the code sent to the loopback redirect. */
async function authorizationCode(server: TestServer, clientId: string, challenge: string): Promise<string> {
  const redirectUri = "http://localhost:8400/";
  const fields = {
    client_id: clientId, response_type: "code", redirect_uri: redirectUri, scope: `${ARM_SCOPE} openid offline_access`,
    state: "s", code_challenge: challenge, code_challenge_method: "S256",
  };
  const res = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/authorize`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, redirect: "manual",
    body: new URLSearchParams({ ...fields, login: U.erin.upn, passwd: U.erin.password, action: "signin" }).toString(),
  });
  assert.equal(res.status, 302, await res.text());
  const code = new URL(String(res.headers.get("location"))).searchParams.get("code");
  assert.ok(code);
  return code;
}

for (const backend of storeBackends()) {
  describe(`[${backend.name}] tokens are issued only for resources the server plays (AADSTS500011 otherwise)`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ backend });
      await seedDirectory(server.openpal.context.store);
    });
    after(async () => server.close());

    it("client_credentials for https://evil.example/.default is refused with invalid_resource AADSTS500011 naming the resource", async () => {
      const r = await clientCredentials(server, APP.automation.secret, "https://evil.example/.default");
      assert.equal(r.status, 400);
      assert.equal(r.body.error, "invalid_resource");
      assert.deepEqual(r.body.error_codes, [500011]);
      assert.match(String(r.body.error_description), /^AADSTS500011: The resource principal named https:\/\/evil\.example was not found in the tenant named Contoso\./);
      assert.equal(r.body.access_token, undefined);
    });

    it("user grants are held to the same list", async () => {
      const r = await ropc(server, U.alice.upn, U.alice.password, { scope: "https://evil.example/user_impersonation offline_access" });
      assert.deepEqual(r.body.error_codes, [500011]);
    });

    it("every played resource gets a token whose aud is the identifier as Entra writes it; Dataverse environments too", async () => {
      for (const resource of PLAYED_RESOURCES) {
        const r = await clientCredentials(server, APP.automation.secret, `${resource.audience.replace(/\/$/, "")}/.default`);
        assert.equal(r.status, 200, `${resource.audience}: ${JSON.stringify(r.body)}`);
        assert.equal(claimsOf(String(r.body.access_token)).aud, resource.audience);
      }
      const dataverse = await clientCredentials(server, APP.automation.secret, "https://contoso.crm4.dynamics.com/.default");
      assert.equal(claimsOf(String(dataverse.body.access_token)).aud, "https://contoso.crm4.dynamics.com");
      const lookalike = await clientCredentials(server, APP.automation.secret, "https://contoso.crm4.dynamics.com.evil.example/.default");
      assert.deepEqual(lookalike.body.error_codes, [500011]);
    });
  });

  describe(`[${backend.name}] a confidential client authenticates in every grant (AADSTS7000218)`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ backend });
      await seedDirectory(server.openpal.context.store);
    });
    after(async () => server.close());

    it("the password grant with a confidential application's id and no secret is refused; with the secret it works", async () => {
      const bare = await ropc(server, U.alice.upn, U.alice.password, { client_id: APP.automation.appId });
      assert.equal(bare.status, 401);
      assert.equal(bare.body.error, "invalid_client");
      assert.deepEqual(bare.body.error_codes, [7000218]);
      const ok = await ropc(server, U.alice.upn, U.alice.password, { client_id: APP.automation.appId, client_secret: APP.automation.secret });
      assert.equal(ok.status, 200);
    });

    it("the refresh grant needs the secret too", async () => {
      const first = await ropc(server, U.alice.upn, U.alice.password, { client_id: APP.automation.appId, client_secret: APP.automation.secret });
      const rt = String(first.body.refresh_token);
      const bare = await token(server, T.contoso.id, { grant_type: "refresh_token", client_id: APP.automation.appId, refresh_token: rt });
      assert.deepEqual(bare.body.error_codes, [7000218]);
      const ok = await token(server, T.contoso.id, { grant_type: "refresh_token", client_id: APP.automation.appId, client_secret: APP.automation.secret, refresh_token: rt });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
    });

    it("the authorization code grant needs the secret too, and a refused redemption does not burn the code", async () => {
      const { verifier, challenge } = pkce();
      const code = await authorizationCode(server, APP.automation.appId, challenge);
      const form = { grant_type: "authorization_code", client_id: APP.automation.appId, code, redirect_uri: "http://localhost:8400/", code_verifier: verifier };
      const bare = await token(server, T.contoso.id, form);
      assert.deepEqual(bare.body.error_codes, [7000218]);
      const ok = await token(server, T.contoso.id, { ...form, client_secret: APP.automation.secret });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
    });

    it("the device code grant needs the secret too (the device authorization itself does not)", async () => {
      const dc = await post(server, `/${T.contoso.id}/oauth2/v2.0/devicecode`, { client_id: APP.automation.appId, scope: ARM_SCOPE });
      assert.equal(dc.status, 200);
      const poll = await token(server, T.contoso.id, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", client_id: APP.automation.appId, device_code: String(dc.body.device_code) });
      assert.deepEqual(poll.body.error_codes, [7000218]);
    });

    it("public clients (Azure CLI) still sign users in without a credential", async () => {
      assert.equal((await ropc(server, U.alice.upn, U.alice.password)).status, 200);
    });
  });

  describe(`[${backend.name}] wrong passwords lock the account as Entra's smart lock-out does (AADSTS50053), counted in the store`, () => {
    let server: TestServer;
    const clock = new ManualClock(Date.now());
    before(async () => {
      server = await startTestServer({ backend, deps: { clock } });
      await seedDirectory(server.openpal.context.store);
    });
    after(async () => server.close());

    it(`${DEFAULT_GUESSING_POLICIES.account.threshold} wrong passwords lock the account for 60 s, even against the right password; then it opens and the counter resets`, async () => {
      const threshold = DEFAULT_GUESSING_POLICIES.account.threshold;
      for (let i = 1; i < threshold; i++) assert.deepEqual((await ropc(server, U.bob.upn, `wrong-${i}`)).body.error_codes, [50126]);
      const locking = await ropc(server, U.bob.upn, "wrong-last");
      assert.equal(locking.status, 400);
      assert.equal(locking.body.error, "invalid_grant");
      assert.deepEqual(locking.body.error_codes, [50053]);
      assert.match(String(locking.body.error_description), /temporarily locked/);
      assert.deepEqual((await ropc(server, U.bob.upn, U.bob.password)).body.error_codes, [50053]);
      // Another account is not affected.
      assert.equal((await ropc(server, U.alice.upn, U.alice.password)).status, 200);
      clock.advance(61_000);
      assert.equal((await ropc(server, U.bob.upn, U.bob.password)).status, 200);
      // The success reset the counter: one more wrong password is an ordinary 50126.
      assert.deepEqual((await ropc(server, U.bob.upn, "wrong-again")).body.error_codes, [50126]);
    });

    it("the lock-out lives in the store: a second server on the same store honours it", async () => {
      const second = await buildApp(testOptions({ dataDir: server.dataDir, logLevel: "silent" }), { store: server.openpal.context.store, clock });
      try {
        for (let i = 0; i < DEFAULT_GUESSING_POLICIES.account.threshold; i++) await ropc(server, U.erin.upn, `nope-${i}`);
        const res = await second.app.inject({ method: "POST", url: `/${T.contoso.id}/oauth2/v2.0/token`, headers: { "content-type": "application/x-www-form-urlencoded" },
          payload: new URLSearchParams({ grant_type: "password", client_id: AZURE_CLI_CLIENT_ID, username: U.erin.upn, password: U.erin.password, scope: ARM_SCOPE }).toString() });
        assert.deepEqual(res.json().error_codes, [50053]);
      } finally {
        await second.close();
      }
    });

    it("the sign-in page refuses a locked account too", async () => {
      const { challenge } = pkce();
      const res = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/authorize`, {
        method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, redirect: "manual",
        body: new URLSearchParams({ client_id: AZURE_CLI_CLIENT_ID, response_type: "code", redirect_uri: "http://localhost:8400/", scope: ARM_SCOPE, code_challenge: challenge, code_challenge_method: "S256", login: U.erin.upn, passwd: U.erin.password, action: "signin" }).toString(),
      });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /AADSTS50053/);
    });
  });

  describe(`[${backend.name}] wrong client secrets throttle the application and the source (429 with Retry-After)`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ backend });
      await seedDirectory(server.openpal.context.store);
    });
    after(async () => server.close());

    it(`${DEFAULT_GUESSING_POLICIES.clientSecret.threshold} wrong secrets for one application answer 429 with Retry-After, and then even the right secret waits`, async () => {
      const threshold = DEFAULT_GUESSING_POLICIES.clientSecret.threshold;
      for (let i = 1; i < threshold; i++) assert.deepEqual((await clientCredentials(server, `guess-${i}`)).body.error_codes, [7000215]);
      const throttled = await clientCredentials(server, "guess-last");
      assert.equal(throttled.status, 429);
      assert.equal(throttled.body.error, "temporarily_unavailable");
      const retryAfter = Number(throttled.headers.get("retry-after"));
      assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal((await clientCredentials(server, APP.automation.secret)).status, 429);
      // Another application (certificate or secret) is not throttled by it.
      assert.deepEqual((await clientCredentials(server, "x", ARM_SCOPE, APP.disabled.appId)).body.error_codes, [7000215]);
    });

    it(`${DEFAULT_GUESSING_POLICIES.source.threshold} failed credentials from one source stop that source, whatever it aims at (password spraying)`, async () => {
      // Failures so far from this source: the application's 10 and the other app's 1.
      let status = 0;
      for (let i = 0; i < DEFAULT_GUESSING_POLICIES.source.threshold && status !== 400; i++) {
        const r = await ropc(server, `nobody-${i}@contoso.example`, "pw");
        if (r.body.error_codes && (r.body.error_codes as number[])[0] === 50196) status = 400;
      }
      const spray = await ropc(server, U.alice.upn, U.alice.password);
      assert.equal(spray.status, 400);
      assert.deepEqual(spray.body.error_codes, [50196]);
      assert.ok(Number(spray.headers.get("retry-after")) > 0);
      const app = await clientCredentials(server, "another-guess", ARM_SCOPE, APP.disabled.appId);
      assert.equal(app.status, 429);
    });
  });

  describe(`[${backend.name}] one-time credentials: reuse or replay revokes the whole token family; sign-out revokes it`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ backend });
      await seedDirectory(server.openpal.context.store);
    });
    after(async () => server.close());
    const refresh = (rt: string) => token(server, T.contoso.id, { grant_type: "refresh_token", client_id: AZURE_CLI_CLIENT_ID, refresh_token: rt, scope: ARM_SCOPE });

    it("presenting a rotated refresh token again revokes the newest one of the same sign-in too", async () => {
      const rt1 = String((await ropc(server, U.alice.upn, U.alice.password)).body.refresh_token);
      const second = await refresh(rt1);
      const rt2 = String(second.body.refresh_token);
      assert.equal(second.status, 200);
      const reuse = await refresh(rt1);
      assert.deepEqual(reuse.body.error_codes, [50173]);
      assert.deepEqual((await refresh(rt2)).body.error_codes, [50173]);
      // Another sign-in of the same user is a different family and keeps working.
      const other = String((await ropc(server, U.alice.upn, U.alice.password)).body.refresh_token);
      assert.equal((await refresh(other)).status, 200);
    });

    it("replaying an authorization code revokes the refresh token it produced", async () => {
      const { verifier, challenge } = pkce();
      const code = await authorizationCode(server, AZURE_CLI_CLIENT_ID, challenge);
      const form = { grant_type: "authorization_code", client_id: AZURE_CLI_CLIENT_ID, code, redirect_uri: "http://localhost:8400/", code_verifier: verifier };
      const first = await token(server, T.contoso.id, form);
      assert.equal(first.status, 200);
      const replay = await token(server, T.contoso.id, form);
      assert.deepEqual(replay.body.error_codes, [54005]);
      assert.deepEqual((await refresh(String(first.body.refresh_token))).body.error_codes, [50173]);
    });

    it("logout with the session's id_token_hint revokes its refresh tokens; a forged hint is refused", async () => {
      const signedIn = await ropc(server, U.alice.upn, U.alice.password);
      const idToken = String(signedIn.body.id_token);
      assert.equal(typeof claimsOf(idToken).sid, "string");
      const out = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/logout?id_token_hint=${encodeURIComponent(idToken)}`);
      assert.equal(out.status, 200);
      assert.deepEqual((await refresh(String(signedIn.body.refresh_token))).body.error_codes, [50173]);
      const [h, p] = idToken.split(".");
      const forged = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/logout?id_token_hint=${h}.${p}.${Buffer.from("x").toString("base64url")}`);
      assert.equal(forged.status, 400);
    });
  });
}

describe("password checks run off the event loop", () => {
  it("verifying a scrypt password lets other work run meanwhile (the synchronous check let none)", async () => {
    const stored = hashPassword("Correct-Horse-1");
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const results = await Promise.all(Array.from({ length: 8 }, () => verifyCredentialAsync("wrong-guess", stored)));
      assert.deepEqual(results, Array(8).fill(false));
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks >= 2, `the event loop ran ${ticks} timer ticks during 8 scrypt checks`);
    assert.equal(await verifyCredentialAsync("Correct-Horse-1", stored), true);
  });
});

/** Sends `bytes` of filler as a chunked body (a stream, so no Content-Length), 64 KiB at a time. */
async function sendChunked(server: TestServer, url: string, contentType: string, bytes: number, method = "POST") {
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const res = await server.fetch(url, { method, headers: { "content-type": contentType }, body, duplex: "half" } as RequestInit);
  return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as Record<string, unknown> };
}

describe("the web framework's own refusals keep their status and answer in the route's shape: OAuth's on the token service, ARM's on ARM routes", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({});
    await seedDirectory(server.openpal.context.store);
  });
  after(async () => server.close());

  const send = async (contentType: string, body: string | Buffer) => {
    const res = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": contentType }, body });
    return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as Record<string, unknown> };
  };
  const assertOAuthShape = (r: { status: number; type: string | null; body: Record<string, unknown> }, status: number, message: RegExp) => {
    assert.equal(r.status, status);
    assert.match(String(r.type), /^application\/json/);
    assert.equal(r.body.error, "invalid_request");
    assert.deepEqual(r.body.error_codes, [90023]);
    assert.match(String(r.body.error_description), /^AADSTS90023: /);
    assert.match(String(r.body.error_description), message);
    assert.equal(typeof r.body.trace_id, "string");
    assert.equal(typeof r.body.correlation_id, "string");
    assert.equal(r.body.code, undefined, "not ARM's { error: { code } } shape");
  };

  it("a Content-Type the token endpoint cannot read answers 415 as invalid_request, naming the type and what to send", async () => {
    assertOAuthShape(await send("application/xml", "<grant_type>password</grant_type>"), 415, /Content-Type 'application\/xml' cannot be read here\. .*application\/x-www-form-urlencoded/);
  });

  it("a body over the 32 MiB limit answers 413 as invalid_request, naming its size and the limit", async () => {
    const body = `grant_type=password&client_id=${AZURE_CLI_CLIENT_ID}&password=${"x".repeat(32 * 1024 * 1024)}`;
    assertOAuthShape(await send("application/x-www-form-urlencoded", body), 413, new RegExp(`The request body is ${Buffer.byteLength(body)} bytes; the limit is 33554432 bytes \\(32 MiB\\)`));
  });

  it("a chunked body (no Content-Length) that grows past the 32 MiB limit answers 413 as invalid_request, naming the limit", async () => {
    const r = await sendChunked(server, `/${T.contoso.id}/oauth2/v2.0/token`, "application/x-www-form-urlencoded", 33 * 1024 * 1024);
    assertOAuthShape(r, 413, /sent without a Content-Length\) grew past the limit of 33554432 bytes \(32 MiB\)/);
  });

  it("a chunked body past the limit on an ARM route answers 413 in ARM's shape, RequestEntityTooLarge, naming the limit", async () => {
    const r = await sendChunked(server, "/providers/Microsoft.ManagementPartner/partners/4000001?api-version=2018-02-01", "application/json", 33 * 1024 * 1024, "PUT");
    assert.equal(r.status, 413);
    const error = r.body.error as { code?: string; message?: string };
    assert.equal(error.code, "RequestEntityTooLarge");
    assert.match(String(error.message), /grew past the limit of 33554432 bytes \(32 MiB\)/);
  });

  it("a chunked body within the limit is read whole", async () => {
    const r = await sendChunked(server, `/${T.contoso.id}/oauth2/v2.0/token`, "application/x-www-form-urlencoded", 256 * 1024);
    // Read to its end and judged on its content: the grant is missing (AADSTS900144), not the body refused.
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "invalid_request");
    assert.deepEqual(r.body.error_codes, [900144]);
    assert.match(String(r.body.error_description), /grant_type/);
  });

  it("malformed JSON answers 400 as invalid_request, naming the problem", async () => {
    assertOAuthShape(await send("application/json", "{\"grant_type\":"), 400, /not valid JSON/);
  });

  it("a server error on a token-service route is not dressed as a client error: the root handler answers 500 without its details", async () => {
    const tokens = server.openpal.identity.tokens as unknown as { token: (...args: unknown[]) => unknown };
    const original = tokens.token;
    tokens.token = () => {
      throw new Error("secret internal detail");
    };
    try {
      const r = await send("application/x-www-form-urlencoded", `grant_type=password&client_id=${AZURE_CLI_CLIENT_ID}`);
      assert.equal(r.status, 500);
      assert.equal((r.body.error as { code?: string }).code, "InternalServerError");
      assert.doesNotMatch(JSON.stringify(r.body), /secret internal detail/);
    } finally {
      tokens.token = original;
    }
  });
});
