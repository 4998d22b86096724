/**
 * `openpal insights …`: Partner Center's insights API (`/insights/v1/mpn`) from a terminal, signed
 * in as a partner user (a token for https://api.partnercenter.microsoft.com from the session):
 *
 *   openpal insights datasets [--name AzureUsage]
 *   openpal insights query create --name N --query "SELECT … FROM AzureUsage … TIMESPAN LAST_MONTH" [--description D]
 *   openpal insights query list [--query-id ID[;ID]] [--name N] [--system-only | --no-system]
 *   openpal insights query test (--query-id ID | --query Q) [--start-time T] [--end-time T]
 *   openpal insights query delete --query-id ID
 *   openpal insights report create --name N --query-id ID (--execute-now | --start-time T) [--interval H] [--count N] [--format csv|tsv] [--callback-url U] [--callback-method GET|POST]
 *   openpal insights report list [--report-id ID] [--query-id ID]
 *   openpal insights report pause|resume|delete --report-id ID
 *   openpal insights executions --report-id ID [--status Completed;Failed] [--all]
 *   openpal insights download --report-id ID [--execution-id ID] [--out FILE]
 *
 * Tables add `pausedReason` when a listed report was paused by the scheduler, and `errorMessage`
 * when a listed execution Failed. The download uses the execution's secure link with no token,
 * as the public scripts do.
 */
import { writeFileSync } from "node:fs";
import { Command, Option } from "commander";
import { CliError, ExitCode } from "../errors.ts";
import { formatTable } from "./managementpartner.ts";

export const PARTNER_CENTER_SCOPE = "https://api.partnercenter.microsoft.com/.default";
const BASE = "/insights/v1/mpn";

/** What the commands need of the CLI session. */
export interface InsightsSession {
  /** An authenticated call (a Partner Center token is added). */
  fetch(pathOrUrl: string, init?: RequestInit): Promise<Response>;
  /** A plain GET without a token (the secure download link). */
  download(url: string): Promise<Response>;
}

interface Envelope {
  readonly value: Record<string, unknown>[];
  readonly message: string;
  readonly statusCode: number;
}

/** One call; an error envelope becomes a CliError with the server's message. */
export async function insightsCall(session: InsightsSession, method: string, path: string, body?: unknown): Promise<Envelope> {
  let res: Response;
  try {
    res = await session.fetch(`${BASE}${path}`, { method, ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }) });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot reach the server: ${(error as Error).message}. Is it running (openpal serve)?`, ExitCode.unreachable);
  }
  const text = await res.text();
  let env: Envelope;
  try {
    env = JSON.parse(text) as Envelope;
  } catch {
    throw new CliError(`the server answered ${res.status} without the insights envelope: ${text.slice(0, 200)}`, ExitCode.failure);
  }
  if (res.status >= 400) {
    const code = res.status === 401 ? ExitCode.notSignedIn : res.status === 403 ? ExitCode.forbidden : res.status === 404 ? ExitCode.notFound : res.status < 500 ? ExitCode.usage : ExitCode.failure;
    throw new CliError(`${env.message} (${res.status})`, code);
  }
  return env;
}

const qs = (params: Record<string, string | boolean | undefined>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : "";
};

/** Downloads an execution's file by its secure link (no token); returns the text. */
export async function downloadReport(session: InsightsSession, reportId: string, executionId?: string): Promise<{ execution: Record<string, unknown>; text: string }> {
  const env = await insightsCall(session, "GET", `/ScheduledReport/execution/${encodeURIComponent(reportId)}${qs({ executionId, getLatestExecution: executionId ? "false" : undefined })}`);
  const execution = env.value[0];
  const link = execution?.reportAccessSecureLink;
  if (!execution || typeof link !== "string") throw new CliError(`report ${reportId} has no completed execution with a link yet; check \`openpal insights executions --report-id ${reportId}\`.`, ExitCode.notFound);
  const res = await session.download(link);
  const text = await res.text();
  if (res.status !== 200) throw new CliError(`the download link answered ${res.status}: ${text.slice(0, 300)}`, res.status === 410 ? ExitCode.notFound : ExitCode.failure);
  return { execution, text };
}

async function defaultSession(): Promise<InsightsSession> {
  const { openSession } = await import("../session.ts");
  const { serverFetch } = await import("../http.ts");
  const s = await openSession();
  const plain = serverFetch(s.server);
  return {
    fetch: (path, init = {}) => s.fetch(path, { ...init, scope: PARTNER_CENTER_SCOPE }),
    download: (url) => plain(url),
  };
}

const QUERY_COLUMNS = ["queryId", "name", "type", "user", "createdTime", "query"];
const REPORT_COLUMNS = ["reportId", "reportName", "queryId", "reportStatus", "startTime", "recurrenceInterval", "recurrenceCount", "format", "executeNow"];
const EXECUTION_COLUMNS = ["executionId", "executionStatus", "reportGeneratedTime", "reportExpiryTime", "reportAccessSecureLink"];
/** The table's columns, plus `extra` (last, often long) when a row has it: why a report is paused, why an execution failed. */
const withReason = (columns: readonly string[], extra: string) => (rows: readonly Record<string, unknown>[]) =>
  rows.some((r) => r[extra]) ? [...columns, extra] : columns;
const reportColumns = withReason(REPORT_COLUMNS, "pausedReason");
const executionColumns = withReason(EXECUTION_COLUMNS, "errorMessage");

export function insightsCommand(openSession: () => Promise<InsightsSession> = defaultSession, write: (text: string) => void = (t) => process.stdout.write(t)): Command {
  const cmd = new Command("insights").description("Partner Center insights API (/insights/v1/mpn): datasets, report queries, scheduled reports, executions, downloads.");
  const output = () => new Option("-o, --output <format>", "output format").choices(["json", "table"]).default("table");
  const print = (rows: readonly Record<string, unknown>[], columns: readonly string[], format: string) =>
    write(format === "json" ? JSON.stringify(rows, null, 2) + "\n" : formatTable(rows, columns));

  cmd.command("datasets").description("List the datasets with their columns, metrics and date ranges.")
    .option("--name <dataset>", "one dataset, e.g. AzureUsage")
    .addOption(output())
    .action(async (o: { name?: string; output: string }) => {
      const env = await insightsCall(await openSession(), "GET", `/ScheduledDataset${qs({ datasetName: o.name })}`);
      const rows = env.value.map((d) => ({ ...d, selectableColumns: (d.selectableColumns as string[]).join(", "), availableMetrics: (d.availableMetrics as string[]).join(", "), availableDateRanges: (d.availableDateRanges as string[]).join(", ") }));
      print(o.output === "json" ? env.value : rows, ["datasetName", "availableDateRanges", "availableMetrics", "selectableColumns"], o.output);
    });

  const query = cmd.command("query").description("Report queries: create, list, test, delete.");
  query.command("create").description("Create a report query.")
    .requiredOption("--name <name>", "query name")
    .requiredOption("--query <text>", "e.g. \"SELECT CustomerTenantId, TotalACR FROM AzureUsage TIMESPAN LAST_MONTH\"")
    .option("--description <text>", "description")
    .addOption(output())
    .action(async (o: { name: string; query: string; description?: string; output: string }) => {
      const env = await insightsCall(await openSession(), "POST", "/ScheduledQueries", { Name: o.name, Query: o.query, Description: o.description ?? "" });
      print(env.value, QUERY_COLUMNS, o.output);
    });
  query.command("list").description("List your queries and the system queries.")
    .option("--query-id <ids>", "one or more ids separated by ';'")
    .option("--name <name>", "query name")
    .option("--system-only", "only the system queries")
    .option("--no-system", "leave the system queries out")
    .addOption(output())
    .action(async (o: { queryId?: string; name?: string; systemOnly?: boolean; system: boolean; output: string }) => {
      const env = await insightsCall(await openSession(), "GET", `/ScheduledQueries${qs({ queryId: o.queryId, queryName: o.name, includeOnlySystemQueries: o.systemOnly ? true : undefined, includeSystemQueries: o.system ? undefined : false })}`);
      print(env.value, QUERY_COLUMNS, o.output);
    });
  query.command("test").description("Run a query once (up to 100 rows).")
    .option("--query-id <id>", "a saved or system query")
    .option("--query <text>", "query text instead of an id")
    .option("--start-time <time>", "override the TIMESPAN: start, yyyy-MM-ddTHH:mm:ssZ")
    .option("--end-time <time>", "override the TIMESPAN: end")
    .addOption(output())
    .action(async (o: { queryId?: string; query?: string; startTime?: string; endTime?: string; output: string }) => {
      if (!o.queryId === !o.query) throw new CliError("give --query-id or --query (one of them).", ExitCode.usage);
      const env = await insightsCall(await openSession(), "GET", `/ScheduledQueries/testQueryResult${qs({ queryId: o.queryId, exportQuery: o.query, startTime: o.startTime, endTime: o.endTime })}`);
      print(env.value, Object.keys(env.value[0] ?? {}), o.output);
    });
  query.command("delete").description("Delete one of your queries.")
    .requiredOption("--query-id <id>", "query id")
    .addOption(output())
    .action(async (o: { queryId: string; output: string }) => {
      const env = await insightsCall(await openSession(), "DELETE", `/ScheduledQueries/${encodeURIComponent(o.queryId)}`);
      print(env.value, QUERY_COLUMNS, o.output);
    });

  const report = cmd.command("report").description("Scheduled reports: create, list, pause, resume, delete.");
  report.command("create").description("Schedule a report of a query (or run it at once with --execute-now).")
    .requiredOption("--name <name>", "report name")
    .requiredOption("--query-id <id>", "query id")
    .option("--start-time <time>", "first run, at least 4 hours ahead, yyyy-MM-ddTHH:mm:ssZ")
    .option("--execute-now", "run once, now")
    .option("--interval <hours>", "recurrence interval in hours (4–2160)", "24")
    .option("--count <n>", "number of runs (default: until paused or deleted)")
    .option("--format <format>", "CSV or TSV", "CSV")
    .option("--callback-url <url>", "called when a run completes (an operator-allowed host)")
    .option("--callback-method <method>", "GET or POST", "POST")
    .option("--query-start-time <time>", "ExecuteNow only: start of the data window")
    .option("--query-end-time <time>", "ExecuteNow only: end of the data window")
    .addOption(output())
    .action(async (o: { name: string; queryId: string; startTime?: string; executeNow?: boolean; interval: string; count?: string; format: string; callbackUrl?: string; callbackMethod: string; queryStartTime?: string; queryEndTime?: string; output: string }) => {
      if (!o.executeNow && !o.startTime) throw new CliError("give --start-time (at least 4 hours ahead) or --execute-now.", ExitCode.usage);
      const env = await insightsCall(await openSession(), "POST", "/ScheduledReport", {
        ReportName: o.name, QueryId: o.queryId, StartTime: o.startTime ?? new Date().toISOString().replace(/\.\d{3}Z$/, "Z"), ExecuteNow: o.executeNow === true,
        RecurrenceInterval: Number(o.interval), ...(o.count ? { RecurrenceCount: Number(o.count) } : {}), Format: o.format,
        ...(o.callbackUrl ? { CallbackUrl: o.callbackUrl, CallbackMethod: o.callbackMethod } : {}),
        ...(o.queryStartTime ? { QueryStartTime: o.queryStartTime } : {}), ...(o.queryEndTime ? { QueryEndTime: o.queryEndTime } : {}),
      });
      print(env.value, reportColumns(env.value), o.output);
    });
  report.command("list").description("List your reports.")
    .option("--report-id <ids>", "one or more ids separated by ';'")
    .option("--query-id <ids>", "reports of these queries")
    .addOption(output())
    .action(async (o: { reportId?: string; queryId?: string; output: string }) => {
      const env = await insightsCall(await openSession(), "GET", `/ScheduledReport${qs({ reportId: o.reportId, queryId: o.queryId })}`);
      print(env.value, reportColumns(env.value), o.output);
    });
  for (const [action, method, path, description] of [
    ["pause", "PUT", "/ScheduledReport/pause/", "Pause a report's schedule."],
    ["resume", "PUT", "/ScheduledReport/resume/", "Resume a paused report at its next occurrence."],
    ["delete", "DELETE", "/ScheduledReport/", "Delete a report and its executions."],
  ] as const) {
    report.command(action).description(description)
      .requiredOption("--report-id <id>", "report id")
      .addOption(output())
      .action(async (o: { reportId: string; output: string }) => {
        const env = await insightsCall(await openSession(), method, `${path}${encodeURIComponent(o.reportId)}`);
        print(env.value, reportColumns(env.value), o.output);
      });
  }

  cmd.command("executions").description("A report's executions (default: the latest completed one).")
    .requiredOption("--report-id <id>", "report id")
    .option("--execution-id <ids>", "one or more ids separated by ';'")
    .option("--status <statuses>", "Pending, Running, Completed, Failed (';'-separated)", "Completed")
    .option("--all", "every execution of the last 90 days, not only the latest")
    .addOption(output())
    .action(async (o: { reportId: string; executionId?: string; status: string; all?: boolean; output: string }) => {
      const env = await insightsCall(await openSession(), "GET", `/ScheduledReport/execution/${encodeURIComponent(o.reportId)}${qs({ executionId: o.executionId, executionStatus: o.status, getLatestExecution: o.all ? false : undefined })}`);
      print(env.value, executionColumns(env.value), o.output);
    });

  cmd.command("download").description("Download a report's file by its secure link (no token needed).")
    .requiredOption("--report-id <id>", "report id")
    .option("--execution-id <id>", "an execution (default: the latest completed)")
    .option("--out <file>", "write to a file instead of stdout")
    .action(async (o: { reportId: string; executionId?: string; out?: string }) => {
      const { text } = await downloadReport(await openSession(), o.reportId, o.executionId);
      if (o.out) writeFileSync(o.out, text);
      else write(text);
    });
  return cmd;
}
