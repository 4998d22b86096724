/**
 * `openpal powerplatform …`: the Power Platform admin APIs as the signed-in account, with a token
 * per service (Power Apps / BAP, Flow, Power BI, and each environment's Dataverse instance URL,
 * found in the environment's `linkedEnvironmentMetadata.instanceApiUrl` as real tools do):
 *
 *   environments list | show ENV
 *   apps list|show --environment ENV [APP]        flows list|show --environment ENV [FLOW]
 *   datasets list [--workspace W]                 solutions list|show --environment ENV [UNIQUENAME]
 *   set-owner --environment ENV (--app A | --flow F) --owner OID [--keep-old-owner]
 *   add-co-owner --environment ENV (--app A | --flow F) --principal OID
 *   import-solution FILE --environment ENV [--staged]
 *   take-over --workspace W --dataset D
 *
 * Lists follow `nextLink`. Output: a table (default) or JSON (-o json). Errors carry the
 * service's message and an exit code (403 → forbidden, 404 → not found, 400 → usage).
 */
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { CliError, ExitCode } from "../errors.ts";
import { cliErrorFrom, formatTable } from "./managementpartner.ts";

/** What the commands need from a session: the server URL and fetch with a token for a scope. */
export interface PowerPlatformSession {
  readonly baseUrl: string;
  fetch(pathOrUrl: string, init?: RequestInit & { scope?: string }): Promise<Response>;
}

export const PP_SCOPES = {
  powerApps: "https://service.powerapps.com//.default",
  flow: "https://service.flow.microsoft.com//.default",
  powerBi: "https://analysis.windows.net/powerbi/api/.default",
} as const;

const API = "api-version=2016-11-01";
type Json = Record<string, unknown>;

async function call(session: PowerPlatformSession, scope: string, method: string, path: string, body?: unknown): Promise<Json> {
  let res: Response;
  try {
    res = await session.fetch(path, { method, scope, ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }) });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot reach the server: ${(error as Error).message}. Is it running (openpal serve)?`, ExitCode.unreachable);
  }
  const text = await res.text();
  if (res.status >= 300) throw cliErrorFrom(res.status, text);
  return text ? (JSON.parse(text) as Json) : {};
}

/** Every page of a list (`value` + `nextLink`). */
async function list(session: PowerPlatformSession, scope: string, path: string): Promise<Json[]> {
  const out: Json[] = [];
  let next: string | undefined = path;
  while (next) {
    const page = await call(session, scope, "GET", next);
    out.push(...((page.value as Json[] | undefined) ?? []));
    next = typeof page.nextLink === "string" ? page.nextLink : undefined;
  }
  return out;
}

const props = (x: Json) => (x.properties ?? {}) as Json;
const idOf = (p: unknown) => (p && typeof p === "object" ? ((p as Json).id as string | undefined) ?? null : null);

export async function environments(session: PowerPlatformSession): Promise<Json[]> {
  const envs = await list(session, PP_SCOPES.powerApps, `/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?${API}`);
  return envs.map((e) => ({ name: e.name, displayName: props(e).displayName, type: props(e).environmentSku, isDefault: props(e).isDefault, createdTime: props(e).createdTime, instanceApiUrl: (props(e).linkedEnvironmentMetadata as Json | undefined)?.instanceApiUrl }));
}

export async function environment(session: PowerPlatformSession, env: string): Promise<Json> {
  const e = await call(session, PP_SCOPES.powerApps, "GET", `/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/${encodeURIComponent(env)}?${API}`);
  return { name: e.name, displayName: props(e).displayName, type: props(e).environmentSku, isDefault: props(e).isDefault, createdTime: props(e).createdTime, instanceApiUrl: (props(e).linkedEnvironmentMetadata as Json | undefined)?.instanceApiUrl };
}

/** The Dataverse Web API base and token scope of an environment. */
async function dataverse(session: PowerPlatformSession, env: string): Promise<{ api: string; scope: string }> {
  // Makers are not BAP administrators: without the admin view, use this server's instance URL.
  const url = await environment(session, env).then((e) => e.instanceApiUrl as string | undefined, (error: unknown) => {
    if (error instanceof CliError && error.exitCode === ExitCode.forbidden) return `${session.baseUrl.replace(/\/+$/, "")}/dataverse/${env.toLowerCase()}`;
    throw error;
  });
  if (!url) throw new CliError(`environment ${env} has no Dataverse instance.`, ExitCode.failure);
  return { api: `${url}/api/data/v9.2`, scope: `${url}/.default` };
}

const flatApp = (a: Json) => ({ name: a.name, displayName: props(a).displayName, owner: idOf(props(a).owner), createdBy: idOf(props(a).createdBy), createdTime: props(a).createdTime });
const flatFlow = (f: Json) => ({ name: f.name, displayName: props(f).displayName, state: props(f).state, creator: (props(f).creator as Json | undefined)?.objectId ?? null, isManaged: props(f).isManaged, createdTime: props(f).createdTime });

export async function apps(session: PowerPlatformSession, env: string, app?: string): Promise<Json[]> {
  const base = `/providers/Microsoft.PowerApps/scopes/admin/environments/${encodeURIComponent(env)}/apps`;
  if (app) return [flatApp(await call(session, PP_SCOPES.powerApps, "GET", `${base}/${encodeURIComponent(app)}?${API}`))];
  return (await list(session, PP_SCOPES.powerApps, `${base}?${API}`)).map(flatApp);
}

export async function flows(session: PowerPlatformSession, env: string, flow?: string): Promise<Json[]> {
  const base = `/providers/Microsoft.ProcessSimple/scopes/admin/environments/${encodeURIComponent(env)}/v2/flows`;
  if (flow) return [flatFlow(await call(session, PP_SCOPES.flow, "GET", `${base}/${encodeURIComponent(flow)}?${API}`))];
  return (await list(session, PP_SCOPES.flow, `${base}?${API}`)).map(flatFlow);
}

export async function datasets(session: PowerPlatformSession, workspace?: string): Promise<Json[]> {
  const path = workspace ? `/v1.0/myorg/admin/groups/${encodeURIComponent(workspace)}/datasets` : "/v1.0/myorg/admin/datasets";
  return (await list(session, PP_SCOPES.powerBi, path)).map((d) => ({ id: d.id, name: d.name, configuredBy: d.configuredBy, workspaceId: d.workspaceId, createdDate: d.createdDate }));
}

export async function solutions(session: PowerPlatformSession, env: string, uniqueName?: string): Promise<Json[]> {
  const dv = await dataverse(session, env);
  const filter = uniqueName ? `?$filter=${encodeURIComponent(`uniquename eq '${uniqueName.replace(/'/g, "''")}'`)}` : "";
  const rows = await list(session, dv.scope, `${dv.api}/solutions${filter}`);
  if (uniqueName && rows.length === 0) throw new CliError(`no solution ${uniqueName} in environment ${env}.`, ExitCode.notFound);
  return rows.map((r) => ({ uniquename: r.uniquename, friendlyname: r.friendlyname, version: r.version, ismanaged: r.ismanaged, installedon: r.installedon, solutionid: r.solutionid }));
}

/** Changes the owner of an app (modifyAppOwner) or a flow (Dataverse ownerid reassignment). */
export async function setOwner(session: PowerPlatformSession, env: string, target: { app?: string; flow?: string }, owner: string, keepOldOwner: boolean): Promise<Json[]> {
  if (target.app) {
    await call(session, PP_SCOPES.powerApps, "POST", `/providers/Microsoft.PowerApps/scopes/admin/environments/${encodeURIComponent(env)}/apps/${encodeURIComponent(target.app)}/modifyAppOwner?${API}`, { newAppOwner: owner, ...(keepOldOwner ? { roleForOldAppOwner: "CanEdit" } : {}) });
    return apps(session, env, target.app);
  }
  if (target.flow) {
    const dv = await dataverse(session, env);
    await call(session, dv.scope, "PATCH", `${dv.api}/workflows(${encodeURIComponent(target.flow)})`, { "ownerid@odata.bind": `/systemusers(${owner})` });
    return flows(session, env, target.flow);
  }
  throw new CliError("name the resource: --app <id> or --flow <id>.", ExitCode.usage);
}

export async function addCoOwner(session: PowerPlatformSession, env: string, target: { app?: string; flow?: string }, principal: string): Promise<Json[]> {
  const body = { put: [{ properties: { roleName: "CanEdit", principal: { id: principal, type: "User" } } }] };
  const e = encodeURIComponent(env);
  let perms: Json[];
  if (target.app) {
    await call(session, PP_SCOPES.powerApps, "POST", `/providers/Microsoft.PowerApps/scopes/admin/environments/${e}/apps/${encodeURIComponent(target.app)}/modifyPermissions?${API}`, body);
    perms = await list(session, PP_SCOPES.powerApps, `/providers/Microsoft.PowerApps/scopes/admin/environments/${e}/apps/${encodeURIComponent(target.app)}/permissions?${API}`);
  } else if (target.flow) {
    await call(session, PP_SCOPES.flow, "POST", `/providers/Microsoft.ProcessSimple/scopes/admin/environments/${e}/flows/${encodeURIComponent(target.flow)}/modifyPermissions?${API}`, body);
    perms = await list(session, PP_SCOPES.flow, `/providers/Microsoft.ProcessSimple/scopes/admin/environments/${e}/v2/flows/${encodeURIComponent(target.flow)}/permissions?${API}`);
  } else throw new CliError("name the resource: --app <id> or --flow <id>.", ExitCode.usage);
  return perms.map((p) => ({ principal: idOf(props(p).principal), roleName: props(p).roleName }));
}

/** Imports a solution zip (directly, or staged then asynchronous) and shows the solution after. */
export async function importSolution(session: PowerPlatformSession, env: string, file: string, staged: boolean): Promise<Json[]> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, ExitCode.usage);
  }
  const dv = await dataverse(session, env);
  const CustomizationFile = bytes.toString("base64");
  let uniqueName: string | undefined;
  if (staged) {
    const stage = await call(session, dv.scope, "POST", `${dv.api}/StageSolution`, { CustomizationFile });
    const results = stage.StageSolutionResults as Json;
    uniqueName = (results.SolutionDetails as Json).SolutionUniqueName as string;
    const started = await call(session, dv.scope, "POST", `${dv.api}/ImportSolutionAsync`, { SolutionParameters: { StageSolutionUploadId: results.StageSolutionUploadId }, OverwriteUnmanagedCustomizations: false, PublishWorkflows: true });
    const op = await call(session, dv.scope, "GET", `${dv.api}/asyncoperations(${started.AsyncOperationId as string})`);
    if (op.statuscode !== 30) throw new CliError(`the import did not succeed: ${String(op.message ?? op.statuscode)}`, ExitCode.failure);
  } else {
    await call(session, dv.scope, "POST", `${dv.api}/ImportSolution`, { CustomizationFile, OverwriteUnmanagedCustomizations: false, PublishWorkflows: true });
    const { readSolutionZip } = await import("../../powerplatform/dataverse/solution-zip.ts");
    const read = readSolutionZip(new Uint8Array(bytes));
    uniqueName = read.ok ? read.manifest.uniqueName : undefined;
  }
  return uniqueName ? solutions(session, env, uniqueName) : solutions(session, env);
}

export async function takeOver(session: PowerPlatformSession, workspace: string, dataset: string): Promise<Json[]> {
  await call(session, PP_SCOPES.powerBi, "POST", `/v1.0/myorg/groups/${encodeURIComponent(workspace)}/datasets/${encodeURIComponent(dataset)}/Default.TakeOver`);
  // The admin view shows the new configuredBy; a member who is not a Fabric administrator gets the fact alone.
  return datasets(session, workspace).then((rows) => rows.filter((d) => d.id === dataset.toLowerCase()), (error: unknown) => {
    if (error instanceof CliError && error.exitCode === ExitCode.forbidden) return [{ id: dataset.toLowerCase(), workspaceId: workspace.toLowerCase(), takenOver: true }];
    throw error;
  });
}

async function defaultSession(): Promise<PowerPlatformSession> {
  const { openSession } = await import("../session.ts");
  const s = await openSession();
  return { baseUrl: s.server.url, fetch: (path, init = {}) => s.fetch(path, init) };
}

export function powerPlatformCommand(openSession: () => Promise<PowerPlatformSession> = defaultSession): Command {
  const cmd = new Command("powerplatform").description("Power Platform admin: environments, apps, flows, datasets, solutions; change owners, import solutions, take datasets over.");
  const output = () => new Option("-o, --output <format>", "output format").choices(["json", "table"]).default("table");
  const print = (rows: Json[], format: string) => {
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    process.stdout.write(format === "json" ? JSON.stringify(rows, null, 2) + "\n" : rows.length ? formatTable(rows, columns) : "(none)\n");
  };
  const need = (v: string | undefined, flag: string, example: string) => {
    if (!v) throw new CliError(`${flag} is required, e.g. ${flag} ${example}.`, ExitCode.usage);
    return v;
  };

  const envs = cmd.command("environments").description("Power Platform environments of the tenant.");
  envs.command("list").addOption(output()).action(async (o: { output: string }) => print(await environments(await openSession()), o.output));
  envs.command("show").argument("<environment>", "environment name, Default-<tenantId> or ~default").addOption(output()).action(async (env: string, o: { output: string }) => print([await environment(await openSession(), env)], o.output));

  for (const [noun, fn] of [["apps", apps], ["flows", flows]] as const) {
    const c = cmd.command(noun).description(`${noun === "apps" ? "Canvas apps" : "Cloud flows"} of an environment.`);
    c.command("list").option("--environment <env>", "environment name").addOption(output())
      .action(async (o: { environment?: string; output: string }) => print(await fn(await openSession(), need(o.environment, "--environment", "~default")), o.output));
    c.command("show").argument("<id>", `${noun === "apps" ? "app" : "flow"} id`).option("--environment <env>", "environment name").addOption(output())
      .action(async (id: string, o: { environment?: string; output: string }) => print(await fn(await openSession(), need(o.environment, "--environment", "~default"), id), o.output));
  }
  const ds = cmd.command("datasets").description("Power BI datasets (admin view).");
  ds.command("list").option("--workspace <id>", "only this workspace").addOption(output())
    .action(async (o: { workspace?: string; output: string }) => print(await datasets(await openSession(), o.workspace), o.output));
  ds.command("show").argument("<id>", "dataset id").option("--workspace <id>", "workspace").addOption(output())
    .action(async (id: string, o: { workspace?: string; output: string }) => {
      const rows = (await datasets(await openSession(), o.workspace)).filter((d) => d.id === id.toLowerCase());
      if (!rows.length) throw new CliError(`no dataset ${id}.`, ExitCode.notFound);
      print(rows, o.output);
    });
  const sol = cmd.command("solutions").description("Dataverse solutions of an environment.");
  sol.command("list").option("--environment <env>", "environment name").addOption(output())
    .action(async (o: { environment?: string; output: string }) => print(await solutions(await openSession(), need(o.environment, "--environment", "~default")), o.output));
  sol.command("show").argument("<uniqueName>", "solution unique name").option("--environment <env>", "environment name").addOption(output())
    .action(async (name: string, o: { environment?: string; output: string }) => print(await solutions(await openSession(), need(o.environment, "--environment", "~default"), name), o.output));

  cmd.command("set-owner").description("Change the owner of a canvas app (modifyAppOwner) or a flow (Dataverse ownerid).")
    .option("--environment <env>", "environment name").option("--app <id>", "canvas app id").option("--flow <id>", "flow id")
    .option("--owner <objectId>", "new owner's object id").option("--keep-old-owner", "keep the previous owner as a co-owner (CanEdit)").addOption(output())
    .action(async (o: { environment?: string; app?: string; flow?: string; owner?: string; keepOldOwner?: boolean; output: string }) =>
      print(await setOwner(await openSession(), need(o.environment, "--environment", "~default"), o, need(o.owner, "--owner", "<objectId>"), o.keepOldOwner ?? false), o.output));
  cmd.command("add-co-owner").description("Share a canvas app or flow with edit rights (CanEdit). A flow's co-owner never counts for attribution.")
    .option("--environment <env>", "environment name").option("--app <id>", "canvas app id").option("--flow <id>", "flow id").option("--principal <objectId>", "co-owner's object id").addOption(output())
    .action(async (o: { environment?: string; app?: string; flow?: string; principal?: string; output: string }) =>
      print(await addCoOwner(await openSession(), need(o.environment, "--environment", "~default"), o, need(o.principal, "--principal", "<objectId>")), o.output));
  cmd.command("import-solution").description("Import a solution zip into an environment; the signed-in account becomes the owner of every component.")
    .argument("<file>", "solution .zip").option("--environment <env>", "environment name").option("--staged", "StageSolution then ImportSolutionAsync, as pac does").addOption(output())
    .action(async (file: string, o: { environment?: string; staged?: boolean; output: string }) => print(await importSolution(await openSession(), need(o.environment, "--environment", "<environment>"), file, o.staged ?? false), o.output));
  cmd.command("take-over").description("Take a Power BI dataset over: the signed-in account becomes its attributed user.")
    .option("--workspace <id>", "workspace (group) id").option("--dataset <id>", "dataset id").addOption(output())
    .action(async (o: { workspace?: string; dataset?: string; output: string }) => print(await takeOver(await openSession(), need(o.workspace, "--workspace", "<id>"), need(o.dataset, "--dataset", "<id>")), o.output));
  return cmd;
}
