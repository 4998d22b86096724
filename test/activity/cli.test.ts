import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildProgram } from "../../src/cli/program.ts";
import { CliError, ExitCode } from "../../src/cli/errors.ts";
import { openStore } from "../../src/store/index.ts";
import { applyWorld, type WorldFile } from "../../src/world/index.ts";
import { systemClock } from "../../src/domain/time.ts";
import { activityMonths, type ActivityImportSummary } from "../../src/activity/index.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/activity");
const WORLD = path.resolve(import.meta.dirname, "../fixtures/powerplatform/world.json");
const fixture = (name: string) => path.join(FIXTURES, name);

let tmpRoot: string;
let dataDir: string;
before(async () => {
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), "openpal-activity-cli-"));
  dataDir = path.join(tmpRoot, "data");
  // A data dir with a SQLite store holding the test world.
  const { mkdirSync } = await import("node:fs");
  mkdirSync(dataDir);
  const store = await openStore({ kind: "sqlite", sqlitePath: path.join(dataDir, "openpal.db") });
  const result = await applyWorld(store, JSON.parse(readFileSync(WORLD, "utf8")) as WorldFile, { clock: systemClock, actor: "test" });
  assert.ok(result.ok);
  await store.close();
});
after(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** Runs the command in-process (for its error; nothing is printed before one). */
async function run(args: string[]): Promise<{ error?: CliError }> {
  try {
    await buildProgram().parseAsync(["node", "openpal", ...args]);
    return {};
  } catch (error) {
    if (error instanceof CliError) return { error };
    throw error;
  }
}

/** Runs the real binary (no TTY: no progress bar), for its output. */
function cli(args: string[]): { out: string; error?: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, "bin/openpal.js"), ...args], { encoding: "utf8", cwd: tmpRoot, env: { ...process.env, OPENPAL_DATA_DIR: "" } });
  return r.status === 0 ? { out: r.stdout } : { out: r.stdout, error: `exit ${r.status}: ${r.stderr}` };
}

describe("openpal activity import", () => {
  it("imports several files against the data dir's store and prints a table per file, skip reasons, unresolved users and unknown resources", async () => {
    const { out, error } = cli(["activity", "import", fixture("openpal-activity.csv"), fixture("powerbi-activity-events.json"), "--data-dir", dataDir]);
    assert.equal(error, undefined, error);
    assert.match(out, /^FILE\s+FORMAT\s+READ\s+KEPT\s+SKIPPED\s+UNRESOLVED USERS\s+UNKNOWN RESOURCES\s+UNKNOWN USERS\s+MONTHS/m);
    assert.match(out, /openpal-activity\.csv\s+openpal-activity\s+12\s+8\s+4\s+1\s+1\s+0\s+2026-09 2026-10/);
    assert.match(out, /powerbi-activity-events\.json\s+powerbi-activity-events\s+5\s+3\s+2\s+1\s+0\s+0\s+2026-10/);
    assert.match(out, /skipped, unresolved user: 1/);
    assert.match(out, /users that do not resolve in the directory \(tenant\/UPN\): fabf0000-0000-4000-8000-000000000000\/ghost@fabrikam-pp\.example/);
    assert.match(out, /resources unknown to the control plane \(tenant\/workload\/id, kept\): fabf0000-0000-4000-8000-000000000000\/PowerApps\/faba0000-0000-4000-8000-0000000000ff/);
    assert.match(out, /total: 17 read, 11 kept, 6 skipped; months written: 2026-09, 2026-10/);
    assert.deepEqual(activityMonths(dataDir), ["2026-09", "2026-10"]);
  });

  it("--json prints the summary; a second run says the file was already imported", async () => {
    const { out, error } = cli(["activity", "import", fixture("openpal-activity.csv"), "--data-dir", dataDir, "--json"]);
    assert.equal(error, undefined, error);
    const summary = JSON.parse(out) as ActivityImportSummary;
    assert.equal(summary.files[0]?.alreadyImported, true);
    assert.equal(summary.kept, 0);
  });

  it("a bad file exits non-zero with file:line and the fix, and writes nothing", async () => {
    const fresh = path.join(tmpRoot, "fresh");
    const { error } = await run(["activity", "import", fixture("bad-timestamp.csv"), "--data-dir", fresh, "--create"]);
    assert.ok(error);
    assert.equal(error.exitCode, ExitCode.failure);
    assert.match(error.message, /bad-timestamp\.csv:3: bad timestamp "yesterday".*--max-bad-rows 1/);
    assert.deepEqual(activityMonths(fresh), []);
  });

  it("usage errors: an unknown --format and a bad --max-bad-rows are refused before anything is read", async () => {
    const bad = await run(["activity", "import", fixture("openpal-activity.csv"), "--data-dir", dataDir, "--max-bad-rows", "-1"]);
    assert.equal(bad.error?.exitCode, ExitCode.usage);
    assert.match(bad.error?.message ?? "", /--max-bad-rows "-1": use a whole number/);
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin/openpal.js"), "activity", "import", "x.csv", "--format", "nope"], { encoding: "utf8", cwd: tmpRoot });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Allowed choices are auto, openpal-activity, openpal-metrics, powerbi-activity-events, m365-audit-log, pp-analytics/);
  });

  it("without a data dir the command names --create and creates nothing", async () => {
    const missing = path.join(tmpRoot, "missing");
    const { error } = await run(["activity", "import", fixture("openpal-activity.csv"), "--data-dir", missing]);
    assert.equal(error?.exitCode, ExitCode.notFound);
    assert.match(error?.message ?? "", /--create/);
    assert.equal(existsSync(missing), false);
  });

  it("`openpal activity import --help` lists the formats and loads no DuckDB", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin/openpal.js"), "activity", "import", "--help"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /powerbi-activity-events/);
    assert.match(r.stdout, /--max-bad-rows/);
  });
});
