/**
 * CLI start-up: `openpal --version` and `openpal --help` (bin/openpal.js, which runs the compiled
 * dist/ when it is current) against a bare `node -e 0`, measured alternately in the same run, as
 * whole processes. Reports medians and the ratio to the bare start; the target is --version under
 * 150 ms on a quiet machine. Run `npm run build` first: without a current dist/ the CLI runs through
 * tsx and the result says so (`compiled: false`).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Benchmark } from "./lib.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "bin", "openpal.js");
const RUNS = Number(process.env.OPENPAL_BENCH_CLI_RUNS ?? 9);

function timeOnce(args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], cwd: ROOT, env: { ...process.env, OPENPAL_FROM_SOURCE: "" } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${String(r.stderr)}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

const bench: Benchmark = {
  name: "cli-start",
  description: "`openpal --version` and `openpal --help` vs a bare `node -e 0`, whole processes, alternating",
  async run() {
    // Warm-up: the file system cache, and the check that the commands work.
    timeOnce(["-e", "0"]);
    timeOnce([BIN, "--version"]);
    timeOnce([BIN, "--help"]);
    const bare: number[] = [];
    const version: number[] = [];
    const help: number[] = [];
    const versionRatios: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const b = timeOnce(["-e", "0"]);
      const v = timeOnce([BIN, "--version"]);
      help.push(timeOnce([BIN, "--help"]));
      bare.push(b);
      version.push(v);
      versionRatios.push(v / b);
    }
    return {
      runs: RUNS,
      compiled: existsSync(path.join(ROOT, "dist", ".built")),
      bareNodeMedianMs: round(median(bare)),
      versionMedianMs: round(median(version)),
      helpMedianMs: round(median(help)),
      versionOverBareMedianMs: round(median(version) - median(bare)),
      ratioVersionToBare: round(median(versionRatios), 2),
      ratioHelpToBare: round(median(help) / median(bare), 2),
    };
  },
};
export default bench;
