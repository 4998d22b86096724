/**
 * Sign-out revokes the session's refresh tokens (issue 14, item 6): before, the portal forgot its
 * session but every refresh token it had received stayed redeemable for 90 days.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";
import { DEMO, DEMO_WORLD, portalSignIn } from "./support.ts";

describe("portal sign-out revokes the session's refresh tokens at the identity", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ options: { world: DEMO_WORLD } });
  });
  after(async () => server.close());

  const usableRefreshTokens = async () => {
    const rows = await server.openpal.context.store.db.selectFrom("grants").select(["handle_hash"])
      .where("kind", "=", "refresh_token").where("status", "=", "pending").execute();
    return rows.length;
  };

  it("after POST /portal/api/signout no refresh token of the sign-in is usable, and another person's session is untouched", async () => {
    const bob = await portalSignIn(server, DEMO.bob);
    const alice = await portalSignIn(server, DEMO.alice);
    assert.equal(await usableRefreshTokens(), 2);
    const out = await bob.call("POST", "/signout");
    assert.equal(out.status, 200);
    assert.equal(await usableRefreshTokens(), 1, "only alice's refresh token is left");
    assert.equal((await alice.call("GET", "/directories")).status, 200);
  });
});
