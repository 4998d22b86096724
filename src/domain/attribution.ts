/**
 * Attribution rules that are pure decisions (no I/O, no clock): the AdminType ordering of rule 9,
 * the duplicate-flag priority of rule 16, the time arithmetic of rule 6 and exact decimal sums for
 * report totals. The set-based work over usage lives in src/attribution (SQL); these functions
 * give it its orderings and are what the unit tests pin down.
 */
import { intersectSets, union, type Interval } from "./interval.ts";

export type AttributionType = "PAL" | "DPOR";
export const ATTRIBUTION_TYPES: readonly AttributionType[] = ["PAL", "DPOR"];

/** A role as attribution sees it: its name and whether the policy counts it (rule 5). */
export interface AttributedRole {
  readonly name: string;
  readonly eligible: boolean;
}

/**
 * The class of a role in the AdminType order (rule 9): Owner (1) > Contributor (2) > User Access
 * Administrator (3) > other eligible roles (4, alphabetical among themselves) > ineligible roles
 * (5, alphabetical). An ineligible Owner (a policy that excludes it) ranks with the ineligible.
 */
export function roleClass(role: AttributedRole): number {
  if (!role.eligible) return 5;
  switch (role.name.toLowerCase()) {
    case "owner": return 1;
    case "contributor": return 2;
    case "user access administrator": return 3;
    default: return 4;
  }
}

/** Negative when `a` ranks above `b` (is the better AdminType); total order. */
export function compareAdminType(a: AttributedRole, b: AttributedRole): number {
  const byClass = roleClass(a) - roleClass(b);
  if (byClass !== 0) return byClass;
  const an = a.name.toLowerCase();
  const bn = b.name.toLowerCase();
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** The highest role among `roles` by rule 9, or undefined for none. */
export function highestRole<R extends AttributedRole>(roles: readonly R[]): R | undefined {
  let best: R | undefined;
  for (const r of roles) if (!best || compareAdminType(r, best) < 0) best = r;
  return best;
}

/**
 * Dense integer ranks (1 = best) for a set of roles, so SQL can pick the AdminType with MIN():
 * every distinct (class, name) gets its place in the rule 9 order.
 */
export function roleRanks(roles: readonly AttributedRole[]): Map<string, number> {
  const distinct = new Map<string, AttributedRole>();
  for (const r of roles) distinct.set(rankKey(r), r);
  const sorted = [...distinct.values()].sort(compareAdminType);
  return new Map(sorted.map((r, i) => [rankKey(r), i + 1]));
}

export function rankKey(role: AttributedRole): string {
  return `${role.eligible ? "e" : "i"}|${role.name.toLowerCase()}`;
}

// --- rule 6: time -----------------------------------------------------------------------------

/** Truncates an epoch-ms instant to the second (rule 6: attribution is at second precision). */
export function toSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/**
 * Covered seconds of a charge period [start, end) by the union of `intervals` (rule 6): the
 * reference the SQL engine must agree with (tests compare them).
 */
export function coveredSeconds(intervals: readonly Interval[], period: { from: number; to: number }): number {
  let total = 0;
  for (const i of intersectSets(union(intervals), [period])) total += ((i.to as number) - (i.from as number)) / 1000;
  return Math.round(total);
}

// --- rule 16: duplicate flags ------------------------------------------------------------------

/** One credited fact of one usage row, as the duplicate rule sees it. */
export interface DuplicateCandidate {
  readonly globalId: string;
  readonly locationId: string;
  readonly type: AttributionType;
  /** Credited amount (billing currency), as a number only for ordering. */
  readonly credited: number;
}

export interface DuplicateFlags {
  /** Another fact of the same usage row ranks first within the partner organisation (PGA). */
  readonly pga: boolean;
  /** … within the organisation and the same attribution type. */
  readonly pgaAttachType: boolean;
  /** … within the same location (MPN) id. */
  readonly mpn: boolean;
}

/**
 * The priority among facts of one usage row (rule 16): PAL before DPOR; then the larger credited
 * amount (so the deduplicated total keeps the best coverage of the row); then the smaller
 * location id (a stable tie-break). Negative when `a` comes first.
 */
export function compareDuplicatePriority(a: DuplicateCandidate, b: DuplicateCandidate): number {
  const t = (x: DuplicateCandidate) => (x.type === "PAL" ? 0 : 1);
  if (t(a) !== t(b)) return t(a) - t(b);
  if (a.credited !== b.credited) return b.credited - a.credited;
  return a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0;
}

/**
 * Duplicate flags of every fact of ONE usage row (same order as `facts`): within each group
 * (organisation; organisation + type; location) the first fact by `compareDuplicatePriority` is the
 * original and every other one is flagged. Summing the facts whose flag is false therefore counts
 * each usage row once per group. The SQL engine computes the same with ROW_NUMBER().
 */
export function duplicateFlags(facts: readonly DuplicateCandidate[]): DuplicateFlags[] {
  const firstOf = (key: (f: DuplicateCandidate) => string) => {
    const best = new Map<string, DuplicateCandidate>();
    for (const f of facts) {
      const k = key(f);
      const cur = best.get(k);
      if (!cur || compareDuplicatePriority(f, cur) < 0) best.set(k, f);
    }
    return (f: DuplicateCandidate) => best.get(key(f)) !== f;
  };
  const pga = firstOf((f) => f.globalId);
  const pgaType = firstOf((f) => `${f.globalId}|${f.type}`);
  const mpn = firstOf((f) => f.locationId);
  return facts.map((f) => ({ pga: pga(f), pgaAttachType: pgaType(f), mpn: mpn(f) }));
}

// --- money ----------------------------------------------------------------------------------

const SCALE = 18;
const TEN_18 = 10n ** BigInt(SCALE);

/** Parses a decimal string (as DuckDB writes DECIMAL(38,18)) to a scaled bigint. */
export function parseDecimal(text: string): bigint {
  const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a decimal number`);
  const frac = (m[3] ?? "").slice(0, SCALE).padEnd(SCALE, "0");
  const v = BigInt(m[2] || "0") * TEN_18 + BigInt(frac || "0");
  return m[1] ? -v : v;
}

/** Formats a scaled bigint with `digits` fractional digits (rounded half away from zero). */
export function formatDecimal(value: bigint, digits = 2): string {
  const neg = value < 0n;
  let v = neg ? -value : value;
  const drop = 10n ** BigInt(SCALE - digits);
  v = (v + drop / 2n) / drop;
  const unit = 10n ** BigInt(digits);
  const whole = v / unit;
  const frac = (v % unit).toString().padStart(digits, "0");
  const text = digits > 0 ? `${whole}.${frac}` : `${whole}`;
  return neg && v !== 0n ? `-${text}` : text;
}

/** Exact sum of decimal strings. */
export function sumDecimals(values: readonly (string | null)[]): bigint {
  let total = 0n;
  for (const v of values) if (v !== null) total += parseDecimal(v);
  return total;
}
