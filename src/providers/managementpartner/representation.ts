/**
 * The wire representation of Microsoft.ManagementPartner/partners, byte for byte as PAL-API.md
 * fixes it: object literals below are built in the documented key order, and the ARM layer
 * serialises them compactly with JSON.stringify (which keeps insertion order).
 */
import { formatArmTime } from "../../domain/time.ts";
import type { PartnerLinkState } from "../../domain/partner-link.ts";
import { apiVersionsOf } from "../../arm/api-versions.ts";

export const NAMESPACE = "Microsoft.ManagementPartner";
export const RESOURCE_TYPE = "Microsoft.ManagementPartner/partners";
export const API_VERSIONS: readonly string[] = apiVersionsOf(NAMESPACE);

/** `id` is lower case up to the partner id, as the real service answers. */
export function partnerResourceId(partnerId: string): string {
  return `/providers/microsoft.managementpartner/partners/${partnerId}`;
}

/** The canonical path of a partner resource, for audit targets. */
export function partnerResourcePath(partnerId: string): string {
  return `/providers/${NAMESPACE}/partners/${partnerId}`;
}

export interface PartnerResource {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly etag: number;
  readonly properties: {
    readonly partnerId: string;
    readonly partnerName?: string;
    readonly tenantId: string;
    readonly objectId: string;
    readonly version: number;
    readonly updatedTime: string;
    readonly createdTime: string;
    readonly state: "Active";
  };
}

/**
 * The resource for a linked state. `partnerName` is left out (not null) when the registry does
 * not know the organisation's name.
 */
export function partnerResource(tenantId: string, objectId: string, state: PartnerLinkState & { partnerId: string }, partnerName: string | undefined): PartnerResource {
  const properties: Record<string, unknown> = { partnerId: state.partnerId };
  if (partnerName !== undefined) properties.partnerName = partnerName;
  Object.assign(properties, {
    tenantId,
    objectId,
    version: state.version,
    updatedTime: formatArmTime(state.updatedTime ?? 0),
    createdTime: formatArmTime(state.createdTime ?? 0),
    state: "Active",
  });
  return {
    id: partnerResourceId(state.partnerId),
    type: RESOURCE_TYPE,
    name: state.partnerId,
    etag: state.version,
    properties: properties as PartnerResource["properties"],
  };
}

const operation = (verb: string, operationName: string, description: string) => ({
  name: `${RESOURCE_TYPE}/${verb}`,
  display: { provider: "Microsoft ManagementPartner", resource: "ManagementPartner", operation: operationName, description },
});

/** GET /operations: the four entries of the published example, one page, no nextLink. */
export const OPERATIONS = Object.freeze({
  value: [
    operation("read", "Get ManagementPartner", "Read All ManagementPartner"),
    operation("write", "Create ManagementPartner", "Create any ManagementPartner"),
    operation("action", "Update ManagementPartner", "Update any ManagementPartner"),
    operation("delete", "Delete ManagementPartner", "Delete any ManagementPartner"),
  ],
});
