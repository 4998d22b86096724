/**
 * `npm run bench [-- name…]`: runs every bench/*.bench.ts (or the named ones), writes each result
 * to bench/results/<name>.json and all of them to bench/results/summary.json, and prints them.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Benchmark } from "./lib.ts";

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith(".bench.ts")).sort();
const resultsDir = path.join(dir, "results");
mkdirSync(resultsDir, { recursive: true });

const summary: Record<string, unknown> = {
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
  startedAt: new Date().toISOString(),
  results: {},
};
for (const file of files) {
  const bench = (await import(path.join(dir, file))).default as Benchmark;
  if (only.length && !only.includes(bench.name)) continue;
  process.stdout.write(`\n== ${bench.name}: ${bench.description}\n`);
  const started = Date.now();
  const result = { ...(await bench.run()), seconds: Math.round((Date.now() - started) / 100) / 10 };
  (summary.results as Record<string, unknown>)[bench.name] = result;
  writeFileSync(path.join(resultsDir, `${bench.name}.json`), JSON.stringify(result, null, 2) + "\n");
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
}
writeFileSync(path.join(resultsDir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
process.stdout.write(`\nresults written to ${path.relative(process.cwd(), resultsDir)}/\n`);
