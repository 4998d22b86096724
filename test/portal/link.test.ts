import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.ts";
import { browserSuiteSkip, launchBrowser, screenshot, watchedPage } from "../support/browser.ts";
import { DEMO, DEMO_WORLD, browserSignIn, linkedPartnerId, portalSignIn } from "./support.ts";
import { linkErrorInPartnerWords } from "../../src/portal/errors.ts";
import { decidePartnerLink } from "../../src/domain/partner-link.ts";

describe("portal: sign-in, session and directories", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ options: { world: DEMO_WORLD } });
  });
  after(async () => {
    await server?.close();
  });

  it("sign-in goes to the server's own authorize endpoint with the portal client, code + PKCE S256, state and nonce", async () => {
    const res = await server.fetch(`/portal/signin?login_hint=${encodeURIComponent(DEMO.bob.upn)}`, { redirect: "manual" });
    assert.equal(res.status, 302);
    const url = new URL(res.headers.get("location") ?? "");
    assert.equal(url.origin, server.url);
    assert.equal(url.pathname, `/${DEMO.contoso.id}/oauth2/v2.0/authorize`);
    assert.equal(url.searchParams.get("client_id"), "0be9a1a4-7b1e-4c4f-9a51-6f70656e7061");
    assert.equal(url.searchParams.get("redirect_uri"), `${server.url}/portal/auth/callback`);
    assert.equal(url.searchParams.get("response_type"), "code");
    assert.equal(url.searchParams.get("code_challenge_method"), "S256");
    assert.match(url.searchParams.get("code_challenge") ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.match(url.searchParams.get("scope") ?? "", /offline_access/);
    assert.ok((url.searchParams.get("state") ?? "").length >= 32);
    assert.ok(url.searchParams.get("nonce"));
    assert.equal(url.searchParams.get("code_verifier"), null, "the verifier stays on the server");
  });

  it("the session cookie is HttpOnly, Secure, SameSite=Strict and scoped to /portal; no token reaches the browser", async () => {
    const bob = await portalSignIn(server, DEMO.bob);
    const cookie = bob.sessionSetCookie;
    assert.match(cookie, /^openpal_portal_session=[A-Za-z0-9_-]{43};/);
    assert.match(cookie, /; HttpOnly/i);
    assert.match(cookie, /; Secure/i);
    assert.match(cookie, /; SameSite=Strict/i);
    assert.match(cookie, /; Path=\/portal(;|$)/);
    const session = await bob.call("GET", "/session");
    assert.equal(session.body.signedIn, true);
    assert.equal(session.body.user.name, DEMO.bob.name);
    assert.equal(session.body.directory.tenantId, DEMO.contoso.id);
    const text = JSON.stringify(session.body);
    assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]+\./, "no JWT in the session answer");
    assert.doesNotMatch(text, /refresh/i);
  });

  it("a callback whose state was started in another browser is refused (no session)", async () => {
    const start = await server.fetch(`/portal/signin?login_hint=${encodeURIComponent(DEMO.bob.upn)}`, { redirect: "manual" });
    const state = new URL(start.headers.get("location") ?? "").searchParams.get("state") ?? "";
    const res = await server.fetch(`/portal/auth/callback?code=anything&state=${state}`, { redirect: "manual" });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "/portal/?signin=expired");
    assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith("openpal_portal_session=")));
  });

  it("an unknown domain comes back to the home page with the reason, not to a sign-in page", async () => {
    const res = await server.fetch("/portal/signin?login_hint=someone@nowhere.example", { redirect: "manual" });
    assert.equal(res.headers.get("location"), "/portal/?signin=unknown-tenant&tenant=nowhere.example");
  });

  it("directories: the home tenant and every tenant where the person is a guest", async () => {
    const bob = await portalSignIn(server, DEMO.bob);
    const dirs = await bob.call("GET", "/directories");
    assert.equal(dirs.status, 200);
    const byName = Object.fromEntries(dirs.body.value.map((d: { displayName: string; relation: string }) => [d.displayName, d.relation]));
    assert.deepEqual(byName, { "Contoso Consulting": "Home", Fabrikam: "Guest", "Woodgrove Bank": "Guest" });
  });

  it("switching to a directory the person has no account in is refused, and the session stays where it was", async () => {
    const bob = await portalSignIn(server, DEMO.bob);
    const res = await bob.call("POST", "/directory", { body: { tenantId: DEMO.tailspin.id } });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, "DirectoryNotAvailable");
    assert.equal((await bob.call("GET", "/session")).body.directory.tenantId, DEMO.contoso.id);
  });

  it("without a session the API answers 401 in words, and session says signed out", async () => {
    const res = await server.fetch("/portal/api/link");
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /Sign in again/);
    assert.deepEqual(await (await server.fetch("/portal/api/session")).json(), { signedIn: false });
    assert.equal((await server.fetch("/portal/api/nothing-here")).status, 404);
  });
});

describe("portal: CSRF protection of state-changing requests", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ options: { world: DEMO_WORLD } });
  });
  after(async () => {
    await server?.close();
  });

  it("PUT /portal/api/link without x-csrf-token is refused with 403 and links nothing", async () => {
    const bob = await portalSignIn(server, DEMO.bob);
    const res = await bob.call("PUT", "/link", { body: { partnerId: "4000001" }, csrf: null });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, "CsrfTokenMissing");
    assert.equal(await linkedPartnerId(server, DEMO.bob, DEMO.contoso.domain), null);
  });

  it("a wrong token, or the right token from another origin, is refused too", async () => {
    const bob = await portalSignIn(server, DEMO.bob);
    assert.equal((await bob.call("PUT", "/link", { body: { partnerId: "4000001" }, csrf: "x".repeat(43) })).status, 403);
    const cross = await bob.call("PUT", "/link", { body: { partnerId: "4000001" }, origin: "https://evil.example" });
    assert.equal(cross.status, 403);
    assert.equal(cross.body.error.code, "CrossOriginRefused");
    assert.equal(await linkedPartnerId(server, DEMO.bob, DEMO.contoso.domain), null);
  });

  it("sign-out needs the token, ends the session and sends the browser to the identity's logout", async () => {
    const bob = await portalSignIn(server, DEMO.bob);
    assert.equal((await bob.call("POST", "/signout", { csrf: null })).status, 403);
    const out = await bob.call("POST", "/signout");
    assert.equal(out.status, 200);
    assert.equal(new URL(out.body.logoutUrl).pathname, `/${DEMO.contoso.id}/oauth2/v2.0/logout`);
    assert.equal((await bob.call("GET", "/link")).status, 401);
  });
});

describe("portal: link errors in a partner's words (the API's rules, the portal's sentences)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ options: { world: DEMO_WORLD } });
  });
  after(async () => {
    await server?.close();
  });

  it("a global (headquarters) id names the location id to use instead", async () => {
    const bob = await portalSignIn(server, DEMO.bob);
    const res = await bob.call("PUT", "/link", { body: { partnerId: "4000000" } });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /global \(headquarters\) Partner ID of Contoso Consulting; use the Associated \(location\) Partner ID/);
  });

  it("an unknown id, a malformed id, an empty field", async () => {
    const bob = await portalSignIn(server, DEMO.bob);
    assert.match((await bob.call("PUT", "/link", { body: { partnerId: "9999999" } })).body.error.message, /'9999999' is not a known Partner ID/);
    assert.match((await bob.call("PUT", "/link", { body: { partnerId: "12ab" } })).body.error.message, /1 to 10 digits/);
    assert.equal((await bob.call("PUT", "/link", { body: { partnerId: " " } })).body.error.code, "PartnerIdRequired");
  });

  it("linking when already linked says which id is linked and that Update changes it", async () => {
    const alice = await portalSignIn(server, DEMO.alice);
    const res = await alice.call("PUT", "/link", { body: { partnerId: "4000002" } });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.message, "Your account is already linked to Partner ID 4000001 in Contoso Consulting. To change it, enter the new Partner ID and choose Update.");
  });

  it("a delegated-admin (foreign) principal is told why it cannot link and what to do", () => {
    const words = linkErrorInPartnerWords(403, { error: { code: "PrincipalNotInTenant", message: "…" } }, { directory: "Woodgrove Bank" });
    assert.match(words.message, /delegated-admin \(CSP\/GDAP\) relationship.*invite you as a guest/);
  });
});

describe("portal in Chromium: sign in, switch directory, link / update / remove, and the API agrees", { skip: browserSuiteSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
    server = await startTestServer({ options: { world: DEMO_WORLD } });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("bob signs in, switches to Fabrikam, links 4000001, updates to 4000002 and removes it; each step is what the PAL API holds", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.bob);
    await page.waitForURL(`${server.url}/portal/link-partner-id`);
    await page.getByText("Your account in Contoso Consulting is not linked to a partner ID.").waitFor();
    await screenshot(page, "portal-signed-in");

    // Switch directory: the list names home and guest tenants.
    await page.getByRole("button", { name: "Switch directory" }).click();
    const list = page.getByRole("list", { name: "Directories you can use" });
    await list.getByRole("button").first().waitFor();
    assert.deepEqual(await list.getByRole("button").allTextContents(), [
      "Contoso Consultingcontoso.example · Home · current", "Fabrikamfabrikam.example · Guest", "Woodgrove Bankwoodgrovebank.example · Guest",
    ]);
    await screenshot(page, "portal-switch-directory");
    await list.getByRole("button", { name: /Fabrikam/ }).click();
    await page.getByText("Your account in Fabrikam is not linked to a partner ID.").waitFor();

    // Link.
    await page.getByLabel("Partner ID", { exact: true }).fill("4000001");
    await page.getByRole("button", { name: "Link a partner ID" }).click();
    await page.getByRole("status").filter({ hasText: "Linked: your account is now linked to partner ID 4000001 (Contoso Consulting)." }).waitFor();
    assert.equal(await page.getByTestId("linked-partner-id").textContent(), "4000001");
    assert.equal(await linkedPartnerId(server, DEMO.bob, DEMO.fabrikam.domain), "4000001");
    assert.equal(await linkedPartnerId(server, DEMO.bob, DEMO.contoso.domain), null, "the link is made in Fabrikam only");
    await screenshot(page, "portal-link-partner-id");

    // Update, typed and submitted with the keyboard.
    await page.getByLabel("Partner ID", { exact: true }).fill("4000002");
    await page.getByLabel("Partner ID", { exact: true }).press("Enter");
    await page.getByRole("status").filter({ hasText: "Updated: your account is now linked to partner ID 4000002" }).waitFor();
    assert.equal(await linkedPartnerId(server, DEMO.bob, DEMO.fabrikam.domain), "4000002");

    // An error in words, shown as an alert.
    await page.getByLabel("Partner ID", { exact: true }).fill("4000000");
    await page.getByRole("button", { name: "Update" }).click();
    await page.getByRole("alert").filter({ hasText: "use the Associated (location) Partner ID" }).waitFor();

    // Remove, with confirmation; the confirmation takes the focus.
    await page.getByRole("button", { name: "Remove" }).click();
    const yes = page.getByRole("alertdialog").getByRole("button", { name: "Yes, remove" });
    await yes.waitFor();
    assert.equal(await page.evaluate("document.activeElement && document.activeElement.textContent"), "Yes, remove");
    await screenshot(page, "portal-remove-confirmation");
    await page.keyboard.press("Enter");
    await page.getByRole("status").filter({ hasText: "Removed: your account is no longer linked to partner ID 4000002" }).waitFor();
    assert.equal(await linkedPartnerId(server, DEMO.bob, DEMO.fabrikam.domain), null);
    await context.close();
    // Chromium logs every 4xx answer as a console error; the one expected is the refused global id.
    assert.deepEqual(problems, ["console error: Failed to load resource: the server responded with a status of 400 (Bad Request)"]);
  });

  it("one tenant's link never appears in another tenant's view: alice's Contoso link, then her Fabrikam guest's", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.alice, "/portal/link-partner-id");
    await page.getByRole("heading", { name: "Current link in Contoso Consulting" }).waitFor();
    const contosoView = await page.locator("dl.facts").textContent();
    assert.match(contosoView ?? "", new RegExp(DEMO.contoso.id));
    assert.match(contosoView ?? "", /10000000-0001-4000-8000-000000000001/);
    await page.getByRole("button", { name: "Switch directory" }).click();
    await page.getByRole("list", { name: "Directories you can use" }).getByRole("button", { name: /Fabrikam/ }).click();
    await page.getByRole("heading", { name: "Current link in Fabrikam" }).waitFor();
    const fabrikamView = await page.locator("dl.facts").textContent();
    assert.match(fabrikamView ?? "", /30000000-0001-4000-8000-000000000002/, "alice's guest object in Fabrikam");
    assert.doesNotMatch(fabrikamView ?? "", /10000000-/, "nothing of Contoso");
    assert.match(await page.locator("header").textContent() ?? "", /Directory: Fabrikam/);
    await context.close();
    assert.deepEqual(problems, []);
  });

  it("every control of the link page is reachable by keyboard and has a name", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.alice, "/portal/link-partner-id");
    await page.getByRole("heading", { name: "Current link in Contoso Consulting" }).waitFor();
    const reached: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      reached.push(await page.evaluate<string>(`(() => {
        const el = document.activeElement;
        if (!el) return "";
        const label = el.id ? document.querySelector('label[for="' + el.id + '"]')?.textContent : undefined;
        return (el.tagName.toLowerCase() + ":" + (label ?? el.getAttribute("aria-label") ?? el.textContent ?? "")).trim();
      })()`));
    }
    for (const expected of ["a:OpenPAL", "a:Link to a partner ID", "a:Insights", "a:Coverage", "button:Switch directory", "button:Sign out", "input:Partner ID", "button:Update", "button:Remove"]) {
      assert.ok(reached.includes(expected), `${expected} reached by Tab (got ${reached.join(", ")})`);
    }
    await context.close();
    assert.deepEqual(problems, []);
  });
  it("after remove and re-link, Linked since is the current link's start (not the first link's), and the history lists every link", async () => {
    // Bob's guest in Woodgrove linked three hours ago and removed two hours ago, through the same
    // state machine and store calls the PAL API uses, at those times.
    const store = server.openpal.context.store;
    const [tid, oid] = [DEMO.woodgrove.id, "50000000-0001-4000-8000-000000000002"];
    const first = Date.now() - 3 * 3600_000;
    for (const [command, at] of [[{ kind: "create", partnerId: "4000001" }, first], [{ kind: "delete", partnerId: "4000001" }, first + 3600_000]] as const) {
      await store.transaction(async (tx) => {
        const outcome = decidePartnerLink(await tx.links.lockState(tid, oid), command, at);
        assert.equal(outcome.kind, "write");
        if (outcome.kind === "write") await tx.links.apply(tid, oid, outcome.previous, outcome.next, at);
      });
    }
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.bob);
    await page.getByRole("button", { name: "Switch directory" }).click();
    await page.getByRole("list", { name: "Directories you can use" }).getByRole("button", { name: /Woodgrove/ }).click();
    await page.getByText("Your account in Woodgrove Bank is not linked to a partner ID.").waitFor();
    const history = page.getByRole("table", { name: "Link history" });
    assert.equal(await history.locator("tbody tr").count(), 1, "the removed link is in the history");

    await page.getByLabel("Partner ID", { exact: true }).fill("4000002");
    await page.getByRole("button", { name: "Link a partner ID" }).click();
    await page.getByRole("status").filter({ hasText: "Linked: your account is now linked to partner ID 4000002" }).waitFor();
    const open = (await store.links.history({ tenantId: tid, objectId: oid })).find((l) => l.validTo === null);
    assert.ok(open?.validFrom);
    const minute = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
    assert.equal(await page.getByTestId("linked-since").textContent(), minute(open.validFrom), "since the link open now");
    assert.notEqual(await page.getByTestId("linked-since").textContent(), minute(first), "not since the first link ever (PAL's createdTime)");
    const rows = await history.locator("tbody tr").allTextContents();
    assert.deepEqual(rows, [`4000002${minute(open.validFrom)}now (linked)`, `4000001${minute(first)}${minute(first + 3600_000)}`]);
    await screenshot(page, "portal-link-history");
    await context.close();
    assert.deepEqual(problems, []);
  });
});
