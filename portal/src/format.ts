// Formatting shared by the pages: times in UTC, exact sums of the report's decimal amounts.

export function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * Sums decimal strings exactly (in hundredths: the report's amounts have 2 decimals), so the
 * portal's totals are the report's, not floating-point approximations.
 */
export function sumDecimals(values: readonly string[]): string {
  let cents = 0n;
  for (const v of values) {
    const negative = v.trim().startsWith("-");
    const [whole = "0", frac = ""] = v.trim().replace(/^-/, "").split(".");
    const c = BigInt(whole || "0") * 100n + BigInt((frac + "00").slice(0, 2));
    cents += negative ? -c : c;
  }
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  return `${negative ? "-" : ""}${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`;
}

/**
 * Splits a message of the attribution API into text and code: the API marks commands and paths
 * as `code` spans (Markdown inline code). A backtick without a partner stays as text.
 */
export function codeSpans(text: string): { readonly text: string; readonly code: boolean }[] {
  const out: { text: string; code: boolean }[] = [];
  const re = /`([^`]+)`/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) out.push({ text: text.slice(last, m.index), code: false });
    out.push({ text: m[1] as string, code: true });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), code: false });
  return out;
}

/**
 * An amount of the report (a decimal string) as money: two decimals, grouped, with its currency
 * (e.g. "€1,091.26", "$4,866.05"). Formatted from the string itself, so no digit is lost to
 * floating point; rounded half away from zero like the report.
 */
export function formatMoney(amount: string, currency: string): string {
  const value = amount.trim();
  if (!/^-?\d+(\.\d+)?$/.test(value)) return `${amount} ${currency}`;
  try {
    const format = new Intl.NumberFormat("en-US", { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "negative" });
    // Intl formats numeric strings exactly (ES2023); the cast is for TypeScript's older signature.
    return format.format(value as unknown as number);
  } catch {
    // A currency code Intl does not accept: the number, then the code.
    return `${new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value as unknown as number)} ${currency}`;
  }
}

/** Exact sum of decimal strings with any number of decimals (kept, not rounded: round once when shown). */
export function addDecimals(values: readonly string[]): string {
  const parsed = values.map((v) => {
    const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(v.trim());
    if (!m) throw new Error(`"${v}" is not a decimal number`);
    return { negative: Boolean(m[1]), whole: m[2] || "0", frac: m[3] ?? "" };
  });
  const scale = Math.max(0, ...parsed.map((p) => p.frac.length));
  let total = 0n;
  for (const p of parsed) {
    const v = BigInt(p.whole + p.frac.padEnd(scale, "0"));
    total += p.negative ? -v : v;
  }
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, "0");
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}
