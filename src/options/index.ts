/**
 * Server options: one typed, frozen object.
 *
 * Precedence, highest first: command-line flag > `OPENPAL_*` environment variable > config file >
 * default. Every source is validated in one pass so that a user sees every problem at once, each
 * naming the source it came from and the fix.
 *
 * @example
 * const result = resolveOptions({ flags: { port: "0" }, env: process.env, config: {} });
 * if (!result.ok) throw new Error(result.problems.join("\n"));
 */
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import type YAMLModule from "yaml";

/** yaml is loaded only when a YAML config file is read (the CLI's start stays light). */
const loadYaml = (): typeof YAMLModule => createRequire(import.meta.url)("yaml") as typeof YAMLModule;

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
export type LogFormat = "json" | "pretty";
export type StoreKind = "sqlite" | "postgres";

export interface Options {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly inMemory: boolean;
  readonly store: StoreKind;
  readonly postgresUrl: string | undefined;
  readonly world: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly publicUrl: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly tokenLifetimeSeconds: number;
  readonly config: string | undefined;
  /** Seconds a client has to send a request's headers (Node's headersTimeout). */
  readonly headersTimeoutSeconds: number;
  /** Seconds a client has to send a whole request (Node's requestTimeout). */
  readonly requestTimeoutSeconds: number;
  /** Seconds a connection may stay silent in the middle of a request. */
  readonly idleTimeoutSeconds: number;
  /** Seconds an idle keep-alive connection is kept open between requests. */
  readonly keepAliveTimeoutSeconds: number;
  /** Open connections accepted at once; further ones are closed at accept. */
  readonly maxConnections: number;
  /** File holding the key-encryption key that seals private signing keys at rest. */
  readonly keyEncryptionKeyFile: string | undefined;
  /** Hosts (host or host:port, lower case) insights report callbacks may reach; empty = none. */
  readonly insightsCallbackHosts: readonly string[];
  /** Who may read /metrics: anyone, the operator key holder, or nobody (docs/OPERATIONS.md). */
  readonly metrics: MetricsAccess;
  /** Seconds a stopping server waits for in-flight requests before closing them. */
  readonly shutdownTimeoutSeconds: number;
  /** Solutions Partner rates (exact decimal text): per MAU for Power Apps, Power Automate, Power BI; per unified profile for Customer Insights. */
  readonly bizappsRatePowerApps: string;
  readonly bizappsRatePowerAutomate: string;
  readonly bizappsRatePowerBi: string;
  readonly bizappsRateCustomerInsights: string;
}

export type MetricsAccess = "open" | "admin" | "off";

type Kind = "string" | "port" | "boolean" | "positiveInt" | "decimal" | { readonly oneOf: readonly string[] };

export interface OptionDefinition {
  readonly key: keyof Options;
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind;
  /** The default as a user reads it in docs; `undefined` means "not set". */
  readonly defaultText: string;
  readonly description: string;
}

/** The catalog of every option. The README's option table is checked against it by a test. */
export const optionDefinitions: readonly OptionDefinition[] = [
  { key: "host", flag: "--host", env: "OPENPAL_HOST", kind: "string", defaultText: "127.0.0.1", description: "Address to listen on. Use 0.0.0.0 to accept connections from other machines." },
  { key: "port", flag: "--port", env: "OPENPAL_PORT", kind: "port", defaultText: "8443", description: "TCP port for HTTPS; 0 picks a free port (the chosen URL is printed and written to server.json)." },
  { key: "dataDir", flag: "--data-dir", env: "OPENPAL_DATA_DIR", kind: "string", defaultText: "./.openpal", description: "Directory for the SQLite database, the local CA and certificate, server.json and the usage lake." },
  { key: "inMemory", flag: "--in-memory", env: "OPENPAL_IN_MEMORY", kind: "boolean", defaultText: "false", description: "Keep the store in memory (SQLite only); nothing survives a restart. The data dir still holds the certificate and server.json." },
  { key: "store", flag: "--store", env: "OPENPAL_STORE", kind: { oneOf: ["sqlite", "postgres"] }, defaultText: "sqlite", description: "Control-plane store: embedded SQLite or a PostgreSQL server." },
  { key: "postgresUrl", flag: "--postgres-url", env: "OPENPAL_POSTGRES_URL", kind: "string", defaultText: "(none)", description: "PostgreSQL connection string, e.g. postgres://user:pass@127.0.0.1:5432/openpal. Setting it implies --store postgres." },
  { key: "world", flag: "--world", env: "OPENPAL_WORLD", kind: "string", defaultText: "(none)", description: "World file (JSON or YAML) applied at start; see docs/WORLD-FILE.md." },
  { key: "cert", flag: "--cert", env: "OPENPAL_CERT", kind: "string", defaultText: "(generated)", description: "PEM certificate to serve instead of the generated one; requires --key." },
  { key: "key", flag: "--key", env: "OPENPAL_KEY", kind: "string", defaultText: "(generated)", description: "PEM private key for --cert." },
  { key: "publicUrl", flag: "--public-url", env: "OPENPAL_PUBLIC_URL", kind: "string", defaultText: "(the listening URL)", description: "Base URL clients use to reach the server (token issuer, sign-in links), when behind a proxy." },
  { key: "logLevel", flag: "--log-level", env: "OPENPAL_LOG_LEVEL", kind: { oneOf: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] }, defaultText: "info", description: "Minimum level of log lines." },
  { key: "logFormat", flag: "--log-format", env: "OPENPAL_LOG_FORMAT", kind: { oneOf: ["json", "pretty"] }, defaultText: "pretty on a terminal, else json", description: "Log line format." },
  { key: "tokenLifetimeSeconds", flag: "--token-lifetime", env: "OPENPAL_TOKEN_LIFETIME", kind: "positiveInt", defaultText: "3600", description: "Lifetime of issued access tokens, in seconds." },
  { key: "headersTimeoutSeconds", flag: "--headers-timeout", env: "OPENPAL_HEADERS_TIMEOUT", kind: "positiveInt", defaultText: "20", description: "Seconds a client has to send a request's headers; slower connections get 408 and are closed." },
  { key: "requestTimeoutSeconds", flag: "--request-timeout", env: "OPENPAL_REQUEST_TIMEOUT", kind: "positiveInt", defaultText: "120", description: "Seconds a client has to send a whole request (headers and body); at least --headers-timeout." },
  { key: "idleTimeoutSeconds", flag: "--idle-timeout", env: "OPENPAL_IDLE_TIMEOUT", kind: "positiveInt", defaultText: "60", description: "Seconds a connection may stay silent in the middle of a request before it is closed." },
  { key: "keepAliveTimeoutSeconds", flag: "--keep-alive-timeout", env: "OPENPAL_KEEP_ALIVE_TIMEOUT", kind: "positiveInt", defaultText: "72", description: "Seconds an idle keep-alive connection stays open between requests (above a load balancer's idle timeout)." },
  { key: "maxConnections", flag: "--max-connections", env: "OPENPAL_MAX_CONNECTIONS", kind: "positiveInt", defaultText: "4096", description: "Connections open at once; further ones are closed on accept until others end." },
  { key: "keyEncryptionKeyFile", flag: "--key-encryption-key-file", env: "OPENPAL_KEY_ENCRYPTION_KEY_FILE", kind: "string", defaultText: "(data dir's kek.key)", description: "File with the 32-byte key (base64) that encrypts private signing keys at rest; share it between servers on one PostgreSQL. OPENPAL_KEY_ENCRYPTION_KEY (the key itself) takes precedence." },
  { key: "insightsCallbackHosts", flag: "--insights-callback-hosts", env: "OPENPAL_INSIGHTS_CALLBACK_HOSTS", kind: "string", defaultText: "(none)", description: "Comma-separated hosts (host or host:port) that Partner Center insights report callbacks (CallbackUrl) may reach; callbacks to any other host are refused. See docs/PARTNER-INSIGHTS-API.md." },
  { key: "metrics", flag: "--metrics", env: "OPENPAL_METRICS", kind: { oneOf: ["open", "admin", "off"] }, defaultText: "admin", description: "Access to /metrics (Prometheus text format): open to anyone, admin (Authorization: Bearer <admin key>) or off (404)." },
  { key: "shutdownTimeoutSeconds", flag: "--shutdown-timeout", env: "OPENPAL_SHUTDOWN_TIMEOUT", kind: "positiveInt", defaultText: "10", description: "On SIGTERM/SIGINT, seconds to let in-flight requests finish before their connections are closed." },
  { key: "bizappsRatePowerApps", flag: "--bizapps-rate-power-apps", env: "OPENPAL_BIZAPPS_RATE_POWER_APPS", kind: "decimal", defaultText: "200", description: "Solutions Partner rate per monthly active user of a Power Apps app: MonthlyConsumptionValue = MAU × rate (business-applications attribution, docs/POWER-PLATFORM.md)." },
  { key: "bizappsRatePowerAutomate", flag: "--bizapps-rate-power-automate", env: "OPENPAL_BIZAPPS_RATE_POWER_AUTOMATE", kind: "decimal", defaultText: "200", description: "Solutions Partner rate per monthly active user of a Power Automate flow." },
  { key: "bizappsRatePowerBi", flag: "--bizapps-rate-power-bi", env: "OPENPAL_BIZAPPS_RATE_POWER_BI", kind: "decimal", defaultText: "200", description: "Solutions Partner rate per monthly active user of a Power BI dataset." },
  { key: "bizappsRateCustomerInsights", flag: "--bizapps-rate-customer-insights", env: "OPENPAL_BIZAPPS_RATE_CUSTOMER_INSIGHTS", kind: "decimal", defaultText: "0.2", description: "Solutions Partner rate per unified profile of a Customer Insights instance." },
  { key: "config", flag: "--config", env: "OPENPAL_CONFIG", kind: "string", defaultText: "(none)", description: "Config file (JSON or YAML) whose keys are the option names in camelCase, e.g. {\"port\": 9443}." },
];

export type RawValue = string | boolean | number | undefined;

export interface OptionSources {
  /** Values from command-line flags, keyed by option key. */
  readonly flags: Readonly<Partial<Record<keyof Options, RawValue>>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Parsed config file contents (already read), or `{}`. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Name of the config file, for messages. */
  readonly configName?: string;
  /** Whether stdout is a terminal (chooses the default log format). */
  readonly isTty?: boolean;
}

export type OptionsResult =
  | { readonly ok: true; readonly options: Options }
  | { readonly ok: false; readonly problems: readonly string[] };

function parseValue(def: OptionDefinition, raw: RawValue, source: string): { value?: unknown; problem?: string } {
  const name = `${def.flag} (from ${source})`;
  const kind = def.kind;
  if (kind === "boolean") {
    if (typeof raw === "boolean") return { value: raw };
    const s = String(raw).toLowerCase();
    if (["1", "true", "yes", "on"].includes(s)) return { value: true };
    if (["0", "false", "no", "off"].includes(s)) return { value: false };
    return { problem: `${name}: "${String(raw)}" is not a boolean; use true or false.` };
  }
  if (kind === "port" || kind === "positiveInt") {
    const s = String(raw).trim();
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(n)) {
      return { problem: `${name}: "${String(raw)}" is not a whole number.` };
    }
    if (kind === "port" && n > 65535) return { problem: `${name}: ${n} is not a TCP port; use 0 to 65535 (0 picks a free port).` };
    if (kind === "positiveInt" && n < 1) return { problem: `${name}: must be at least 1.` };
    return { value: n };
  }
  if (kind === "decimal") {
    const s = String(raw).trim();
    if (!/^\d+(\.\d+)?$/.test(s)) return { problem: `${name}: "${String(raw)}" is not a non-negative decimal number; use e.g. 200 or 0.2.` };
    return { value: s };
  }
  if (typeof kind === "object") {
    const s = String(raw);
    if (!kind.oneOf.includes(s)) return { problem: `${name}: "${s}" is not allowed; use one of ${kind.oneOf.join(", ")}.` };
    return { value: s };
  }
  const s = String(raw);
  if (s.trim() === "") return { problem: `${name}: is empty; give a value or leave the option out.` };
  return { value: s };
}

/** Resolves and validates options from all sources. Pure: reads nothing. */
export function resolveOptions(sources: OptionSources): OptionsResult {
  const problems: string[] = [];
  const known = new Set(optionDefinitions.map((d) => d.key as string));
  for (const key of Object.keys(sources.config)) {
    if (!known.has(key)) {
      problems.push(`config file ${sources.configName ?? ""}: unknown key "${key}"; known keys are ${[...known].join(", ")}.`.replace("  ", " "));
    }
  }
  const values: Record<string, unknown> = {};
  for (const def of optionDefinitions) {
    let raw: RawValue;
    let source = "";
    const flag = sources.flags[def.key];
    const env = sources.env[def.env];
    const conf = sources.config[def.key];
    if (flag !== undefined) {
      raw = flag;
      source = `flag ${def.flag}`;
    } else if (env !== undefined && env !== "") {
      raw = env;
      source = `environment ${def.env}`;
    } else if (conf !== undefined && conf !== null) {
      if (typeof conf === "object") {
        problems.push(`config file key "${def.key}": must be a string, number or boolean.`);
        continue;
      }
      raw = conf as RawValue;
      source = `config file key "${def.key}"`;
    }
    if (raw === undefined) continue;
    const parsed = parseValue(def, raw, source);
    if (parsed.problem) problems.push(parsed.problem);
    else values[def.key] = parsed.value;
  }

  const postgresUrl = values.postgresUrl as string | undefined;
  const store = (values.store as StoreKind | undefined) ?? (postgresUrl ? "postgres" : "sqlite");
  if (store === "postgres" && !postgresUrl) {
    problems.push("--store postgres needs --postgres-url (or OPENPAL_POSTGRES_URL), e.g. postgres://user:pass@127.0.0.1:5432/openpal.");
  }
  if (postgresUrl && !/^postgres(ql)?:\/\//.test(postgresUrl)) {
    problems.push(`--postgres-url: "${postgresUrl.replace(/\/\/[^@]*@/, "//***@")}" must start with postgres:// or postgresql://.`);
  }
  if (store === "postgres" && values.inMemory === true) {
    problems.push("--in-memory works only with the embedded store; drop --in-memory or use --store sqlite.");
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    problems.push("--cert and --key go together: give both (PEM files) or neither to use the generated certificate.");
  }
  const publicUrl = values.publicUrl as string | undefined;
  if (publicUrl !== undefined) {
    let ok = false;
    try {
      ok = new URL(publicUrl).protocol === "https:";
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`--public-url: "${publicUrl}" must be an absolute https:// URL.`);
  }
  const headersTimeout = (values.headersTimeoutSeconds as number | undefined) ?? 20;
  const requestTimeout = (values.requestTimeoutSeconds as number | undefined) ?? 120;
  if (headersTimeout > requestTimeout) {
    problems.push(`--headers-timeout (${headersTimeout}) must not exceed --request-timeout (${requestTimeout}); raise --request-timeout or lower --headers-timeout.`);
  }
  if (problems.length > 0) return { ok: false, problems };

  const options: Options = Object.freeze({
    host: (values.host as string | undefined) ?? "127.0.0.1",
    port: (values.port as number | undefined) ?? 8443,
    dataDir: path.resolve((values.dataDir as string | undefined) ?? "./.openpal"),
    inMemory: (values.inMemory as boolean | undefined) ?? false,
    store,
    postgresUrl,
    world: values.world as string | undefined,
    cert: values.cert as string | undefined,
    key: values.key as string | undefined,
    publicUrl: publicUrl?.replace(/\/+$/, ""),
    logLevel: (values.logLevel as LogLevel | undefined) ?? "info",
    logFormat: (values.logFormat as LogFormat | undefined) ?? (sources.isTty ? "pretty" : "json"),
    tokenLifetimeSeconds: (values.tokenLifetimeSeconds as number | undefined) ?? 3600,
    config: values.config as string | undefined,
    headersTimeoutSeconds: headersTimeout,
    requestTimeoutSeconds: requestTimeout,
    idleTimeoutSeconds: (values.idleTimeoutSeconds as number | undefined) ?? 60,
    keepAliveTimeoutSeconds: (values.keepAliveTimeoutSeconds as number | undefined) ?? 72,
    maxConnections: (values.maxConnections as number | undefined) ?? 4096,
    keyEncryptionKeyFile: values.keyEncryptionKeyFile === undefined ? undefined : path.resolve(values.keyEncryptionKeyFile as string),
    insightsCallbackHosts: Object.freeze(((values.insightsCallbackHosts as string | undefined) ?? "").split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== "")),
    metrics: (values.metrics as MetricsAccess | undefined) ?? "admin",
    shutdownTimeoutSeconds: (values.shutdownTimeoutSeconds as number | undefined) ?? 10,
    bizappsRatePowerApps: (values.bizappsRatePowerApps as string | undefined) ?? "200",
    bizappsRatePowerAutomate: (values.bizappsRatePowerAutomate as string | undefined) ?? "200",
    bizappsRatePowerBi: (values.bizappsRatePowerBi as string | undefined) ?? "200",
    bizappsRateCustomerInsights: (values.bizappsRateCustomerInsights as string | undefined) ?? "0.2",
  });
  return { ok: true, options };
}

/** The business-applications rates of resolved options (src/domain/bizapps.ts `BizappsRates`). */
export function bizappsRatesOf(o: Options): { PowerApps: string; PowerAutomate: string; PowerBI: string; CustomerInsights: string } {
  return { PowerApps: o.bizappsRatePowerApps, PowerAutomate: o.bizappsRatePowerAutomate, PowerBI: o.bizappsRatePowerBi, CustomerInsights: o.bizappsRateCustomerInsights };
}

/** Reads the config file named by flag or environment (if any) and resolves options. */
export function loadOptions(
  flags: OptionSources["flags"],
  env: OptionSources["env"] = process.env,
  isTty: boolean = process.stdout.isTTY === true,
): OptionsResult {
  const configPath = (flags.config as string | undefined) ?? env.OPENPAL_CONFIG;
  let config: Record<string, unknown> = {};
  if (configPath) {
    if (!existsSync(configPath)) {
      return { ok: false, problems: [`--config: file ${configPath} does not exist; create it or drop --config.`] };
    }
    try {
      const text = readFileSync(configPath, "utf8");
      const parsed: unknown = /\.ya?ml$/i.test(configPath) ? loadYaml().parse(text) : JSON.parse(text);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        return { ok: false, problems: [`config file ${configPath}: must be an object of option names to values.`] };
      }
      config = parsed as Record<string, unknown>;
    } catch (error) {
      return { ok: false, problems: [`config file ${configPath}: cannot be parsed (${(error as Error).message}).`] };
    }
  }
  return resolveOptions({ flags, env, config, configName: configPath, isTty });
}

/** Options for tests and embedding: defaults plus overrides, validated the same way. */
export function testOptions(overrides: Partial<Record<keyof Options, RawValue>> = {}): Options {
  const result = resolveOptions({ flags: overrides, env: {}, config: {}, isTty: false });
  if (!result.ok) throw new Error(`invalid options:\n${result.problems.join("\n")}`);
  return result.options;
}
