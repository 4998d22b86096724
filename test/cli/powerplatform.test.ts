/**
 * `openpal powerplatform …` against a real server: each command asks for a token for its
 * service's scope (Dataverse: the environment's instance URL, found through BAP), follows paging,
 * and shows the effect of a write; errors become exit codes with the service's message.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestServer, type TestServer } from "../support/server.ts";
import { applyWorld, type WorldFile } from "../../src/world/index.ts";
import { systemClock } from "../../src/domain/time.ts";
import { addCoOwner, apps, datasets, environments, flows, importSolution, setOwner, solutions, takeOver, type PowerPlatformSession } from "../../src/cli/commands/powerplatform.ts";
import { CliError, ExitCode } from "../../src/cli/errors.ts";
import { solutionZip } from "../powerplatform/solution-fixture.ts";

const FAB = "fabf0000-0000-4000-8000-000000000000";
const ADMIN = "fabf0000-0001-4000-8000-000000000001";
const ERIN = "fabf0000-0001-4000-8000-000000000003";
const GUEST = "fabf0000-0001-4000-8000-000000000004";
const PROD = "fabe0000-0000-4000-8000-000000000001";
const CANVAS = "faba0000-0000-4000-8000-000000000001";
const FLOW = "fabc0000-0000-4000-8000-000000000001";
const WS = "fab00000-0000-4000-8000-0000000000b1";
const DATASET = "fabd0000-0000-4000-8000-000000000001";

describe("openpal powerplatform", () => {
  let server: TestServer;
  /** A session that signs a token for the audience each scope names, as the token service would issue it. */
  const sessionOf = (oid: string): PowerPlatformSession => ({
    baseUrl: server.url,
    async fetch(pathOrUrl, init = {}) {
      const { scope = "", ...rest } = init;
      const aud = scope.replace(/\/?\.default$/, "").replace(/\/$/, "") + (/service\.(powerapps|flow)/.test(scope) ? "/" : "");
      const now = Math.floor(Date.now() / 1000);
      const token = await server.openpal.identity.keys.sign({ iss: `${server.url}/${FAB}/v2.0`, aud, tid: FAB, oid, sub: oid, ver: "2.0", idtyp: "user", iat: now, nbf: now, exp: now + 600 });
      return server.fetch(pathOrUrl, { ...rest, headers: { ...(rest.headers as Record<string, string>), authorization: `Bearer ${token}` } });
    },
  });
  before(async () => {
    server = await startTestServer();
    const world = JSON.parse(readFileSync(new URL("../fixtures/powerplatform/world.json", import.meta.url), "utf8")) as WorldFile;
    assert.ok((await applyWorld(server.openpal.context.store, world, { clock: systemClock, actor: "test" })).ok);
  });
  after(() => server.close());

  it("environments list shows type and the Dataverse URL; apps, flows, datasets and solutions list", async () => {
    const admin = sessionOf(ADMIN);
    const envs = await environments(admin);
    assert.equal(envs.find((e) => e.name === PROD)?.type, "Production");
    assert.deepEqual((await apps(admin, PROD)).map((a) => a.name), [CANVAS]);
    assert.equal((await flows(admin, PROD)).find((f) => f.name === FLOW)?.isManaged, true);
    assert.equal((await datasets(admin)).find((d) => d.id === DATASET)?.workspaceId, WS);
    assert.deepEqual((await solutions(admin, PROD)).map((s) => s.uniquename), ["fabrikam_cases"]);
  });

  it("set-owner and add-co-owner show their effect", async () => {
    const admin = sessionOf(ADMIN);
    const [app] = await setOwner(admin, PROD, { app: CANVAS }, ERIN, true);
    assert.equal(app?.owner, ERIN);
    const perms = await addCoOwner(admin, PROD, { flow: FLOW }, ERIN);
    assert.ok(perms.some((p) => p.principal === ERIN && p.roleName === "CanEdit"));
    const [flow] = await setOwner(admin, PROD, { flow: FLOW }, ERIN, false);
    assert.equal(flow?.creator, "fabf0000-0001-4000-8000-000000000002", "the creator never changes");
  });

  it("import-solution (direct and staged) as a maker; take-over as a workspace member", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-pp-"));
    const file = path.join(dir, "fieldops.zip");
    writeFileSync(file, solutionZip({ uniqueName: "contoso_fieldops", components: [{ type: 29, id: "fabc0000-0000-4000-8000-0000000000c1", displayName: "Dispatch" }] }));
    const guest = sessionOf(GUEST);
    assert.equal((await importSolution(guest, PROD, file, false))[0]?.uniquename, "contoso_fieldops");
    assert.equal((await importSolution(guest, PROD, file, true))[0]?.version, "1.0.0.0");
    assert.deepEqual(await takeOver(sessionOf(ERIN), WS, DATASET), [{ id: DATASET, workspaceId: WS, takenOver: true }]);
    assert.equal((await datasets(sessionOf(ADMIN), WS)).find((d) => d.id === DATASET)?.configuredBy, "erin@fabrikam-pp.example");
  });

  it("a non-admin gets exit code forbidden with the service's message", async () => {
    await assert.rejects(apps(sessionOf(ERIN), PROD), (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.forbidden && /Power Platform Administrator/.test(e.message));
  });
});
