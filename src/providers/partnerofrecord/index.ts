/**
 * The partner-of-record provider (DPOR), an OpenPAL extension in ARM's shape under the namespace
 * Microsoft.OpenPAL (Azure exposes DPOR only in its portal). Public face:
 *   GET|PUT|DELETE /subscriptions/{s}/providers/Microsoft.OpenPAL/partnerOfRecord/default
 *   POST           /providers/Microsoft.OpenPAL/validatePartnerId
 */
import type { ArmProvider } from "../../arm/index.ts";
import { partnerOfRecordHandlers, type PartnerOfRecordDeps } from "./handlers.ts";
import { API_VERSIONS, NAMESPACE } from "./representation.ts";

export { API_VERSIONS as PARTNER_OF_RECORD_API_VERSIONS, partnerOfRecordPath, partnerOfRecordResource } from "./representation.ts";
export type { PartnerOfRecordDeps } from "./handlers.ts";

export function partnerOfRecordProvider(deps: PartnerOfRecordDeps): ArmProvider {
  const h = partnerOfRecordHandlers(deps);
  return {
    namespace: NAMESPACE,
    apiVersions: API_VERSIONS,
    resourceTypes: [
      { type: "partnerOfRecord", scopes: ["subscription"], item: { GET: h.get, PUT: h.put, DELETE: h.delete } },
      { type: "validatePartnerId", scopes: ["root"], collection: { POST: h.validate } },
    ],
  };
}
