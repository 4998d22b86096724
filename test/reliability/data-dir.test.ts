/**
 * Item 1 of issue 14: the token-signing private key was readable by any local user (in clear in
 * openpal.db, created 0644 in a 0755 data dir). Now the data dir is 0700, its files 0600, and
 * private keys are sealed under a key-encryption key that is not in the database.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import os from "node:os";
import path from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { testOptions } from "../../src/options/index.ts";
import { startServer, type RunningServer } from "../../src/server/index.ts";
import { openStore } from "../../src/store/index.ts";
import { KEK_ENV, KeyEncryptionKey } from "../../src/identity/index.ts";
import { startTestServer } from "../support/server.ts";
import { storeBackends } from "../support/stores.ts";
import { testCaPath } from "../support/server.ts";

const tlsDir = () => path.dirname(testCaPath());
const parents: string[] = [];
after(() => {
  for (const p of parents) rmSync(p, { recursive: true, force: true });
});

function scratch(): string {
  const parent = mkdtempSync(path.join(os.tmpdir(), "openpal-datadir-"));
  parents.push(parent);
  return path.join(parent, "data");
}

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

async function serve(dataDir: string, logs?: string[]): Promise<RunningServer> {
  const sink = new Writable({ write(chunk, _e, done) { logs?.push(String(chunk)); done(); } });
  return startServer(testOptions({ port: 0, dataDir, logLevel: "warn", cert: path.join(tlsDir(), "server.crt"), key: path.join(tlsDir(), "server.key") }), { logDestination: sink });
}

const posix = process.platform !== "win32";

describe("the data dir and its files are the server user's only", { skip: !posix }, () => {
  it("a new data dir is 0700 and the database, WAL, SHM, operator key and key-encryption key are 0600", async () => {
    const dataDir = scratch();
    const server = await serve(dataDir);
    try {
      assert.equal(mode(dataDir), "700");
      for (const f of ["openpal.db", "openpal.db-wal", "openpal.db-shm", "admin.key", "kek.key", "server.json"]) {
        assert.ok(existsSync(path.join(dataDir, f)), `${f} exists`);
        assert.equal(mode(path.join(dataDir, f)), "600", f);
      }
    } finally {
      await server.close();
    }
  });

  it("an existing data dir readable by others is tightened (lake directories and files too), with a warning", async () => {
    const dataDir = scratch();
    mkdirSync(path.join(dataDir, "usage", "month=2026-10"), { recursive: true });
    const part = path.join(dataDir, "usage", "month=2026-10", "part-0.parquet");
    writeFileSync(part, "PAR1");
    chmodSync(part, 0o644);
    chmodSync(path.join(dataDir, "usage", "month=2026-10"), 0o755);
    chmodSync(path.join(dataDir, "usage"), 0o755);
    chmodSync(dataDir, 0o755);
    const logs: string[] = [];
    const server = await serve(dataDir, logs);
    try {
      assert.equal(mode(dataDir), "700");
      assert.equal(mode(path.join(dataDir, "usage")), "700");
      assert.equal(mode(path.join(dataDir, "usage", "month=2026-10")), "700");
      assert.equal(mode(part), "600");
      const warning = logs.map((l) => JSON.parse(l) as { level: number; msg: string; count?: number }).find((l) => /readable by other users/.test(l.msg));
      assert.ok(warning, "a warning names the data dir");
      assert.equal(warning.level, 40);
      assert.ok((warning.count ?? 0) >= 4);
    } finally {
      await server.close();
    }
  });
});

describe("private signing keys are sealed at rest under a key-encryption key", () => {
  it("the database holds only the sealed key: its private exponent appears nowhere in the database files", async () => {
    const dataDir = scratch();
    const server = await serve(dataDir);
    const kid = server.openpal.identity.keys.activeKid() as string;
    const row = (await server.openpal.context.store.signingKeys.published(Date.now())).find((k) => k.kid === kid);
    await server.close();
    assert.ok(row);
    assert.ok(row.privateJwk.startsWith("kek1:"), "sealed form");
    assert.doesNotMatch(row.privateJwk, /"d"/);
    const kek = new KeyEncryptionKey(Buffer.from(readFileSync(path.join(dataDir, "kek.key"), "utf8").trim(), "base64"), "test");
    const d = (JSON.parse(kek.open(row.privateJwk, "key")) as { d: string }).d;
    assert.ok(d.length > 100);
    const files = ["openpal.db", "openpal.db-wal"].map((f) => path.join(dataDir, f)).filter((f) => existsSync(f));
    for (const f of files) assert.equal(readFileSync(f).includes(Buffer.from(d)), false, `${path.basename(f)} holds the private exponent in clear`);
  });

  it("a key stored in clear by an older version is sealed at start and keeps signing", async () => {
    const dataDir = scratch();
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const store = await openStore({ kind: "sqlite", sqlitePath: path.join(dataDir, "openpal.db") });
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const plain = JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: "RS256" });
    await store.signingKeys.add({ kid, alg: "RS256", privateJwk: plain, publicJwk: JSON.stringify({ ...publicJwk, kid, alg: "RS256", use: "sig" }), createdAt: Date.now() - 1000, retiredAt: null, publishUntil: null });
    await store.close();

    const server = await serve(dataDir);
    try {
      assert.equal(server.openpal.identity.keys.activeKid(), kid);
      const row = (await server.openpal.context.store.signingKeys.published(Date.now())).find((k) => k.kid === kid);
      assert.ok(row?.privateJwk.startsWith("kek1:"));
      assert.equal(await server.openpal.context.store.signingKeys.inClear().then((r) => r.length), 0);
      const signed = await server.openpal.identity.keys.sign({ tid: "t", oid: "o", sub: "o" });
      assert.equal(JSON.parse(Buffer.from(signed.split(".")[0] as string, "base64url").toString()).kid, kid);
    } finally {
      await server.close();
    }
  });

  it("a server with another key-encryption key refuses to start and names the fix; the key from the environment is used without a file", async () => {
    const dataDir = scratch();
    const first = await serve(dataDir);
    await first.close();
    const saved = process.env[KEK_ENV];
    process.env[KEK_ENV] = randomBytes(32).toString("base64");
    try {
      await assert.rejects(serve(dataDir), /encrypted under key-encryption key .* Give every server the same key-encryption key/);
      // The refused start closed its store: the last connection's close removes the WAL file.
      assert.equal(existsSync(path.join(dataDir, "openpal.db-wal")), false, "a server that refuses to start closes its store");
      const other = scratch();
      const server = await serve(other);
      await server.close();
      assert.equal(existsSync(path.join(other, "kek.key")), false);
      process.env[KEK_ENV] = "too-short";
      await assert.rejects(serve(scratch()), /not 32 bytes .*openssl rand -base64 32/);
    } finally {
      if (saved === undefined) delete process.env[KEK_ENV];
      else process.env[KEK_ENV] = saved;
    }
  });

  for (const backend of storeBackends().filter((b) => b.name === "postgres")) {
    it("[postgres] keys are sealed the same way in PostgreSQL", async () => {
      const server = await startTestServer({ backend });
      try {
        const rows = await server.openpal.context.store.signingKeys.published(Date.now());
        assert.ok(rows.length > 0);
        for (const r of rows) assert.ok(r.privateJwk.startsWith("kek1:"));
      } finally {
        await server.close();
      }
    });
  }
});
