/**
 * The ARM layer: what every Azure Resource Manager provider of this server shares. Public face.
 *
 * @example
 * const arm = new ArmLayer({ context, verifier: identity.verifier });
 * arm.addProvider({
 *   namespace: "Microsoft.Example", apiVersions: ["2024-01-01"],
 *   resourceTypes: [{ type: "things", collection: { GET: async (call) => ({ body: { value: [] } }) } }],
 * });
 * await arm.register(app);
 */
export { ArmLayer, JSON_CONTENT_TYPE, type ArmCall, type ArmHandler, type ArmMethod, type ArmProvider, type ArmResourceType, type ArmResult, type ArmRoute, type ArmLayerDeps } from "./router.ts";
export { ArmError, armError, errorCatalog, formatMessage, FOREIGN_PRINCIPAL_MESSAGE, type ArmErrorCode, type CatalogEntry, type ErrorEnvelope } from "./errors.ts";
export { requireApiVersion } from "./api-version.ts";
export { authenticateArmRequest, ARM_AUDIENCES } from "./auth.ts";
export { accessAt, resolveScope, CallerAccess, type ResolvedScope } from "./access.ts";
export { parseArmPath, type ArmPath } from "./path.ts";
export { jsonObject, propertiesOf, stringProperty, guidProperty, auditedWrite, parseFilter, type AuditedWrite } from "./request.ts";
