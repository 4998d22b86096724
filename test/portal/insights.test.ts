import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.ts";
import path from "node:path";
import { browserSuiteSkip, launchBrowser, SCREENSHOT_DIR, screenshot, watchedPage } from "../support/browser.ts";
import { DEMO, DEMO_MONTHS, DEMO_WORLD, armToken, browserSignIn, portalSignIn, waitForDemo } from "./support.ts";
import { azureUsageReport, coverageReport, diagnoseCustomer } from "../../src/attribution/index.ts";
import { formatMoney, sumDecimals } from "../../portal/src/format.ts";
import { plainCode } from "../../src/domain/report.ts";

/** Bob's guest object in Woodgrove Bank (demo world). */
const BOB_WOODGROVE = "50000000-0001-4000-8000-000000000002";
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\$]/g, "\\$&");

const MONTHS = DEMO_MONTHS;

describe("portal insights and coverage: the numbers are the report's", { skip: browserSuiteSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
    server = await startTestServer({ options: { world: DEMO_WORLD } });
    await waitForDemo(server);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("the insights API through the portal returns exactly the report function's rows for Contoso's global id", async () => {
    const alice = await portalSignIn(server, DEMO.alice);
    const res = await alice.call("GET", `/insights/report?months=${MONTHS.join(",")}&policy=pec&partnerId=4000000`);
    assert.equal(res.status, 200);
    const expected = [];
    for (const month of MONTHS) expected.push(...(await azureUsageReport(server.openpal.context.store, { month, policy: "pec", globalId: "4000000" })));
    assert.ok(expected.length > 0, "the demo attributes something to Contoso");
    assert.deepEqual(res.body.rows, JSON.parse(JSON.stringify(expected)));
  });

  it("a partner never sees another partner's insights (portal check and the insights API's own check)", async () => {
    const dave = await portalSignIn(server, DEMO.dave);
    const res = await dave.call("GET", `/insights/report?months=2026-10&partnerId=4000001`);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, "NotYourPartnerId");
    const own = await dave.call("GET", `/insights/report?months=2026-10`);
    assert.equal(own.status, 200);
    assert.ok(own.body.rows.every((r: { PGAPartnerId: string }) => r.PGAPartnerId === "5100000"));
    const direct = await server.fetch("/insights/partners/4000001/azureUsage?month=2026-10", { headers: { authorization: `Bearer ${await armToken(server, DEMO.dave, DEMO.northwind.domain)}` } });
    assert.equal(direct.status, 403);
  });

  it("a customer directory has no insights: the page says to switch to the partner tenant", async () => {
    const bob = await portalSignIn(server, DEMO.bob);
    assert.equal((await bob.call("POST", "/directory", { body: { tenantId: DEMO.fabrikam.id } })).status, 200);
    const ctx = await bob.call("GET", "/insights/context");
    assert.equal(ctx.body.organisation, null);
    assert.equal((await bob.call("GET", "/insights/report?months=2026-10")).status, 403);
  });

  it("the CSV download holds the rows shown, in Partner Center's columns", async () => {
    const alice = await portalSignIn(server, DEMO.alice);
    const res = await server.fetch(`/portal/api/insights/report.csv?months=2026-10&policy=pec&partnerId=4000000&type=PAL`, { headers: { cookie: [...alice.cookies].map(([k, v]) => `${k}=${v}`).join("; ") } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-disposition") ?? "", /attachment; filename="azure-usage-2026-10.csv"/);
    const lines = (await res.text()).trim().split("\r\n");
    assert.equal(lines[0]?.split(",")[0], "PartnerId");
    const expected = (await azureUsageReport(server.openpal.context.store, { month: "2026-10", policy: "pec", globalId: "4000000" })).filter((r) => r.PartnerAttributionType === "PAL");
    assert.equal(lines.length - 1, expected.length);
  });

  it("Insights in Chromium: chart, top customers, rows and total equal the report; an amount opens its explanation", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.alice, "/portal/insights");
    await page.getByRole("heading", { name: "Attributed ACR by month" }).waitFor();
    const expected = [];
    for (const month of MONTHS) expected.push(...(await azureUsageReport(server.openpal.context.store, { month, policy: "pec", globalId: "4000000" })));
    const table = page.getByRole("table", { name: "Report rows" });
    await table.getByRole("row").nth(expected.length).waitFor();
    assert.equal(await table.getByRole("row").count(), expected.length + 1);
    // Totals are in USD (rows may bill in other currencies: woodgrove-ea bills in EUR), each amount once.
    const total = sumDecimals(expected.filter((r) => !r.IsACRDuplicateAtPGALevel).map((r) => r.ACR_USD ?? "0"));
    assert.equal(await page.getByTestId("insights-total").textContent(), total);
    assert.ok(await page.getByRole("img", { name: /Attributed ACR by month, stacked by attribution type/ }).isVisible());
    await page.getByRole("heading", { name: "Top customers" }).waitFor();
    await screenshot(page, "portal-insights");

    // Filters: attribution type narrows the rows to DPOR only.
    await page.getByLabel("Attribution type", { exact: true }).selectOption("DPOR");
    const dpor = expected.filter((r) => r.PartnerAttributionType === "DPOR");
    // (waitForFunction would evaluate a string, which the portal's CSP forbids: poll the locator.)
    for (let i = 0; i < 50 && (await table.locator("tbody tr").count()) !== dpor.length; i++) await page.waitForTimeout(100);
    assert.equal(await table.locator("tbody tr").count(), dpor.length);

    // Every amount opens its explanation (keyboard: focus the amount and press Enter).
    const first = dpor[0] ?? expected[0];
    assert.ok(first);
    const amount = page.getByRole("button", { name: new RegExp(`^Explain ${first.ACR.replace(".", "\\.")} ${first.BillingCurrency} for ${first.SubscriptionName}`) }).first();
    await amount.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.getByText(/Credited to/).first().waitFor();
    // Amounts as money: two decimals, grouped, with the currency (EUR for woodgrove-ea).
    assert.equal(await dialog.getByRole("heading").first().textContent(), `Why ${formatMoney(first.ACR, first.BillingCurrency)}: ${first.SubscriptionName}, ${first.Month}, DPOR`);
    assert.match(formatMoney("1091.26", "EUR"), /^€1,091\.26$/);
    for (const cell of await dialog.locator("td.num").allTextContents()) assert.match(cell, /^-?(€|\$|£|[A-Z]{3}\s)[\d,]+\.\d\d$/, `money: ${cell}`);
    assert.equal(await dialog.getByTestId("explanation-policy").textContent(), "Eligible roles only (partner earned credit)");
    await screenshot(page, "portal-insights-explanation");

    // A PAL amount: the exact sum of its usage rows is the row's ACR; the panel is brought into view.
    await page.getByLabel("Attribution type", { exact: true }).selectOption("PAL");
    const pal = expected.filter((r) => r.PartnerAttributionType === "PAL" && !r.IsACRDuplicateAtPGALevel).sort((a, b) => Number(b.ACR) - Number(a.ACR))[0];
    assert.ok(pal, "the demo credits Contoso through PAL");
    for (let i = 0; i < 50 && (await dialog.count()) > 0; i++) await page.waitForTimeout(100);
    assert.equal(await dialog.count(), 0, "the DPOR explanation closes when the filter leaves its row out");
    await page.getByRole("button", { name: `Explain ${pal.ACR} ${pal.BillingCurrency} for ${pal.SubscriptionName}, ${pal.Month}, PAL` }).first().click();
    const sum = dialog.getByTestId("explanation-facts-sum");
    await sum.waitFor();
    assert.match(await sum.textContent() ?? "", new RegExp(`credited in all ${escape(formatMoney(pal.ACR, pal.BillingCurrency))}:`));
    assert.equal(await dialog.getByTestId("explanation-row-total").textContent().then((t) => t?.startsWith(formatMoney(pal.ACR, pal.BillingCurrency))), true);
    const box = await dialog.getByTestId("explanation-policy").boundingBox();
    const top = await dialog.boundingBox();
    assert.ok(box && top && top.y >= -1 && top.y < 60 && box.y + box.height <= 900, `the panel is scrolled into view: panel at ${top?.y}, policy line at ${box?.y}`);
    await screenshot(page, "portal-insights-explanation-pal");
    // What the window shows (not the full page): the panel at the top.
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "portal-insights-explanation-viewport.png") });

    // A filter change refreshes the open explanation: same row, the new policy, its new amount.
    await page.getByLabel("Role eligibility", { exact: true }).selectOption("all-roles");
    const policy = dialog.getByTestId("explanation-policy");
    for (let i = 0; i < 100 && (await policy.count().then((n) => (n ? policy.textContent() : ""))) !== "All roles"; i++) await page.waitForTimeout(100);
    assert.equal(await policy.textContent(), "All roles");
    const allRoles = (await azureUsageReport(server.openpal.context.store, { month: pal.Month, policy: "all-roles", globalId: "4000000" }))
      .find((r) => r.PartnerId === pal.PartnerId && r.SubscriptionId === pal.SubscriptionId && r.PartnerAttributionType === "PAL" && r.AdminType === pal.AdminType && r.IsACRDuplicateAtPGALevel === pal.IsACRDuplicateAtPGALevel && r.BillingCurrency === pal.BillingCurrency);
    assert.ok(allRoles);
    assert.match(await dialog.getByRole("heading").first().textContent() ?? "", new RegExp(`^Why ${escape(formatMoney(allRoles.ACR, allRoles.BillingCurrency))}:`));
    await context.close();
    assert.deepEqual(problems, []);
  });

  it("Coverage in Chromium: per customer, covered spend and revenue at risk equal the coverage report; diagnose answers for a chosen tenant", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.alice, "/portal/coverage");
    const store = server.openpal.context.store;
    const report = await coverageReport(store, { partnerId: "4000000", policy: "pec", dataDir: server.dataDir, now: Date.now() });
    assert.ok(report.customers.length > 0);
    for (const c of report.customers) {
      await page.getByRole("heading", { name: c.tenantName, exact: true }).waitFor();
      const money = c.money[0];
      if (!money) continue;
      assert.equal(await page.getByTestId(`covered-${c.tenantId}`).first().textContent(), money.credited, `covered in ${c.tenantName}`);
      assert.equal(await page.getByTestId(`at-risk-${c.tenantId}`).first().textContent(), money.atRisk, `at risk in ${c.tenantName}`);
    }
    // Bob's guest in Woodgrove is not linked: its fix says how to link it.
    const woodgrove = page.getByRole("table", { name: "Identities in Woodgrove Bank" });
    await woodgrove.getByText(/Link it: sign in as this guest/).first().waitFor();
    await screenshot(page, "portal-coverage");

    // Bob links it now: the page shows it linked (the user's own action is not contradicted), and
    // the month with data, which ended before the link, as its own explained state.
    const bobToken = await armToken(server, DEMO.bob, DEMO.woodgrove.domain);
    const put = await server.fetch("/providers/Microsoft.ManagementPartner/partners/4000001?api-version=2018-02-01", { method: "PUT", headers: { authorization: `Bearer ${bobToken}` } });
    assert.equal(put.status, 200);
    await page.reload();
    const bobLink = page.getByTestId(`link-${BOB_WOODGROVE}`);
    await bobLink.waitFor();
    assert.match(await bobLink.textContent() ?? "", new RegExp(`^Linked to 4000001 since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTCNo credit yet for ${report.month}The link started after ${report.month}`));
    assert.doesNotMatch(await bobLink.textContent() ?? "", /Not linked/);
    assert.equal(await woodgrove.getByText("Link it: sign in as this guest").count(), 0);
    const after = await coverageReport(store, { partnerId: "4000000", policy: "pec", dataDir: server.dataDir, now: Date.now() });
    const wg = after.customers.find((c) => c.tenantId === DEMO.woodgrove.id)!;
    assert.equal(wg.identities.find((i) => i.objectId === BOB_WOODGROVE)?.linkState, "noCreditYet");
    assert.equal(await page.getByTestId(`covered-${wg.tenantId}`).first().textContent(), wg.money[0]?.credited);
    await bobLink.scrollIntoViewIfNeeded();
    await screenshot(page, "portal-coverage-linked-now");

    await page.getByLabel("Customer tenant").fill(DEMO.woodgrove.domain);
    await page.getByRole("button", { name: "Find the reasons" }).click();
    const expected = await diagnoseCustomer(store, { partnerId: "4000000", tenantId: DEMO.woodgrove.id, month: report.month, policy: "pec", dataDir: server.dataDir, now: Date.now() });
    const status = page.getByRole("status").filter({ hasText: "Woodgrove Bank" });
    await status.waitFor();
    for (const r of expected.reasons) await status.getByText(plainCode(r.message), { exact: false }).first().waitFor();
    // Commands in the fixes are shown as code, not between literal backticks.
    const fixes = expected.reasons.map((r) => r.fix).filter((f) => f.includes("`"));
    assert.ok(fixes.length > 0, "a fix names a command");
    assert.ok((await status.locator("li code").count()) >= fixes.length);
    assert.doesNotMatch(await status.textContent() ?? "", /`/);
    await screenshot(page, "portal-coverage-diagnose");
    await context.close();
    assert.deepEqual(problems, []);
  });
});
