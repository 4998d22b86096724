/** The portal's formatting helpers (pure): code spans, money, exact decimal sums. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { addDecimals, codeSpans, formatMoney } from "../../portal/src/format.ts";

describe("portal formatting", () => {
  it("code spans: text between backticks is code; a lone backtick stays text", () => {
    assert.deepEqual(codeSpans("run `az login` then `openpal x`."), [
      { text: "run ", code: false }, { text: "az login", code: true }, { text: " then ", code: false }, { text: "openpal x", code: true }, { text: ".", code: false },
    ]);
    assert.deepEqual(codeSpans("a ` b"), [{ text: "a ` b", code: false }]);
    assert.deepEqual(codeSpans(""), []);
  });
  it("money: two decimals, grouped, with the currency, rounded half away from zero from the exact decimal", () => {
    assert.equal(formatMoney("1091.26", "EUR"), "€1,091.26");
    assert.equal(formatMoney("4866.05", "USD"), "$4,866.05");
    assert.equal(formatMoney("0.125", "USD"), "$0.13");
    assert.equal(formatMoney("-0.125", "USD"), "-$0.13");
    assert.equal(formatMoney("-0.001", "USD"), "$0.00", "no negative zero");
    assert.equal(formatMoney("12", "GBP"), "£12.00");
    // Beyond 2^53: no digit lost to floating point.
    assert.equal(formatMoney("123456789012345678.995", "USD"), "$123,456,789,012,345,679.00");
    assert.equal(formatMoney("n/a", "USD"), "n/a USD", "not a number: shown as given");
  });
  it("exact sums keep every decimal (rounded once when shown)", () => {
    assert.equal(addDecimals(["0.004", "0.004", "0.002"]), "0.010");
    assert.equal(addDecimals(["1.5", "-2.25"]), "-0.75");
    assert.equal(addDecimals([]), "0");
    assert.equal(formatMoney(addDecimals(["0.005", "0.000"]), "USD"), "$0.01");
  });
});
