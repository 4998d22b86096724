/**
 * The report query language: a grammar with positions in its errors, compiled to parameterised
 * SQL over each dataset's allow-list. User text never reaches the SQL text.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileReportQuery, defaultDatasets, parseReportQuery, QueryError, timespanWindow, MAX_QUERY_LENGTH } from "../../src/partner-insights/index.ts";

const registry = defaultDatasets();
const compile = (q: string) => compileReportQuery(q, registry);
const fails = (q: string, pattern: RegExp) => assert.throws(() => compile(q), (e: unknown) => e instanceof QueryError && pattern.test(e.message), q);
const source = { sql: "SELECT * FROM t", params: [] };

describe("query language: grammar", () => {
  it("parses every clause; keywords are case-insensitive; ORDER BY defaults to DESC", () => {
    const ast = parseReportQuery("select distinct MpnId, TotalACR from AzureUsage where Month = '2026-10' and CustomerName like '%a b%' and MpnId not in ('1', '2') order by TotalACR, MpnId asc limit 5 timespan last_month");
    assert.equal(ast.distinct, true);
    assert.deepEqual(ast.select.map((s) => s.text), ["MpnId", "TotalACR"]);
    assert.deepEqual(ast.where.map((w) => w.kind), ["compare", "like", "in"]);
    assert.deepEqual(ast.orderBy.map((o) => o.direction), ["DESC", "ASC"]);
    assert.equal(ast.limit?.value, 5);
    assert.equal(ast.timespan?.text, "last_month");
  });
  it("a doubled quote is a quote inside a value", () => {
    const ast = parseReportQuery("SELECT MpnId FROM AzureUsage WHERE CustomerName = 'O''Brien'");
    assert.equal(ast.where[0]?.kind === "compare" && ast.where[0].value.value, "O'Brien");
  });
  it("errors name the line, column and expected token", () => {
    fails("SELECT MpnId\nFROM", /line 2, column 5|end of the query.*expected a name/);
    fails("SELECT , MpnId FROM AzureUsage", /line 1, column 8.*found ','.*expected.*a name/);
    fails("SELECT MpnId FROM AzureUsage WHERE MpnId", /end of the query.*expected one of/);
  });
});

describe("query language: what is refused (400, never SQL)", () => {
  it("an unknown table is 'Invalid table name' with the datasets", () => fails("SELECT MpnId FROM Usage", /^Invalid table name: 'Usage' at line 1, column 19.*AzureUsage, Profile/));
  it("an unknown column is 'Incorrect column name' with its position", () => fails("SELECT MpnId, Revenue FROM AzureUsage", /^Incorrect column name: 'Revenue' at line 1, column 15/));
  it("OR is refused with the alternative", () => fails("SELECT MpnId FROM AzureUsage WHERE MpnId = '1' OR MpnId = '2'", /OR is not supported \(line 1, column 48\).*IN/));
  it("a TIMESPAN the dataset does not offer is refused with the ones it does", () => {
    fails("SELECT MpnId FROM AzureUsage TIMESPAN LAST_WEEK", /Invalid TIMESPAN: 'LAST_WEEK'.*LAST_MONTH/);
    fails("SELECT MpnId FROM AzureUsage TIMESPAN TODAY", /Invalid TIMESPAN: 'TODAY'/);
  });
  it("injection attempts fail in the lexer or parser", () => {
    fails("SELECT MpnId FROM AzureUsage WHERE MpnId = ''; DROP TABLE insights_reports; --'", /Unexpected character ';' at line 1, column 46/);
    fails("SELECT MpnId FROM AzureUsage; DELETE FROM x", /Unexpected character ';'/);
    fails("SELECT MpnId FROM AzureUsage WHERE MpnId = \"x\"", /single quotes/);
    fails("SELECT MpnId FROM AzureUsage /* c */", /Unexpected character '\/'/);
    fails("SELECT \"MpnId\" FROM AzureUsage", /Unexpected character '"'/);
  });
  it("a quoted value reaches SQL only as a parameter", () => {
    const evil = "x' OR '1'='1'; DROP TABLE t; --";
    const c = compile(`SELECT MpnId, TotalACR FROM AzureUsage WHERE CustomerName = '${evil.replaceAll("'", "''")}' AND MpnId LIKE '%''%'`);
    const { text, params } = c.sql(source);
    assert.ok(!text.includes("DROP") && !text.includes("1'='1"));
    assert.deepEqual(params, [evil, "%'%"]);
  });
  it("a 100 KB query is refused before parsing, naming the limit", () => {
    const q = `SELECT MpnId FROM AzureUsage WHERE MpnId IN (${Array.from({ length: 20_000 }, (_, i) => `'${i}'`).join(",")})`;
    assert.ok(q.length > 100_000);
    fails(q, new RegExp(`limit is ${MAX_QUERY_LENGTH}`));
  });
  it("LIMIT must be positive; flags compare with 0 or 1; WHERE takes columns, ORDER BY selected names", () => {
    fails("SELECT MpnId FROM AzureUsage LIMIT 0", /LIMIT 0.*positive/);
    fails("SELECT MpnId FROM AzureUsage LIMIT -3", /positive/);
    fails("SELECT MpnId FROM AzureUsage WHERE IsACRDuplicateAtPGALevel = 2", /flag.*0 or 1/);
    fails("SELECT MpnId FROM AzureUsage WHERE TotalACR > 5", /metric; WHERE filters columns only/);
    fails("SELECT MpnId FROM AzureUsage ORDER BY TotalACR", /not selected/);
    fails("SELECT MpnId, MpnId FROM AzureUsage", /selected twice/);
  });
});

describe("query language: compiled SQL", () => {
  it("metrics aggregate over the distinct selected columns; names are canonical whatever the case", () => {
    const { text, params } = compile("select mpnid, totalacr from azureusage where isacrduplicateatpgalevel = 0 order by totalacr limit 10").sql(source);
    assert.match(text, /SELECT d\."MpnId" AS "MpnId", CAST\(ROUND\(SUM\(d\._acr\), 2\) AS VARCHAR\) AS "TotalACR"/);
    assert.match(text, /WHERE d\."IsACRDuplicateAtPGALevel" = \?/);
    assert.match(text, /GROUP BY d\."MpnId"/);
    assert.match(text, /ORDER BY "TotalACR" DESC/);
    assert.deepEqual(params, [0, 10]);
  });
  it("columns only: distinct rows", () => {
    assert.match(compile("SELECT MpnId FROM AzureUsage").sql(source).text, /^SELECT DISTINCT d\."MpnId"/);
  });
  it("TIMESPAN is relative to the given clock; omitted means six months", () => {
    const now = Date.parse("2026-11-15T12:00:00Z");
    const w = compile("SELECT MpnId FROM AzureUsage TIMESPAN LAST_MONTH").window(now);
    assert.deepEqual([new Date(w.from!).toISOString(), new Date(w.to!).toISOString()], ["2026-10-01T00:00:00.000Z", "2026-11-01T00:00:00.000Z"]);
    const d = compile("SELECT MpnId FROM AzureUsage").window(now);
    assert.equal(new Date(d.from!).toISOString(), "2026-05-01T00:00:00.000Z");
    const days = timespanWindow("LAST_7_DAYS", now);
    assert.deepEqual([new Date(days.from!).toISOString(), new Date(days.to!).toISOString()], ["2026-11-08T00:00:00.000Z", "2026-11-15T00:00:00.000Z"]);
    assert.deepEqual(timespanWindow("LIFETIME", now), { from: undefined, to: undefined });
  });
});
