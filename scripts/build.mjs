#!/usr/bin/env node
// `npm run build`: compiles src/ to JavaScript in dist/ (tsc with tsconfig.build.json, which
// rewrites the sources' .ts import extensions to .js), copies the non-TypeScript files the code
// reads at run time (the world schema, the demo world), and writes dist/.built, the stamp that
// bin/openpal.js compares with src/ to decide whether dist/ is current.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const started = Date.now();
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const r = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit", cwd: root });
if (r.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  console.error("build failed: dist/ removed, so `openpal` runs the sources through tsx until the errors above are fixed.");
  process.exit(r.status ?? 1);
}

function copyAssets(from, to) {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) copyAssets(source, target);
    else if (!entry.name.endsWith(".ts")) {
      mkdirSync(to, { recursive: true });
      copyFileSync(source, target);
    }
  }
}
copyAssets(path.join(root, "src"), dist);
writeFileSync(path.join(dist, ".built"), new Date().toISOString() + "\n");
console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
