/**
 * Accessibility: every page of the portal, and the identity's sign-in page a person passes
 * through, has no violation that axe-core (the engine behind the browsers' own accessibility
 * audits) finds under WCAG 2.0, 2.1 and 2.2 levels A and AA and axe's best practices, in
 * Chromium, signed out and signed in with the demo world's data, and with the explanation panels
 * (dialogs) open. A failure lists each rule, its impact, the elements and axe's help text.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, Page } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.ts";
import { browserSuiteSkip, launchBrowser, watchedPage } from "../support/browser.ts";
import { DEMO, DEMO_WORLD, browserSignIn, waitForDemo } from "./support.ts";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
/** axe's rule sets: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its best practices. */
const RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * Runs axe on the page as it stands. The script is evaluated through the DevTools protocol, which
 * the portal's Content-Security-Policy (scripts from this server only) does not govern.
 */
async function violations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const found = (await page.evaluate(`axe.run(document, { runOnly: { type: "tag", values: ${JSON.stringify(RULE_TAGS)} }, resultTypes: ["violations"] }).then((r) => r.violations)`)) as AxeViolation[];
  return found.map((v) => `${v.id} (${v.impact ?? "?"}): ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`);
}

describe("portal accessibility: no WCAG 2.2 A/AA or best-practice violation found by axe-core", { skip: browserSuiteSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
    server = await startTestServer({ options: { world: DEMO_WORLD } });
    await waitForDemo(server, { bizapps: true });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("signed out: the home page and the identity's sign-in page", async () => {
    const { page, context } = await watchedPage(browser, server.url);
    await page.goto(`${server.url}/portal/`);
    await page.getByLabel("Work account").waitFor();
    const home = await violations(page);
    await page.getByLabel("Work account").fill(DEMO.alice.upn);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByLabel("Password").waitFor();
    const signIn = await violations(page);
    await context.close();
    assert.deepEqual({ home, signIn }, { home: [], signIn: [] });
  });

  it("signed in: every page of the navigation, with the demo's data", async () => {
    const { page, context } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.alice);
    const found: Record<string, string[]> = {};
    for (const [path, heading] of [
      ["/portal/", undefined],
      ["/portal/link-partner-id", "Link to a partner ID"],
      ["/portal/partner-information", "Partner information"],
      ["/portal/coverage", "Coverage"],
      ["/portal/insights", "Insights"],
    ] as const) {
      await page.goto(`${server.url}${path}`);
      if (heading) await page.getByRole("heading", { level: 1, name: heading }).waitFor();
      else await page.getByRole("button", { name: "Sign out" }).waitFor();
      await page.waitForLoadState("networkidle");
      found[path] = await violations(page);
    }
    // The explanation panels (dialogs) of an Azure row and of a business-applications row.
    await page.getByRole("button", { name: /^Explain .* for .*, 2026-\d\d, / }).first().click();
    await page.getByRole("dialog").waitFor();
    await page.waitForLoadState("networkidle");
    found["/portal/insights, an Azure row's explanation"] = await violations(page);
    // The panel takes the focus when it opens, and Escape closes it.
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await page.getByTestId("bizapps-row").first().waitFor();
    await page.getByRole("button", { name: /^Explain .* for .*, 2026-\d\d$/ }).first().click();
    await page.getByRole("dialog").waitFor();
    await page.waitForLoadState("networkidle");
    found["/portal/insights, a business-applications row's explanation"] = await violations(page);
    await context.close();
    assert.deepEqual(found, Object.fromEntries(Object.keys(found).map((k) => [k, []])));
  });
});
