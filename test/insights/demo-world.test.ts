import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEMO_WORLD_FILE, isDemoWorld } from "../../src/insights/demo.ts";

// `npm start` names src/world/demo/world.json, while the compiled server (dist/) resolves its own
// copy: the demo usage is seeded for either (before, a compiled server never seeded it).
describe("the demo world is recognised by content, not only by path", () => {
  it("the file itself and an identical copy elsewhere are the demo world; another world is not", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-demo-world-"));
    try {
      const copy = path.join(dir, "world.json");
      copyFileSync(DEMO_WORLD_FILE, copy);
      const other = path.join(dir, "other.json");
      writeFileSync(other, JSON.stringify({ tenants: [] }));
      assert.equal(isDemoWorld(DEMO_WORLD_FILE), true);
      assert.equal(isDemoWorld(copy), true);
      assert.equal(isDemoWorld(other), false);
      assert.equal(isDemoWorld(path.join(dir, "missing.json")), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
