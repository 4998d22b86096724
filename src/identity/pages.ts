/**
 * The HTML pages of the identity platform: the sign-in page of the authorization endpoint, the
 * device code page and the signed-out page. Plain server-rendered forms, no script (except the
 * auto-submit of response_mode=form_post, allowed by a per-response CSP nonce). Every value is
 * HTML-escaped; credentials are never echoed back into a page.
 */
import { randomBytes } from "node:crypto";
import type { FastifyReply } from "fastify";

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f2f2f2;margin:0}main{max-width:440px;margin:8vh auto;background:#fff;padding:32px 40px;box-shadow:0 2px 6px rgba(0,0,0,.2)}h1{font-size:1.5rem;font-weight:600}label{display:block;margin-top:12px}input[type=text],input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:6px 0;border:0;border-bottom:1px solid #666;font-size:1rem}button{margin-top:20px;padding:6px 20px;font-size:1rem}.primary{background:#0067b8;color:#fff;border:0}.error{color:#e81123}.muted{color:#555;font-size:.9rem}`;

/** Sends a page with headers that keep it out of caches and frames. */
export function sendPage(reply: FastifyReply, status: number, title: string, body: string, scriptNonce?: string): FastifyReply {
  const csp = `default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'${scriptNonce ? `; script-src 'nonce-${scriptNonce}'` : ""}`;
  return reply.code(status)
    .header("content-type", "text/html; charset=utf-8")
    .header("cache-control", "no-store")
    .header("pragma", "no-cache")
    .header("x-frame-options", "DENY")
    .header("referrer-policy", "no-referrer")
    .header("content-security-policy", csp)
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`);
}

function hidden(fields: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v as string)}">`)
    .join("");
}

export function signInPage(opts: { action: string; tenantName: string; clientName: string; fields: Readonly<Record<string, string | undefined>>; loginHint?: string; error?: string }): string {
  return `<h1>Sign in</h1><p class="muted">to <b>${escapeHtml(opts.clientName)}</b> in <b>${escapeHtml(opts.tenantName)}</b></p>`
    + (opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : "")
    + `<form method="post" action="${escapeHtml(opts.action)}">${hidden(opts.fields)}`
    + `<label>Email, phone, or Skype<input type="email" name="login" autocomplete="username" required value="${escapeHtml(opts.loginHint ?? "")}"></label>`
    + `<label>Password<input type="password" name="passwd" autocomplete="current-password" required></label>`
    + `<button class="primary" type="submit" name="action" value="signin">Sign in</button> <button type="submit" name="action" value="cancel" formnovalidate>Cancel</button></form>`
    + `<p class="muted">Guests and partner (delegated admin) users sign in with the account of their home organisation.</p>`;
}

export function deviceCodePage(opts: { action: string; code?: string; error?: string; done?: string }): string {
  if (opts.done) return `<h1>${escapeHtml(opts.done)}</h1><p>You can close this window and return to the application.</p>`;
  return `<h1>Enter code</h1><p class="muted">Enter the code displayed on your app or device, then sign in with your work account.</p>`
    + (opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : "")
    + `<form method="post" action="${escapeHtml(opts.action)}">`
    + `<label>Code<input type="text" name="otc" autocomplete="off" required value="${escapeHtml(opts.code ?? "")}"></label>`
    + `<label>Email, phone, or Skype<input type="email" name="login" autocomplete="username"></label>`
    + `<label>Password<input type="password" name="passwd" autocomplete="current-password"></label>`
    + `<button class="primary" type="submit" name="action" value="signin">Sign in</button> <button type="submit" name="action" value="decline">Deny</button></form>`;
}

export function errorPage(code: number, message: string, traceId: string): string {
  return `<h1>Sorry, but we're having trouble signing you in.</h1><p class="error">AADSTS${code}: ${escapeHtml(message)}</p><p class="muted">Request Id: ${escapeHtml(traceId)}</p>`;
}

/** Sends the result of an authorization request back to the client, in the mode it asked for. */
export function redirectToClient(reply: FastifyReply, target: { redirectUri: string; responseMode: "query" | "fragment" | "form_post" }, params: Readonly<Record<string, string | undefined>>): FastifyReply {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  if (target.responseMode === "form_post") {
    const nonce = randomBytes(16).toString("base64");
    const body = `<form method="post" action="${escapeHtml(target.redirectUri)}">${hidden(Object.fromEntries(entries))}<noscript><button type="submit">Continue</button></noscript></form><script nonce="${nonce}">document.forms[0].submit()</script>`;
    return sendPage(reply, 200, "Working...", body, nonce);
  }
  const url = new URL(target.redirectUri);
  const encoded = new URLSearchParams(entries);
  if (target.responseMode === "fragment") url.hash = encoded.toString();
  else for (const [k, v] of entries) url.searchParams.set(k, v);
  return reply.code(302).header("cache-control", "no-store").header("location", url.toString()).send();
}
