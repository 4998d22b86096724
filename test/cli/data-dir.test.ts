import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildProgram } from "../../src/cli/program.ts";
import { CliError, ExitCode } from "../../src/cli/errors.ts";
import { isDataDir, requireDataDir } from "../../src/cli/data-dir.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), "openpal-datadir-"));
}

async function run(args: string[]): Promise<CliError | undefined> {
  try {
    await buildProgram().parseAsync(["node", "openpal", ...args]);
    return undefined;
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
}

describe("the CLI in the wrong folder", () => {
  it("a folder is a data dir only when it holds a store, server.json, the lock, the key, the certificates or the lake", () => {
    const dir = tmp();
    assert.equal(isDataDir(path.join(dir, "missing")), false);
    assert.equal(isDataDir(dir), false);
    writeFileSync(path.join(dir, "openpal.db"), "");
    assert.equal(isDataDir(dir), true);
    const lake = tmp();
    mkdirSync(path.join(lake, "usage"));
    assert.equal(isDataDir(lake), true);
  });

  it("a folder holding only the activity lake (after `openpal activity import`) is a data dir", () => {
    const dir = tmp();
    mkdirSync(path.join(dir, "activity"));
    assert.equal(isDataDir(dir), true);
    assert.doesNotThrow(() => requireDataDir(dir));
  });

  for (const args of [
    ["report", "azure-usage", "--month", "2026-10"],
    ["explain", "--partner-id", "4000001", "--subscription", "s", "--month", "2026-10"],
    ["coverage", "--partner-id", "4000000"],
    ["diagnose", "--partner-id", "4000000", "--tenant", "t"],
    ["attribution", "run", "--month", "2026-10"],
    ["usage", "import", "no-such-file.csv"],
    ["import", "rbac", "no-such-file.json"],
  ]) {
    it(`\`openpal ${args.slice(0, 2).join(" ")}\` without a data dir says where it looked and how to point at one, and creates nothing`, async () => {
      const parent = tmp();
      const dataDir = path.join(parent, "nothing-here");
      const error = await run([...args, "--data-dir", dataDir]);
      assert.ok(error, "expected a CliError");
      assert.equal(error.exitCode, ExitCode.notFound);
      assert.ok(error.message.includes(`no data dir found: ${dataDir} does not exist (given by --data-dir ${dataDir})`), error.message);
      assert.match(error.message, /--data-dir DIR or OPENPAL_DATA_DIR=DIR/);
      assert.equal(existsSync(dataDir), false);
      assert.deepEqual(readdirSync(parent), []);
    });
  }

  it("names OPENPAL_DATA_DIR as the source when the data dir comes from the environment; an empty folder is not a data dir", () => {
    const dir = tmp();
    assert.throws(() => requireDataDir(dir, { env: { OPENPAL_DATA_DIR: dir } }), (e: CliError) => {
      assert.ok(e.message.includes(`${dir} is not an OpenPAL data dir`), e.message);
      assert.ok(e.message.includes(`given by OPENPAL_DATA_DIR=${dir}`), e.message);
      return true;
    });
  });

  it("usage import and import rbac name --create, the explicit way to start a new data dir", async () => {
    const dataDir = path.join(tmp(), "new");
    assert.match((await run(["usage", "import", "x.csv", "--data-dir", dataDir]))?.message ?? "", /add --create\.$/);
    assert.match((await run(["import", "rbac", "x.json", "--data-dir", dataDir]))?.message ?? "", /add --create\.$/);
  });

  it("a real `openpal report` in a folder without .openpal exits 4 naming the absolute default path and the current folder", () => {
    const cwd = tmp();
    const env = { ...process.env };
    delete env.OPENPAL_DATA_DIR;
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin/openpal.js"), "report", "azure-usage", "--month", "2026-10"], { cwd, env, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, ExitCode.notFound, r.stderr);
    assert.ok(r.stderr.includes(`no data dir found: ${path.join(cwd, ".openpal")} does not exist (the default, ./.openpal in the current folder ${cwd})`), r.stderr);
    assert.equal(existsSync(path.join(cwd, ".openpal")), false);
  });
});

describe("piped output ends quietly", () => {
  it("a reader that stops early (| head -1) ends the command with exit 0 and no EPIPE stack trace", () => {
    // Writes far more than a pipe buffer holds, line by line, as a long report does.
    const script = `import { endQuietlyOnBrokenPipe } from ${JSON.stringify(path.join(ROOT, "src/cli/epipe.ts"))};
endQuietlyOnBrokenPipe(process.stdout);
const line = "x".repeat(200) + "\\n";
for (let i = 0; i < 20000; i++) process.stdout.write(line);`;
    const file = path.join(tmp(), "writer.mts");
    writeFileSync(file, script);
    const r = spawnSync("bash", ["-c", `set -o pipefail; "${process.execPath}" --import tsx "${file}" | head -1 >/dev/null; echo "status=\${PIPESTATUS[0]}"`], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    assert.match(r.stdout, /status=0/, r.stderr);
    assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  });

  it("without the handler the same writer fails with EPIPE (the test sees the failure it guards against)", () => {
    const file = path.join(tmp(), "writer.mjs");
    writeFileSync(file, `const line = "x".repeat(200) + "\\n";\nfor (let i = 0; i < 20000; i++) process.stdout.write(line);`);
    const r = spawnSync("bash", ["-c", `"${process.execPath}" "${file}" | head -1 >/dev/null; echo "status=\${PIPESTATUS[0]}"`], { encoding: "utf8", timeout: 60_000 });
    assert.doesNotMatch(r.stdout, /status=0/);
    assert.match(r.stderr, /EPIPE/);
  });

  it("the CLI installs the handler for stdout and stderr before any command runs", async () => {
    const exits: number[] = [];
    const { endQuietlyOnBrokenPipe } = await import("../../src/cli/epipe.ts");
    const { EventEmitter } = await import("node:events");
    const fake = new EventEmitter() as unknown as NodeJS.WritableStream;
    endQuietlyOnBrokenPipe(fake, (code) => exits.push(code));
    fake.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    assert.deepEqual(exits, [0]);
  });
});
