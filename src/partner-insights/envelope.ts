/**
 * The wire shape of every `/insights/v1/mpn` response, success or error:
 *   { "value": [...], "nextLink": null, "totalCount": n, "message": "...", "statusCode": 200, "dataRedacted": false }
 * and the request helpers (case-insensitive body keys and query parameters, `;`-separated ids,
 * Partner Center's time format).
 */

export interface Envelope {
  readonly value: readonly unknown[];
  readonly nextLink: null;
  readonly totalCount: number;
  readonly message: string;
  readonly statusCode: number;
  readonly dataRedacted: false;
}

export function envelope(value: readonly unknown[], message: string, statusCode = 200): Envelope {
  return { value, nextLink: null, totalCount: value.length, message, statusCode, dataRedacted: false };
}

/** An API error: the envelope with an empty value, the HTTP status and Partner Center's message. */
export class InsightsApiError extends Error {
  override readonly name = "InsightsApiError";
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Partner Center's messages, exactly; details follow after ": ". */
export const MESSAGES = Object.freeze({
  invalidTable: "Invalid table name",
  incorrectColumn: "Incorrect column name",
  missing: "Null or missing value",
  recurrence: "Recurrence Interval must be between 4 and 2160",
  invalidQueryId: "Invalid QueryId",
  notFound: "No item found with given filters.",
  noExecutions: "There are no executions that have occurred for the given filter conditions",
  unauthorized: "Authentication failed",
  /** Ours: Partner Center does not document its answer to a caller without the role. */
  forbidden: "Access denied",
  startTime: "Start time must be at least 4 hours after the current time",
});

export const missing = (key: string, example: string) => new InsightsApiError(400, `${MESSAGES.missing}: ${key} is required, e.g. ${example}.`);
export const notFound = () => new InsightsApiError(404, MESSAGES.notFound);

/** A JSON body as a case-insensitive map (scripts send both `ReportName` and `reportName`). */
export class Body {
  readonly #values = new Map<string, unknown>();
  constructor(raw: unknown) {
    if (raw === undefined || raw === null) return;
    if (typeof raw !== "object" || Array.isArray(raw)) throw new InsightsApiError(400, "The request body must be a JSON object, e.g. {\"Name\": \"…\", \"Query\": \"SELECT …\"}.");
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) this.#values.set(k.toLowerCase(), v);
  }
  has(key: string): boolean {
    const v = this.#values.get(key.toLowerCase());
    return v !== undefined && v !== null && v !== "";
  }
  string(key: string): string | undefined {
    const v = this.#values.get(key.toLowerCase());
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw new InsightsApiError(400, `${key} must be a string (got ${typeof v}).`);
    return v;
  }
  required(key: string, example: string): string {
    const v = this.string(key);
    if (v === undefined || v.trim() === "") throw missing(key, example);
    return v;
  }
  boolean(key: string): boolean | undefined {
    const v = this.#values.get(key.toLowerCase());
    if (v === undefined || v === null) return undefined;
    if (typeof v === "boolean") return v;
    if (typeof v === "string" && /^(true|false)$/i.test(v)) return v.toLowerCase() === "true";
    throw new InsightsApiError(400, `${key} must be true or false.`);
  }
  integer(key: string): number | undefined {
    const v = this.#values.get(key.toLowerCase());
    if (v === undefined || v === null || v === "") return undefined;
    const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) throw new InsightsApiError(400, `${key} must be a whole number.`);
    return n;
  }
}

/** Query parameters, case-insensitive. */
export function queryParams(raw: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    const s = Array.isArray(v) ? String(v[v.length - 1]) : typeof v === "string" ? v : undefined;
    if (s !== undefined) out.set(k.toLowerCase(), s);
  }
  return out;
}

/** `a;b;c` → ["a","b","c"] (empty parts dropped); undefined when absent. */
export function idList(v: string | undefined): string[] | undefined {
  if (v === undefined || v.trim() === "") return undefined;
  return v.split(";").map((s) => s.trim()).filter((s) => s !== "");
}

export function boolParam(v: string | undefined, name: string, fallback: boolean): boolean {
  if (v === undefined || v === "") return fallback;
  if (/^true$/i.test(v)) return true;
  if (/^false$/i.test(v)) return false;
  throw new InsightsApiError(400, `${name} must be true or false.`);
}

/** `yyyy-MM-ddTHH:mm:ssZ`. */
export function wireTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** An ISO 8601 time; without a zone it is UTC. */
export function parseTime(v: string, key: string): number {
  const s = /[zZ]|[+-]\d\d:?\d\d$/.test(v.trim()) ? v.trim() : `${v.trim()}Z`;
  const ms = Date.parse(s);
  if (!/^\d{4}-\d\d-\d\d/.test(v.trim()) || Number.isNaN(ms)) throw new InsightsApiError(400, `${key} "${v}" is not a time; use yyyy-MM-ddTHH:mm:ssZ, e.g. 2026-11-01T00:00:00Z.`);
  return ms;
}
