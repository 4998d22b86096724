#!/usr/bin/env node
// Entry point of the `openpal` command. Runs the compiled JavaScript in dist/ (built by
// `npm run build`, which `npm install` runs through `prepare`, and shipped in the package) when it
// is there and no file under src/ is newer than the build; otherwise, in a development checkout,
// runs the TypeScript sources through tsx. OPENPAL_FROM_SOURCE=1 forces the sources.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stamp = path.join(root, "dist", ".built");
const src = path.join(root, "src");

/** Whether any file under `dir` changed after `time` (ms). */
function newerThan(dir, time) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() ? newerThan(full, time) : statSync(full).mtimeMs > time) return true;
  }
  return false;
}

function compiledIsCurrent() {
  if (process.env.OPENPAL_FROM_SOURCE === "1" || !existsSync(stamp)) return false;
  // An installed package has no src/: dist is all there is.
  return !existsSync(src) || !newerThan(src, statSync(stamp).mtimeMs);
}

if (compiledIsCurrent()) {
  await import("../dist/cli/main.js");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
