/**
 * What every report shares, Azure's and business applications' alike: the refusal a report gives
 * when it cannot be made (no run for the month, an unknown partner id), which each front end turns
 * into its own answer (the insights API a 404, the CLI its not-found exit code, the portal a
 * message), and the plain-text form of a message that marks commands as `code`.
 *
 * @example
 * throw new ReportError("no attribution results for 2026-10: run `openpal attribution run --month 2026-10` first.");
 * plainCode("run `openpal attribution run --month 2026-10` first"); // "run openpal attribution run --month 2026-10 first"
 */

/** A report that cannot be made, with a message that names the fix. */
export class ReportError extends Error {
  override readonly name = "ReportError";
}

/**
 * A message for a terminal: messages and fixes mark commands as `code` spans (Markdown inline
 * code; the portal shows them as code, --json keeps them); printed as text, the command stands
 * without the backticks, ready to copy.
 */
export function plainCode(text: string): string {
  return text.replace(/`([^`]+)`/g, "$1");
}
