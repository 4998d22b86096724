import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { contains, coveredLength, intersect, overlaps, union } from "../../src/domain/interval.ts";
import { formatArmTime } from "../../src/domain/time.ts";

describe("intervals are half-open [from, to)", () => {
  it("contains the start but not the end", () => {
    assert.equal(contains({ from: 10, to: 20 }, 10), true);
    assert.equal(contains({ from: 10, to: 20 }, 20), false);
    assert.equal(contains({ from: null, to: null }, 0), true);
  });
  it("touching intervals do not overlap", () => {
    assert.equal(overlaps({ from: 0, to: 10 }, { from: 10, to: 20 }), false);
    assert.equal(overlaps({ from: 0, to: 11 }, { from: 10, to: 20 }), true);
  });
  it("union merges overlapping and touching intervals", () => {
    assert.deepEqual(union([{ from: 10, to: 20 }, { from: 0, to: 5 }, { from: 5, to: 12 }, { from: 30, to: null }]), [
      { from: 0, to: 20 },
      { from: 30, to: null },
    ]);
  });
  it("covered length counts overlapping intervals once, clipped to the window", () => {
    assert.equal(coveredLength([{ from: 0, to: 50 }, { from: 25, to: 75 }, { from: 90, to: null }], { from: 10, to: 100 }), 65 + 10);
  });
  it("intersect of disjoint intervals is undefined", () => {
    assert.equal(intersect({ from: 0, to: 1 }, { from: 1, to: 2 }), undefined);
  });
});

describe("ARM times: UTC ISO 8601 with Z, fractional digits with trailing zeros trimmed", () => {
  it("trims trailing zeros and drops an all-zero fraction", () => {
    assert.equal(formatArmTime(Date.parse("2018-07-30T21:12:18.350Z")), "2018-07-30T21:12:18.35Z");
    assert.equal(formatArmTime(Date.parse("2018-07-30T21:12:18.000Z")), "2018-07-30T21:12:18Z");
    assert.equal(formatArmTime(Date.parse("2018-07-30T21:12:10.000Z")), "2018-07-30T21:12:10Z");
    assert.equal(formatArmTime(Date.parse("2018-07-30T21:12:10.100Z")), "2018-07-30T21:12:10.1Z");
    assert.equal(formatArmTime(Date.parse("2018-07-30T21:12:10.001Z")), "2018-07-30T21:12:10.001Z");
  });
});
