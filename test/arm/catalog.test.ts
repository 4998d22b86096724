import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { armError, errorCatalog, type ArmErrorCode } from "../../src/arm/index.ts";

describe("the error catalog and docs/API.md agree", () => {
  it("every catalog code is documented with its status, envelope and message, and the docs list no other", () => {
    const docs = readFileSync(new URL("../../docs/API.md", import.meta.url), "utf8");
    const rows = [...docs.matchAll(/^\| `(\w+)` \| (\d{3}) \| (arm|provider) \| (.*) \|$/gm)].map((m) => ({ code: m[1], status: Number(m[2]), envelope: m[3], message: m[4] }));
    assert.deepEqual(rows.map((r) => r.code).sort(), Object.keys(errorCatalog).sort());
    for (const row of rows) {
      const entry = errorCatalog[row.code as ArmErrorCode];
      assert.deepEqual([row.status, row.envelope, row.message], [entry.status, entry.envelope, entry.message], row.code);
    }
  });
});

describe("ARM-layer errors carry only the nested error; provider errors repeat code and message at top level", () => {
  it("envelopes", () => {
    assert.equal(armError("MissingApiVersionParameter").toBody(), JSON.stringify({ error: { code: "MissingApiVersionParameter", message: errorCatalog.MissingApiVersionParameter.message } }));
    const m = "This user or service principal is not linked with a Partner ID";
    assert.equal(armError("ManagementPartnerNotFound").toBody(), JSON.stringify({ error: { code: "ManagementPartnerNotFound", message: m }, code: "ManagementPartnerNotFound", message: m }));
  });
  it("templates are filled from params, and an unfilled placeholder stays visible", () => {
    assert.equal(armError("PrincipalDisabled", { objectId: "o", tenantId: "t" }).message, "The account 'o' is disabled in tenant 't'. Ask an administrator of the tenant to enable it, then retry.");
    assert.match(armError("PrincipalDisabled").message, /\{objectId\}/);
  });
});
