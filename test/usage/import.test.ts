import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";
import { DuckDBInstance } from "@duckdb/node-api";
import { detectFormat, Header, importUsageFile, openUsageLake, SkipReason, USAGE_COLUMNS, UsageImportError, type ImportUsageOptions } from "../../src/usage/index.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const samples = path.resolve(repoRoot, "test/fixtures/usage");
const sample = (rel: string) => path.join(samples, rel);
const AZGOVVIZ_PERIOD = { start: "2021-08-17", end: "2021-08-18" };

let tmpRoot: string;
before(() => {
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), "openpal-usage-test-"));
});
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => path.join(tmpRoot, `d${++counter}`);
const write = (name: string, text: string) => {
  const file = path.join(tmpRoot, name);
  writeFileSync(file, text);
  return file;
};

type Row = Record<string, string>;
function readCsv(file: string, delimiter = ","): Row[] {
  return parse(readFileSync(file), { columns: true, bom: true, delimiter, skip_empty_lines: true }) as Row[];
}
/** Independent sum in JS, in units of 1e-18 (BigInt), of the rows `keep` selects. */
function expectedTotal(rows: Row[], costColumn: string, keep: (r: Row) => boolean, decimalComma = false): string {
  let sum = 0n;
  for (const r of rows.filter(keep)) {
    let text = (r[costColumn] ?? "").trim();
    if (decimalComma) text = text.replace(",", ".");
    const n = Number(text);
    // 18 decimals via exponent-aware formatting; the JS number carries ~16 significant digits.
    sum += BigInt(Math.round(n * 1e12)) * 1_000_000n;
  }
  return (Number(sum) / 1e18).toFixed(12);
}
const asFixed = (decimal: string | undefined) => Number(decimal ?? "0").toFixed(12);

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

function rowsAccountedFor(s: { rowsRead: number; rowsKept: number; skipped: Readonly<Record<string, number>> }): void {
  assert.equal(s.rowsKept + Object.values(s.skipped).reduce((a, b) => a + b, 0), s.rowsRead, "every row read is kept or counted under a skip reason");
}

describe("sample files: each imports without error and the lake's totals equal the file's own sums", () => {
  it("FOCUS 1.0 sample: the 51 Microsoft Usage rows are kept (EffectiveCost); AWS and Oracle rows are counted as not Azure", async () => {
    const file = sample("focus-sample-data/focus_sample.csv");
    const rows = readCsv(file);
    const s = await importUsageFile(file, { dataDir: freshDir() });
    assert.equal(s.format, "focus");
    assert.equal(s.rowsRead, rows.length);
    assert.equal(s.rowsKept, rows.filter((r) => r.ProviderName === "Microsoft" && r.ChargeCategory === "Usage").length);
    assert.equal(s.skipped[`${SkipReason.notAzure} (AWS)`], rows.filter((r) => r.ProviderName === "AWS").length);
    assert.equal(s.skipped[`${SkipReason.notAzure} (Oracle)`], rows.filter((r) => r.ProviderName === "Oracle").length);
    rowsAccountedFor(s);
    assert.equal(asFixed(s.costByCurrency.USD), expectedTotal(rows, "EffectiveCost", (r) => r.ProviderName === "Microsoft" && r.ChargeCategory === "Usage"));
    assert.deepEqual(s.months, ["2024-09"]);
    assert.equal(s.subscriptions, new Set(rows.filter((r) => r.ProviderName === "Microsoft").map((r) => r.SubAccountId)).size);
  });

  it("EA actual cost: the reservation Purchase is counted as not usage; Usage rows sum to the file's Cost", async () => {
    const file = sample("finops-toolkit/EA_ActualCost_Small.csv");
    const rows = readCsv(file);
    const dataDir = freshDir();
    const s = await importUsageFile(file, { dataDir });
    assert.equal(s.format, "ea-actual");
    assert.equal(s.costMeasure, "Cost");
    assert.equal(s.skipped[`${SkipReason.notUsage} (Purchase)`], rows.filter((r) => r.ChargeType === "Purchase").length);
    assert.equal(s.rowsKept, rows.filter((r) => r.ChargeType === "Usage").length, "rows repeated within the file are all kept");
    rowsAccountedFor(s);
    assert.equal(asFixed(s.costByCurrency.USD), expectedTotal(rows, "Cost", (r) => r.ChargeType === "Usage"));
    const lake = openUsageLake(dataDir);
    assert.equal(asFixed((await lake.summary("2023-09")).costByCurrency.USD), asFixed(s.costByCurrency.USD));
  });

  it("EA amortized cost: every row is Usage and the total equals the file's sum", async () => {
    const file = sample("finops-toolkit/EA_AmortizedCost_Small.csv");
    const rows = readCsv(file);
    const s = await importUsageFile(file, { dataDir: freshDir() });
    assert.equal(s.format, "ea-amortized");
    assert.equal(s.rowsKept, rows.length);
    assert.equal(asFixed(s.costByCurrency.USD), expectedTotal(rows, "Cost", () => true));
  });

  it("AzGovViz consumption (`;`, decimal comma, quoted): EUR total equals the file's sum; the period comes from --period", async () => {
    const file = sample("azgovviz-demo/AzGovViz_demo_Consumption.csv");
    const rows = readCsv(file, ";");
    const dataDir = freshDir();
    const s = await importUsageFile(file, { dataDir, period: AZGOVVIZ_PERIOD });
    assert.equal(s.format, "azgovviz");
    assert.equal(s.rowsKept, rows.length);
    assert.equal(asFixed(s.costByCurrency.EUR), expectedTotal(rows, "PreTaxCost", () => true, true));
    const [r] = await query(`SELECT min(charge_period_start) AS s, max(charge_period_end) AS e FROM ${openUsageLake(dataDir).relation("2021-08")}`);
    assert.equal((r?.s as Date).toISOString(), "2021-08-17T00:00:00.000Z");
    assert.equal((r?.e as Date).toISOString(), "2021-08-18T00:00:00.000Z");
  });

  it("AzGovViz without --period fails and names the fix", async () => {
    await assert.rejects(importUsageFile(sample("azgovviz-demo/AzGovViz_demo_Consumption.csv"), { dataDir: freshDir() }), (e: Error) => {
      assert.ok(e instanceof UsageImportError);
      assert.match(e.message, /AzGovViz_demo_Consumption\.csv.*no date.*--period 2021-08-17\/2021-08-18/);
      return true;
    });
  });

  it("the FOCUS spec's commitment-discount scenarios import: Purchase rows are not usage, rows without a subscription are counted", async () => {
    const dir = sample("focus-spec-examples");
    for (const name of readdirSync(dir).filter((f) => f.endsWith(".csv"))) {
      const rows = readCsv(path.join(dir, name));
      const s = await importUsageFile(path.join(dir, name), { dataDir: freshDir() });
      rowsAccountedFor(s);
      assert.equal(s.rowsKept, 0, name);
      assert.equal(s.skipped[`${SkipReason.notUsage} (Purchase)`] ?? 0, rows.filter((r) => r.ChargeCategory === "Purchase").length, name);
      assert.equal(s.skipped[SkipReason.missingSubscription] ?? 0, rows.filter((r) => r.ChargeCategory === "Usage").length, name);
    }
  });
});

describe("idempotency: re-importing never double counts", () => {
  it("the same file again is recognised by its SHA-256 and every row is counted as a duplicate", async () => {
    const dataDir = freshDir();
    const file = sample("finops-toolkit/EA_ActualCost_Small.csv");
    const first = await importUsageFile(file, { dataDir });
    const second = await importUsageFile(file, { dataDir });
    assert.equal(second.alreadyImported, true);
    assert.equal(second.rowsKept, 0);
    assert.equal(second.skipped[SkipReason.duplicate], first.rowsRead);
    assert.equal((await openUsageLake(dataDir).summary("2023-09")).rows, first.rowsKept);
    // Recognised whatever the options: a cost column the header lacks does not matter then, and
    // the lake and its manifest are left as they were.
    const manifest = readFileSync(path.join(dataDir, "usage", "_imports.json"), "utf8");
    const third = await importUsageFile(file, { dataDir, costColumn: "NoSuchColumn" });
    assert.equal(third.alreadyImported, true);
    assert.equal(readFileSync(path.join(dataDir, "usage", "_imports.json"), "utf8"), manifest);
    assert.deepEqual(readdirSync(path.join(dataDir, "usage")).filter((n) => n.startsWith("_work")), []);
    // Another file with that option fails as it should.
    const renamed = write("ea-copy.csv", readFileSync(file, "utf8") + "\n");
    await assert.rejects(importUsageFile(renamed, { dataDir, costColumn: "NoSuchColumn" }), /NoSuchColumn/);
  });

  it("with --force the rows are read again and deduplicated by row key (and the lake total is unchanged)", async () => {
    const dataDir = freshDir();
    const file = sample("focus-sample-data/focus_sample.csv");
    const first = await importUsageFile(file, { dataDir });
    const again = await importUsageFile(file, { dataDir, force: true });
    assert.equal(again.rowsKept, 0);
    assert.equal(again.skipped[SkipReason.duplicate], first.rowsKept);
    rowsAccountedFor(again);
    const summary = await openUsageLake(dataDir).summary("2024-09");
    assert.equal(summary.rows, first.rowsKept);
    assert.equal(summary.costByCurrency.USD, first.costByCurrency.USD);
  });

  it("an overlapping export with a changed cost replaces the row (open months change after export); new rows are added", async () => {
    const dataDir = freshDir();
    const head = "ChargePeriodStart,ChargePeriodEnd,ChargeCategory,EffectiveCost,BillingCurrency,SubAccountId,ResourceId,ProviderName\n";
    const sub = "/subscriptions/11111111-2222-3333-4444-555555555555";
    const a = write("overlap-a.csv", head + `2024-10-01,2024-10-02,Usage,1.00,USD,${sub},${sub}/resourcegroups/rg/providers/microsoft.web/sites/a,Microsoft\n` + `2024-10-02,2024-10-03,Usage,2.00,USD,${sub},${sub}/resourcegroups/rg/providers/microsoft.web/sites/a,Microsoft\n`);
    const b = write("overlap-b.csv", head + `2024-10-02,2024-10-03,Usage,2.50,USD,${sub},${sub}/resourcegroups/rg/providers/microsoft.web/sites/a,Microsoft\n` + `2024-10-03,2024-10-04,Usage,3.00,USD,${sub},${sub}/resourcegroups/rg/providers/microsoft.web/sites/a,Microsoft\n`);
    await importUsageFile(a, { dataDir });
    const s = await importUsageFile(b, { dataDir });
    assert.equal(s.rowsKept, 2);
    assert.equal(s.rowsUpdated, 1);
    const summary = await openUsageLake(dataDir).summary("2024-10");
    assert.equal(summary.rows, 3);
    assert.equal(Number(summary.costByCurrency.USD), 6.5);
  });

  it("rows repeated within a file keep distinct keys that do not depend on row order: the same rows reordered are all duplicates", async () => {
    const dataDir = freshDir();
    const head = "ChargePeriodStart,ChargePeriodEnd,ChargeCategory,EffectiveCost,BillingCurrency,SubAccountId,ResourceId,ProviderName\n";
    const sub = "/subscriptions/11111111-2222-3333-4444-555555555555";
    const line = (cost: string) => `2024-11-01,2024-11-02,Usage,${cost},USD,${sub},${sub}/resourcegroups/rg/providers/microsoft.web/sites/a,Microsoft\n`;
    // Three rows identical in every identifying field (two of them entirely identical), one other.
    const rows = [line("1.00"), line("2.00"), line("1.00"), `2024-11-02,2024-11-03,Usage,5.00,USD,${sub},${sub}/resourcegroups/rg/providers/microsoft.web/sites/a,Microsoft\n`];
    const first = await importUsageFile(write("repeated-a.csv", head + rows.join("")), { dataDir });
    assert.equal(first.rowsKept, 4, "every repeated row is kept");
    const keys = await query(`SELECT count(DISTINCT row_key) AS n FROM read_parquet('${path.join(dataDir, "usage", "month=2024-11", "usage.parquet")}')`);
    assert.equal(Number(keys[0]?.n), 4, "each row has its own key");
    const again = await importUsageFile(write("repeated-b.csv", head + [...rows].reverse().join("")), { dataDir });
    assert.equal(again.rowsKept, 0);
    assert.equal(again.skipped[SkipReason.duplicate], 4);
    assert.equal((await openUsageLake(dataDir).summary("2024-11")).rows, 4);
  });

  it("two imports started at once both land, one after the other (the lake lock), with nothing lost or doubled", async () => {
    const dataDir = freshDir();
    const [x, y] = await Promise.all([
      importUsageFile(sample("finops-toolkit/EA_ActualCost_Small.csv"), { dataDir }),
      importUsageFile(sample("focus-sample-data/focus_sample.csv"), { dataDir }),
    ]);
    const lake = openUsageLake(dataDir);
    assert.deepEqual(lake.months(), ["2023-09", "2024-09"]);
    assert.equal((await lake.summary("2023-09")).rows, x.rowsKept);
    assert.equal((await lake.summary("2024-09")).rows, y.rowsKept);
    assert.equal(lake.imports().length, 2);
    assert.equal(existsSync(path.join(lake.dir, "_lock")), false);
  });
});

describe("skip reasons: every row is kept or counted under exactly one reason", () => {
  it("counts not Azure, not usage, bad value (with --max-bad-rows), missing subscription and missing currency", async () => {
    const sub = "/subscriptions/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    const file = write(
      "reasons.csv",
      "ChargePeriodStart,ChargePeriodEnd,ChargeCategory,EffectiveCost,BillingCurrency,SubAccountId,ProviderName\n" +
        `2024-10-01,2024-10-02,Usage,1,USD,${sub},Microsoft\n` +
        `2024-10-01,2024-10-02,Usage,1,USD,123456789012,AWS\n` +
        `2024-10-01,2024-10-02,Tax,1,USD,${sub},Microsoft\n` +
        `2024-10-01,2024-10-02,Usage,abc,USD,${sub},Microsoft\n` +
        `yesterday,2024-10-02,Usage,1,USD,${sub},Microsoft\n` +
        `2024-10-01,2024-10-02,Usage,1,USD,,Microsoft\n` +
        `2024-10-01,2024-10-02,Usage,1,,${sub},Microsoft\n`,
    );
    const s = await importUsageFile(file, { dataDir: freshDir(), maxBadRows: 5 });
    assert.equal(s.rowsRead, 7);
    assert.equal(s.rowsKept, 1);
    assert.deepEqual(s.skipped, {
      [`${SkipReason.notAzure} (AWS)`]: 1,
      [`${SkipReason.notUsage} (Tax)`]: 1,
      [`${SkipReason.badValue} (EffectiveCost)`]: 1,
      [`${SkipReason.badValue} (ChargePeriodStart)`]: 1,
      [SkipReason.missingSubscription]: 1,
      [SkipReason.missingCurrency]: 1,
    });
    assert.deepEqual(s.badValues, [
      { row: 4, column: "EffectiveCost", value: "abc" },
      { row: 5, column: "ChargePeriodStart", value: "yesterday" },
    ]);
  });

  it("subscriptions unknown to the control plane are reported (and kept); without a checker they are 'not checked'", async () => {
    const file = sample("finops-toolkit/EA_AmortizedCost_Small.csv");
    const checked = await importUsageFile(file, { dataDir: freshDir(), knownSubscriptionIds: async () => new Set(["9ec51cfd-5ca7-4d76-8101-dd0a4abc5674"]) });
    assert.deepEqual(checked.unknownSubscriptions, ["1caaa5a3-2b66-438e-8ab4-bce37d518c5d", "64e355d7-997c-491d-b0c1-8414dccfcf42", "73c0021f-a37d-433f-8baa-7450cb54eea6", "ed570627-0265-4620-bb42-bae06bcfa914"]);
    const unchecked = await importUsageFile(file, { dataDir: freshDir() });
    assert.equal(unchecked.unknownSubscriptions, "not checked");
  });
});

describe("malformed files fail with the file, row, column and the fix; nothing is written", () => {
  it("a cost of 'abc' at data row 2 names the row, the column and --max-bad-rows", async () => {
    const dataDir = freshDir();
    const file = write(
      "bad-cost.csv",
      "BillingAccountId,SubscriptionId,Date,CostInBillingCurrency,BillingCurrency,ChargeType,AccountOwnerId\n" +
        "1,11111111-1111-1111-1111-111111111111,09/01/2023,1.5,USD,Usage,o@x\n" +
        "1,11111111-1111-1111-1111-111111111111,09/02/2023,abc,USD,Usage,o@x\n",
    );
    await assert.rejects(importUsageFile(file, { dataDir }), (e: Error) => {
      assert.ok(e instanceof UsageImportError);
      assert.ok(e.message.includes(file));
      assert.match(e.message, /row 2, column CostInBillingCurrency: "abc" is not a valid number/);
      assert.match(e.message, /--max-bad-rows 1/);
      return true;
    });
    assert.deepEqual(openUsageLake(dataDir).months(), []);
  });

  it("a missing required column lists the required columns and the detected format", async () => {
    const file = write("no-currency.csv", "SubscriptionId,Date,Cost,ChargeType,AccountOwnerId\n11111111-1111-1111-1111-111111111111,09/01/2023,1,Usage,o\n");
    await assert.rejects(importUsageFile(file, { dataDir: freshDir() }), /detected format ea-actual .*missing: BillingCurrency or BillingCurrencyCode or Currency\. Required for ea-actual: SubscriptionGuid\|SubscriptionId, Date\|UsageDateTime/);
  });

  it("an unknown header is refused with the known formats", async () => {
    await assert.rejects(importUsageFile(sample("finops-toolkit/open-data.Regions.csv"), { dataDir: freshDir() }), /format cannot be recognised from the header \(OriginalValue, RegionId, RegionName\).*--format/);
  });

  it("a row with too many fields names the file and the line", async () => {
    const file = write("ragged.csv", "ChargePeriodStart,ChargePeriodEnd,ChargeCategory,EffectiveCost,BillingCurrency,SubAccountId\n2024-10-01,2024-10-02,Usage,1,USD,/subscriptions/11111111-1111-1111-1111-111111111111,extra\n");
    await assert.rejects(importUsageFile(file, { dataDir: freshDir() }), (e: Error) => e.message.startsWith(file) && /line/i.test(e.message));
  });
});

describe("lake layout: one Parquet file per month under month=YYYY-MM (hive partitioning)", () => {
  it("rows spanning two months go to two partitions, readable with hive_partitioning, with the documented columns", async () => {
    const dataDir = freshDir();
    const sub = "/subscriptions/11111111-1111-1111-1111-111111111111";
    const file = write(
      "two-months.csv",
      "ChargePeriodStart,ChargePeriodEnd,ChargeCategory,EffectiveCost,BillingCurrency,SubAccountId,ResourceId\n" +
        `2024-09-30T00:00:00Z,2024-10-01T00:00:00Z,Usage,1,USD,${sub},${sub}/resourceGroups/RG1/providers/Microsoft.Storage/storageAccounts/SA1\n` +
        `2024-10-01T00:00:00+02:00,2024-10-02T00:00:00+02:00,Usage,2,USD,${sub},${sub}/resourceGroups/RG1/providers/Microsoft.Storage/storageAccounts/SA1\n`,
    );
    const s = await importUsageFile(file, { dataDir });
    // The +02:00 row starts at 2024-09-30T22:00Z: it belongs to September.
    assert.deepEqual(s.months, ["2024-09"]);
    const lake = openUsageLake(dataDir);
    assert.deepEqual(readdirSync(lake.dir).filter((n) => n.startsWith("month=")), ["month=2024-09"]);
    const rows = await query(`SELECT * FROM ${lake.relation()} ORDER BY charge_period_start`);
    assert.deepEqual(Object.keys(rows[0] ?? {}), [...USAGE_COLUMNS.map((c) => c.name), "month"]);
    assert.equal(rows[1]?.resource_id, `${sub}/resourcegroups/rg1/providers/microsoft.storage/storageaccounts/sa1`);
    assert.equal(rows[1]?.resource_group, "rg1");
    assert.equal(rows[1]?.resource_type, "microsoft.storage/storageaccounts");
    assert.equal(rows[1]?.subscription_id, "11111111-1111-1111-1111-111111111111");
    assert.equal((rows[1]?.charge_period_start as Date).toISOString(), "2024-09-30T22:00:00.000Z");
    assert.equal(rows[1]?.month, "2024-09");
    const other = write("october.csv", readFileSync(file, "utf8").replace(/2024-09-30T00:00:00Z,2024-10-01T00:00:00Z/, "2024-10-05T00:00:00Z,2024-10-06T00:00:00Z"));
    await importUsageFile(other, { dataDir });
    assert.deepEqual(lake.months(), ["2024-09", "2024-10"]);
    assert.ok(lake.parquetGlob("2024-10").endsWith(path.join("usage", "month=2024-10", "*.parquet")));
    assert.equal((await lake.summary("2024-10")).rows, 1);
    assert.equal((await lake.summary("2024-11")).rows, 0);
    assert.equal((await query(`SELECT count(*) AS n FROM ${lake.relation("2024-11")}`))[0]?.n, 0n);
  });

  it("every way a file reaches the lake gives each month exactly its kept rows: one clean month, one month with skipped rows, two months, five months", async () => {
    const sub = "/subscriptions/22222222-2222-2222-2222-222222222222";
    const header = "ChargePeriodStart,ChargePeriodEnd,ChargeCategory,EffectiveCost,BillingCurrency,SubAccountId,ResourceId\n";
    const row = (day: string, category: string, cost: number, i: number) =>
      `${day}T00:00:00Z,${day}T12:00:00Z,${category},${cost},USD,${sub},${sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm${i}\n`;
    // months: the months of the file's rows; purchases: rows that are skipped (not usage).
    const cases: Array<{ name: string; months: string[]; purchases: number }> = [
      { name: "clean", months: ["2025-01"], purchases: 0 },
      { name: "skipped", months: ["2025-01"], purchases: 2 },
      { name: "two", months: ["2025-01", "2025-02"], purchases: 1 },
      { name: "five", months: ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"], purchases: 1 },
    ];
    for (const c of cases) {
      const dataDir = freshDir();
      let text = header;
      let i = 0;
      const expected = new Map<string, number>();
      for (const month of c.months) {
        for (let k = 1; k <= 3; k++) {
          text += row(`${month}-0${k}`, "Usage", k, i++);
          expected.set(month, (expected.get(month) ?? 0) + 1);
        }
      }
      for (let k = 0; k < c.purchases; k++) text += row(`${c.months[0]}-09`, "Purchase", 100, i++);
      const s = await importUsageFile(write(`${c.name}.csv`, text), { dataDir });
      rowsAccountedFor(s);
      assert.deepEqual(s.months, c.months, c.name);
      assert.equal(s.rowsKept, c.months.length * 3, c.name);
      assert.equal(s.skipped[`${SkipReason.notUsage} (Purchase)`] ?? 0, c.purchases, c.name);
      const lake = openUsageLake(dataDir);
      assert.deepEqual(lake.months(), c.months, c.name);
      const perMonth = await query(`SELECT month, count(*) AS n, min(charge_category) AS lo, max(charge_category) AS hi, bool_and(length(row_key) = 32) AS keyed FROM ${lake.relation()} GROUP BY month ORDER BY month`);
      assert.deepEqual(perMonth.map((r) => [r.month, Number(r.n), r.lo, r.hi, r.keyed]), c.months.map((m) => [m, expected.get(m), "Usage", "Usage", true]), c.name);
      assert.deepEqual(readdirSync(path.join(dataDir, "usage")).filter((n) => n.startsWith("_work")), [], `${c.name}: the work directory is removed`);
    }
  });

  it("EA daily rows get [Date, Date + 1 day) and lower-case ids (mixed-case ResourceId and SUBSCRIPTIONS prefix)", async () => {
    const dataDir = freshDir();
    await importUsageFile(sample("finops-toolkit/EA_ActualCost_Small.csv"), { dataDir });
    const rows = await query(`SELECT DISTINCT charge_period_start AS s, charge_period_end AS e, subscription_id FROM ${openUsageLake(dataDir).relation("2023-09")} WHERE resource_id LIKE '%ftk-micflan-darkslate2%'`);
    assert.equal(rows.length, 1);
    assert.equal((rows[0]?.s as Date).toISOString(), "2023-09-04T00:00:00.000Z");
    assert.equal((rows[0]?.e as Date).toISOString(), "2023-09-05T00:00:00.000Z");
    assert.equal(rows[0]?.subscription_id, "64e355d7-997c-491d-b0c1-8414dccfcf42");
  });
});

describe("format detection from the header", () => {
  const cases: Array<[string, string[], string, string]> = [
    ["FOCUS", ["ChargePeriodStart", "ChargeCategory", "EffectiveCost"], "x.csv", "focus"],
    ["EA amortized by file name", ["BillingAccountId", "AccountOwnerId", "SubscriptionId", "Date", "Cost", "ChargeType"], "EA_AmortizedCost.csv", "ea-amortized"],
    ["EA actual by file name", ["AccountOwnerId", "SubscriptionId", "Date", "Cost", "ChargeType"], "ActualCost.csv", "ea-actual"],
    ["MPA (partner columns, camelCase)", ["billingAccountId", "partnerTenantId", "customerTenantId", "date", "SubscriptionId", "costInBillingCurrency", "chargeType"], "x.csv", "mpa"],
    ["MCA", ["billingAccountId", "billingProfileId", "date", "SubscriptionId", "costInBillingCurrency", "chargeType"], "x.csv", "mca"],
    ["AzGovViz", ["PreTaxCost", "SubscriptionId", "SubscriptionMgPath", "Currency", "ChargeType"], "x.csv", "azgovviz"],
  ];
  for (const [name, columns, file, format] of cases) {
    it(`${name} → ${format}`, () => assert.equal(detectFormat(new Header(columns), file)?.format, format));
  }
  it("an EA export whose name does not say actual or amortized is taken as actual, with a warning", () => {
    const d = detectFormat(new Header(["AccountOwnerId", "SubscriptionId", "Date", "Cost", "ChargeType"]), "export.csv");
    assert.equal(d?.format, "ea-actual");
    assert.match(d?.warning ?? "", /--format ea-amortized/);
  });
  it("an MPA export (camelCase, CostInUsd) imports with cost_usd and the customer tenant", async () => {
    const file = write(
      "mpa.csv",
      "billingAccountId,partnerTenantId,customerTenantId,date,SubscriptionId,ResourceId,costInBillingCurrency,costInUsd,billingCurrency,chargeType,PricingModel\n" +
        "acc,P,CCCCCCCC-0000-0000-0000-000000000001,2024-10-01,22222222-0000-0000-0000-000000000001,/subscriptions/22222222-0000-0000-0000-000000000001/resourceGroups/r/providers/Microsoft.Web/sites/w,100,1.1,JPY,UnusedReservation,Reservation\n",
    );
    const dataDir = freshDir();
    const s = await importUsageFile(file, { dataDir });
    assert.equal(s.format, "mpa");
    const [r] = await query(`SELECT * FROM ${openUsageLake(dataDir).relation("2024-10")}`);
    assert.equal(Number(r?.cost), 100);
    assert.equal(Number(r?.cost_usd), 1.1);
    assert.equal(r?.customer_tenant_id, "cccccccc-0000-0000-0000-000000000001");
    assert.equal(r?.commitment_discount_status, "Unused");
    assert.equal(r?.pricing_category, "Committed");
  });
});

describe("Parquet input", () => {
  it("a FOCUS Parquet file (typed columns: TIMESTAMP, DECIMAL) imports like its CSV", async () => {
    const parquet = path.join(tmpRoot, "focus.parquet");
    const csv = sample("focus-sample-data/focus_sample.csv");
    await query(
      `COPY (SELECT * REPLACE (CAST(EffectiveCost AS DECIMAL(20,11)) AS EffectiveCost, CAST(ChargePeriodStart AS TIMESTAMP) AS ChargePeriodStart, CAST(ChargePeriodEnd AS TIMESTAMP) AS ChargePeriodEnd)
       FROM read_csv('${csv}', nullstr = 'NULL', all_varchar = true)) TO '${parquet}' (FORMAT parquet)`,
    );
    const fromCsv = await importUsageFile(csv, { dataDir: freshDir() });
    const fromParquet = await importUsageFile(parquet, { dataDir: freshDir() });
    assert.equal(fromParquet.format, "focus");
    assert.equal(fromParquet.rowsKept, fromCsv.rowsKept);
    assert.deepEqual(fromParquet.skipped, fromCsv.skipped);
    assert.deepEqual(fromParquet.costByCurrency, fromCsv.costByCurrency);
  });
});

describe("options", () => {
  it("--cost-column BilledCost takes the invoice view", async () => {
    const opts: ImportUsageOptions = { dataDir: freshDir(), costColumn: "BilledCost" };
    const file = sample("focus-sample-data/focus_sample.csv");
    const s = await importUsageFile(file, opts);
    assert.equal(s.costMeasure, "BilledCost");
    assert.equal(asFixed(s.costByCurrency.USD), expectedTotal(readCsv(file), "BilledCost", (r) => r.ProviderName === "Microsoft" && r.ChargeCategory === "Usage"));
  });
});

describe("docs/USAGE.md documents the normalised schema", () => {
  it("every lake column appears in the schema table with its type", () => {
    const doc = readFileSync(path.join(repoRoot, "docs", "USAGE.md"), "utf8");
    for (const c of USAGE_COLUMNS) assert.ok(doc.includes(`| ${c.name} | ${c.type} |`), `docs/USAGE.md lacks the row for ${c.name} (${c.type})`);
  });
});
