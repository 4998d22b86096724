import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { listeningPort, serverBaseUrl } from "../../src/server/url.ts";
import { buildApp } from "../../src/server/index.ts";
import { testOptions } from "../../src/options/index.ts";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { seedDirectory, T } from "../identity/fixtures.ts";

describe("server base URL", () => {
  it("omits the default HTTPS port 443 (never https://host:)", () => {
    assert.equal(serverBaseUrl("127.0.0.1", 443), "https://127.0.0.1");
    assert.equal(serverBaseUrl("example.test", "443"), "https://example.test");
  });
  it("keeps every other port, maps wildcard addresses to 127.0.0.1 and brackets IPv6", () => {
    assert.equal(serverBaseUrl("127.0.0.1", 8443), "https://127.0.0.1:8443");
    assert.equal(serverBaseUrl("0.0.0.0", 80), "https://127.0.0.1:80");
    assert.equal(serverBaseUrl("::", 9443), "https://127.0.0.1:9443");
    assert.equal(serverBaseUrl("::1", 443), "https://[::1]");
    assert.equal(serverBaseUrl("::1", 8443), "https://[::1]:8443");
  });
  it("reads the port of a listening address, an empty port being the scheme's default", () => {
    assert.equal(listeningPort("https://127.0.0.1:8443"), 8443);
    assert.equal(listeningPort("https://127.0.0.1:443"), 443);
    assert.equal(listeningPort("https://[::1]"), 443);
  });
  it("the token issuer of a server configured for port 443 has no dangling colon", async () => {
    const openpal = await buildApp(testOptions({ port: 443, inMemory: true, logLevel: "silent", dataDir: mkdtempSync(path.join(os.tmpdir(), "openpal-url-")) }));
    try {
      assert.equal(openpal.context.baseUrl(), "https://127.0.0.1");
      await seedDirectory(openpal.context.store);
      const res = await openpal.app.inject({ method: "GET", url: `/${T.contoso.id}/v2.0/.well-known/openid-configuration` });
      assert.equal(res.statusCode, 200, res.body);
      const discovery = res.json() as { token_endpoint: string };
      assert.equal(discovery.token_endpoint, `https://127.0.0.1/${T.contoso.id}/oauth2/v2.0/token`);
    } finally {
      await openpal.close();
    }
  });
});
