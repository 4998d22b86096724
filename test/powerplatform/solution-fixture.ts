/**
 * Builds real solution zips (solution.xml + customizations.xml + [Content_Types].xml) as
 * `pac solution pack` lays them out, for tests.
 */
import { strToU8, zipSync } from "fflate";

export interface FixtureComponent {
  readonly type: 300 | 80 | 29 | 1;
  readonly id?: string;
  readonly schemaName?: string;
  readonly displayName?: string;
}

export function solutionXml(o: { uniqueName: string; version?: string; managed?: boolean; components: readonly FixtureComponent[] }): string {
  const roots = o.components.map((c) => `      <RootComponent type="${c.type}"${c.id ? ` id="{${c.id}}"` : ""}${c.schemaName ? ` schemaName="${c.schemaName}"` : ""} behavior="0" />`).join("\n");
  return `<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml version="9.2.24054.205" SolutionPackageVersion="9.2" languagecode="1033" generatedBy="CrmLive" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <SolutionManifest>
    <UniqueName>${o.uniqueName}</UniqueName>
    <LocalizedNames>
      <LocalizedName description="${o.uniqueName.replace(/_/g, " ")}" languagecode="1033" />
    </LocalizedNames>
    <Descriptions />
    <Version>${o.version ?? "1.0.0.0"}</Version>
    <Managed>${o.managed === false ? 0 : 1}</Managed>
    <Publisher>
      <UniqueName>contoso</UniqueName>
      <LocalizedNames><LocalizedName description="Contoso" languagecode="1033" /></LocalizedNames>
      <CustomizationPrefix>cr123</CustomizationPrefix>
    </Publisher>
    <RootComponents>
${roots}
    </RootComponents>
    <MissingDependencies />
  </SolutionManifest>
</ImportExportXml>
`;
}

export function customizationsXml(components: readonly FixtureComponent[]): string {
  const flows = components.filter((c) => c.type === 29 && c.id).map((c) => `    <Workflow WorkflowId="{${c.id}}" Name="${c.displayName ?? "Flow"}"><Category>5</Category></Workflow>`).join("\n");
  const apps = components.filter((c) => c.type === 300).map((c) => `    <CanvasApp><Name>${c.schemaName}</Name><DisplayName>${c.displayName ?? c.schemaName}</DisplayName></CanvasApp>`).join("\n");
  return `<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Entities />
  <Workflows>
${flows}
  </Workflows>
  <CanvasApps>
${apps}
  </CanvasApps>
</ImportExportXml>
`;
}

/** A solution zip, as bytes. */
export function solutionZip(o: { uniqueName: string; version?: string; managed?: boolean; components: readonly FixtureComponent[] }): Uint8Array {
  return zipSync({
    "[Content_Types].xml": strToU8('<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/octet-stream" /></Types>'),
    "solution.xml": strToU8(solutionXml(o)),
    "customizations.xml": strToU8(customizationsXml(o.components)),
  });
}

/** A zip with arbitrary files (for malformed cases). */
export function zipOf(files: Record<string, string>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])));
}
