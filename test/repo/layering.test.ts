/**
 * The layering the architecture rests on (docs/DESIGN.md): the composition root (src/server/)
 * composes the components, so no component imports it; the contract they share with it
 * (src/context/) sits below them all; the attribution month run drives the business-applications
 * engine, never the other way round; and the pure domain knows no other folder.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const SRC = path.resolve(import.meta.dirname, "../../src");

/** Every relative import of every .ts file under src/, as [importer, imported] paths relative to src/. */
function imports(): [string, string][] {
  const edges: [string, string][] = [];
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    const file = path.join(entry.parentPath, entry.name);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gm)) {
      const target = path.resolve(path.dirname(file), m[1] as string);
      edges.push([path.relative(SRC, file), path.relative(SRC, target)]);
    }
  }
  return edges;
}

const folderOf = (p: string) => p.split(path.sep)[0] as string;

describe("layering of src/", () => {
  const edges = imports();

  it("reads the imports (a guard against a parser that finds none)", () => {
    assert.ok(edges.length > 300, `${edges.length} imports found`);
    assert.ok(edges.some(([from, to]) => from === path.join("server", "components.ts") && folderOf(to) === "providers"));
  });

  it("no component imports the composition root (src/server/): only the CLI that starts it does", () => {
    const upward = edges.filter(([from, to]) => folderOf(to) === "server" && !["server", "cli"].includes(folderOf(from)));
    assert.deepEqual(upward, []);
  });

  it("the components' shared contract (src/context/) depends on nothing above the store", () => {
    const above = edges.filter(([from, to]) => folderOf(from) === "context" && !["context", "options", "store", "domain"].includes(folderOf(to)));
    assert.deepEqual(above, []);
  });

  it("business applications (src/bizapps/) import nothing of the attribution month run that drives them", () => {
    const up = edges.filter(([from, to]) => folderOf(from) === "bizapps" && folderOf(to) === "attribution");
    assert.deepEqual(up, []);
  });

  it("the pure domain (src/domain/) imports no other folder of src/", () => {
    const out = edges.filter(([from, to]) => folderOf(from) === "domain" && folderOf(to) !== "domain");
    assert.deepEqual(out, []);
  });
});
