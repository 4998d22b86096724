import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { backup, restore } from "../../src/ops/backup.ts";
import { activityDir, activityEventsFile, activityMonths, importActivityFiles, readActivityManifest } from "../../src/activity/index.ts";
import { withDirLock } from "../../src/usage/lake.ts";
import { openStore } from "../../src/store/index.ts";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/activity/pp-analytics.csv");

describe("backup and restore of the activity lake", () => {
  it("the activity lake is copied under its lock (an import in progress finishes first), without _lock or _work-*, and restores whole", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "openpal-backup-activity-"));
    try {
      const dataDir = path.join(root, "data");
      mkdirSync(dataDir);
      const store = await openStore({ kind: "sqlite", sqlitePath: path.join(dataDir, "openpal.db") });
      await store.close();
      await importActivityFiles({ dataDir, files: [FIXTURE] });
      const months = activityMonths(dataDir);
      assert.ok(months.length > 0);
      // A writer holds the lake's lock, with its scratch folder: the backup waits for it.
      let released = false;
      let backedUp = false;
      const writer = withDirLock(activityDir(dataDir), "activity lake", async () => {
        mkdirSync(path.join(activityDir(dataDir), "_work-x"));
        writeFileSync(path.join(activityDir(dataDir), "_work-x", "half.parquet"), "half");
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(backedUp, false, "the backup did not copy the activity lake while its writer held the lock");
        released = true;
      });
      const made = backup({ dataDir, to: path.join(root, "b") }).then((m) => {
        backedUp = true;
        return m;
      });
      await writer;
      const manifest = await made;
      assert.ok(released);
      const paths = manifest.files.map((f) => f.path);
      assert.ok(paths.includes("files/activity/_imports.json"), paths.join());
      for (const m of months) assert.ok(paths.includes(`files/activity/month=${m}/events.parquet`), paths.join());
      assert.ok(!paths.some((p) => p.includes("_lock") || p.includes("_work-")), paths.join());

      const restored = path.join(root, "restored");
      await restore({ from: path.join(root, "b"), dataDir: restored });
      assert.deepEqual(activityMonths(restored), months);
      for (const m of months) assert.deepEqual(readFileSync(activityEventsFile(restored, m)), readFileSync(activityEventsFile(dataDir, m)));
      assert.deepEqual(readActivityManifest(restored), readActivityManifest(dataDir));
      assert.equal(existsSync(path.join(activityDir(restored), "_work-x")), false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
