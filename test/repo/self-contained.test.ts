/**
 * The repository is self-contained: a clone with nothing beside it runs `npm test`, the demo and the
 * benches. Code, tests, benches, scripts and the portal never refer to files outside the checkout
 * (the data they use is copied into test/fixtures/ or data/), and the docs never link outside it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SKIP_DIRS = new Set(["node_modules", "dist", ".tmp", "test-artifacts", "results", ".git"]);
const TEXT = /\.(ts|tsx|mts|cts|js|mjs|cjs|json|sh|md|html|css|yaml|yml|txt)$/;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (!SKIP_DIRS.has(name)) walk(full, out);
    } else if (TEXT.test(name)) out.push(full);
  }
  return out;
}

// Built from parts so this file does not match itself.
const SHARED = "sha" + "red";
const OUTSIDE = [
  new RegExp(String.raw`\.\./${SHARED}\b`), // a sibling folder of the checkout
  new RegExp(String.raw`/wo` + String.raw`rk/`), // the machine's absolute work paths
  new RegExp(String.raw`(^|[\s("'\`])${SHARED}/(data|spec|design)/`), // its data, spec or design folders
];

/** `file:line: text` for every line of `files` that matches one of `patterns`. */
function offending(files: string[], patterns: RegExp[]): string[] {
  const hits: string[] = [];
  for (const file of files) {
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      if (patterns.some((p) => p.test(line))) hits.push(`${path.relative(root, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  return hits;
}

describe("the repository is self-contained (a fresh clone with nothing beside it works)", () => {
  it("no file under src/, test/, bench/, scripts/ or portal/ refers to a path outside the repository", () => {
    const files = ["src", "test", "bench", "scripts", "portal", ".ci"].filter((d) => existsSync(path.join(root, d))).flatMap((d) => walk(path.join(root, d)));
    assert.ok(files.length > 100, `expected the source tree under ${root}, found ${files.length} files`);
    const hits = offending(files, OUTSIDE);
    assert.deepEqual(hits, [], `copy the data into test/fixtures/ (tests) or data/ (run time) and refer to it there:\n${hits.join("\n")}`);
  });

  it("README.md and docs/*.md name no path outside the repository", () => {
    const docs = [path.join(root, "README.md"), path.join(root, "CHANGELOG.md"), ...walk(path.join(root, "docs"))].filter((f) => f.endsWith(".md"));
    const hits = offending(docs, OUTSIDE);
    assert.deepEqual(hits, [], `name an in-repository file or a public URL instead:\n${hits.join("\n")}`);
  });

  it("every relative link in README.md and docs/*.md resolves to a file inside the repository", () => {
    const docs = [path.join(root, "README.md"), path.join(root, "CHANGELOG.md"), ...walk(path.join(root, "docs"))].filter((f) => f.endsWith(".md"));
    const broken: string[] = [];
    for (const file of docs) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|<a\s[^>]*href="([^"]+)"/g)) {
        const target = m[1] ?? m[2] ?? "";
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue; // URLs, mailto:, anchors
        const resolved = path.resolve(path.dirname(file), decodeURIComponent(target.split("#")[0] ?? ""));
        const where = `${path.relative(root, file)}: (${target})`;
        if (resolved !== root && !resolved.startsWith(root + path.sep)) broken.push(`${where} points outside the repository`);
        else if (!existsSync(resolved)) broken.push(`${where} does not exist`);
      }
    }
    assert.deepEqual(broken, [], `fix these links (link a file in the repository or a public URL):\n${broken.join("\n")}`);
  });

  it("the check itself finds a reference to a path beside the checkout", () => {
    const sample = `const samples = path.resolve(repoRoot, "../${SHARED}/data/usage");`;
    assert.ok(OUTSIDE.some((p) => p.test(sample)));
    assert.ok(OUTSIDE.some((p) => p.test(`see ${SHARED}/design/PAL-API.md`)));
    assert.ok(!OUTSIDE.some((p) => p.test("the TLS material shared by every test server")));
  });
});
