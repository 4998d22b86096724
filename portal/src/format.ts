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
