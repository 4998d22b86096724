/**
 * Fast start: `openpal --version` answers without the command tree, and `--help` loads no heavy
 * module (server, store, DuckDB, portal); both run from the sources here (tsx), as from dist/.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { buildProgram } from "../../src/cli/program.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const HEAVY = ["fastify", "@duckdb/node-api", "better-sqlite3", "kysely", "pg", "react", "react-dom", "undici", "yaml", "ajv", "pino", "jose", "@peculiar/x509"];

/** Runs the CLI from the sources with a resolve hook that lists every package it loads. */
function packagesLoadedBy(args: string[]): { status: number | null; stdout: string; packages: Set<string> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-start-"));
  const hooks = path.join(dir, "hooks.mjs");
  const log = path.join(dir, "loaded.txt");
  writeFileSync(hooks, `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + "\\n");
  return r;
}`);
  const register = path.join(dir, "register.mjs");
  writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  writeFileSync(log, "");
  const r = spawnSync(process.execPath, ["--import", register, "--import", "tsx", path.join(ROOT, "src/cli/main.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  const packages = new Set<string>();
  for (const url of readFileSync(log, "utf8").split("\n")) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m?.[1]) packages.add(m[1]);
  }
  return { status: r.status, stdout: r.stdout, packages };
}

describe("fast start", () => {
  it("`openpal --version` prints package.json's version and loads no package at all (not even commander)", () => {
    const r = packagesLoadedBy(["--version"]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `${VERSION}\n`);
    assert.deepEqual([...r.packages].filter((p) => p !== "tsx" && p !== "get-tsconfig" && p !== "resolve-pkg-maps" && p !== "esbuild"), []);
  });

  it("`openpal --help` loads none of the heavy modules (server, store, DuckDB, portal, HTTP client)", () => {
    const r = packagesLoadedBy(["--help"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: openpal/);
    assert.ok(r.packages.has("commander"));
    for (const heavy of HEAVY) assert.equal(r.packages.has(heavy), false, `--help loaded ${heavy}`);
  });

  it("the command tree's --version agrees with package.json", () => {
    assert.equal(buildProgram().version(), VERSION);
  });
});
