import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { loadTlsMaterial } from "../../src/server/tls.ts";

describe("the generated certificate", () => {
  it("is created once and reused on the next start, so clients keep trusting the same CA", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-tls-"));
    try {
      const first = await loadTlsMaterial({ dataDir: dir });
      const ca = readFileSync(first.caCertPath as string, "utf8");
      const second = await loadTlsMaterial({ dataDir: dir });
      assert.equal(first.generated, true);
      assert.equal(second.generated, false);
      assert.equal(readFileSync(second.caCertPath as string, "utf8"), ca);
      assert.equal(second.cert, first.cert);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is issued by the local CA for localhost, 127.0.0.1 and ::1", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-tls-"));
    try {
      const tls = await loadTlsMaterial({ dataDir: dir });
      const leaf = new X509Certificate(tls.cert);
      const ca = new X509Certificate(readFileSync(tls.caCertPath as string));
      assert.ok(leaf.verify(ca.publicKey));
      assert.ok(leaf.checkHost("localhost"));
      assert.ok(leaf.checkIP("127.0.0.1"));
      assert.ok(leaf.checkIP("::1"));
      assert.equal(ca.ca, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is renewed when it is about to expire", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-tls-"));
    try {
      await loadTlsMaterial({ dataDir: dir });
      const later = Date.now() + 380 * 24 * 3600 * 1000;
      const renewed = await loadTlsMaterial({ dataDir: dir, now: later });
      assert.equal(renewed.generated, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
