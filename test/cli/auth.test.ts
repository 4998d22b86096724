import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestServer, testCaPath, type TestServer } from "../support/server.ts";
import { APP, ARM_AUDIENCE, T, U, claimsOf, seedDirectory } from "../identity/fixtures.ts";
import { login, type Io } from "../../src/cli/commands/login.ts";
import { logout } from "../../src/cli/commands/logout.ts";
import { accountShow } from "../../src/cli/commands/account.ts";
import { openSession, readSessionFile } from "../../src/cli/session.ts";
import { resolveServerTarget } from "../../src/cli/http.ts";
import { CliError, ExitCode } from "../../src/cli/errors.ts";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
let server: TestServer;
before(async () => {
  server = await startTestServer();
  await seedDirectory(server.openpal.context.store);
});
after(async () => server.close());

function capture(): Io & { stdout: string; stderr: string } {
  const io = { stdout: "", stderr: "", out(t: string) { io.stdout += t; }, err(t: string) { io.stderr += t; } };
  return io;
}
const freshConfig = () => mkdtempSync(path.join(os.tmpdir(), "openpal-cli-"));

describe("openpal login --service-principal keeps a session that gets tokens in every tenant of the app", () => {
  it("signs in, stores the session with mode 0600, and never prints the secret or a token", async () => {
    const dir = freshConfig();
    const io = capture();
    await login({ servicePrincipal: true, username: APP.automation.appId, password: APP.automation.secret, tenant: T.contoso.id, server: server.url, caCert: testCaPath(), configDir: dir }, io);
    const printed = JSON.parse(io.stdout) as Record<string, unknown>;
    assert.equal(printed.tenantId, T.contoso.id);
    assert.equal(printed.objectId, APP.automation.spContoso);
    assert.equal(printed.type, "servicePrincipal");
    assert.equal(statSync(path.join(dir, "session.json")).mode & 0o777, 0o600);
    assert.ok(!io.stdout.includes(APP.automation.secret) && !io.stderr.includes(APP.automation.secret));

    const session = await openSession({ configDir: dir });
    const inFabrikam = await session.accessToken(T.fabrikam.id);
    assert.equal(claimsOf(inFabrikam).oid, APP.automation.spFabrikam);
    const caller = await server.openpal.identity.verifier.authenticate(await session.accessToken(), [ARM_AUDIENCE]);
    assert.equal(caller.objectId, APP.automation.spContoso);

    const show = capture();
    accountShow({ configDir: dir }, show);
    const shown = JSON.parse(show.stdout) as Record<string, unknown>;
    assert.equal(shown.server, server.url);
    assert.equal(shown.tenantId, T.contoso.id);
    assert.ok(typeof shown.tokenExpiresOn === "string");
    assert.doesNotMatch(show.stdout, /eyJ/);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a wrong secret fails with the AADSTS reason and stores nothing", async () => {
    const dir = freshConfig();
    await assert.rejects(login({ servicePrincipal: true, username: APP.automation.appId, password: "wrong", tenant: T.contoso.id, server: server.url, caCert: testCaPath(), configDir: dir }, capture()),
      (e: unknown) => e instanceof CliError && /AADSTS7000215/.test(e.message));
    assert.equal(readSessionFile(dir), undefined);
  });
});

describe("openpal login -u -p signs a user in; the refresh token reaches guest tenants and rotates", () => {
  it("infers the tenant from the UPN and gets a guest token in the inviting tenant through the refresh token", async () => {
    const dir = freshConfig();
    await login({ username: U.bob.upn, password: U.bob.password, server: server.url, caCert: testCaPath(), configDir: dir }, capture());
    const before = readSessionFile(dir);
    assert.equal(before?.account.tenantId, T.contoso.id);
    const session = await openSession({ configDir: dir });
    assert.equal(session.account.name, U.bob.upn);
    const guest = await session.accessToken(T.fabrikam.id);
    assert.equal(claimsOf(guest).oid, U.bobGuest.id);
    const after = readSessionFile(dir);
    assert.ok(before?.account.type === "user" && after?.account.type === "user");
    assert.notEqual(after.account.refreshToken, before.account.refreshToken);
    const res = await session.fetch("/healthz");
    assert.equal(res.status, 200);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("openpal login with a device code prints the URL and code, then polls until the user signs in", () => {
  it("completes when the user signs in at the verification page", async () => {
    const dir = freshConfig();
    const io = capture();
    let signedIn = false;
    await login({
      tenant: T.contoso.domain, server: server.url, caCert: testCaPath(), configDir: dir,
      sleep: async () => {
        if (signedIn) return;
        const code = /enter the code (\w+)/.exec(io.stderr)?.[1] ?? "";
        assert.match(io.stderr, new RegExp(`${server.url}/devicelogin`));
        const res = await server.fetch("/devicelogin", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ otc: code, login: U.alice.upn, passwd: U.alice.password, action: "signin" }).toString() });
        assert.match(await res.text(), /You have signed in/);
        signedIn = true;
      },
    }, io);
    assert.equal((JSON.parse(io.stdout) as Record<string, unknown>).objectId, U.alice.id);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("commands that need a session say how to sign in", () => {
  it("openSession without a session fails with exit code notSignedIn and names `openpal login`", async () => {
    const dir = freshConfig();
    await assert.rejects(openSession({ configDir: dir }), (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.notSignedIn && /openpal login/.test(e.message));
    assert.throws(() => accountShow({ configDir: dir }, capture()), (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.notSignedIn);
    const io = capture();
    logout({ configDir: dir }, io);
    assert.match(io.stderr, /nothing to do/);
  });

  it("the server comes from ./.openpal/server.json when no flag or OPENPAL_SERVER is given", () => {
    const cwd = freshConfig();
    mkdirSync(path.join(cwd, ".openpal"));
    writeFileSync(path.join(cwd, ".openpal", "server.json"), JSON.stringify({ url: server.url, caCert: testCaPath() }));
    assert.deepEqual(resolveServerTarget({ cwd, env: {} }), { url: server.url, caCert: testCaPath() });
    assert.equal(resolveServerTarget({ cwd, env: { OPENPAL_SERVER: "https://example.test:9443" } }).url, "https://example.test:9443");
    assert.throws(() => resolveServerTarget({ cwd: os.tmpdir(), env: {} }), /--server/);
    assert.throws(() => resolveServerTarget({ server: "http://plain.example", env: {} }), /https/);
    rmSync(cwd, { recursive: true, force: true });
  });
});

describe("the real openpal binary: login, account show, logout, --help", () => {
  // Asynchronous on purpose: the server runs in this process, so a blocking spawn would starve it.
  const run = (args: string[], dir: string) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "src/cli/main.ts"), ...args], {
      cwd: root, env: { ...process.env, OPENPAL_CONFIG_DIR: dir, OPENPAL_SERVER: server.url },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });

  it("runs the session life cycle end to end and keeps secrets out of its output", async () => {
    const dir = freshConfig();
    const signIn = await run(["login", "--service-principal", "-u", APP.automation.appId, "-p", APP.automation.secret, "--tenant", T.fabrikam.domain], dir);
    assert.equal(signIn.status, 0, signIn.stderr);
    assert.ok(!signIn.stdout.includes(APP.automation.secret));
    const show = await run(["account", "show"], dir);
    assert.equal(show.status, 0, show.stderr);
    assert.equal((JSON.parse(show.stdout) as Record<string, unknown>).tenantId, T.fabrikam.id);
    assert.ok(!readFileSync(path.join(dir, "session.json"), "utf8").includes("password"));
    assert.equal((await run(["logout"], dir)).status, 0);
    const after = await run(["account", "show"], dir);
    assert.equal(after.status, ExitCode.notSignedIn);
    assert.match(after.stderr, /openpal login/);
    const help = await run(["login", "--help"], dir);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--service-principal/);
    rmSync(dir, { recursive: true, force: true });
  });
});
