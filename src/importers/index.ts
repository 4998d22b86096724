/**
 * Importers of real RBAC exports (`openpal import rbac`). One import = one transaction: every
 * file is read and validated first, then all valid rows are written together; `dryRun` rolls the
 * transaction back after computing the same report.
 *
 * @example
 * const report = await importRbac(store, ["test/fixtures/rbac/azgovviz-demo"], { now: Date.now() });
 * console.log(formatImportReport(report));
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Store } from "../store/index.ts";
import { applyPlan, type Tally } from "./rbac-apply.ts";
import { RBAC_FORMATS, detectFormat, emptyPlan, parseRbacFile, type RbacFormat, type Reject, type Skip } from "./rbac-parse.ts";

export { RBAC_FORMATS, detectFormat, type RbacFormat } from "./rbac-parse.ts";

export interface ImportOptions {
  readonly tenantId?: string;
  readonly subscriptionId?: string;
  /** Force a format instead of detecting it per file. */
  readonly format?: RbacFormat;
  readonly dryRun?: boolean;
  /** Time of the import (epoch ms): when changed facts take effect. */
  readonly now: number;
}

export interface ImportReport {
  readonly files: { readonly file: string; readonly format: RbacFormat }[];
  readonly counts: Tally;
  readonly skipped: Skip[];
  readonly rejected: Reject[];
  readonly dryRun: boolean;
}

class DryRunRollback extends Error {}

/** Expands folders: an AzGovViz output folder holds the CSVs, the hierarchy and the JSON folder. */
function collect(target: string, out: { file: string; content: string | { name: string; text: string }[] }[]): void {
  const st = statSync(target);
  if (!st.isDirectory()) {
    out.push({ file: target, content: readFileSync(target, "utf8") });
    return;
  }
  const names = readdirSync(target).sort();
  const json = names.filter((n) => n.toLowerCase().endsWith(".json"));
  const others = names.filter((n) => !n.toLowerCase().endsWith(".json"));
  if (json.length && json.every((n) => /^(Tenant|Mg|Sub)__/.test(n))) {
    out.push({ file: target, content: json.map((n) => ({ name: path.join(target, n), text: readFileSync(path.join(target, n), "utf8") })) });
  } else {
    for (const n of json) collect(path.join(target, n), out);
  }
  for (const n of others) {
    const full = path.join(target, n);
    if (statSync(full).isDirectory() || /\.(csv|md)$/i.test(n)) collect(full, out);
  }
}

export async function importRbac(store: Store, targets: readonly string[], options: ImportOptions): Promise<ImportReport> {
  const inputs: { file: string; content: string | { name: string; text: string }[] }[] = [];
  for (const t of targets) {
    try {
      collect(t, inputs);
    } catch (error) {
      throw new Error(`cannot read ${t}: ${(error as Error).message}`);
    }
  }
  const plan = emptyPlan();
  const files: ImportReport["files"][number][] = [];
  for (const input of inputs) {
    const format = options.format ?? detectFormat(input.file, input.content);
    if (!format) {
      // Inside a folder, files of other kinds (e.g. licence files) are skipped, not errors.
      if (!targets.includes(input.file)) { plan.skips.push({ origin: { file: input.file }, reason: "not an RBAC export this importer reads", count: 1 }); continue; }
      plan.rejects.push({ origin: { file: input.file }, field: "(file)", problem: "format not recognised", fix: `pass --format (one of ${RBAC_FORMATS.join(", ")})` });
      continue;
    }
    files.push({ file: input.file, format });
    parseRbacFile(plan, input.file, format, input.content, { tenantId: options.tenantId, subscriptionId: options.subscriptionId });
  }
  let result: Awaited<ReturnType<typeof applyPlan>> | undefined;
  try {
    await store.transaction(async (tx) => {
      result = await applyPlan(tx, plan, options.now);
      if (options.dryRun) throw new DryRunRollback();
    });
  } catch (error) {
    if (!(error instanceof DryRunRollback)) throw error;
  }
  const applied = result as NonNullable<typeof result>;
  return { files, counts: applied.counts, skipped: plan.skips, rejected: applied.rejects, dryRun: options.dryRun ?? false };
}

/** The report as text: what was created, unchanged, skipped (why) and rejected (where, fix). */
export function formatImportReport(r: ImportReport): string {
  const lines: string[] = [];
  for (const f of r.files) lines.push(`read ${f.file} (${f.format})`);
  lines.push(r.dryRun ? "dry run: nothing was written; this is what the import would do:" : "imported in one transaction:");
  for (const [kind, c] of Object.entries(r.counts).sort()) lines.push(`  ${kind}: ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged`);
  for (const s of r.skipped) lines.push(`  skipped ${s.count} × ${s.origin.file}${s.origin.row ? ` row ${s.origin.row}` : ""}: ${s.reason}`);
  if (r.rejected.length) lines.push(`rejected ${r.rejected.length} row(s) (not written; every other row was):`);
  for (const x of r.rejected) lines.push(`  ${x.origin.file}${x.origin.row ? ` row ${x.origin.row}` : ""}, ${x.field}: ${x.problem}. Fix: ${x.fix}`);
  return lines.join("\n");
}
