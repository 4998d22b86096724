/**
 * The one error catalog of the ARM layer and its providers: code, HTTP status, message template,
 * envelope and docs anchor. Everything that answers an ARM request with an error goes through
 * `armError(code, params)`; docs/API.md lists the same codes (a test checks both agree).
 *
 * Envelopes (PAL-API.md): errors of the ARM layer itself carry only `{"error":{code,message}}`;
 * provider errors repeat code and message at top level, because some SDK generations read the
 * top-level pair and Az PowerShell reads `error.message`.
 */

export type ErrorEnvelope = "arm" | "provider";

export interface CatalogEntry {
  readonly status: number;
  /** `{name}` placeholders are filled from the factory's params. */
  readonly message: string;
  readonly envelope: ErrorEnvelope;
}

/** Message of the 403 for principals without an object in the tenant (PAL-API.md, exact text). */
export const FOREIGN_PRINCIPAL_MESSAGE =
  "The user does not have an account in this tenant, work with the administrator to add the account. If you are a CSP partner logged in the customer tenant, you will not be able to link the Partner ID";

export const errorCatalog = {
  // --- ARM layer ---------------------------------------------------------------------------
  MissingApiVersionParameter: {
    status: 400, envelope: "arm",
    message: "The api-version query parameter (?api-version=) is required for all requests.",
  },
  NoRegisteredProviderFound: {
    status: 400, envelope: "arm",
    message: "No registered resource provider found for API version '{apiVersion}' and type '{type}'. The supported api-versions are '{supported}'. Use ?api-version={latest}.",
  },
  InvalidApiVersionParameter: {
    status: 400, envelope: "arm",
    message: "The api-version '{apiVersion}' is invalid. The supported versions are '{supported}'.",
  },
  ProviderUnregistrationNotSupported: {
    status: 409, envelope: "arm",
    message: "The resource provider '{namespace}' cannot be unregistered on this server: the providers it plays are registered on every subscription. Leave it registered; there is nothing to clean up.",
  },
  InvalidResourceNamespace: {
    status: 400, envelope: "arm",
    message: "The resource namespace '{namespace}' is invalid. This server registers: {registered}.",
  },
  InvalidResourceType: {
    status: 404, envelope: "arm",
    message: "The resource type '{type}' could not be found in the namespace '{namespace}' for api version '{apiVersion}'. Types: {types}.",
  },
  HttpMethodNotAllowed: {
    status: 405, envelope: "arm",
    message: "The HTTP method '{method}' is not supported for '{path}'. Use one of: {allowed}.",
  },
  AuthenticationFailed: {
    status: 401, envelope: "arm",
    message: "Authentication failed. The 'Authorization' header {problem}. Send 'Authorization: Bearer <access token for https://management.azure.com/>'.",
  },
  InvalidAuthenticationToken: {
    status: 401, envelope: "arm",
    message: "The access token is invalid. {reason} Get a token from this server for https://management.azure.com/ and retry.",
  },
  ExpiredAuthenticationToken: {
    status: 401, envelope: "arm",
    message: "The access token expiry UTC time '{expiry}' is earlier than current UTC time '{now}'. Get a new token and retry.",
  },
  InternalServerError: {
    status: 500, envelope: "arm",
    message: "The server hit an unexpected error; the request id is {requestId}.",
  },
  InvalidRequestUri: {
    status: 400, envelope: "arm",
    message: "The request URI '{path}' is not valid: {reason}.",
  },
  InvalidRequestContent: {
    status: 400, envelope: "arm",
    message: "The request content was invalid and could not be deserialized: {reason}",
  },
  InvalidFilter: {
    status: 400, envelope: "arm",
    message: "The $filter '{filter}' is not supported here. Supported: {supported}.",
  },
  AuthorizationFailed: {
    status: 403, envelope: "arm",
    message: "The client '{client}' with object id '{objectId}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials. {fix}",
  },
  InvalidAuthenticationTokenTenant: {
    status: 401, envelope: "arm",
    message: "The access token is from the wrong issuer '{issuer}'. It must match the tenant '{tenantId}' associated with this subscription. Please use the authority (URL) '{authority}' to get the token.",
  },
  SubscriptionNotFound: {
    status: 404, envelope: "arm",
    message: "The subscription '{subscriptionId}' could not be found.",
  },
  ResourceGroupNotFound: {
    status: 404, envelope: "arm",
    message: "Resource group '{name}' could not be found.",
  },
  // --- Microsoft.Authorization ---------------------------------------------------------------
  RoleAssignmentNotFound: {
    status: 404, envelope: "arm",
    message: "The role assignment '{name}' is not found.",
  },
  RoleAssignmentExists: {
    status: 409, envelope: "arm",
    message: "The role assignment already exists. {detail}",
  },
  RoleAssignmentUpdateNotPermitted: {
    status: 409, envelope: "arm",
    message: "Tenant ID, application ID, principal ID, and scope are not allowed to be updated. Delete role assignment '{name}' and create a new one.",
  },
  InvalidRoleAssignmentId: {
    status: 400, envelope: "arm",
    message: "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.",
  },
  RoleDefinitionDoesNotExist: {
    status: 400, envelope: "arm",
    message: "The specified role definition with ID '{id}' does not exist. Use a built-in role (e.g. /providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7, Reader) or a custom role of tenant '{tenantId}'.",
  },
  RoleDefinitionNotFound: {
    status: 404, envelope: "arm",
    message: "The role definition '{id}' could not be found.",
  },
  PrincipalNotFound: {
    status: 400, envelope: "arm",
    message: "Principal {principalId} does not exist in the directory {tenantId}. Check that you have the correct principal ID.",
  },
  UnmatchedPrincipalType: {
    status: 400, envelope: "arm",
    message: "The PrincipalId '{principalId}' has type '{actual}', which is different from specified PrincipalType '{given}'.",
  },
  // --- Microsoft.Resources -------------------------------------------------------------------
  LocationRequired: {
    status: 400, envelope: "arm",
    message: "The location property is required for this definition. Send {\"location\":\"westeurope\"}.",
  },
  InvalidResourceGroupLocation: {
    status: 409, envelope: "arm",
    message: "Invalid resource group location '{given}'. The Resource group already exists in location '{existing}'.",
  },
  // --- Microsoft.Management -----------------------------------------------------------------
  ManagementGroupNotFound: {
    status: 404, envelope: "arm",
    message: "The management group '{name}' could not be found in tenant '{tenantId}'.",
  },
  InvalidManagementGroupParent: {
    status: 400, envelope: "arm",
    message: "Management group '{name}' cannot be placed under '{parent}': {reason}",
  },
  // --- Microsoft.ManagedServices -------------------------------------------------------------
  RegistrationDefinitionNotFound: {
    status: 404, envelope: "arm",
    message: "The registration definition '{name}' could not be found.",
  },
  RegistrationAssignmentNotFound: {
    status: 404, envelope: "arm",
    message: "The registration assignment '{name}' could not be found.",
  },
  InvalidRegistrationDefinition: {
    status: 400, envelope: "arm",
    message: "The registration definition is not valid: {reason}",
  },
  InvalidRegistrationAssignment: {
    status: 400, envelope: "arm",
    message: "The registration assignment is not valid: {reason}",
  },
  RegistrationDefinitionInUse: {
    status: 409, envelope: "arm",
    message: "Registration definition '{name}' is still assigned; delete its registration assignments first.",
  },
  RegistrationAssignmentUpdateNotPermitted: {
    status: 409, envelope: "arm",
    message: "Registration assignment '{name}' exists for another scope or definition; delete it first.",
  },
  // --- Microsoft.OpenPAL (partner of record, an OpenPAL extension) ---------------------------
  DporNotEnterpriseAgreement: {
    status: 400, envelope: "arm",
    message: "The partner of record cannot be changed: {reason}",
  },
  DporNotAccountOwner: {
    status: 403, envelope: "arm",
    message: "The partner of record cannot be changed by '{objectId}': {reason}",
  },
  // --- Microsoft.ManagementPartner ----------------------------------------------------------
  PartnerIdInvalid: {
    status: 400, envelope: "provider",
    message: "The Partner ID is not valid{detail}",
  },
  PartnerAlreadyLinked: {
    status: 409, envelope: "provider",
    message: "This user or service principal is already linked with Partner ID '{linkedId}'. To change it, send PATCH to /providers/Microsoft.ManagementPartner/partners/{requestedId} (az managementpartner update --partner-id {requestedId}).",
  },
  ManagementPartnerNotFound: {
    status: 404, envelope: "provider",
    message: "This user or service principal is not linked with a Partner ID",
  },
  PrincipalNotInTenant: {
    status: 403, envelope: "provider",
    message: FOREIGN_PRINCIPAL_MESSAGE,
  },
  PrincipalDisabled: {
    status: 403, envelope: "provider",
    message: "The account '{objectId}' is disabled in tenant '{tenantId}'. Ask an administrator of the tenant to enable it, then retry.",
  },
} as const satisfies Record<string, CatalogEntry>;

export type ArmErrorCode = keyof typeof errorCatalog;

/** An error answer of the ARM layer or a provider; `toBody()` gives its exact JSON. */
export class ArmError extends Error {
  readonly code: ArmErrorCode;
  readonly status: number;
  readonly envelope: ErrorEnvelope;
  /** Extra response headers, e.g. WWW-Authenticate on 401s. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ArmErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    const entry: CatalogEntry = errorCatalog[code];
    this.code = code;
    this.status = entry.status;
    this.envelope = entry.envelope;
    this.headers = headers;
  }

  toBody(): string {
    const error = { code: this.code, message: this.message };
    return JSON.stringify(this.envelope === "provider" ? { error, code: this.code, message: this.message } : { error });
  }
}

/** Fills a catalog template; a placeholder without a value is left visible rather than dropped. */
export function formatMessage(template: string, params: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The factory: `throw armError("ManagementPartnerNotFound")`. */
export function armError(code: ArmErrorCode, params: Readonly<Record<string, string | number>> = {}, headers: Record<string, string> = {}): ArmError {
  return new ArmError(code, formatMessage(errorCatalog[code].message, params), headers);
}
