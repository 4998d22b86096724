/**
 * The Power Platform admin APIs over HTTPS, with the exact requests the public clients send
 * (paths, api-versions, bodies, $expand, ~default, paging), each write followed by a read through
 * another endpoint that shows its effect; isolation (tenant, non-admin, guest); bad input in each
 * service's error shape, changing nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { storeBackends } from "../support/stores.ts";
import { applyWorld, type WorldFile } from "../../src/world/index.ts";
import { DirectoryRole } from "../../src/graph/index.ts";
import { systemClock } from "../../src/domain/time.ts";
import { solutionZip } from "./solution-fixture.ts";

const FIXTURE = new URL("../fixtures/powerplatform/world.json", import.meta.url);
const FAB = "fabf0000-0000-4000-8000-000000000000";
const CON = "c0c0c0c0-0000-4000-8000-000000000000";
const ADMIN = "fabf0000-0001-4000-8000-000000000001";
const MAKER = "fabf0000-0001-4000-8000-000000000002";
const ERIN = "fabf0000-0001-4000-8000-000000000003";
const GUEST = "fabf0000-0001-4000-8000-000000000004";
const SVC = "fabf0000-0002-4000-8000-000000000001";
const DANA = "c0c0c0c0-0001-4000-8000-000000000001";
const PROD = "fabe0000-0000-4000-8000-000000000001";
const CANVAS = "faba0000-0000-4000-8000-000000000001";
const CANVAS2 = "faba0000-0000-4000-8000-000000000003";
const FLOW = "fabc0000-0000-4000-8000-000000000001";
const WS = "fab00000-0000-4000-8000-0000000000b1";
const DATASET = "fabd0000-0000-4000-8000-000000000001";
const NEW_FLOW = "fabc0000-0000-4000-8000-0000000000aa";

const PA = "/providers/Microsoft.PowerApps/scopes/admin/environments";
const FL = "/providers/Microsoft.ProcessSimple/scopes/admin/environments";
const BAP = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments";

for (const backend of storeBackends()) {
  describe(`Power Platform admin APIs (${backend.name})`, () => {
    let server: TestServer;
    const token = (aud: string, tid: string, oid: string, extra: Record<string, unknown> = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return server.openpal.identity.keys.sign({ iss: `${server.url}/${tid}/v2.0`, aud, tid, oid, sub: oid, ver: "2.0", idtyp: "user", iat: now, nbf: now, exp: now + 600, ...extra });
    };
    const PA_AUD = "https://service.powerapps.com/";
    const FLOW_AUD = "https://service.flow.microsoft.com/";
    const PBI_AUD = "https://analysis.windows.net/powerbi/api";
    const dvUrl = (env = PROD) => `${server.url}/dataverse/${env}`;
    const call = async (tok: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const init: RequestInit = { method, headers: { authorization: `Bearer ${tok}`, ...headers } };
      if (body instanceof FormData) init.body = body;
      else if (body !== undefined) {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] = "application/json";
      }
      const res = await server.fetch(path, init);
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
    };
    let admin: { pa: string; flow: string; pbi: string; dv: string };

    before(async () => {
      server = await startTestServer({ backend });
      const store = server.openpal.context.store;
      const result = await applyWorld(store, JSON.parse(readFileSync(FIXTURE, "utf8")) as WorldFile, { clock: systemClock, actor: "test" });
      assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
      await store.powerPlatform.putResource({ tenantId: FAB, id: CANVAS2, kind: "canvasApp", environmentId: PROD, workspaceId: null, displayName: "Expenses", createdBy: ERIN, createdAt: Date.parse("2026-09-01T00:00:00Z"), modifiedAt: Date.parse("2026-09-01T00:00:00Z"), deletedAt: null, details: {} });
      await store.powerPlatform.insertRelationship(FAB, { resourceId: CANVAS2, principalId: ERIN, relation: "owner", basis: "created", from: Date.parse("2026-09-01T00:00:00Z"), to: null });
      await store.directoryRoles.grant(CON, DirectoryRole.GlobalAdministrator, DANA, null);
      admin = { pa: await token(PA_AUD, FAB, ADMIN), flow: await token(FLOW_AUD, FAB, ADMIN), pbi: await token(PBI_AUD, FAB, ADMIN), dv: await token(dvUrl(), FAB, ADMIN) };
    });
    after(() => server.close());

    describe("BAP environments", () => {
      it("lists the tenant's environments with sku, default name Default-<tenantId> and the Dataverse instance URL", async () => {
        const r = await call(admin.pa, "GET", `${BAP}?api-version=2016-11-01&$expand=permissions`);
        assert.equal(r.status, 200);
        const byName = new Map((r.json.value as { name: string; properties: Record<string, unknown> }[]).map((e) => [e.name, e]));
        assert.deepEqual([...byName.keys()].sort(), [`Default-${FAB}`, PROD, "fabe0000-0000-4000-8000-000000000002"].sort());
        const prod = byName.get(PROD);
        assert.equal(prod?.properties.environmentSku, "Production");
        assert.equal((prod?.properties.linkedEnvironmentMetadata as { instanceApiUrl: string }).instanceApiUrl, dvUrl());
        assert.equal(byName.get(`Default-${FAB}`)?.properties.isDefault, true);
      });
      it("~default names the default environment", async () => {
        const r = await call(admin.pa, "GET", `${BAP}/~default?api-version=2020-10-01`);
        assert.equal(r.status, 200);
        assert.equal(r.json.name, `Default-${FAB}`);
      });
      it("a missing api-version and an unknown environment are errors in the service's shape", async () => {
        const missing = await call(admin.pa, "GET", BAP);
        assert.equal(missing.status, 400);
        assert.equal(missing.json.error.code, "MissingApiVersionParameter");
        const unknown = await call(admin.pa, "GET", `${BAP}/fabe0000-0000-4000-8000-0000000000ff?api-version=2016-11-01`);
        assert.equal(unknown.status, 404);
        assert.equal(unknown.json.error.code, "EnvironmentNotFound");
      });
    });

    describe("Power Apps admin", () => {
      it("lists canvas apps with owner and createdBy, pages with nextLink, $expand=permissions", async () => {
        const first = await call(admin.pa, "GET", `${PA}/${PROD}/apps?api-version=2016-11-01&$top=1&$expand=permissions`);
        assert.equal(first.status, 200);
        assert.equal(first.json.value.length, 1);
        assert.equal(first.json.value[0].appType, "ClassicCanvasApp");
        assert.ok(first.json.value[0].properties.permissions.length >= 1);
        const next = await server.fetch(first.json.nextLink, { headers: { authorization: `Bearer ${admin.pa}` } }).then((res) => res.json()) as { value: { name: string }[]; nextLink?: string };
        assert.equal(next.value.length, 1);
        assert.equal(next.nextLink, undefined);
        assert.deepEqual([first.json.value[0].name, next.value[0]?.name].sort(), [CANVAS, CANVAS2].sort());
      });
      it("modifyAppOwner changes the owner; the app, its permissions and the Dataverse view show it; the old owner keeps CanEdit when asked", async () => {
        const r = await call(admin.pa, "POST", `${PA}/${PROD}/apps/${CANVAS2}/modifyAppOwner?api-version=2016-11-01`, { newAppOwner: SVC, roleForOldAppOwner: "CanEdit" });
        assert.equal(r.status, 200);
        const app = await call(admin.pa, "GET", `${PA}/${PROD}/apps/${CANVAS2}?api-version=2016-11-01`);
        assert.equal(app.json.properties.owner.id, SVC);
        assert.equal(app.json.properties.createdBy.id, ERIN);
        const perms = await call(admin.pa, "GET", `${PA}/${PROD}/apps/${CANVAS2}/permissions?api-version=2016-11-01`);
        assert.deepEqual(perms.json.value.map((p: { properties: { roleName: string; principal: { id: string } } }) => [p.properties.roleName, p.properties.principal.id]).sort(), [["CanEdit", ERIN], ["Owner", SVC]]);
        const dv = await call(admin.dv, "GET", `/dataverse/${PROD}/api/data/v9.2/canvasapps(${CANVAS2})`);
        assert.equal(dv.json._ownerid_value, SVC);
        const audit = await server.openpal.context.store.audit.list({ tenantId: FAB });
        assert.ok(audit.some((e) => e.action === "powerPlatform.owner.change" && e.actorObjectId === ADMIN));
      });
      it("modifyPermissions adds and deletes a co-owner (CanEdit)", async () => {
        const put = await call(admin.pa, "POST", `${PA}/${PROD}/apps/${CANVAS2}/modifyPermissions?api-version=2016-11-01`, { put: [{ properties: { roleName: "CanEdit", principal: { id: MAKER, type: "User" }, notifyShareTargetOption: "Notify" } }] });
        assert.equal(put.status, 200);
        let perms = await call(admin.pa, "GET", `${PA}/${PROD}/apps/${CANVAS2}/permissions?api-version=2016-11-01`);
        const makerPerm = perms.json.value.find((p: { properties: { principal: { id: string } } }) => p.properties.principal.id === MAKER);
        assert.equal(makerPerm?.properties.roleName, "CanEdit");
        const del = await call(admin.pa, "POST", `${PA}/${PROD}/apps/${CANVAS2}/modifyPermissions?api-version=2016-11-01`, { delete: [{ id: makerPerm.id }] });
        assert.equal(del.status, 200);
        perms = await call(admin.pa, "GET", `${PA}/${PROD}/apps/${CANVAS2}/permissions?api-version=2016-11-01`);
        assert.equal(perms.json.value.some((p: { properties: { principal: { id: string } } }) => p.properties.principal.id === MAKER), false);
      });
      it("bad bodies, unknown principals and unknown apps are refused in the service's shape and change nothing", async () => {
        const before = await server.openpal.context.store.powerPlatform.relationships(FAB, CANVAS2);
        const noOwner = await call(admin.pa, "POST", `${PA}/${PROD}/apps/${CANVAS2}/modifyAppOwner?api-version=2016-11-01`, { owner: SVC });
        assert.equal(noOwner.status, 400);
        assert.match(noOwner.json.error.message, /newAppOwner/);
        const unknown = await call(admin.pa, "POST", `${PA}/${PROD}/apps/${CANVAS2}/modifyPermissions?api-version=2016-11-01`, { put: [{ properties: { roleName: "CanEdit", principal: { id: MAKER, type: "User" } } }, { properties: { roleName: "CanEdit", principal: { id: "99999999-0000-4000-8000-000000000009", type: "User" } } }] });
        assert.equal(unknown.status, 400);
        assert.match(unknown.json.error.message, /not a user or service principal/);
        const noApp = await call(admin.pa, "GET", `${PA}/${PROD}/apps/faba0000-0000-4000-8000-0000000000ff?api-version=2016-11-01`);
        assert.equal(noApp.status, 404);
        assert.equal(noApp.json.error.code, "AppNotFound");
        assert.deepEqual(await server.openpal.context.store.powerPlatform.relationships(FAB, CANVAS2), before);
      });
    });

    describe("Flow admin", () => {
      it("v2/flows lists flows with creator and isManaged; the older path answers the same", async () => {
        const v2 = await call(admin.flow, "GET", `${FL}/${PROD}/v2/flows?api-version=2016-11-01`);
        assert.equal(v2.status, 200);
        const flow = v2.json.value.find((f: { name: string }) => f.name === FLOW);
        assert.equal(flow.properties.creator.objectId, MAKER);
        assert.equal(flow.properties.isManaged, true);
        const old = await call(admin.flow, "GET", `${FL}/${PROD}/flows?api-version=2016-11-01`);
        assert.deepEqual(old.json.value.map((f: { name: string }) => f.name), v2.json.value.map((f: { name: string }) => f.name));
      });
      it("modifyPermissions adds a CanEdit co-owner; the creator and the owner do not change", async () => {
        const r = await call(admin.flow, "POST", `${FL}/${PROD}/flows/${FLOW}/modifyPermissions?api-version=2016-11-01`, { put: [{ properties: { principal: { id: ERIN, type: "User" }, roleName: "CanEdit" } }] });
        assert.equal(r.status, 200);
        const perms = await call(admin.flow, "GET", `${FL}/${PROD}/v2/flows/${FLOW}/permissions?api-version=2016-11-01`);
        const roles = Object.fromEntries(perms.json.value.map((p: { properties: { roleName: string; principal: { id: string } } }) => [p.properties.principal.id, p.properties.roleName]));
        assert.equal(roles[ERIN], "CanEdit");
        assert.equal(roles[SVC], "Owner", "the last solution importer owns the flow");
        const flow = await call(admin.flow, "GET", `${FL}/${PROD}/v2/flows/${FLOW}?api-version=2016-11-01`);
        assert.equal(flow.json.properties.creator.objectId, MAKER);
      });
      it("a Power Apps token is refused by Flow (wrong audience): 401", async () => {
        const r = await call(admin.pa, "GET", `${FL}/${PROD}/v2/flows?api-version=2016-11-01`);
        assert.equal(r.status, 401);
        assert.equal(r.json.error.code, "InvalidAuthenticationToken");
      });
    });

    describe("Dataverse: solutions, components, owners", () => {
      const zip = (version: string) => Buffer.from(solutionZip({ uniqueName: "contoso_fieldops", version, components: [{ type: 29, id: NEW_FLOW, displayName: "Dispatch" }, { type: 300, schemaName: "cr123_fieldops_9z8y7", displayName: "Field ops" }] })).toString("base64");

      it("ImportSolution by a maker (the partner's service account) re-owns every component; solutioncomponents, workflows, Power Apps and Flow show it", async () => {
        const svc = await token(dvUrl(), FAB, SVC, { idtyp: "app" });
        const r = await call(svc, "POST", `/dataverse/${PROD}/api/data/v9.2/ImportSolution`, { CustomizationFile: zip("1.0.0.0"), OverwriteUnmanagedCustomizations: false, PublishWorkflows: true, ImportJobId: "0b0b0b0b-0000-4000-8000-000000000001" });
        assert.equal(r.status, 204, JSON.stringify(r.json));
        const sol = await call(admin.dv, "GET", `/dataverse/${PROD}/api/data/v9.2/solutions?$filter=uniquename eq 'contoso_fieldops'&$select=solutionid,uniquename,ismanaged,version`);
        assert.equal(sol.json.value.length, 1);
        assert.deepEqual(Object.keys(sol.json.value[0]).sort(), ["ismanaged", "solutionid", "uniquename", "version"]);
        const comps = await call(admin.dv, "GET", `/dataverse/${PROD}/api/data/v9.2/solutioncomponents?$filter=_solutionid_value eq ${sol.json.value[0].solutionid}`);
        assert.deepEqual(comps.json.value.map((c: { componenttype: number }) => c.componenttype).sort(), [29, 300]);
        const wf = await call(admin.dv, "GET", `/dataverse/${PROD}/api/data/v9.2/workflows(${NEW_FLOW})`);
        assert.equal(wf.json._ownerid_value, SVC);
        assert.equal(wf.json.category, 5);
        const appId = comps.json.value.find((c: { componenttype: number }) => c.componenttype === 300).objectid;
        const app = await call(admin.pa, "GET", `${PA}/${PROD}/apps/${appId}?api-version=2016-11-01`);
        assert.equal(app.json.properties.owner.id, SVC);
        const perms = await call(admin.flow, "GET", `${FL}/${PROD}/v2/flows/${NEW_FLOW}/permissions?api-version=2016-11-01`);
        assert.equal(perms.json.value.find((p: { properties: { roleName: string } }) => p.properties.roleName === "Owner").properties.principal.id, SVC);
      });
      it("StageSolution → ImportSolutionAsync → asyncoperations: the guest (a maker) re-owns the components from the import", async () => {
        const guest = await token(dvUrl(), FAB, GUEST);
        const staged = await call(guest, "POST", `/dataverse/${PROD}/api/data/v9.2/StageSolution`, { CustomizationFile: zip("1.1.0.0") });
        assert.equal(staged.status, 200, JSON.stringify(staged.json));
        assert.equal(staged.json.StageSolutionResults.SolutionDetails.SolutionUniqueName, "contoso_fieldops");
        assert.equal(staged.json.StageSolutionResults.SolutionDetails.IsSolutionInstalled, true);
        const started = await call(guest, "POST", `/dataverse/${PROD}/api/data/v9.2/ImportSolutionAsync`, { SolutionParameters: { StageSolutionUploadId: staged.json.StageSolutionResults.StageSolutionUploadId }, OverwriteUnmanagedCustomizations: false, PublishWorkflows: true });
        assert.equal(started.status, 200, JSON.stringify(started.json));
        const op = await call(guest, "GET", `/dataverse/${PROD}/api/data/v9.2/asyncoperations(${started.json.AsyncOperationId})`);
        assert.equal(op.json.statecode, 3);
        assert.equal(op.json.statuscode, 30);
        const wf = await call(admin.dv, "GET", `/dataverse/${PROD}/api/data/v9.2/workflows(${NEW_FLOW})`);
        assert.equal(wf.json._ownerid_value, GUEST);
        const sol = await call(admin.dv, "GET", `/dataverse/${PROD}/api/data/v9.2/solutions?$filter=uniquename eq 'contoso_fieldops'`);
        assert.equal(sol.json.value[0].version, "1.1.0.0");
      });
      it("PATCH workflows(<id>) with ownerid@odata.bind reassigns one component; the Flow view shows it", async () => {
        const r = await call(admin.dv, "PATCH", `/dataverse/${PROD}/api/data/v9.2/workflows(${NEW_FLOW})`, { "ownerid@odata.bind": `/systemusers(${ERIN})` });
        assert.equal(r.status, 204, JSON.stringify(r.json));
        const perms = await call(admin.flow, "GET", `${FL}/${PROD}/v2/flows/${NEW_FLOW}/permissions?api-version=2016-11-01`);
        assert.equal(perms.json.value.find((p: { properties: { roleName: string } }) => p.properties.roleName === "Owner").properties.principal.id, ERIN);
        const users = await call(admin.dv, "GET", `/dataverse/${PROD}/api/data/v9.2/systemusers?$filter=azureactivedirectoryobjectid eq ${ERIN}`);
        assert.equal(users.json.value[0].domainname, "erin@fabrikam-pp.example");
      });
      it("malformed solution files, non-makers, other tenants and unknown segments get OData errors and change nothing", async () => {
        const store = server.openpal.context.store;
        const before = (await store.powerPlatform.listSolutions(FAB)).length;
        const notZip = await call(admin.dv, "POST", `/dataverse/${PROD}/api/data/v9.2/ImportSolution`, { CustomizationFile: Buffer.from("not a zip").toString("base64") });
        assert.equal(notZip.status, 400);
        assert.match(notZip.json.error.message, /not a zip archive/);
        assert.match(notZip.json.error.code, /^0x/);
        const noFile = await call(admin.dv, "POST", `/dataverse/${PROD}/api/data/v9.2/ImportSolution`, {});
        assert.equal(noFile.status, 400);
        const erin = await token(dvUrl(), FAB, ERIN);
        const denied = await call(erin, "POST", `/dataverse/${PROD}/api/data/v9.2/ImportSolution`, { CustomizationFile: zip("9.0.0.0") });
        assert.equal(denied.status, 403);
        assert.equal(denied.json.error.code, "0x80040220");
        const foreign = await token(dvUrl(), CON, DANA);
        const other = await call(foreign, "GET", `/dataverse/${PROD}/api/data/v9.2/solutions`);
        assert.equal(other.status, 404);
        const segment = await call(admin.dv, "GET", `/dataverse/${PROD}/api/data/v9.2/accounts`);
        assert.equal(segment.status, 404);
        assert.ok(segment.json.error.message.includes("Dataverse subset"));
        assert.equal((await store.powerPlatform.listSolutions(FAB)).length, before);
      });
    });

    describe("Power BI", () => {
      it("admin datasets show configuredBy (the publisher's UPN); Default.TakeOver by a member changes it and is an activity event", async () => {
        let ds = await call(admin.pbi, "GET", "/v1.0/myorg/admin/datasets");
        assert.equal(ds.status, 200);
        assert.equal(ds.json.value.find((d: { id: string }) => d.id === DATASET).configuredBy, "dana_contoso-pp.example#EXT#@fabrikam-pp.example");
        const erin = await token(PBI_AUD, FAB, ERIN);
        const take = await server.fetch(`/v1.0/myorg/groups/${WS}/datasets/${DATASET}/Default.TakeOver`, { method: "POST", headers: { authorization: `Bearer ${erin}` } });
        assert.equal(take.status, 200);
        ds = await call(admin.pbi, "GET", `/v1.0/myorg/admin/groups/${WS}/datasets`);
        assert.equal(ds.json.value.find((d: { id: string }) => d.id === DATASET).configuredBy, "erin@fabrikam-pp.example");
        const day = new Date().toISOString().slice(0, 10);
        const ev = await call(admin.pbi, "GET", `/v1.0/myorg/admin/activityevents?startDateTime='${day}T00:00:00.000Z'&endDateTime='${day}T23:59:59.999Z'&$filter=Activity eq 'TakeOverDataset'`);
        assert.equal(ev.status, 200);
        assert.equal(ev.json.lastResultSet, true);
        assert.ok(ev.json.activityEventEntities.some((e: { DatasetId: string; UserId: string; RecordType: number }) => e.DatasetId === DATASET && e.UserId === "erin@fabrikam-pp.example" && e.RecordType === 20));
      });
      it("imports a .pbix (multipart) as a member; the caller becomes the publisher; the import polls Succeeded", async () => {
        const guest = await token(PBI_AUD, FAB, GUEST);
        const form = new FormData();
        form.append("file", new Blob([solutionZip({ uniqueName: "not_a_solution", components: [] })]), "Forecast.pbix");
        const r = await call(guest, "POST", `/v1.0/myorg/groups/${WS}/imports?datasetDisplayName=Forecast.pbix&nameConflict=CreateOrOverwrite`, form);
        assert.equal(r.status, 202, JSON.stringify(r.json));
        const imp = await call(guest, "GET", `/v1.0/myorg/groups/${WS}/imports/${r.json.id}`);
        assert.equal(imp.json.importState, "Succeeded");
        const ds = await call(admin.pbi, "GET", "/v1.0/myorg/admin/datasets");
        const forecast = ds.json.value.find((d: { name: string }) => d.name === "Forecast");
        assert.equal(forecast?.id, imp.json.datasets[0].id);
        assert.equal(forecast?.configuredBy, "dana_contoso-pp.example#EXT#@fabrikam-pp.example");
      });
      it("non-admins get PowerBINotAuthorizedException; a non-member cannot take over; a corrupt file and a two-day window are refused", async () => {
        const erin = await token(PBI_AUD, FAB, ERIN);
        const r = await call(erin, "GET", "/v1.0/myorg/admin/datasets");
        assert.equal(r.status, 403);
        assert.equal(r.json.error.code, "PowerBINotAuthorizedException");
        assert.equal(r.json.error["pbi.error"].code, "PowerBINotAuthorizedException");
        const maker = await token(PBI_AUD, FAB, MAKER);
        const take = await call(maker, "POST", `/v1.0/myorg/groups/${WS}/datasets/${DATASET}/Default.TakeOver`);
        assert.equal(take.status, 403);
        const form = new FormData();
        form.append("file", new Blob(["not a pbix"]), "Bad.pbix");
        const bad = await call(erin, "POST", `/v1.0/myorg/groups/${WS}/imports?datasetDisplayName=Bad.pbix`, form);
        assert.equal(bad.status, 400);
        assert.equal(bad.json.error.code, "RequestedFileIsEncryptedOrCorrupted");
        const window = await call(admin.pbi, "GET", "/v1.0/myorg/admin/activityevents?startDateTime='2026-10-01T00:00:00Z'&endDateTime='2026-10-02T10:00:00Z'");
        assert.equal(window.status, 400);
        assert.match(window.json.error.message, /same UTC day/);
      });
    });

    describe("isolation", () => {
      it("another tenant's admin sees none of Fabrikam's environments and cannot reach them by name", async () => {
        const dana = await token(PA_AUD, CON, DANA);
        const list = await call(dana, "GET", `${BAP}?api-version=2016-11-01`);
        assert.equal(list.status, 200);
        assert.deepEqual(list.json.value, []);
        const apps = await call(dana, "GET", `${PA}/${PROD}/apps?api-version=2016-11-01`);
        assert.equal(apps.status, 404);
        const own = await call(dana, "POST", `${PA}/${PROD}/apps/${CANVAS}/modifyAppOwner?api-version=2016-11-01`, { newAppOwner: DANA });
        assert.equal(own.status, 404);
      });
      it("a non-admin gets each service's 403", async () => {
        const erinPa = await token(PA_AUD, FAB, ERIN);
        const r = await call(erinPa, "GET", `${PA}/${PROD}/apps?api-version=2016-11-01`);
        assert.equal(r.status, 403);
        assert.equal(r.json.error.code, "Forbidden");
        assert.match(r.json.error.message, /Power Platform Administrator/);
        const erinFlow = await token(FLOW_AUD, FAB, ERIN);
        assert.equal((await call(erinFlow, "GET", `${FL}/${PROD}/v2/flows?api-version=2016-11-01`)).status, 403);
      });
      it("a delegated administrator (foreign token of a partner tenant with a delegatedAdmins entry) acts in the customer tenant as a maker", async () => {
        const foreign = await token(dvUrl(), FAB, DANA, { foreign: true, home_tid: CON });
        const zip = Buffer.from(solutionZip({ uniqueName: "contoso_delegated", components: [{ type: 29, id: "fabc0000-0000-4000-8000-0000000000dd", displayName: "Delegated flow" }] })).toString("base64");
        const r = await call(foreign, "POST", `/dataverse/${PROD}/api/data/v9.2/ImportSolution`, { CustomizationFile: zip });
        assert.equal(r.status, 204, JSON.stringify(r.json));
        const wf = await call(admin.dv, "GET", `/dataverse/${PROD}/api/data/v9.2/workflows(fabc0000-0000-4000-8000-0000000000dd)`);
        assert.equal(wf.json._ownerid_value, DANA);
        // Without the relationship (another tenant), the same kind of token is refused.
        const stranger = await token(dvUrl(), FAB, DANA, { foreign: true, home_tid: "99999999-0000-4000-8000-000000000000" });
        assert.equal((await call(stranger, "GET", `/dataverse/${PROD}/api/data/v9.2/solutions`)).status, 403);
      });
      it("no token is a 401 with WWW-Authenticate", async () => {
        const res = await server.fetch(`${BAP}?api-version=2016-11-01`);
        assert.equal(res.status, 401);
        assert.ok(res.headers.get("www-authenticate"));
      });
    });
  });
}
