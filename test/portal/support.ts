/**
 * Helpers for the portal's tests: the demo world's people, a sign-in without a browser (the same
 * redirects a browser follows, with a cookie jar), and direct calls to the PAL API with a token of
 * the person's own, to check that what the portal shows is what the API holds.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { AZURE_CLI_CLIENT_ID } from "../../src/identity/index.ts";
import type { TestServer } from "../support/server.ts";

export const DEMO_WORLD = path.resolve(import.meta.dirname, "../../src/world/demo/world.json");

export const DEMO = {
  contoso: { id: "10000000-0000-4000-8000-000000000001", name: "Contoso Consulting", domain: "contoso.example" },
  northwind: { id: "20000000-0000-4000-8000-000000000002", name: "Northwind Partners", domain: "northwind.example" },
  fabrikam: { id: "30000000-0000-4000-8000-000000000003", name: "Fabrikam", domain: "fabrikam.example" },
  tailspin: { id: "40000000-0000-4000-8000-000000000004", name: "Tailspin Toys", domain: "tailspintoys.example" },
  woodgrove: { id: "50000000-0000-4000-8000-000000000005", name: "Woodgrove Bank", domain: "woodgrovebank.example" },
  alice: { upn: "alice@contoso.example", password: "Contoso-Alice-2026!", name: "Alice Adams" },
  bob: { upn: "bob@contoso.example", password: "Contoso-Bob-2026!", name: "Bob Brown" },
  dave: { upn: "dave@northwind.example", password: "Northwind-Dave-2026!", name: "Dave Diaz" },
  erin: { upn: "erin@fabrikam.example", password: "Fabrikam-Erin-2026!", name: "Erin Evans" },
  grace: { upn: "grace@woodgrovebank.example", password: "Woodgrove-Grace-2026!", name: "Grace Gupta" },
} as const;

export interface Person {
  readonly upn: string;
  readonly password: string;
}

/** A signed-in portal session driven without a browser: cookies are kept like a browser keeps them. */
export interface PortalClient {
  readonly cookies: Map<string, string>;
  /** The Set-Cookie header that created the session. */
  readonly sessionSetCookie: string;
  readonly csrfToken: string;
  // Answers are read field by field in the tests, as JSON.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(method: string, apiPath: string, opts?: { body?: unknown; csrf?: string | null; origin?: string | null }): Promise<{ status: number; body: any }>;
}

/** The Cookie header a browser sends for the cookies in `jar`. */
export function cookieHeader(jar: Map<string, string>): string {
  return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
}

function keepCookies(jar: Map<string, string>, res: Response): string[] {
  const set = res.headers.getSetCookie();
  for (const line of set) {
    const [pair = ""] = line.split(";");
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
  return set;
}

/** Fills the identity's sign-in form the way a person does (hidden fields kept, login + password added). */
function signInForm(html: string, person: Person): URLSearchParams {
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.set(m[1] as string, (m[2] as string).replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">"));
  }
  form.set("login", person.upn);
  form.set("passwd", person.password);
  form.set("action", "signin");
  return form;
}

export async function portalSignIn(server: TestServer, person: Person, opts: { tenant?: string } = {}): Promise<PortalClient> {
  const jar = new Map<string, string>();
  const q = new URLSearchParams({ login_hint: person.upn, returnTo: "/portal/link-partner-id" });
  if (opts.tenant) q.set("tenant", opts.tenant);
  const start = await server.fetch(`/portal/signin?${q}`, { redirect: "manual" });
  keepCookies(jar, start);
  const authorize = start.headers.get("location");
  if (start.status !== 302 || !authorize) throw new Error(`sign-in did not redirect: ${start.status}`);
  const page = await server.fetch(authorize);
  const action = /<form method="post" action="([^"]+)"/.exec(await page.clone().text())?.[1]?.replace(/&amp;/g, "&");
  if (!action) throw new Error("no sign-in form");
  const posted = await server.fetch(action, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: signInForm(await page.text(), person).toString() });
  const callback = posted.headers.get("location");
  if (posted.status !== 302 || !callback) throw new Error(`sign-in refused: ${posted.status} ${await posted.text()}`);
  const done = await server.fetch(callback, { redirect: "manual", headers: { cookie: cookieHeader(jar) } });
  const set = keepCookies(jar, done);
  const sessionSetCookie = set.find((s) => s.startsWith("openpal_portal_session=")) ?? "";
  const csrf = { token: "" };
  const call: PortalClient["call"] = async (method, apiPath, o = {}) => {
    const headers: Record<string, string> = { cookie: cookieHeader(jar) };
    if (o.csrf !== null && method !== "GET") headers["x-csrf-token"] = o.csrf ?? csrf.token;
    if (o.origin !== null && method !== "GET") headers.origin = o.origin ?? server.url;
    if (o.body !== undefined) headers["content-type"] = "application/json";
    const res = await server.fetch(`/portal/api${apiPath}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const session = await call("GET", "/session");
  csrf.token = session.body.csrfToken as string;
  return { cookies: jar, sessionSetCookie, csrfToken: csrf.token, call };
}

/** The person's own ARM token in a tenant (password grant, as `az login -u` does). */
export async function armToken(server: TestServer, person: Person, tenant: string): Promise<string> {
  const res = await server.fetch(`/${tenant}/oauth2/v2.0/token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", client_id: AZURE_CLI_CLIENT_ID, username: person.upn, password: person.password, scope: "https://management.azure.com/.default" }).toString(),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token for ${person.upn} in ${tenant}: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** The person's link in a tenant, read straight from the PAL API (null when not linked). */
export async function linkedPartnerId(server: TestServer, person: Person, tenant: string): Promise<string | null> {
  const res = await server.fetch("/providers/Microsoft.ManagementPartner/partners?api-version=2018-02-01", { headers: { authorization: `Bearer ${await armToken(server, person, tenant)}` } });
  if (res.status === 404) return null;
  const body = (await res.json()) as { properties: { partnerId: string } };
  return body.properties.partnerId;
}

/** Signs in through the portal in a browser page: home page → work account → identity's page → back. */
export async function browserSignIn(page: Page, serverUrl: string, person: Person, startPath = "/portal/"): Promise<void> {
  await page.goto(`${serverUrl}${startPath}`);
  await page.getByLabel("Work account").fill(person.upn);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByLabel("Password").fill(person.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** The months the demo world's usage and activity fill. */
export const DEMO_MONTHS = ["2026-09", "2026-10"] as const;

/**
 * The demo's usage (and, with `bizapps`, its business-applications activity) is seeded and
 * attributed in the background at start: waits until every demo month is attributed.
 */
export async function waitForDemo(server: TestServer, opts: { bizapps?: boolean } = {}): Promise<void> {
  const store = server.openpal.context.store;
  for (let i = 0; i < 900; i++) {
    const azure = await store.attribution.months("all-roles");
    const bizapps = opts.bizapps ? await store.bizapps.months() : [];
    if (DEMO_MONTHS.every((m) => azure.includes(m) && (!opts.bizapps || bizapps.includes(m)))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the demo was not attributed within 3 minutes${opts.bizapps ? " (usage and activity)" : ""}`);
}
