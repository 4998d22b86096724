/**
 * Effective-dated intervals: half-open [from, to) in epoch milliseconds. `from = null` means
 * "since always", `to = null` means "still so".
 */
export interface Interval {
  readonly from: number | null;
  readonly to: number | null;
}

const lo = (i: Interval): number => i.from ?? Number.NEGATIVE_INFINITY;
const hi = (i: Interval): number => i.to ?? Number.POSITIVE_INFINITY;

export function contains(interval: Interval, t: number): boolean {
  return lo(interval) <= t && t < hi(interval);
}

/** True when the two intervals share at least one instant. Touching ends do not overlap. */
export function overlaps(a: Interval, b: Interval): boolean {
  return lo(a) < hi(b) && lo(b) < hi(a);
}

export function isEmpty(i: Interval): boolean {
  return lo(i) >= hi(i);
}

/** The intersection, or undefined when it is empty. */
export function intersect(a: Interval, b: Interval): Interval | undefined {
  const from = Math.max(lo(a), lo(b));
  const to = Math.min(hi(a), hi(b));
  if (from >= to) return undefined;
  return { from: Number.isFinite(from) ? from : null, to: Number.isFinite(to) ? to : null };
}

/** Union of intervals as a sorted list of disjoint, non-touching intervals. */
export function union(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => !isEmpty(i)).sort((a, b) => lo(a) - lo(b));
  const out: { from: number; to: number }[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && lo(i) <= last.to) last.to = Math.max(last.to, hi(i));
    else out.push({ from: lo(i), to: hi(i) });
  }
  return out.map((i) => ({
    from: Number.isFinite(i.from) ? i.from : null,
    to: Number.isFinite(i.to) ? i.to : null,
  }));
}

/** Total length in ms of the union of `intervals` clipped to the finite `window`. */
export function coveredLength(intervals: readonly Interval[], window: { from: number; to: number }): number {
  let total = 0;
  for (const i of union(intervals)) {
    const x = intersect(i, window);
    if (x) total += (x.to as number) - (x.from as number);
  }
  return total;
}

/**
 * Intersection of two interval sets (each read as the union of its members), as a sorted list of
 * disjoint intervals. Linear in the sizes after the two unions.
 */
export function intersectSets(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const x = union(a);
  const y = union(b);
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const p = x[i] as Interval;
    const q = y[j] as Interval;
    const both = intersect(p, q);
    if (both) out.push(both);
    // Advance whichever ends first; the other may still meet the next one.
    if (hi(p) < hi(q)) i++;
    else j++;
  }
  return out;
}

/** The parts of set `a` not covered by set `b`, as a sorted list of disjoint intervals. */
export function subtractSets(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const holes = union(b);
  const out: Interval[] = [];
  for (const piece of union(a)) {
    let cursor = lo(piece);
    const end = hi(piece);
    for (const h of holes) {
      if (hi(h) <= cursor || lo(h) >= end) continue;
      if (lo(h) > cursor) out.push(finite(cursor, lo(h)));
      cursor = Math.max(cursor, hi(h));
      if (cursor >= end) break;
    }
    if (cursor < end) out.push(finite(cursor, end));
  }
  return out;
}

function finite(from: number, to: number): Interval {
  return { from: Number.isFinite(from) ? from : null, to: Number.isFinite(to) ? to : null };
}
