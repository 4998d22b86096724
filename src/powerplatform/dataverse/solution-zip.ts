/**
 * Reading a Dataverse solution file: a zip holding `solution.xml` (the manifest: unique name,
 * version, managed, root components) and `customizations.xml` (the components' definitions, from
 * which display names are taken), as `pac solution pack` and the maker portal's export write them.
 *
 * Only what ownership needs is read: canvas apps (component type 300), model-driven apps (80) and
 * cloud flows (29). Other root components (tables, option sets…) are counted and ignored. A file
 * that is not such a zip is refused with a message that names what is wrong; the caller changes
 * nothing.
 */
import { unzipSync } from "fflate";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { componentKindOfCode, type SolutionComponentKind } from "../../domain/power-platform/index.ts";

export interface SolutionRootComponent {
  readonly kind: SolutionComponentKind;
  /** The component's GUID when the manifest gives one (flows, model-driven apps). */
  readonly id: string | null;
  /** The schema name (canvas apps, model-driven apps). */
  readonly schemaName: string | null;
  readonly displayName: string | null;
}

export interface SolutionManifest {
  readonly uniqueName: string;
  readonly friendlyName: string;
  readonly version: string;
  readonly managed: boolean;
  readonly publisher: string | null;
  readonly components: readonly SolutionRootComponent[];
  /** Root components of kinds that carry no ownership credit (tables, …). */
  readonly otherComponents: number;
}

export type SolutionRead = { readonly ok: true; readonly manifest: SolutionManifest } | { readonly ok: false; readonly message: string };

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", parseAttributeValue: false, parseTagValue: false, trimValues: true });

type Node = Record<string, unknown>;
const asArray = (v: unknown): Node[] => (v === undefined || v === null ? [] : (Array.isArray(v) ? v : [v]).filter((x): x is Node => typeof x === "object" && x !== null));
const text = (v: unknown): string | null => {
  if (typeof v === "string") return v.trim() || null;
  if (typeof v === "number") return String(v);
  if (v && typeof v === "object" && "#text" in v) return text((v as Node)["#text"]);
  return null;
};
const bareGuid = (v: string | null): string | null => {
  if (!v) return null;
  const g = v.replace(/[{}]/g, "").toLowerCase();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(g) ? g : null;
};

function fileIn(files: Record<string, Uint8Array>, name: string): Uint8Array | undefined {
  const key = Object.keys(files).find((k) => k.replace(/^\/+/, "").toLowerCase() === name);
  return key === undefined ? undefined : files[key];
}

function parseXml(bytes: Uint8Array, name: string): { ok: true; doc: Node } | { ok: false; message: string } {
  const xml = new TextDecoder("utf-8").decode(bytes).replace(/^\uFEFF/, "");
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return { ok: false, message: `${name} in the solution file is not well-formed XML (line ${valid.err.line}: ${valid.err.msg}); export the solution again.` };
  return { ok: true, doc: parser.parse(xml) as Node };
}

/** Reads a solution zip's manifest. Never throws on bad input; returns why it is refused. */
export function readSolutionZip(bytes: Uint8Array): SolutionRead {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    return { ok: false, message: "The solution file is not a zip archive. Send the .zip that 'pac solution export' or the maker portal's Export writes, base64-encoded in CustomizationFile." };
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    return { ok: false, message: `The solution file is a damaged zip archive (${(error as Error).message}); export the solution again.` };
  }
  const solutionXml = fileIn(files, "solution.xml");
  if (!solutionXml) return { ok: false, message: "The solution file has no solution.xml at its root, so it is not a Dataverse solution; export the solution again." };
  const parsed = parseXml(solutionXml, "solution.xml");
  if (!parsed.ok) return parsed;
  const manifestNode = (parsed.doc.ImportExportXml as Node | undefined)?.SolutionManifest as Node | undefined;
  if (!manifestNode) return { ok: false, message: "solution.xml has no ImportExportXml/SolutionManifest element; it is not a solution manifest." };
  const uniqueName = text(manifestNode.UniqueName);
  if (!uniqueName || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(uniqueName)) {
    return { ok: false, message: "solution.xml's SolutionManifest/UniqueName is missing or not a valid unique name (letters, digits and underscores)." };
  }
  const version = text(manifestNode.Version);
  if (!version || !/^\d+(\.\d+){1,3}$/.test(version)) return { ok: false, message: `solution.xml's SolutionManifest/Version is missing or not a version such as 1.0.0.0.` };
  const managedText = text(manifestNode.Managed);
  if (managedText !== "0" && managedText !== "1" && managedText !== "2") return { ok: false, message: "solution.xml's SolutionManifest/Managed must be 0 (unmanaged) or 1 (managed)." };
  const localized = asArray((manifestNode.LocalizedNames as Node | undefined)?.LocalizedName);
  const friendlyName = (localized[0]?.["@description"] as string | undefined) ?? uniqueName;
  const publisher = text((manifestNode.Publisher as Node | undefined)?.UniqueName);

  const names = displayNames(files);
  if (!names.ok) return names;
  const components: SolutionRootComponent[] = [];
  let otherComponents = 0;
  for (const rc of asArray((manifestNode.RootComponents as Node | undefined)?.RootComponent)) {
    const kind = componentKindOfCode(Number(rc["@type"]));
    if (!kind) {
      otherComponents++;
      continue;
    }
    const id = bareGuid((rc["@id"] as string | undefined) ?? null);
    const schemaName = (rc["@schemaName"] as string | undefined) ?? null;
    if (!id && !schemaName) return { ok: false, message: `solution.xml has a RootComponent of type ${String(rc["@type"])} with neither id nor schemaName; it cannot be identified.` };
    components.push({ kind, id, schemaName, displayName: (id && names.byId.get(id)) ?? (schemaName && names.bySchema.get(schemaName.toLowerCase())) ?? null });
  }
  return { ok: true, manifest: { uniqueName, friendlyName, version, managed: managedText !== "0", publisher, components, otherComponents } };
}

/** Display names from customizations.xml (optional in the zip). */
function displayNames(files: Record<string, Uint8Array>): { ok: true; byId: Map<string, string>; bySchema: Map<string, string> } | { ok: false; message: string } {
  const byId = new Map<string, string>();
  const bySchema = new Map<string, string>();
  const bytes = fileIn(files, "customizations.xml");
  if (!bytes) return { ok: true, byId, bySchema };
  const parsed = parseXml(bytes, "customizations.xml");
  if (!parsed.ok) return parsed;
  const root = (parsed.doc.ImportExportXml ?? {}) as Node;
  for (const w of asArray((root.Workflows as Node | undefined)?.Workflow)) {
    const id = bareGuid((w["@WorkflowId"] as string | undefined) ?? null);
    const name = (w["@Name"] as string | undefined) ?? null;
    if (id && name) byId.set(id, name);
  }
  for (const c of asArray((root.CanvasApps as Node | undefined)?.CanvasApp)) {
    const schema = text(c.Name);
    const name = text(c.DisplayName);
    if (schema && name) bySchema.set(schema.toLowerCase(), name);
  }
  for (const m of asArray((root.AppModules as Node | undefined)?.AppModule)) {
    const schema = text(m.UniqueName);
    const name = asArray((m.LocalizedNames as Node | undefined)?.LocalizedName)[0]?.["@description"] as string | undefined;
    const id = bareGuid(text(m.AppModuleId) ?? null);
    if (schema && name) bySchema.set(schema.toLowerCase(), name);
    if (id && name) byId.set(id, name);
  }
  return { ok: true, byId, bySchema };
}
