/**
 * Reading a world file: JSON or YAML text → a document, then the JSON Schema check
 * (world.schema.json, shipped with the package). Every schema problem is reported with its JSON
 * path; the semantic rules (references, intervals…) live in validate.ts and run only on a
 * document that passed this check, so they can trust the shape.
 */
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import YAML from "yaml";
import type { WorldFile, WorldProblem } from "./types.ts";

// ajv-formats is CommonJS with a default export; under NodeNext the callable is on `.default`
// when typed but on the module itself at run time.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

const SCHEMA_URL = new URL("./world.schema.json", import.meta.url);

let compiled: ValidateFunction | undefined;

/** The shipped JSON Schema of world files, parsed. */
export function worldJsonSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(SCHEMA_URL, "utf8")) as Record<string, unknown>;
}

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    compiled = ajv.compile(worldJsonSchema());
  }
  return compiled;
}

/** `/tenants/1/users/0` → `$.tenants[1].users[0]` (the path users see in every message). */
export function jsonPath(pointer: string): string {
  let out = "$";
  for (const raw of pointer.split("/").slice(1)) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

const GUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

function describe(e: ErrorObject): WorldProblem {
  const at = jsonPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return { path: `${at}.${String(p.missingProperty)}`, message: `is required; add "${String(p.missingProperty)}".` };
    case "additionalProperty":
    case "additionalProperties": {
      const allowed = Object.keys((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      return { path: `${at}.${String(p.additionalProperty)}`, message: `is not a known property; remove it or use one of ${allowed.join(", ")}.` };
    }
    case "pattern":
      if (p.pattern === GUID_PATTERN) return { path: at, message: "must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301." };
      if (p.pattern === "^[0-9]{1,10}$") return { path: at, message: "must be a partner id: digits only, e.g. 4000001." };
      if (p.pattern === "^[A-Z]{2}$") return { path: at, message: "must be an ISO 3166 two-letter country code in capitals, e.g. GB." };
      if (p.pattern === "-----BEGIN CERTIFICATE-----") return { path: at, message: "must be a PEM certificate (-----BEGIN CERTIFICATE----- …)." };
      return { path: at, message: `does not have the expected form (pattern ${String(p.pattern)}).` };
    case "format":
      return { path: at, message: `must be an ISO 8601 UTC time such as 2026-10-01T00:00:00Z.` };
    case "enum":
      return { path: at, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}.` };
    case "type":
      return { path: at, message: `must be ${String(p.type).replace(",", " or ")}.` };
    case "minLength":
      return { path: at, message: Number(p.limit) === 1 ? "must not be empty." : `must be at least ${String(p.limit)} characters long.` };
    case "maxLength":
      return { path: at, message: `must be at most ${String(p.limit)} characters long.` };
    case "minItems":
      return { path: at, message: `must have at least ${String(p.limit)} item(s).` };
    default:
      return { path: at, message: e.message ?? "is invalid." };
  }
}

/** Checks a parsed document against the schema. Returns every problem (empty when it conforms). */
export function checkWorldSchema(doc: unknown): WorldProblem[] {
  const validate = validator();
  if (validate(doc)) return [];
  const seen = new Set<string>();
  const problems: WorldProblem[] = [];
  for (const e of validate.errors ?? []) {
    // "if" only says that the chosen then/else branch failed; that branch's own error is reported.
    if (e.keyword === "if") continue;
    const p = describe(e);
    const key = `${p.path}\u0000${p.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(p);
    }
  }
  return problems;
}

export type ParsedWorld = { readonly ok: true; readonly world: WorldFile } | { readonly ok: false; readonly problems: WorldProblem[] };

/**
 * Parses world-file text (JSON, or YAML when the name ends in .yaml/.yml or the text is not JSON)
 * and checks it against the schema.
 */
export function parseWorldText(text: string, fileName = "world file"): ParsedWorld {
  let doc: unknown;
  const looksYaml = /\.ya?ml$/i.test(fileName) || !/^\s*[{[]/.test(text);
  try {
    doc = looksYaml ? YAML.parse(text) : JSON.parse(text);
  } catch (error) {
    const kind = looksYaml ? "YAML" : "JSON";
    return { ok: false, problems: [{ path: "$", message: `${fileName} is not valid ${kind}: ${(error as Error).message}` }] };
  }
  return checkWorldDocument(doc);
}

/** Schema check of an already parsed document (e.g. an HTTP body). */
export function checkWorldDocument(doc: unknown): ParsedWorld {
  if (doc === undefined || doc === null) {
    return { ok: false, problems: [{ path: "$", message: "the world file is empty; send an object such as {\"tenants\": []}." }] };
  }
  const problems = checkWorldSchema(doc);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, world: doc as WorldFile };
}
