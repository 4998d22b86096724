import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.ts";
import { browserSuiteSkip, launchBrowser, screenshot, watchedPage } from "../support/browser.ts";

describe("portal shell", { skip: browserSuiteSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
    server = await startTestServer();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("serves the built app under /portal/, deep links included, with a CSP that allows only this server", async () => {
    const res = await server.fetch("/portal/link-partner-id");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    assert.equal((await server.fetch("/portal/assets/missing.js")).status, 404);
  });

  it("renders in Chromium without console errors or requests outside the server, and navigation is reachable by keyboard", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await page.goto(`${server.url}/portal/insights`);
    await page.getByRole("heading", { level: 1, name: "Insights" }).waitFor();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    const focused = await page.evaluate("document.activeElement && document.activeElement.textContent");
    assert.equal(focused, "Link to a partner ID");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Link to a partner ID" }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/portal/link-partner-id");
    await screenshot(page, "portal-shell");
    await context.close();
    assert.deepEqual(problems, []);
  });
});
