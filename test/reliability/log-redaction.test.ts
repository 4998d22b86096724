/**
 * Item 8 of issue 14: `passwd`, `client_secret[]` (any bracketed or repeated form), `otc` and the
 * other credential-bearing parameters reached the logs. This drives every identity endpoint with
 * credentials in every place a client can put them (query strings in every form, bodies, Basic
 * auth, bearer headers, cookies, error paths), captures every log line the server writes at
 * `trace`, and fails if any secret the run used appears in any line.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { startTestServer, type TestServer } from "../support/server.ts";
import { AZURE_CLI_CLIENT_ID } from "../../src/identity/index.ts";
import { isSensitiveParam, redactUrl } from "../../src/server/logging.ts";
import { APP, ARM_SCOPE, T, U, seedDirectory } from "../identity/fixtures.ts";

const lines: string[] = [];
const sink = new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } });

/** Every secret value the run sends; none may appear in a log line. */
const SECRETS = {
  passwd: "Passwd-Secret-9f1c2e",
  otc: "OTCSECRET7",
  bracketSecret: "bracket-secret-5d9a0b",
  indexedSecret: "indexed-secret-77aa10",
  repeatedSecret: "repeated-secret-1b2c3d",
  upperSecret: "upper-secret-0e0e0e",
  code: "authz-code-secret-4411",
  verifier: "verifier-secret-abcdefabcdefabcdefabcdefabcdefabcdefabcdef",
  assertion: "assertion-secret-eyJhbGciOi",
  refresh: "refresh-secret-0a0b0c0d",
  accessToken: "access-token-secret-9z9z9z",
  idTokenHint: "id-token-hint-secret-3c3c",
  cookie: "cookie-secret-8e8e8e",
  basic: "basic-secret-6f6f6f",
  wrongPassword: "Wrong-Password-Secret-2b2b",
};

let server: TestServer;
before(async () => {
  server = await startTestServer({ options: { logLevel: "trace" }, deps: { logDestination: sink } });
  await seedDirectory(server.openpal.context.store);
});
after(async () => server.close());

const form = (values: Record<string, string>) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(values).toString() });

describe("credentials never reach the logs, in any form a client sends them", () => {
  it("a run of every identity endpoint with credentials in queries, bodies, headers and cookies leaves none of them in any log line", async () => {
    const tenant = T.contoso.id;
    const q = new URLSearchParams();
    q.append("passwd", SECRETS.passwd);
    q.append("otc", SECRETS.otc);
    q.append("client_secret[]", SECRETS.bracketSecret);
    q.append("client_secret[0]", SECRETS.indexedSecret);
    q.append("client_secret", SECRETS.repeatedSecret);
    q.append("client_secret", SECRETS.repeatedSecret);
    q.append("CLIENT_SECRET", SECRETS.upperSecret);
    q.append("code", SECRETS.code);
    q.append("code_verifier", SECRETS.verifier);
    q.append("client_assertion", SECRETS.assertion);
    q.append("refresh_token", SECRETS.refresh);
    q.append("access_token", SECRETS.accessToken);
    q.append("id_token_hint", SECRETS.idTokenHint);
    const query = q.toString();
    const requests: Promise<Response>[] = [
      server.fetch(`/${tenant}/oauth2/v2.0/token?${query}`, form({ grant_type: "password", client_id: AZURE_CLI_CLIENT_ID, username: U.alice.upn, password: SECRETS.wrongPassword, scope: ARM_SCOPE })),
      server.fetch(`/${tenant}/oauth2/v2.0/token?${query}`, form({ grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: SECRETS.bracketSecret, scope: ARM_SCOPE })),
      server.fetch(`/${tenant}/oauth2/v2.0/token`, { ...form({ grant_type: "client_credentials", scope: ARM_SCOPE }), headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(`${APP.automation.appId}:${SECRETS.basic}`).toString("base64")}` } }),
      server.fetch(`/${tenant}/oauth2/v2.0/token`, form({ grant_type: "refresh_token", client_id: AZURE_CLI_CLIENT_ID, refresh_token: SECRETS.refresh })),
      server.fetch(`/${tenant}/oauth2/v2.0/token`, form({ grant_type: "authorization_code", client_id: AZURE_CLI_CLIENT_ID, code: SECRETS.code, code_verifier: SECRETS.verifier, redirect_uri: "http://localhost/" })),
      server.fetch(`/${tenant}/oauth2/v2.0/authorize?${query}`),
      server.fetch(`/${tenant}/oauth2/v2.0/authorize`, form({ client_id: AZURE_CLI_CLIENT_ID, login: U.alice.upn, passwd: SECRETS.passwd })),
      server.fetch(`/devicelogin?${query}`),
      server.fetch("/devicelogin", form({ otc: SECRETS.otc, login: U.alice.upn, passwd: SECRETS.passwd })),
      server.fetch(`/${tenant}/oauth2/v2.0/logout?${query}`),
      server.fetch(`/providers/Microsoft.ManagementPartner/partners/?api-version=2018-02-01&${query}`, { headers: { authorization: `Bearer ${SECRETS.accessToken}`, cookie: `openpal_session=${SECRETS.cookie}` } }),
      server.fetch(`/portal/api/me?${query}`, { headers: { cookie: `openpal_session=${SECRETS.cookie}; other=${SECRETS.cookie}` } }),
      server.fetch(`/nowhere/%E0%A4%A?${query}`),
    ];
    for (const r of await Promise.all(requests)) await r.arrayBuffer();
    // Let the last onResponse hooks write.
    await new Promise((r) => setTimeout(r, 50));
    const log = lines.join("");
    assert.ok(lines.length >= requests.length, `captured ${lines.length} log lines`);
    assert.match(log, /redacted/);
    for (const [name, secret] of Object.entries(SECRETS)) {
      assert.equal(log.includes(secret), false, `${name} (${secret}) appears in the logs`);
      assert.equal(log.includes(encodeURIComponent(secret)), false, `${name} appears URL-encoded in the logs`);
    }
  });

  it("parameter names are compared without case and bracket suffixes, and repeated ones are all redacted", () => {
    for (const name of ["passwd", "otc", "client_secret[]", "client_secret[0]", "Client_Secret", "code_verifier", "assertion", "client_assertion", "id_token_hint", "password"]) {
      assert.equal(isSensitiveParam(name), true, name);
    }
    assert.equal(isSensitiveParam("api-version"), false);
    const redacted = redactUrl("/x?api-version=1&client_secret=a&client_secret=b&client_secret%5B%5D=c");
    assert.doesNotMatch(redacted, /=a|=b|=c/);
    assert.match(redacted, /api-version=1/);
  });
});
