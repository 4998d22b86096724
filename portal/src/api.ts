// The portal's calls to its own server (/portal/api/*). The session cookie travels by itself
// (same origin); state-changing calls carry the session's CSRF token in x-csrf-token.

export interface Directory {
  readonly tenantId: string;
  readonly displayName: string;
  readonly defaultDomain: string;
  readonly relation: "Home" | "Guest";
}

export type Session =
  | { readonly signedIn: false }
  | {
      readonly signedIn: true;
      readonly user: { readonly name: string; readonly username: string };
      readonly directory: { readonly tenantId: string; readonly displayName: string; readonly defaultDomain: string };
      readonly csrfToken: string;
    };

/** An error answer of the portal API, already in words for the person using it. */
/** The signed-in user's partner organisation, as the portal's insights context gives it. */
export interface Organisation {
  readonly globalId: string;
  readonly name: string;
  readonly locations: readonly { readonly id: string; readonly country: string; readonly active: boolean }[];
}

export class PortalApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrfToken = "";

export function rememberCsrfToken(token: string): void {
  csrfToken = token;
}

export async function portalApi<T>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = csrfToken;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`/portal/api${path}`, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new PortalApiError(0, "NetworkError", "The server could not be reached. Check that OpenPAL is running, then try again.");
  }
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new PortalApiError(res.status, error?.code ?? "Error", error?.message ?? `The server answered ${res.status}.`);
  }
  return json as T;
}

export function getSession(): Promise<Session> {
  return portalApi<Session>("GET", "/session");
}
