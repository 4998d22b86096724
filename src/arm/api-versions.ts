/**
 * The resource providers this server plays, as data: each namespace's resource types with their
 * locations and the api-versions accepted for them. ONE source for two things: the api-version
 * check of every ARM request (router.ts) and the resource provider API (`/providers`,
 * providers.ts), so what `az provider show` lists is exactly what the server accepts.
 *
 * Versions cover what the current clients send (each checked by a test reading the installed
 * client): @azure/arm-resources 7–8 (2025-04-01), @azure/arm-resources-subscriptions 3 (2022-12-01),
 * @azure/arm-authorization 9 (2022-04-01), @azure/arm-managementgroups 2 (2021-04-01),
 * @azure/arm-managementpartner 3 (2018-02-01); Debian's Python SDK (resources 2022-09-01,
 * subscriptions 2021-01-01, authorization 2022-04-01, management groups 2021-04-01, managed
 * services 2022-10-01); Debian's az 2.45 (resources 2021-04-01, subscriptions 2019-11-01, role
 * assignments 2020-04-01-preview, role definitions 2018-01-01-preview); older SDK generations.
 */

export interface ProviderResourceType {
  /** As ARM writes it, e.g. "resourceGroups"; nested types with "/", e.g. "operations". */
  readonly resourceType: string;
  /** Display names of the locations; empty for global (tenant-level) types, as ARM lists them. */
  readonly locations: readonly string[];
  /** Newest first, as ARM lists them. */
  readonly apiVersions: readonly string[];
}

export interface ProviderData {
  readonly namespace: string;
  readonly resourceTypes: readonly ProviderResourceType[];
}

/** Where regional types are offered (resource groups); the demo and test worlds use these. */
export const LOCATIONS: readonly string[] = Object.freeze([
  "East US", "East US 2", "West US", "West US 2", "Central US", "North Europe", "West Europe", "UK South", "Germany West Central", "France Central",
]);

const RESOURCES_VERSIONS = ["2025-04-01", "2024-11-01", "2024-03-01", "2022-12-01", "2022-09-01", "2021-04-01", "2021-01-01", "2020-01-01", "2019-11-01", "2019-10-01", "2018-05-01", "2016-06-01"];
const MANAGEMENT_VERSIONS = ["2023-04-01", "2021-04-01", "2020-05-01"];

const type = (resourceType: string, apiVersions: readonly string[], locations: readonly string[] = []): ProviderResourceType =>
  Object.freeze({ resourceType, locations: Object.freeze([...locations]), apiVersions: Object.freeze([...apiVersions]) });

export const PROVIDER_DATA: readonly ProviderData[] = Object.freeze([
  {
    namespace: "Microsoft.ManagementPartner",
    resourceTypes: [type("partners", ["2018-02-01"]), type("operations", ["2018-02-01"])],
  },
  {
    namespace: "Microsoft.Resources",
    resourceTypes: [
      type("tenants", RESOURCES_VERSIONS),
      type("subscriptions", RESOURCES_VERSIONS),
      type("providers", RESOURCES_VERSIONS),
      type("resourceGroups", RESOURCES_VERSIONS, LOCATIONS),
    ],
  },
  {
    namespace: "Microsoft.Authorization",
    resourceTypes: [
      type("roleAssignments", ["2022-04-01", "2022-01-01-preview", "2020-04-01-preview"]),
      type("roleDefinitions", ["2022-04-01", "2022-01-01-preview", "2020-04-01-preview", "2018-01-01-preview"]),
    ],
  },
  {
    namespace: "Microsoft.Management",
    resourceTypes: [type("managementGroups", MANAGEMENT_VERSIONS)],
  },
  {
    namespace: "Microsoft.ManagedServices",
    resourceTypes: [type("registrationDefinitions", ["2022-10-01"]), type("registrationAssignments", ["2022-10-01"])],
  },
  {
    namespace: "Microsoft.OpenPAL",
    resourceTypes: [type("partnerOfRecord", ["2026-01-01"]), type("validatePartnerId", ["2026-01-01"])],
  },
].map((p) => Object.freeze({ namespace: p.namespace, resourceTypes: Object.freeze(p.resourceTypes) })));

/** The provider data of a namespace (any letter case), if the server plays it. */
export function providerData(namespace: string): ProviderData | undefined {
  const lower = namespace.toLowerCase();
  return PROVIDER_DATA.find((p) => p.namespace.toLowerCase() === lower);
}

/**
 * The api-versions accepted for a resource type of a namespace, or for the namespace as a whole
 * (every type's, newest first) when `resourceType` is absent or not one of its types.
 */
export function apiVersionsOf(namespace: string, resourceType?: string): readonly string[] {
  const data = providerData(namespace);
  if (!data) throw new Error(`No provider data for ${namespace}; add it to src/arm/api-versions.ts.`);
  const lower = resourceType?.toLowerCase();
  const one = lower === undefined ? undefined : data.resourceTypes.find((t) => t.resourceType.toLowerCase() === lower);
  if (one) return one.apiVersions;
  return Object.freeze([...new Set(data.resourceTypes.flatMap((t) => t.apiVersions))].sort().reverse());
}
