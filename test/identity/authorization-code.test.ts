import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestServer, testCaPath, type TestServer } from "../support/server.ts";
import { testOptions } from "../../src/options/index.ts";
import { startServer } from "../../src/server/index.ts";
import { AZURE_CLI_CLIENT_ID, OPENPAL_PORTAL_CLIENT_ID } from "../../src/identity/index.ts";
import { APP, ARM_AUDIENCE, ARM_SCOPE, T, U, claimsOf, seedDirectory } from "./fixtures.ts";

const lines: string[] = [];
const logSink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });

let server: TestServer;
before(async () => {
  server = await startTestServer({ options: { logLevel: "debug" }, deps: { logDestination: logSink } });
  await seedDirectory(server.openpal.context.store);
});
after(async () => server.close());

const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

/** Opens the sign-in page, checks it, and submits it like a browser (no redirect following). */
async function signIn(opts: { tenant: string; clientId: string; redirectUri: string; challenge: string; upn: string; password: string; state?: string; nonce?: string }) {
  const query = new URLSearchParams({
    client_id: opts.clientId, response_type: "code", redirect_uri: opts.redirectUri, scope: `${ARM_SCOPE} openid profile offline_access`,
    state: opts.state ?? "st-1", nonce: opts.nonce ?? "n-1", code_challenge: opts.challenge, code_challenge_method: "S256",
  });
  const page = await server.fetch(`/${opts.tenant}/oauth2/v2.0/authorize?${query}`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<form method="post"/);
  assert.equal(page.headers.get("x-frame-options"), "DENY");
  // Submit every hidden field of the form plus the credentials, as the browser does.
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1] as string, (m[2] as string).replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">"));
  form.set("login", opts.upn);
  form.set("passwd", opts.password);
  form.set("action", "signin");
  return server.fetch(`/${opts.tenant}/oauth2/v2.0/authorize`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString(), redirect: "manual" });
}

const redeem = async (tenant: string, form: Record<string, string>) => {
  const res = await server.fetch(`/${tenant}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "authorization_code", ...form }).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe("authorization code with PKCE: sign-in page, one-time code, verifier checked", () => {
  const portalRedirect = () => `${server.url}/portal/auth/callback`;

  it("the portal client signs a user in and redeems the code for tokens carrying the nonce", async () => {
    const { verifier, challenge } = pkce();
    const res = await signIn({ tenant: T.contoso.id, clientId: OPENPAL_PORTAL_CLIENT_ID, redirectUri: portalRedirect(), challenge, upn: U.alice.upn, password: U.alice.password, state: "s-42", nonce: "nonce-42" });
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get("location") ?? "");
    assert.equal(`${location.origin}${location.pathname}`, portalRedirect());
    assert.equal(location.searchParams.get("state"), "s-42");
    const code = location.searchParams.get("code") ?? "";
    const r = await redeem(T.contoso.id, { client_id: OPENPAL_PORTAL_CLIENT_ID, code, redirect_uri: portalRedirect(), code_verifier: verifier });
    assert.equal(r.status, 200);
    assert.equal(claimsOf(String(r.body.access_token)).aud, ARM_AUDIENCE);
    assert.equal(claimsOf(String(r.body.access_token)).oid, U.alice.id);
    const id = claimsOf(String(r.body.id_token));
    assert.equal(id.nonce, "nonce-42");
    assert.equal(id.aud, OPENPAL_PORTAL_CLIENT_ID);
    assert.ok(r.body.refresh_token);

    const reused = await redeem(T.contoso.id, { client_id: OPENPAL_PORTAL_CLIENT_ID, code, redirect_uri: portalRedirect(), code_verifier: verifier });
    assert.equal(reused.body.error, "invalid_grant");
    assert.deepEqual(reused.body.error_codes, [54005]);
  });

  it("a wrong code_verifier is AADSTS50148 and does not burn the code", async () => {
    const { verifier, challenge } = pkce();
    const res = await signIn({ tenant: T.fabrikam.id, clientId: AZURE_CLI_CLIENT_ID, redirectUri: "http://localhost:8400/", challenge, upn: U.bob.upn, password: U.bob.password });
    const code = new URL(res.headers.get("location") ?? "").searchParams.get("code") ?? "";
    const bad = await redeem(T.fabrikam.id, { client_id: AZURE_CLI_CLIENT_ID, code, redirect_uri: "http://localhost:8400/", code_verifier: pkce().verifier });
    assert.deepEqual(bad.body.error_codes, [50148]);
    const wrongRedirect = await redeem(T.fabrikam.id, { client_id: AZURE_CLI_CLIENT_ID, code, redirect_uri: "http://localhost:9999/", code_verifier: verifier });
    assert.equal(wrongRedirect.body.error, "invalid_grant");
    const ok = await redeem(T.fabrikam.id, { client_id: AZURE_CLI_CLIENT_ID, code, redirect_uri: "http://localhost:8400/", code_verifier: verifier });
    assert.equal(claimsOf(String(ok.body.access_token)).oid, U.bobGuest.id);
  });

  it("a wrong password shows the form again with AADSTS50126 and issues no code", async () => {
    const res = await signIn({ tenant: T.contoso.id, clientId: OPENPAL_PORTAL_CLIENT_ID, redirectUri: portalRedirect(), challenge: pkce().challenge, upn: U.alice.upn, password: "nope" });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /AADSTS50126/);
    assert.doesNotMatch(html, /nope/);
  });

  it("a redirect URI not allowed for the client is refused on the page (AADSTS50011), never redirected to", async () => {
    const q = new URLSearchParams({ client_id: OPENPAL_PORTAL_CLIENT_ID, response_type: "code", redirect_uri: "https://evil.example/cb", code_challenge: pkce().challenge, code_challenge_method: "S256" });
    const res = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/authorize?${q}`, { redirect: "manual" });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /AADSTS50011/);
  });

  it("a request without PKCE is sent back to the client with invalid_request", async () => {
    const q = new URLSearchParams({ client_id: AZURE_CLI_CLIENT_ID, response_type: "code", redirect_uri: "http://localhost:8400/", state: "x" });
    const res = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/authorize?${q}`, { redirect: "manual" });
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get("location") ?? "");
    assert.equal(location.searchParams.get("error"), "invalid_request");
    assert.equal(location.searchParams.get("state"), "x");
  });

  it("logout redirects to an allowed post_logout_redirect_uri with the state, and refuses others", async () => {
    const ok = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent(`${server.url}/portal/`)}&state=bye`, { redirect: "manual" });
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get("location"), `${server.url}/portal/?state=bye`);
    const bad = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent("https://evil.example/")}`, { redirect: "manual" });
    assert.equal(bad.status, 400);
    const page = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/logout`);
    assert.match(await page.text(), /signed out/);
  });
});

describe("credentials never reach the logs", () => {
  it("secrets, passwords, codes and tokens sent to the identity endpoints appear in no log line", async () => {
    const secret = APP.automation.secret;
    const res = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/token?client_secret=${secret}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: secret, scope: ARM_SCOPE }).toString() });
    const token = String(((await res.json()) as Record<string, unknown>).access_token);
    await server.fetch(`/${T.contoso.id}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "password", client_id: AZURE_CLI_CLIENT_ID, username: U.alice.upn, password: U.alice.password, scope: ARM_SCOPE }).toString() });
    await server.fetch(`/${T.contoso.id}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${token}` }, body: new URLSearchParams({ grant_type: "password", client_id: AZURE_CLI_CLIENT_ID, username: U.alice.upn, password: "Wrong-Passw0rd", scope: ARM_SCOPE }).toString() });
    const all = lines.join("");
    assert.ok(lines.length > 0);
    for (const credential of [secret, U.alice.password, "Wrong-Passw0rd", token]) assert.ok(!all.includes(credential), "a credential was logged");
    assert.match(all, /client_secret=%5Bredacted%5D|client_secret=\[redacted\]/);
  });
});

describe("signing keys survive a restart, so tokens issued before it still verify", () => {
  it("a token from the first run verifies against the second run's verifier and JWKS", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-restart-"));
    const tls = path.dirname(testCaPath());
    const options = testOptions({ port: 0, dataDir, logLevel: "silent", cert: path.join(tls, "server.crt"), key: path.join(tls, "server.key") });
    try {
      const first = await startServer(options);
      await seedDirectory(first.openpal.context.store);
      const form = new URLSearchParams({ grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: APP.automation.secret, scope: ARM_SCOPE });
      const res = await server.fetch(`${first.url}/${T.contoso.id}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() });
      const token = String(((await res.json()) as Record<string, unknown>).access_token);
      const kid = first.openpal.identity.keys.activeKid();
      await first.close();
      const second = await startServer({ ...options, port: Number(new URL(first.url).port) });
      try {
        assert.equal(second.openpal.identity.keys.activeKid(), kid);
        const caller = await second.openpal.identity.verifier.authenticate(token, [ARM_AUDIENCE]);
        assert.equal(caller.objectId, APP.automation.spContoso);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
