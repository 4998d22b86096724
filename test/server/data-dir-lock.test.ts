import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { acquireDataDirLock, DataDirLockedError, LOCK_FILE, SERVER_JSON } from "../../src/server/data-dir-lock.ts";
import { startServer } from "../../src/server/index.ts";
import { testOptions } from "../../src/options/index.ts";
import { testCaPath, testAgent } from "../support/server.ts";

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), "openpal-lock-"));
}

/** The pid of a process that has exited (so no process runs with it, barring pid reuse). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

function options(dataDir: string, port = 0) {
  const tls = path.dirname(testCaPath());
  return testOptions({ port, dataDir, inMemory: true, logLevel: "silent", cert: path.join(tls, "server.crt"), key: path.join(tls, "server.key") });
}

describe("one server per data dir", () => {
  it("refuses a second server on the same data dir, naming the running one's pid and URL, and leaves its server.json alone", async () => {
    const dataDir = tmp();
    const first = await startServer(options(dataDir));
    try {
      const before = readFileSync(path.join(dataDir, SERVER_JSON), "utf8");
      await assert.rejects(() => startServer(options(dataDir)), (error: Error) => {
        assert.ok(error instanceof DataDirLockedError);
        assert.match(error.message, new RegExp(`pid ${process.pid}`));
        assert.ok(error.message.includes(first.url), error.message);
        assert.match(error.message, /another --data-dir/);
        return true;
      });
      assert.equal(readFileSync(path.join(dataDir, SERVER_JSON), "utf8"), before);
      // The first server still answers.
      const res = await fetch(`${first.url}/healthz`, { dispatcher: testAgent() } as RequestInit);
      assert.equal(res.status, 200);
    } finally {
      await first.close();
    }
  });

  it("refuses a second server started from another process (a real `openpal serve`), with exit code and message", async () => {
    const dataDir = tmp();
    const first = await startServer(options(dataDir));
    try {
      const tls = path.dirname(testCaPath());
      const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve", "--port", "0", "--in-memory", "--log-level", "silent", "--data-dir", dataDir,
        "--cert", path.join(tls, "server.crt"), "--key", path.join(tls, "server.key")], { encoding: "utf8", timeout: 60_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /another OpenPAL server is already running on data dir/);
      assert.ok(r.stderr.includes(`pid ${process.pid}, ${first.url}`), r.stderr);
      assert.equal(JSON.parse(readFileSync(path.join(dataDir, SERVER_JSON), "utf8")).pid, process.pid);
    } finally {
      await first.close();
    }
  });

  it("takes over a stale lock whose pid no longer runs, with a note, and replaces the dead server's server.json", async () => {
    const dataDir = tmp();
    const dead = deadPid();
    writeFileSync(path.join(dataDir, LOCK_FILE), JSON.stringify({ pid: dead }));
    writeFileSync(path.join(dataDir, SERVER_JSON), JSON.stringify({ url: "https://127.0.0.1:1", caCert: null, pid: dead }));
    const server = await startServer(options(dataDir));
    try {
      assert.match(server.lockNote ?? "", new RegExp(`pid ${dead}\\) is no longer running`));
      assert.equal(JSON.parse(readFileSync(path.join(dataDir, LOCK_FILE), "utf8")).pid, process.pid);
      assert.equal(JSON.parse(readFileSync(path.join(dataDir, SERVER_JSON), "utf8")).url, server.url);
    } finally {
      await server.close();
    }
  });

  it("removes server.json and the lock on close, so the next server starts", async () => {
    const dataDir = tmp();
    const server = await startServer(options(dataDir));
    assert.ok(existsSync(path.join(dataDir, SERVER_JSON)));
    assert.ok(existsSync(path.join(dataDir, LOCK_FILE)));
    await server.close();
    assert.equal(existsSync(path.join(dataDir, SERVER_JSON)), false);
    assert.equal(existsSync(path.join(dataDir, LOCK_FILE)), false);
    const again = await startServer(options(dataDir));
    assert.equal(again.lockNote, undefined);
    await again.close();
  });

  it("releases the lock when the server fails to start (port in use), so a retry is not refused", async () => {
    const dataDir = tmp();
    const other = await startServer(options(tmp()));
    try {
      const port = Number(new URL(other.url).port);
      await assert.rejects(() => startServer(options(dataDir, port)), /is in use/);
      assert.equal(existsSync(path.join(dataDir, LOCK_FILE)), false);
    } finally {
      await other.close();
    }
  });

  it("a lock held by a running pid of another process is refused; release() leaves another owner's files alone", () => {
    const dataDir = tmp();
    writeFileSync(path.join(dataDir, LOCK_FILE), JSON.stringify({ pid: 4242 }));
    assert.throws(() => acquireDataDirLock(dataDir, { isRunning: () => true }), /pid 4242, still starting/);
    const lock = acquireDataDirLock(dataDir, { isRunning: () => false });
    writeFileSync(path.join(dataDir, LOCK_FILE), JSON.stringify({ pid: 4243 }));
    lock.release();
    assert.equal(JSON.parse(readFileSync(path.join(dataDir, LOCK_FILE), "utf8")).pid, 4243);
  });
});
