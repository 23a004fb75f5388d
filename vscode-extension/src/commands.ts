/**
 * The commands of the editing loop: Build (`avmd build --json`, shown in the status bar), Start/Stop
 * Dev Loop (a terminal running `avmd dev`), Open App, Open Dashboard, Show Routes (QuickPick → the
 * handler's location), the Routes view's open/refresh, Restart Language Server; the device commands
 * are `device_commands`. The item mapping they show is pure (`route_items`, `routes_tree`); the state
 * lives in `Ctx`.
 */
import * as vscode from 'vscode';

import { jsonOf, runAvmd } from './avmd_cli';
import { projectDirs } from './bootstrap';
import { fromBuildJson } from './build_status';
import { Ctx, avmdEnv, workspaceFolderPaths } from './ctx';
import { registerDeviceCommands } from './device_commands';
import { ROUTES_METHOD, RouteInfo, parseRoutes } from './lsp_ext';
import { relativeTo, routeItems, routesFromDashboard } from './route_items';
import { handlerModule } from './routes_tree';

export function registerCommands(ctx: Ctx): void {
  const reg = (id: string, f: (...args: unknown[]) => Promise<void>): void => {
    ctx.extension.subscriptions.push(
      vscode.commands.registerCommand(id, (...args: unknown[]) => f(...args).catch((e: Error) => ctx.showError(`avmd: ${e.message}`))),
    );
  };
  reg('avmd.build', () => build(ctx));
  reg('avmd.showRoutes', () => showRoutes(ctx));
  reg('avmd.refreshRoutes', () => ctx.refreshRoutes());
  reg('avmd.openRouteHandler', (route) => openRouteHandler(route as RouteInfo));
  reg('avmd.startDev', () => startDev(ctx));
  reg('avmd.stopDev', () => stopDev());
  reg('avmd.openApp', () => openApp(ctx));
  reg('avmd.openDashboard', () => openDashboard(ctx));
  reg('avmd.statusClick', () => statusClick(ctx));
  registerDeviceCommands(ctx, reg, pickProject);
  reg('avmd.restartServer', async () => {
    await ctx.restart();
    void vscode.window.showInformationMessage(`avmd: language server restarted (avmd ${ctx.server?.version}).`);
  });
}

/**
 * Routes from the language server: every project it knows, else the project of the active file
 * (which makes the server discover it). When the server is not running or knows none, the dev
 * dashboard's scan.
 */
async function fetchRoutes(ctx: Ctx): Promise<RouteInfo[]> {
  const client = ctx.client;
  if (client?.isRunning()) {
    const all = parseRoutes(await client.sendRequest(ROUTES_METHOD, {}));
    if (all.length > 0) return all;
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active?.scheme === 'file') {
      const mine = parseRoutes(await client.sendRequest(ROUTES_METHOD, { uri: active.toString() }));
      if (mine.length > 0) return mine;
    }
  }
  const dash = ctx.dashboard;
  try {
    const [status, routes] = await Promise.all([dash.status(), dash.routes()]);
    return routesFromDashboard(routes, status.project.root);
  } catch (e) {
    // Without a server, the dashboard is the only source: say why it failed.
    if (!client?.isRunning()) throw e;
    return [];
  }
}

async function showRoutes(ctx: Ctx): Promise<void> {
  const routes = await fetchRoutes(ctx);
  if (routes.length === 0) {
    void vscode.window.showInformationMessage(
      'avmd: no routes found. The route map is read from route tuples {<<"/path">>, Handler, Opts} in the start module.',
    );
    return;
  }
  const items = routeItems(routes, (uri) => relativeTo(workspaceFolderPaths(), uri));
  const pick = await vscode.window.showQuickPick(items, {
    title: `avmd routes (${routes.length})`,
    placeHolder: 'Open the handler of a route',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!pick) return;
  const { start, end } = pick.route.range;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(pick.route.uri));
  await vscode.window.showTextDocument(doc, {
    selection: new vscode.Range(start.line, start.character, end.line, end.character),
  });
}

/** The project folder to run `avmd dev` in: the only one, or the one the user picks. */
async function pickProject(): Promise<string | undefined> {
  const dirs = await projectDirs(workspaceFolderPaths());
  if (dirs.length === 0) {
    throw new Error('no workspace folder holds an avmd.toml, rebar.config or mix.exs; open a project folder first.');
  }
  if (dirs.length === 1) return dirs[0];
  return vscode.window.showQuickPick(dirs, { placeHolder: 'Which project should avmd dev run?' });
}

/** Saves what is unsaved, runs `avmd build --json` and shows the result in the status bar. */
async function build(ctx: Ctx): Promise<void> {
  const bin = ctx.binary();
  const dir = await pickProject();
  if (!dir) return;
  await vscode.workspace.saveAll(false);
  const args = ['build', dir, '--json'];
  const status = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'avmd: building' },
    async () => {
      ctx.showBuild({ ...(ctx.buildStatus ?? { errors: 0, warnings: 0, partitionSize: 0, durationMs: 0 }), root: dir, state: 'building' });
      const r = await runAvmd(bin, args, { cwd: dir, env: avmdEnv(ctx.config), timeoutMs: 300_000 });
      return fromBuildJson(vscode.Uri.file(dir).toString(), jsonOf(args, r), ctx.buildStatus?.partitionSize ?? 0);
    },
  );
  ctx.showBuild(status);
  ctx.output.appendLine(`build: ${status.state}, ${status.errors} error(s), ${status.warnings} warning(s)${status.sha256 ? `, sha256 ${status.sha256}` : ''}`);
  if (status.state === 'error') await vscode.commands.executeCommand('workbench.actions.view.problems');
}

/** The status item: the problem when the build failed, else the dashboard. */
async function statusClick(ctx: Ctx): Promise<void> {
  if (ctx.buildStatus && (ctx.buildStatus.state === 'error' || ctx.buildStatus.state === 'broken')) {
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    return;
  }
  await openDashboard(ctx);
}

/** A Routes view row: the handler module when it is the project's, else the route tuple. */
async function openRouteHandler(route: RouteInfo): Promise<void> {
  const module = handlerModule(route);
  const found = await vscode.workspace.findFiles(`**/src/**/${module}.erl`, '**/_build/**', 1);
  if (found.length > 0) {
    const doc = await vscode.workspace.openTextDocument(found[0]);
    const line = doc.getText().split('\n').findIndex((l) => l.startsWith('-module('));
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(Math.max(line, 0), 0, Math.max(line, 0), 0) });
    return;
  }
  const { start, end } = route.range;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(route.uri));
  await vscode.window.showTextDocument(doc, { selection: new vscode.Range(start.line, start.character, end.line, end.character) });
}

async function stopDev(): Promise<void> {
  const term = vscode.window.terminals.find((t) => t.name === 'avmd dev');
  if (!term) {
    void vscode.window.showInformationMessage('avmd: no dev loop is running in this window.');
    return;
  }
  term.dispose();
}

/** Opens the app `avmd dev` serves (its address from the dashboard). */
async function openApp(ctx: Ctx): Promise<void> {
  const status = await ctx.dashboard.status().catch(() => null);
  if (!status?.app_url) {
    const pick = await vscode.window.showWarningMessage('avmd: the dev loop is not serving the app.', 'Start Dev Loop');
    if (pick === 'Start Dev Loop') await vscode.commands.executeCommand('avmd.startDev');
    return;
  }
  await vscode.env.openExternal(vscode.Uri.parse(status.app_url));
}

async function startDev(ctx: Ctx): Promise<void> {
  ctx.binary();
  const dir = await pickProject();
  if (!dir) return;
  // The ports are passed so the status item, Open App and Open Dashboard know where to look.
  const port = ctx.config.dashboardPort;
  if (!ctx.avmdTerminal('avmd dev', dir, ['dev', dir, '--port', String(port - 1), '--dashboard-port', String(port), '--vm', ctx.config.vm])) return;
  ctx.watchDashboard();
}

async function openDashboard(ctx: Ctx): Promise<void> {
  const dash = ctx.dashboard;
  try {
    await dash.status();
  } catch (e) {
    const pick = await vscode.window.showWarningMessage(`avmd: ${(e as Error).message}`, 'Start Dev Loop');
    if (pick === 'Start Dev Loop') await vscode.commands.executeCommand('avmd.startDev');
    return;
  }
  await vscode.env.openExternal(vscode.Uri.parse(`${dash.base}/`));
}
