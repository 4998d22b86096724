/**
 * The normalisation's text macro, `op_text`, must equal `NULLIF(trim(v), '')` for every value: it
 * takes a shortcut (a value of ASCII only that starts with a printable character and does not end
 * with an ASCII space separator is returned as it is) that is only right while the ASCII members of
 * `TRIMMED_BY_DUCKDB` are exactly the ASCII characters DuckDB's trim removes. Both are checked here
 * against DuckDB itself, over every Unicode code point.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { NORMALISATION_MACROS, TRIMMED_BY_DUCKDB } from "../../src/usage/formats.ts";

/** Every Unicode scalar value (code points without the surrogates), as `cp`: a table made in before(). */
const CODE_POINTS = "code_points";

describe("op_text: the trimmed text of a value, NULL when empty", () => {
  let instance: DuckDBInstance;
  let c: DuckDBConnection;
  const rows = async (sql: string) => (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  before(async () => {
    instance = await DuckDBInstance.create(":memory:");
    c = await instance.connect();
    for (const macro of NORMALISATION_MACROS) await c.run(macro);
    // A table, so that no filter on chr(cp) can be evaluated before the surrogates are left out.
    await c.run(`CREATE TEMP TABLE ${CODE_POINTS} AS SELECT CAST(cp AS INTEGER) AS cp FROM range(1, 1114112) t(cp) WHERE cp < 55296 OR cp > 57343`);
  });
  after(() => {
    c.closeSync();
    instance.closeSync();
  });

  it("TRIMMED_BY_DUCKDB is exactly what DuckDB's trim removes, at the start and at the end, over every code point", async () => {
    const removed = async (value: string) => (await rows(`SELECT cp FROM ${CODE_POINTS} WHERE trim(${value}) <> ${value} ORDER BY cp`)).map((r) => Number(r.cp));
    assert.deepEqual(await removed("('a' || chr(cp))"), [...TRIMMED_BY_DUCKDB]);
    assert.deepEqual(await removed("(chr(cp) || 'a')"), [...TRIMMED_BY_DUCKDB]);
  });

  it("equals NULLIF(trim(v), '') for every code point alone, before, after and around text, and for empty, inner-space and mixed values", async () => {
    const values = [
      "chr(cp)", "chr(cp) || 'a'", "'a' || chr(cp)", "chr(cp) || 'ab' || chr(cp)", "'a b' || chr(cp)", "chr(cp) || ' x '", "'/subscriptions/' || chr(cp)",
    ];
    for (const value of values) {
      const [r] = await rows(`SELECT count(*) AS n, count(*) FILTER (WHERE op_text(v) IS DISTINCT FROM NULLIF(trim(v), '')) AS wrong, min(cp) FILTER (WHERE op_text(v) IS DISTINCT FROM NULLIF(trim(v), '')) AS first FROM (SELECT cp, ${value} AS v FROM ${CODE_POINTS})`);
      assert.equal(Number(r?.wrong), 0, `${value}: op_text differs from NULLIF(trim(v), '') first at U+${Number(r?.first).toString(16)}`);
      assert.ok(Number(r?.n) > 1_100_000);
    }
    const fixed = ["''", "' '", "'  a  '", "chr(160) || 'Virtual Machines' || chr(12288)", "'Zürich'", "'café'", "chr(9) || 'tab' || chr(9)", "'x'", "NULL"];
    const [r] = await rows(`SELECT count(*) FILTER (WHERE op_text(v) IS DISTINCT FROM NULLIF(trim(v), '')) AS wrong FROM (VALUES ${fixed.map((v) => `(${v})`).join(", ")}) t(v)`);
    assert.equal(Number(r?.wrong), 0);
  });
});
