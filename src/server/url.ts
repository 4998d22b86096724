/**
 * The server's public base URL from the address it listens on: wildcard addresses become 127.0.0.1,
 * IPv6 hosts are bracketed, and the default HTTPS port (443) is omitted, so that `--port 443` gives
 * `https://127.0.0.1`, never `https://127.0.0.1:` (server.json, the printed URL and the token issuer
 * all use this one function).
 *
 * @example
 * serverBaseUrl("0.0.0.0", 8443) // "https://127.0.0.1:8443"
 * serverBaseUrl("::1", 443)      // "https://[::1]"
 */
export function serverBaseUrl(host: string, port: number | string): string {
  const h = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const p = String(port);
  if (!/^\d+$/.test(p)) throw new Error(`port "${p}" is not a whole number.`);
  return p === "443" ? `https://${h}` : `https://${h}:${p}`;
}

/** The port a listening address (as fastify's listen() returns it) is on; "" in a URL means 443. */
export function listeningPort(address: string): number {
  const url = new URL(address);
  if (url.port) return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}
