import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.ts";
import { browserSuiteSkip, launchBrowser, screenshot, watchedPage } from "../support/browser.ts";
import { DEMO, DEMO_MONTHS, DEMO_WORLD, browserSignIn, portalSignIn, waitForDemo } from "./support.ts";
import { addDecimals, formatMoney } from "../../portal/src/format.ts";
import { bizappsCoverage } from "../../src/bizapps/coverage.ts";
import type { BizappsRollup } from "../../src/store/bizapps.ts";

const MONTHS = DEMO_MONTHS;
const FIELD_INSPECTIONS = "30000000-a000-4000-8000-000000000001";
/** Northwind's guest in Fabrikam: co-owner of Field inspections, the loser of October's contest. */
const DAVE_FABRIKAM = "30000000-0001-4000-8000-000000000005";

const usd = (amount: string) => formatMoney(amount, "USD");

describe("portal business applications: the demo's numbers, by the signed-in partner only", { skip: browserSuiteSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  let contoso: BizappsRollup[];
  before(async () => {
    browser = await launchBrowser();
    server = await startTestServer({ options: { world: DEMO_WORLD } });
    await waitForDemo(server, { bizapps: true });
    contoso = await server.openpal.context.store.bizapps.rollups({ globalId: "4000000" });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("the demo credits business applications: Contoso wins October's two-partner contest on Field inspections by the latest activity", () => {
    assert.ok(contoso.length > 0, "the demo credits Contoso with business applications");
    const won = contoso.find((r) => r.resourceId === FIELD_INSPECTIONS && r.month === "2026-10");
    assert.equal(won?.decidedBy, "latestActivity");
    assert.equal(won?.partnerLocationId, "4000001");
    assert.deepEqual(new Set(contoso.map((r) => r.workload)), new Set(["PowerApps", "PowerAutomate", "PowerBI"]));
  });

  it("the portal API returns exactly the store's rows of the signed-in organisation, and of one location when asked", async () => {
    const alice = await portalSignIn(server, DEMO.alice);
    const all = await alice.call("GET", `/bizapps?months=${MONTHS.join(",")}`);
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.rows, JSON.parse(JSON.stringify(contoso)));
    assert.deepEqual(all.body.months, MONTHS);
    const one = await alice.call("GET", `/bizapps?months=2026-10&partnerId=4000002`);
    assert.deepEqual(one.body.rows, JSON.parse(JSON.stringify(contoso.filter((r) => r.month === "2026-10" && r.partnerLocationId === "4000002"))));
    const bi = await alice.call("GET", `/bizapps?workload=PowerBI`);
    assert.ok(bi.body.rows.length > 0 && bi.body.rows.every((r: BizappsRollup) => r.workload === "PowerBI"));
    assert.equal((await alice.call("GET", `/bizapps?workload=Excel`)).status, 400);
    assert.equal((await alice.call("GET", `/bizapps?months=october`)).status, 400);
  });

  it("tenant isolation: another partner's rows, explanations and identities never reach a partner", async () => {
    const dave = await portalSignIn(server, DEMO.dave);
    const refused = await dave.call("GET", "/bizapps?partnerId=4000001");
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "NotYourPartnerId");
    const own = await dave.call("GET", "/bizapps");
    assert.ok(own.body.rows.length > 0);
    assert.ok(own.body.rows.every((r: BizappsRollup) => r.globalId === "5100000"));
    // Contoso's October credit on Field inspections: not Northwind's to explain (the same answer as for any resource it was not credited).
    const theirs = await dave.call("GET", `/bizapps/explain?month=2026-10&resource=${FIELD_INSPECTIONS}`);
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.error.code, "NotCredited");
    assert.doesNotMatch(JSON.stringify(theirs.body), /\b4000001\b|Contoso|Alice/);
    const cov = await dave.call("GET", "/bizapps/coverage?month=2026-10");
    assert.equal(cov.status, 200);
    // (A customer's own names may mention Contoso, e.g. the solution contoso_lending; Contoso's ids and identities may not appear.)
    assert.doesNotMatch(JSON.stringify(cov.body), /\b(4000001|4000002|4000000)\b|alice|bob_contoso|contoso-pal-automation|30000000-0001-4000-8000-000000000002|30000000-0002-4000-8000-000000000001/i);

    // Alice sees her win explained, with Northwind as "another partner" and nothing of its identity.
    const alice = await portalSignIn(server, DEMO.alice);
    const x = await alice.call("GET", `/bizapps/explain?month=2026-10&resource=${FIELD_INSPECTIONS}&partnerId=4000001`);
    assert.equal(x.status, 200);
    assert.ok(x.body.evidence.partners.some((p: { yours: boolean; partnerName: string }) => !p.yours && p.partnerName === "another partner"));
    assert.doesNotMatch(JSON.stringify(x.body), new RegExp(`\\b(5100001|5100000)\\b|Northwind|${DAVE_FABRIKAM}`, "i"));

    // A customer directory has no business applications; no session, no answer.
    const bob = await portalSignIn(server, DEMO.bob);
    assert.equal((await bob.call("POST", "/directory", { body: { tenantId: DEMO.fabrikam.id } })).status, 200);
    const customer = await bob.call("GET", "/bizapps");
    assert.equal(customer.status, 403);
    assert.equal(customer.body.error.code, "NotAPartnerDirectory");
    assert.equal((await server.fetch("/portal/api/bizapps")).status, 401);
  });

  it("Insights in Chromium: totals, by product, by environment type and top resources are the demo's; the product filter narrows; a credited row opens its explanation", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.alice, "/portal/insights");
    await page.getByRole("heading", { name: "Business applications" }).waitFor();
    const total = page.getByTestId("bizapps-total");
    await total.waitFor();
    assert.equal(await total.textContent(), usd(addDecimals(contoso.map((r) => r.monthlyConsumptionValue))));
    const rows = page.getByTestId("bizapps-row");
    assert.equal(await rows.count(), contoso.length);
    const byProduct = page.getByTestId("bizapps-by-product");
    const apps = contoso.filter((r) => r.workload === "PowerApps");
    await byProduct.getByRole("row", { name: new RegExp(`^Power Apps ${new Set(apps.map((r) => r.resourceId)).size} .*${usd(addDecimals(apps.map((r) => r.monthlyConsumptionValue))).replace(/[$.]/g, "\\$&")}$`) }).waitFor();
    const sandbox = contoso.filter((r) => r.environmentType === "Sandbox");
    assert.ok(sandbox.length > 0);
    await page.getByTestId("bizapps-by-environment").getByRole("row", { name: new RegExp(`^Sandbox .*${usd(addDecimals(sandbox.map((r) => r.monthlyConsumptionValue))).replace(/[$.]/g, "\\$&")}$`) }).waitFor();
    const topValue = [...contoso].sort((a, b) => Number(b.monthlyConsumptionValue) - Number(a.monthlyConsumptionValue))[0]!;
    assert.match(await page.getByTestId("bizapps-top-value").locator("li").first().textContent() ?? "", new RegExp(`^${topValue.resourceName} \\(${topValue.customerName}, ${topValue.month}\\): ${usd(topValue.monthlyConsumptionValue).replace(/[$.]/g, "\\$&")}$`));
    await screenshot(page, "portal-insights-bizapps");

    // Filter by product: Power BI only.
    await page.getByLabel("Product", { exact: true }).selectOption("PowerBI");
    const bi = contoso.filter((r) => r.workload === "PowerBI");
    for (let i = 0; i < 50 && (await rows.count()) !== bi.length; i++) await page.waitForTimeout(100);
    assert.equal(await rows.count(), bi.length);
    assert.equal(await total.textContent(), usd(addDecimals(bi.map((r) => r.monthlyConsumptionValue))));
    await page.getByLabel("Product", { exact: true }).selectOption("");
    for (let i = 0; i < 50 && (await rows.count()) !== contoso.length; i++) await page.waitForTimeout(100);

    // The explanation: October's Field inspections, won from another partner by the latest act.
    const won = contoso.find((r) => r.resourceId === FIELD_INSPECTIONS && r.month === "2026-10")!;
    await page.getByRole("button", { name: `Explain ${usd(won.monthlyConsumptionValue)} for Field inspections, 2026-10` }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByTestId("bizapps-evidence-decision").waitFor();
    assert.equal(await dialog.getByRole("heading").first().textContent(), `Why ${usd(won.monthlyConsumptionValue)}: Field inspections, 2026-10`);
    assert.match(await dialog.getByTestId("bizapps-explanation-user").textContent() ?? "", /^Alice Adams \(Contoso\) \(alice_contoso\.example#EXT#@fabrikam\.example\), guest user/);
    assert.equal(await dialog.getByTestId("bizapps-explanation-role").textContent(), "Owner since 2026-10-12 00:00 UTC by an owner change");
    assert.equal(await dialog.getByTestId("bizapps-explanation-link").textContent(), "Partner ID 4000001 since 2026-10-02 12:00 UTC, linked in the customer's tenant");
    assert.match(await dialog.getByTestId("bizapps-explanation-decision").textContent() ?? "", /acted on it most recently/);
    assert.equal(await dialog.getByTestId("bizapps-explanation-last-act").textContent(), "2026-10-31 17:00 UTC");
    assert.match(await dialog.getByTestId("bizapps-explanation-metric").textContent() ?? "", new RegExp(`^${won.quantity} monthly active users in 2026-10 \\(distinct users with a use event\\)`));
    const partners = dialog.getByTestId("bizapps-evidence-partners");
    await partners.getByRole("row", { name: /another partner/ }).waitFor();
    assert.doesNotMatch(await dialog.textContent() ?? "", /Northwind|5100001|Dave/);
    await screenshot(page, "portal-insights-bizapps-explanation");
    await dialog.getByRole("button", { name: "Close explanation" }).click();
    assert.equal(await dialog.count(), 0);
    await context.close();
    assert.deepEqual(problems, []);
  });

  it("Coverage in Chromium: credited and at risk per customer equal the coverage module's; an at-risk resource shows its fix", async () => {
    const { page, context, problems } = await watchedPage(browser, server.url);
    await browserSignIn(page, server.url, DEMO.alice, "/portal/coverage");
    const expected = await bizappsCoverage(server.openpal.context.store, server.dataDir, { partnerId: "4000000", month: "2026-10", audience: "partner" });
    assert.ok(expected.customers.length > 0);
    await page.getByTestId("bizapps-coverage-table").waitFor();
    for (const c of expected.customers) {
      assert.equal(await page.getByTestId(`bizapps-credited-${c.tenantId}`).textContent(), usd(c.credited.value), `credited in ${c.tenantName}`);
      assert.equal(await page.getByTestId(`bizapps-at-risk-${c.tenantId}`).textContent(), String(c.atRisk.resources), `at risk in ${c.tenantName}`);
    }
    const risky = expected.customers.flatMap((c) => c.resources).find((r) => r.status === "atRisk" && r.fix);
    assert.ok(risky, "the demo has a business-applications gap for Contoso");
    const row = page.getByTestId(`bizapps-resource-${risky.resourceId}`);
    assert.match(await row.textContent() ?? "", /At risk/);
    assert.ok((await row.locator("td").last().textContent() ?? "").length > 10, "the fix is shown");
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, "portal-coverage-bizapps");
    await context.close();
    assert.deepEqual(problems, []);
  });
});
