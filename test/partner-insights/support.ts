/** Helpers for the insights API tests: tokens for the Partner Center audience, calls, polling. */
import assert from "node:assert/strict";
import type { TestServer } from "../support/server.ts";
import { mintToken } from "../providers/managementpartner/fixture.ts";
import { PARTNER_CENTER_AUDIENCE, partnerInsightsOf } from "../../src/partner-insights/index.ts";
import { DirectoryRole } from "../../src/graph/roles.ts";
import type { Store } from "../../src/store/index.ts";

export const BASE = "/insights/v1/mpn";

export function pcToken(server: TestServer, tid: string, oid: string): Promise<string> {
  return mintToken(server, { tid, oid, aud: PARTNER_CENTER_AUDIENCE });
}

/**
 * Grants Partner Center's "Executive report viewer" (a directory role of the partner tenant in
 * OpenPAL) since always: the insights API needs it, or Global Administrator.
 */
export async function grantReportViewer(store: Store, tenantId: string, objectId: string): Promise<void> {
  await store.directoryRoles.grant(tenantId, DirectoryRole.ExecutiveReportViewer, objectId, null);
}

export interface Answer {
  readonly status: number;
  readonly body: { value: Record<string, unknown>[]; nextLink: null; totalCount: number; message: string; statusCode: number; dataRedacted: boolean };
}

export async function call(server: TestServer, method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await server.fetch(`${BASE}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: Answer["body"];
  try {
    parsed = JSON.parse(text) as Answer["body"];
  } catch {
    assert.fail(`${method} ${path}: ${res.status} is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body: parsed };
}

/** Runs the server's scheduler once and waits for its callbacks. */
export async function runDue(server: TestServer): Promise<number> {
  const insights = partnerInsightsOf(server.openpal.context);
  assert.ok(insights, "the partner insights component is registered");
  const n = await insights.scheduler.tick();
  await insights.scheduler.idle();
  return n;
}
