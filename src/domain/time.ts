/**
 * Time in the domain is epoch milliseconds (UTC). The clock is injected so tests are deterministic.
 */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock for tests: starts at `start` and moves only when told to. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: number | string) {
    this.#now = typeof start === "string" ? Date.parse(start) : start;
  }
  now(): number {
    return this.#now;
  }
  set(to: number | string): void {
    this.#now = typeof to === "string" ? Date.parse(to) : to;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/**
 * ARM time format: UTC ISO 8601 with `Z`, up to 7 fractional digits, trailing zeros trimmed
 * (the real service sends e.g. `2018-07-30T21:12:18.350161Z`; we have millisecond precision).
 */
export function formatArmTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2018-07-30T21:12:18.350Z
  // Every link response formats two times: trim by character codes, without split or regex.
  let end = iso.length - 1; // the Z
  while (iso.charCodeAt(end - 1) === 48 /* 0 */) end--;
  if (iso.charCodeAt(end - 1) === 46 /* . */) end--;
  return end === iso.length - 1 ? iso : `${iso.slice(0, end)}Z`;
}

/** Parses an ISO 8601 time with an explicit zone; returns undefined when it is not one. */
export function parseIsoTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** A calendar month (YYYY-MM) as [from, to) in epoch milliseconds, UTC. */
export interface MonthWindow {
  readonly month: string;
  readonly from: number;
  readonly to: number;
}

/** [first instant of the month, first instant of the next), UTC. */
export function monthWindow(month: string): MonthWindow {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) throw new Error(`month "${month}" is not YYYY-MM, e.g. 2026-10.`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  return { month, from: Date.UTC(y, mo - 1, 1), to: Date.UTC(y, mo, 1) };
}
