/**
 * The suite never hangs on a machine without Chromium: a browser suite fails fast with one message
 * naming the package to install when CI requires it (CI=true), and is skipped with that message
 * elsewhere. Checked by running a real browser suite with OPENPAL_CHROMIUM at a missing binary.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { chromiumMissing } from "../support/browser.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SUITE = path.join(ROOT, "test/portal/shell.test.ts");
const LIMIT_MS = 120_000;

function runSuite(env: NodeJS.ProcessEnv): { status: number | null; signal: NodeJS.Signals | null; output: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", SUITE], { cwd: ROOT, env, encoding: "utf8", timeout: LIMIT_MS, killSignal: "SIGKILL" });
  return { status: r.status, signal: r.signal, output: `${r.stdout}\n${r.stderr}`, ms: Date.now() - started };
}

const missing: NodeJS.ProcessEnv = { ...process.env, OPENPAL_CHROMIUM: path.join(ROOT, ".tmp", "no-such-chromium") };
delete missing.NODE_TEST_CONTEXT; // the child runs its own test runner, not as a child of this one

describe("browser suites without Chromium end quickly with a message naming the package", () => {
  it("the message names Debian's package and the variable to point elsewhere", () => {
    const message = chromiumMissing("/nonexistent/chromium") ?? "";
    assert.match(message, /apt-get install chromium/);
    assert.match(message, /OPENPAL_CHROMIUM/);
  });

  it("in CI (CI=true) the suite fails, within the time limit, naming `apt-get install chromium`", () => {
    const r = runSuite({ ...missing, CI: "true" });
    assert.equal(r.signal, null, `the suite hung (killed after ${LIMIT_MS} ms):\n${r.output}`);
    assert.notEqual(r.status, 0, r.output);
    assert.match(r.output, /apt-get install chromium/);
  });

  it("outside CI the suite is skipped with that message, and passes", () => {
    const env = { ...missing };
    delete env.CI;
    const r = runSuite(env);
    assert.equal(r.signal, null, `the suite hung (killed after ${LIMIT_MS} ms):\n${r.output}`);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /portal shell .*# Chromium is not installed/, "the suite is reported as skipped, with the reason");
    assert.match(r.output, /apt-get install chromium/);
  });
});
