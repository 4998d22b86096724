/**
 * The portal's error answers, in words a partner understands. ARM and provider errors come from
 * the real APIs the portal calls; here they get a sentence that says what happened in the
 * partner's terms and what to do next. The original code is kept, so support can trace it.
 */

export interface PortalError {
  /** HTTP status of the portal answer. */
  readonly status: number;
  /** Stable code: the ARM code passed through, or a portal code (SignInRequired, CsrfTokenMissing…). */
  readonly code: string;
  readonly message: string;
}

export const PORTAL_ERRORS = {
  SignInRequired: { status: 401, message: "You are signed out (or your session expired). Sign in again to continue." },
  CsrfTokenMissing: { status: 403, message: "This change was refused because the request did not come from the portal page (missing or wrong x-csrf-token). Reload the page and try again." },
  CrossOriginRefused: { status: 403, message: "This change was refused because it came from another site. Use the portal at this server's own address." },
  DirectoryNotAvailable: { status: 403, message: "You can't switch to that directory: your account has no home or guest account there. Ask its administrator to invite you." },
  PartnerIdRequired: { status: 400, message: "Enter a Partner ID: the Associated (location) Partner ID from your partner profile, 1 to 10 digits, e.g. 4000001." },
  TokenRefused: { status: 401, message: "The sign-in service refused to renew your access{detail}. Sign in again." },
  NotFound: { status: 404, message: "There is no portal endpoint {path}." },
} as const;

export type PortalErrorCode = keyof typeof PORTAL_ERRORS;

export function portalError(code: PortalErrorCode, params: Record<string, string> = {}): PortalError {
  const entry = PORTAL_ERRORS[code];
  const message = entry.message.replace(/\{(\w+)\}/g, (_, k: string) => params[k] ?? "");
  return { status: entry.status, code, message };
}

/** What an ARM answer said: code and message from either envelope. */
export function armErrorOf(body: unknown): { code: string; message: string } {
  const b = (body ?? {}) as { error?: { code?: unknown; message?: unknown }; code?: unknown; message?: unknown };
  return { code: String(b.error?.code ?? b.code ?? "Unknown"), message: String(b.error?.message ?? b.message ?? "") };
}

/**
 * Rewrites an error of the Partner Admin Link API for the link page. `partnerId` is the id the
 * partner typed, when there was one.
 */
export function linkErrorInPartnerWords(status: number, body: unknown, ctx: { partnerId?: string; directory: string }): PortalError {
  const { code, message } = armErrorOf(body);
  const id = ctx.partnerId ?? "";
  switch (code) {
    case "PartnerIdInvalid":
      // The provider's detail already names the fix (global id → location id, inactive, format);
      // only the bare "not valid" (an id nobody registered) needs words.
      return {
        status, code,
        message: message === "The Partner ID is not valid"
          ? `Partner ID '${id}' is not a known Partner ID. Check the Associated (location) Partner ID on your partner profile in Partner Center; if it is right, the operator of this OpenPAL instance has not registered it yet (partner registry or world file).`
          : message.replace(/^The Partner ID is not valid\. /, "This Partner ID can't be linked: "),
      };
    case "PartnerAlreadyLinked": {
      const linked = /Partner ID '(\d+)'/.exec(message)?.[1] ?? "another Partner ID";
      return { status, code, message: `Your account is already linked to Partner ID ${linked} in ${ctx.directory}. To change it, enter the new Partner ID and choose Update.` };
    }
    case "ManagementPartnerNotFound":
      return { status, code, message: `Your account in ${ctx.directory} is not linked to ${id ? `Partner ID ${id}` : "a Partner ID"}. Reload the page to see its current link.` };
    case "PrincipalNotInTenant":
      return {
        status, code,
        message: `You are signed in to ${ctx.directory} through a delegated-admin (CSP/GDAP) relationship, without an account of your own there, so a Partner ID can't be linked. Ask the customer's administrator to invite you as a guest (or use a service principal in their tenant), then link from that account.`,
      };
    case "PrincipalDisabled":
      return { status, code, message: `Your account is disabled in ${ctx.directory}. Ask an administrator of ${ctx.directory} to enable it, then try again.` };
    case "AuthenticationFailed":
    case "InvalidAuthenticationToken":
    case "ExpiredAuthenticationToken":
      return portalError("SignInRequired");
    default:
      return { status: status >= 400 ? status : 502, code, message: message || "The link service gave an unexpected answer. Try again; if it persists, contact the operator with the time of the error." };
  }
}
