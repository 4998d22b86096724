/**
 * TIMESPAN names → time windows, relative to a given instant (the server clock, or a report
 * occurrence's scheduled time). Pure. Windows are half-open [from, to) in UTC:
 *   TODAY          [today 00:00, tomorrow 00:00)
 *   YESTERDAY      [yesterday 00:00, today 00:00)
 *   LAST_N_DAYS    the N whole days before today
 *   LAST_MONTH     the previous calendar month; LAST_3_MONTHS / LAST_6_MONTHS / LAST_1_YEAR the
 *                  3 / 6 / 12 whole calendar months before the current one
 *   LIFETIME       no bounds
 */
import type { TimeWindow } from "../datasets/dataset.ts";

export const TIMESPANS = [
  "TODAY", "YESTERDAY", "LAST_7_DAYS", "LAST_14_DAYS", "LAST_30_DAYS", "LAST_90_DAYS", "LAST_180_DAYS", "LAST_365_DAYS",
  "LAST_MONTH", "LAST_3_MONTHS", "LAST_6_MONTHS", "LAST_1_YEAR", "LIFETIME",
] as const;
export type Timespan = (typeof TIMESPANS)[number];

/** Omitted TIMESPAN means six months. */
export const DEFAULT_TIMESPAN: Timespan = "LAST_6_MONTHS";

const DAY = 86_400_000;

export function isTimespan(s: string): s is Timespan {
  return (TIMESPANS as readonly string[]).includes(s);
}

export function timespanWindow(span: Timespan, now: number): TimeWindow {
  const today = Math.floor(now / DAY) * DAY;
  const d = new Date(now);
  const monthStart = (back: number) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back, 1);
  switch (span) {
    case "TODAY": return { from: today, to: today + DAY };
    case "YESTERDAY": return { from: today - DAY, to: today };
    case "LIFETIME": return { from: undefined, to: undefined };
    case "LAST_MONTH": return { from: monthStart(1), to: monthStart(0) };
    case "LAST_3_MONTHS": return { from: monthStart(3), to: monthStart(0) };
    case "LAST_6_MONTHS": return { from: monthStart(6), to: monthStart(0) };
    case "LAST_1_YEAR": return { from: monthStart(12), to: monthStart(0) };
    default: {
      const days = Number(/^LAST_(\d+)_DAYS$/.exec(span)?.[1]);
      return { from: today - days * DAY, to: today };
    }
  }
}

/** The months (YYYY-MM) a window touches, among `months`. */
export function monthsIn(window: TimeWindow, months: readonly string[]): string[] {
  return months.filter((m) => {
    const [y, mo] = m.split("-").map(Number) as [number, number];
    const start = Date.UTC(y, mo - 1, 1);
    const end = Date.UTC(y, mo, 1);
    return (window.from === undefined || end > window.from) && (window.to === undefined || start < window.to);
  });
}
