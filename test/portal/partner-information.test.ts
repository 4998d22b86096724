import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.ts";
import { browserSuiteSkip, launchBrowser, screenshot, watchedPage } from "../support/browser.ts";
import { DEMO, DEMO_WORLD, armToken, browserSignIn, portalSignIn, type Person } from "./support.ts";

const FABRIKAM_PROD = "e3000000-0000-4000-8000-000000000001";
const FABRIKAM_DEV = "e3000000-0000-4000-8000-000000000002";
const PAGE = `/portal/subscriptions/${FABRIKAM_PROD}/partner-information`;

/** The partner of record as the DPOR API holds it, read with the person's own token. */
async function partnerOfRecord(server: TestServer, person: Person, tenant: string, subscription: string): Promise<string | null> {
  const res = await server.fetch(`/subscriptions/${subscription}/providers/Microsoft.OpenPAL/partnerOfRecord/default?api-version=2026-01-01`, {
    headers: { authorization: `Bearer ${await armToken(server, person, tenant)}` },
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { properties: { partnerId: string | null } }).properties.partnerId;
}

describe("portal: partner information (DPOR) of a subscription", { skip: browserSuiteSkip }, () => {
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

  it("the EA account owner validates an id (sees the partner's name), saves it, and deletes it with the icon and Yes; the DPOR API agrees at each step", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.erin, PAGE);
    await page.getByRole("heading", { name: "Partner of record of fabrikam-prod" }).waitFor();
    assert.equal(await page.getByTestId("dpor-partner-id").textContent(), "None");

    await page.getByLabel("Partner ID", { exact: true }).fill("4000001");
    assert.equal(await page.getByRole("button", { name: "Save partner" }).isDisabled(), true, "saving waits for a validated id");
    await page.getByRole("button", { name: "Validate ID" }).click();
    await page.getByTestId("dpor-validation").filter({ hasText: /^Partner ID 4000001 is Contoso Consulting/ }).waitFor();
    await page.getByRole("button", { name: "Save partner" }).click();
    await page.getByRole("status").filter({ hasText: /Partner of record set: Contoso Consulting.* \(4000001\)/ }).waitFor();
    assert.equal(await page.getByTestId("dpor-partner-id").textContent(), "4000001");
    assert.equal(await partnerOfRecord(server, DEMO.erin, DEMO.fabrikam.domain, FABRIKAM_PROD), "4000001");
    await screenshot(page, "portal-partner-information");

    // A global id is refused by Validate ID, in PAL's words.
    await page.getByLabel("Partner ID", { exact: true }).fill("4000000");
    await page.getByRole("button", { name: "Validate ID" }).click();
    await page.getByTestId("dpor-validation").filter({ hasText: /Associated \(location\) Partner ID/ }).waitFor();

    // The delete icon is an inline SVG, not an emoji glyph (which renders as an empty box where no
    // emoji font is installed): the button holds no text, and the SVG has a drawn size.
    const deleteButton = page.getByRole("button", { name: "Delete partner of record 4000001" });
    assert.equal((await deleteButton.textContent())?.trim(), "");
    const icon = deleteButton.locator("svg[data-icon=trash]");
    assert.equal(await icon.count(), 1);
    const box = await icon.boundingBox();
    assert.ok(box && box.width >= 12 && box.height >= 12, `the icon is drawn: ${JSON.stringify(box)}`);
    assert.ok((await icon.locator("path").count()) > 0);
    await deleteButton.click();
    const yes = page.getByRole("alertdialog").getByRole("button", { name: "Yes" });
    await yes.waitFor();
    await screenshot(page, "portal-partner-information-delete");
    await yes.press("Enter");
    await page.getByRole("status").filter({ hasText: "Partner of record removed" }).waitFor();
    assert.equal(await page.getByTestId("dpor-partner-id").textContent(), "None");
    assert.equal(await partnerOfRecord(server, DEMO.erin, DEMO.fabrikam.domain, FABRIKAM_PROD), null);
    await context.close();
    assert.deepEqual(problems, []);
  });

  it("someone with a role but not the account owner sees it read-only, with the reason, and the API refuses a change", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.alice, "/portal/link-partner-id");
    await page.getByRole("button", { name: "Switch directory" }).click();
    await page.getByRole("list", { name: "Directories you can use" }).getByRole("button", { name: /Fabrikam/ }).click();
    await page.getByText("Directory: Fabrikam").waitFor();
    await page.goto(`${server.url}${PAGE}`);
    await page.getByTestId("dpor-read-only").waitFor();
    assert.match(await page.getByTestId("dpor-read-only").textContent() ?? "", /Only the EA account owner of this subscription, Erin Evans/);
    assert.equal(await page.getByLabel("Partner ID", { exact: true }).isDisabled(), true);
    assert.equal(await page.getByRole("button", { name: /Delete partner of record/ }).count(), 0);
    await screenshot(page, "portal-partner-information-read-only");
    await context.close();
    assert.deepEqual(problems, []);

    const alice = await portalSignIn(server, DEMO.alice);
    await alice.call("POST", "/directory", { body: { tenantId: DEMO.fabrikam.id } });
    const refused = await alice.call("PUT", `/subscriptions/${FABRIKAM_PROD}/partner-of-record`, { body: { partnerId: "4000001" } });
    assert.equal(refused.status, 403);
    assert.match(refused.body.error.message, /^You can't change the partner of record: /);
  });

  it("the navigation has Partner information: it lists the subscriptions the person can see in the directory, each opening its page", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.erin, "/portal/link-partner-id");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Partner information" }).click();
    await page.getByRole("heading", { name: "Subscriptions in Fabrikam" }).waitFor();
    const erin = await portalSignIn(server, DEMO.erin);
    const listed = await erin.call("GET", "/subscriptions");
    assert.equal(listed.status, 200);
    const names = (listed.body.value as { displayName: string; subscriptionId: string }[]).map((x) => x.displayName);
    assert.ok(names.includes("fabrikam-prod") && names.includes("fabrikam-dev"), names.join(", "));
    const links = page.getByRole("main").getByRole("link");
    assert.deepEqual(await links.allTextContents(), names);
    await screenshot(page, "portal-partner-information-list");
    await links.filter({ hasText: "fabrikam-prod" }).click();
    await page.waitForURL(`${server.url}${PAGE}`);
    await page.getByRole("heading", { name: "Partner of record of fabrikam-prod" }).waitFor();
    assert.equal(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Partner information" }).getAttribute("aria-current"), "page");
    await context.close();
    assert.deepEqual(problems, []);
  });

  it("a subscription that is not EA is read-only with the reason (rule 10)", async () => {
    const erin = await portalSignIn(server, DEMO.erin);
    const res = await erin.call("GET", `/subscriptions/${FABRIKAM_DEV}/partner-of-record`);
    assert.equal(res.status, 200);
    assert.equal(res.body.canChange, false);
    assert.match(res.body.reason, /only on Enterprise Agreement subscriptions; this one is AzurePlan/);
  });
});
