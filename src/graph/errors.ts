/**
 * Microsoft Graph errors, in Graph's shape:
 * `{"error":{"code":"…","message":"…","innerError":{"date":"…","request-id":"…","client-request-id":"…"}}}`.
 * One catalog; handlers throw `graphError(kind, …)`.
 */
export class GraphError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const graphErrors = {
  noToken: () => new GraphError(401, "InvalidAuthenticationToken", "Access token is empty."),
  badToken: (detail: string) => new GraphError(401, "InvalidAuthenticationToken", `Access token validation failure. ${detail}`),
  denied: (needed: string[]) =>
    new GraphError(403, "Authorization_RequestDenied", `Insufficient privileges to complete the operation. One of these directory roles is needed: ${needed.join(", ")}.`),
  foreign: () =>
    new GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation. Delegated-admin (foreign) principals cannot change this directory in OpenPAL; sign in with an account of the tenant."),
  notFound: (id: string) =>
    new GraphError(404, "Request_ResourceNotFound", `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`),
  badRequest: (message: string) => new GraphError(400, "Request_BadRequest", message),
  conflict: (property: string) =>
    new GraphError(400, "Request_BadRequest", `Another object with the same value for property ${property} already exists.`),
  referenceExists: () =>
    new GraphError(400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'."),
} as const;
