#!/usr/bin/env node
// Runs every test file with node's test runner (through tsx). Before that it prepares one TLS
// CA for all test servers and points NODE_EXTRA_CA_CERTS at it, so the real Azure SDK clients
// (which use Node's default trust store) trust the test servers.
//
// Usage: node scripts/test.mjs [file-or-folder …]   (default: every test/**/*.test.ts)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, mkdirSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const args = process.argv.slice(2);

function collect(target, out) {
  const st = statSync(target);
  if (st.isDirectory()) {
    for (const name of readdirSync(target).sort()) collect(path.join(target, name), out);
  } else if (/\.test\.ts$/.test(target)) {
    out.push(target);
  }
}
const files = [];
for (const t of args.length ? args : [path.join(root, "test")]) collect(path.resolve(t), files);
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}

const tlsDir = path.join(root, ".tmp", "test-tls");
mkdirSync(tlsDir, { recursive: true });
const prep = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "scripts", "test-tls.ts"), tlsDir], { stdio: "inherit", cwd: root });
if (prep.status !== 0) process.exit(prep.status ?? 1);

const env = {
  ...process.env,
  NODE_EXTRA_CA_CERTS: path.join(tlsDir, "tls", "ca.crt"),
  OPENPAL_TEST_TLS_DIR: path.join(tlsDir, "tls"),
};
if (process.env.CI === "true" && !process.env.OPENPAL_TEST_POSTGRES_URL) {
  console.error("CI=true but OPENPAL_TEST_POSTGRES_URL is not set: the PostgreSQL suite must run in CI (see .ci/run).");
  process.exit(1);
}
const concurrency = process.env.OPENPAL_TEST_CONCURRENCY ?? "2";
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, "--test-reporter=spec", ...files],
  { stdio: "inherit", env, cwd: root },
);
process.exit(result.status ?? 1);
