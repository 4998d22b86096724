import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEMO_WORLD_FILE, isDemoWorld } from "../../src/insights/demo.ts";

// `npm start` names src/world/demo/world.json, while the compiled server (dist/) resolves its own
// copy: the demo usage is seeded for either (before, a compiled server never seeded it).
describe("the demo usage is seeded for the package's own demo world, in src/ or dist/", () => {
  it("the src/ and dist/ demo worlds are the demo world; a copy elsewhere is not", () => {
    const sep = path.sep;
    assert.equal(isDemoWorld(DEMO_WORLD_FILE), true);
    assert.equal(isDemoWorld(DEMO_WORLD_FILE.replace(`${sep}src${sep}`, `${sep}dist${sep}`)), true);
    assert.equal(isDemoWorld(DEMO_WORLD_FILE.replace(`${sep}dist${sep}`, `${sep}src${sep}`)), true);
    assert.equal(isDemoWorld(path.relative(process.cwd(), DEMO_WORLD_FILE)), true);
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-demo-world-"));
    try {
      const copy = path.join(dir, "world.json");
      copyFileSync(DEMO_WORLD_FILE, copy);
      assert.equal(isDemoWorld(copy), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
