import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEMO_MONTHS, DEMO_WORLD_FILE, isDemoWorld } from "../../src/insights/demo.ts";
import { startServer } from "../../src/server/index.ts";
import { testOptions } from "../../src/options/index.ts";
import { openUsageLake } from "../../src/usage/index.ts";
import { bizappsFactsFile } from "../../src/bizapps/facts-reader.ts";

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

describe("the demo's background seeding ends before the server closes", () => {
  it("a server closed right after it starts has seeded and attributed every demo month when close() resolves", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-demo-close-"));
    try {
      const server = await startServer(testOptions({ port: 0, dataDir, inMemory: true, logLevel: "silent", world: DEMO_WORLD_FILE }));
      await server.close(); // at once: the seeding (DuckDB imports, attribution) is still running
      assert.deepEqual(openUsageLake(dataDir).months(), [...DEMO_MONTHS]);
      for (const month of DEMO_MONTHS) assert.ok(existsSync(bizappsFactsFile(dataDir, month)), `${month} was attributed before the store closed`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
